/*
 * Integration tests on MySQL/MariaDB: the built binary (MG_BIN) against a
 * real server (MG_TEST_MYSQL_DSN), each test in a database of its own
 * (mg_it_<pid>_<n>) and a temp dir of its own, asserting on exit codes,
 * output, the ledger and the database itself. Without a server each test
 * is skipped, unless MG_TEST_REQUIRE_SERVERS is set: then the group fails.
 * Only what is MySQL's own is here: the behaviours it shares with SQLite
 * and PostgreSQL are tested once for all three in it_core.c.
 *
 * On MySQL every file runs outside a transaction (DDL commits on its own),
 * so each run of a file writes a 'dirty' ledger row first and its outcome
 * row after it (MIGRATING.md, "What happens on failure"). The assertions
 * look at the outcome rows, and at the marker where it is the last word.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "migrator/driver.h"
#include "migrator/error.h"
#include "support/it.h"

enum { MAX_BG = 8 };

/* The group's state: cmocka hands `it` to every test (IT_BEGIN), the rest
 * is this file's own. */
struct my_state {
	struct it_state it; /* first: *state is also a struct it_state */
	struct mg_conn *admin; /* to MG_TEST_MYSQL_DSN, for the whole group */
	/* MG_TEST_MYSQL_DSN split: mysql://[userinfo@]hostport/db[?query] */
	char *userinfo; /* "" when the DSN has none */
	char *hostport;
	char *query; /* NULL when the DSN has none */
	char *password; /* as it would show: the env's, or the URL's */
	char extra_user[64]; /* an account the test made; dropped after */
	char other_db[80];   /* a second database the test made; likewise */
	pid_t bg[MAX_BG];    /* background runs not yet reaped */
	size_t nbg;
};

/* ---- connections and URLs ---- */

/* Splits MG_TEST_MYSQL_DSN into its parts. 0 or -1. */
static int split_dsn(struct my_state *ms, const char *dsn)
{
	const char *p, *end, *at = NULL, *q;
	const char *env_pw = getenv("MG_TEST_MYSQL_PASSWORD");

	if (strncmp(dsn, "mysql://", 8) != 0)
		return -1;
	p = dsn + 8;
	end = p + strcspn(p, "/?");
	for (q = p; q < end; q++)
		if (*q == '@')
			at = q;
	if ((ms->userinfo = strndup(p, at ? (size_t)(at - p) : 0)) == NULL ||
	    (ms->hostport = strndup(at ? at + 1 : p,
				    (size_t)(end - (at ? at + 1 : p)))) ==
		    NULL)
		return -1;
	if ((q = strchr(end, '?')) != NULL && q[1] != '\0' &&
	    (ms->query = strdup(q + 1)) == NULL)
		return -1;
	if (env_pw != NULL && *env_pw != '\0')
		ms->password = strdup(env_pw);
	else if ((q = strchr(ms->userinfo, ':')) != NULL && q[1] != '\0')
		ms->password = strdup(q + 1);
	return 0;
}

/*
 * mysql://USERINFO@HOST/DB?QUERY, the DSN's query parameters first;
 * NULL userinfo or host: the DSN's. The caller frees it.
 */
static char *mysql_url(const struct my_state *ms, const char *userinfo,
		       const char *host, const char *db, const char *query)
{
	const char *dq = ms->query;
	size_t n;
	char *url;

	userinfo = userinfo ? userinfo : ms->userinfo;
	host = host ? host : ms->hostport;
	n = strlen(userinfo) + strlen(host) + strlen(db) +
	    (dq ? strlen(dq) : 0) + (query ? strlen(query) : 0) + 16;
	if ((url = malloc(n)) == NULL)
		return NULL;
	snprintf(url, n, "mysql://%s%s%s/%s%s%s%s%s", userinfo,
		 *userinfo ? "@" : "", host, db, dq || query ? "?" : "",
		 dq ? dq : "", dq && query ? "&" : "", query ? query : "");
	return url;
}

/* ---- the database, as the assertions see it ---- */

/* The status of the latest ledger row of `version` (caller frees). */
static char *last_status(const struct it_env *e, int version)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT status FROM migrate_ledger WHERE "
		 "version = %d ORDER BY id DESC LIMIT 1", version);
	return it_value(e, sql);
}

/* Polls the process list, up to timeout_ms, for another session of the
 * test's database running a statement that contains `text`. */
static bool wait_for_query(const struct it_env *e, const char *text,
			   int timeout_ms)
{
	long long deadline = it_now_ms() + timeout_ms;
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
		 "information_schema.PROCESSLIST WHERE DB = DATABASE() AND "
		 "ID <> CONNECTION_ID() AND INFO LIKE '%%%s%%'", text);
	while (it_now_ms() < deadline) {
		if (it_count(e, sql) > 0)
			return true;
		it_sleep_ms(20);
	}
	return false;
}

/* ---- background runs, reaped by the teardown if a test fails ---- */

static pid_t bg_start(struct my_state *ms, const char *tag,
		      const char *const *args)
{
	pid_t pid;

	assert_true(ms->nbg < MAX_BG);
	pid = it_mg_bg(&ms->it.e, tag, NULL, args);
	assert_true(pid > 0);
	ms->bg[ms->nbg++] = pid;
	return pid;
}

static int bg_wait(struct my_state *ms, pid_t pid, int timeout_ms)
{
	size_t i;

	for (i = 0; i < ms->nbg; i++)
		if (ms->bg[i] == pid) {
			ms->bg[i] = ms->bg[--ms->nbg];
			break;
		}
	return it_wait(pid, timeout_ms);
}

/* ---- cmocka fixtures ---- */

static int group_setup(void **state)
{
	struct my_state *ms = calloc(1, sizeof(*ms));
	const char *dsn = getenv("MG_TEST_MYSQL_DSN");

	if ((*state = ms) == NULL)
		return -1;
	ms->it.dsn = dsn;
	if (dsn == NULL || *dsn == '\0' || split_dsn(ms, dsn) < 0 ||
	    it_connect(&ms->admin, dsn, true) < 0)
		ms->it.no_server = true; /* each test then calls skip() */
	if (ms->it.no_server)
		fprintf(stderr, "it_mysql: no server at MG_TEST_MYSQL_DSN\n");
	/* CI always has servers: there, a missing one fails the group */
	return ms->it.no_server && getenv("MG_TEST_REQUIRE_SERVERS") ? -1 : 0;
}

static int group_teardown(void **state)
{
	struct my_state *ms = *state;

	if (ms->admin != NULL)
		ms->admin->drv->close(ms->admin);
	free(ms->userinfo);
	free(ms->hostport);
	free(ms->query);
	free(ms->password);
	free(ms);
	return 0;
}

static int setup(void **state)
{
	struct my_state *ms = *state;

	ms->extra_user[0] = ms->other_db[0] = '\0';
	if (ms->it.no_server)
		return 0;
	return it_env_setup_mysql(&ms->it.e, ms->it.dsn);
}

static int teardown(void **state)
{
	struct my_state *ms = *state;
	char sql[160];

	while (ms->nbg > 0) {
		pid_t pid = ms->bg[--ms->nbg];

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	it_state_reset(&ms->it);
	if (ms->other_db[0] != '\0') {
		it_mysql_drop_database(ms->admin, ms->other_db);
		ms->other_db[0] = '\0';
	}
	if (ms->extra_user[0] != '\0') {
		snprintf(sql, sizeof(sql), "DROP USER IF EXISTS '%s'@'%%'",
			 ms->extra_user);
		it_conn_query(ms->admin, sql);
		ms->extra_user[0] = '\0';
	}
	it_env_teardown(&ms->it.e); /* drops the test's database */
	return 0;
}

/* The test's my_state, from inside a test (after IT_BEGIN). */
#define MS ((struct my_state *)st)

/* ---- concurrency and the lock ---- */

static void test_sigkilled_runner_leaves_dirty_and_frees_lock(void **state)
{
	IT_BEGIN;
	static const char *const args[] = { "up", NULL };
	char *last;
	long long t0;
	pid_t pid;

	assert_int_equal(it_pair(e, "0001_t",
				 "CREATE TABLE t1 (x int); SELECT SLEEP(30);\n",
				 "DROP TABLE t1;\n"), 0);
	pid = bg_start(MS, "killed", args);
	if (!wait_for_query(e, "SLEEP(30)", 10000))
		fail_msg("the runner never reached SLEEP(30)");
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(bg_wait(MS, pid, 5000), 128 + SIGKILL);

	/* the first statement committed on its own; the marker is the
	 * version's last word */
	assert_table(e, "t1");
	last = it_own(st, last_status(e, 1));
	assert_non_null(last);
	assert_string_equal(last, "dirty");
	assert_int_equal(it_ledger_count(e, "version = 1"), 1);
	assert_int_equal(it_ledger_count(e, "status = 'ok'"), 0);
	assert_state(e, 1, "dirty");
	MG(r, "status");
	assert_exit(r, 0);
	assert_contains(r->out, "dirty");

	/* GET_LOCK died with the process: the lock is free at once, and
	 * up refuses for the dirty version, not for the lock */
	t0 = it_now_ms();
	MG(r, "--lock-timeout", "5", "up");
	assert_exit(r, 1);
	assert_contains(r->err, "repair");
	assert_true(it_now_ms() - t0 < 4000);
	assert_int_equal(it_ledger_count(e, "version = 1"), 1);

	t0 = it_now_ms();
	MG(r, "--lock-timeout", "5", "repair", "1", "--reason", "x");
	assert_exit(r, 0);
	assert_true(it_now_ms() - t0 < 4000);
	assert_state(e, 1, "pending");
}

static void test_lock_timeout_names_the_holder(void **state)
{
	IT_BEGIN;
	static const char *const args[] = { "up", NULL };
	char holder[64], *id;
	pid_t pid;

	assert_int_equal(it_pair(e, "0001_slow",
				 "CREATE TABLE slow(x int);\n"
				 "SELECT SLEEP(3);\n",
				 "DROP TABLE slow;\n"), 0);
	pid = bg_start(MS, "holder", args);
	if (!wait_for_query(e, "SLEEP(3)", 10000))
		fail_msg("the first runner never reached SLEEP(3)");
	/* the holder's lock session, as the server sees it */
	/* the lock is per database: migrate:<database>.<ledger table> */
	id = it_own(st, it_value(e, "SELECT IS_USED_LOCK(CONCAT("
				    "'migrate:', DATABASE(), "
				    "'.migrate_ledger'))"));
	assert_non_null(id);
	MG(r, "--lock-timeout", "1", "up");
	assert_exit(r, 5);
	assert_contains(r->err, "connection");
	snprintf(holder, sizeof(holder), "connection %s", id);
	assert_contains(r->err, holder);

	assert_int_equal(bg_wait(MS, pid, 15000), 0);
	assert_int_equal(it_ledger_count(e, "status = 'ok'"), 1);
	assert_int_equal(it_ledger_count(e, NULL), 2);
}

/* ---- passwords and connections ---- */

static void assert_no_secret(const struct it_run *r, const char *pw,
			     const char *what)
{
	if (contains(r->out, pw) || contains(r->err, pw))
		print_error("%s shows the password:\n--- stdout:\n%s\n"
			    "--- stderr:\n%s\n", what, r->out, r->err);
	assert_false(contains(r->out, pw));
	assert_false(contains(r->err, pw));
}

/* No ledger cell holds `pw`. */
static void assert_ledger_clean(struct it_state *st, const char *pw)
{
	struct mg_rows *rows;
	size_t i;

	rows = it_own_rows(st, it_query(&st->e, "SELECT * FROM "
					"migrate_ledger"));
	assert_non_null(rows);
	assert_true(rows->nrows > 0);
	for (i = 0; i < rows->nrows * rows->ncols; i++)
		assert_false(contains(rows->cells[i], pw));
}

static void test_password_never_shown(void **state)
{
	IT_BEGIN;
	static const char wrong[] = "WRONGpw7x1q";
	const char *pw = MS->password;
	char *bad_url, *user, *p, *env_url[2] = { NULL, NULL };
	const char *a1[] = { "-d", NULL, "-m", e->mig, "status", NULL };
	const char *a2[] = { "-d", NULL, "-m", e->mig, "--json", "up", NULL };
	const char *a3[] = { "-m", e->mig, "ledger", "--format", "csv", NULL };
	size_t n;

	if (pw == NULL || *pw == '\0')
		skip(); /* nothing to look for */
	three(e);
	assert_int_equal(it_pair(e, "0004_bad", "SELECT * FROM nosuch;\n",
				 "\n"), 0);
	MG(r, "status");
	assert_exit(r, 0);
	assert_no_secret(r, pw, "status");
	MG(r, "up", "--to", "3");
	assert_exit(r, 0);
	assert_no_secret(r, pw, "up");
	MG(r, "up");
	assert_exit(r, 1);
	assert_no_secret(r, pw, "failing up");
	MG(r, "--json", "up");
	assert_exit(r, 1);
	assert_no_secret(r, pw, "up --json");
	MG(r, "--json", "status");
	assert_exit(r, 0);
	assert_no_secret(r, pw, "status --json");
	MG(r, "ledger");
	assert_exit(r, 0);
	assert_no_secret(r, pw, "ledger");
	MG(r, "ledger", "--format", "json");
	assert_exit(r, 0);
	assert_no_secret(r, pw, "ledger --format json");
	MG(r, "ledger", "--format", "csv");
	assert_exit(r, 0);
	assert_no_secret(r, pw, "ledger --format csv");
	MG(r, "verify");
	assert_exit(r, 0);
	assert_no_secret(r, pw, "verify");
	MG(r, "--lock-timeout", "1", "down");
	assert_exit(r, 0);
	assert_no_secret(r, pw, "down");
	assert_ledger_clean(st, pw);

	/* a wrong password: refused, and shown neither */
	user = it_own(st, strdup(MS->userinfo));
	assert_non_null(user);
	if ((p = strchr(user, ':')) != NULL)
		*p = '\0';
	n = strlen(user) + sizeof(wrong) + 2;
	assert_non_null(p = it_own(st, malloc(n)));
	snprintf(p, n, "%s:%s", user, wrong);
	bad_url = it_own(st, mysql_url(MS, p, NULL, e->dbname, NULL));
	assert_non_null(bad_url);
	a1[1] = a2[1] = bad_url;
	it_exec(r, e->root, NULL, 0, a1);
	assert_exit(r, 1);
	assert_no_secret(r, wrong, "status, wrong password");
	assert_no_secret(r, pw, "status, wrong password");
	it_exec(r, e->root, NULL, 0, a2);
	assert_exit(r, 1);
	assert_no_secret(r, wrong, "up --json, wrong password");
	assert_no_secret(r, pw, "up --json, wrong password");
	assert_true(it_json_lines(r->out, true));
	n = strlen(bad_url) + 16;
	assert_non_null(env_url[0] = it_own(st, malloc(n)));
	snprintf(env_url[0], n, "DATABASE_URL=%s", bad_url);
	it_exec(r, e->root, (const char *const *)env_url, 0, a3);
	assert_exit(r, 1);
	assert_no_secret(r, wrong, "ledger, DATABASE_URL");
	assert_no_secret(r, pw, "ledger, DATABASE_URL");
	assert_ledger_clean(st, wrong);
}

static void test_unknown_database_and_unreachable_host_fail(void **state)
{
	IT_BEGIN;
	const char *pw = MS->password;
	const char *args[] = { "-d", NULL, "-m", e->mig, "up", NULL };
	char db[80], *url;
	long long t0;

	three(e);
	snprintf(db, sizeof(db), "%s_nosuch", e->dbname);
	url = it_own(st, mysql_url(MS, NULL, NULL, db, NULL));
	assert_non_null(url);
	args[1] = url;
	it_exec(r, e->root, NULL, 0, args);
	assert_exit(r, 1);
	assert_contains(r->err, db);
	if (pw != NULL && *pw != '\0')
		assert_no_secret(r, pw, "up, unknown database");

	/* nothing listens on port 1: refused at once */
	url = it_own(st, mysql_url(MS, NULL, "127.0.0.1:1", e->dbname,
				   NULL));
	assert_non_null(url);
	args[1] = url;
	t0 = it_now_ms();
	it_exec(r, e->root, NULL, 15000, args);
	assert_exit(r, 1);
	assert_true(it_now_ms() - t0 < 5000);
	if (pw != NULL && *pw != '\0')
		assert_no_secret(r, pw, "up, unreachable host");
	/* nothing ran anywhere */
	assert_no_table(e, "a");
	assert_no_table(e, "migrate_ledger");
}

/* A password with '@', ':', '/' and '%' works percent-encoded, and shows
 * in neither form. */
static void test_percent_encoded_password_connects(void **state)
{
	IT_BEGIN;
	static const char raw[] = "p@ss:w/rd%";
	static const char enc[] = "p%40ss%3Aw%2Frd%25";
	char sql[256], userinfo[128], db_user[100], *url, *got;
	const char *args[] = { "-d", NULL, "-m", e->mig, "up", NULL };

	snprintf(MS->extra_user, sizeof(MS->extra_user), "mg_pct_%ld",
		 (long)getpid());
	snprintf(sql, sizeof(sql), "DROP USER IF EXISTS '%s'@'%%'",
		 MS->extra_user);
	assert_int_equal(it_sql(e, sql), 0);
	snprintf(sql, sizeof(sql), "CREATE USER '%s'@'%%' IDENTIFIED BY '%s'",
		 MS->extra_user, raw);
	assert_int_equal(it_sql(e, sql), 0);
	snprintf(sql, sizeof(sql), "GRANT ALL PRIVILEGES ON `%s`.* TO "
		 "'%s'@'%%'", e->dbname, MS->extra_user);
	assert_int_equal(it_sql(e, sql), 0);

	snprintf(userinfo, sizeof(userinfo), "%s:%s", MS->extra_user, enc);
	url = it_own(st, mysql_url(MS, userinfo, NULL, e->dbname, NULL));
	assert_non_null(url);
	args[1] = url;
	three(e);
	it_exec(r, e->root, NULL, 0, args);
	assert_exit(r, 0);
	assert_not_contains(r->out, raw);
	assert_not_contains(r->err, raw);
	assert_not_contains(r->out, enc);
	assert_not_contains(r->err, enc);
	assert_table(e, "c");
	/* the ledger names the account the server matched */
	snprintf(db_user, sizeof(db_user), "%s@", MS->extra_user);
	got = it_own(st, it_value(e, "SELECT db_user FROM migrate_ledger "
				     "ORDER BY id DESC LIMIT 1"));
	assert_non_null(got);
	assert_int_equal(strncmp(got, db_user, strlen(db_user)), 0);
	assert_ledger_clean(st, raw);
	assert_ledger_clean(st, enc);

	args[4] = "ledger";
	it_exec(r, e->root, NULL, 0, args);
	assert_exit(r, 0);
	assert_not_contains(r->out, raw);
	assert_not_contains(r->out, enc);
}

/* ?socket= with host localhost: the server's Unix socket. */
static void test_socket_url_connects(void **state)
{
	IT_BEGIN;
	const char *sock = getenv("MG_TEST_MYSQL_SOCKET");
	const char *args[] = { "-d", NULL, "-m", e->mig, "up", NULL };
	char *query, *url;
	size_t n;

	if (sock == NULL || *sock == '\0')
		skip(); /* only with-servers.sh says where it is */
	n = strlen(sock) + 16;
	assert_non_null(query = it_own(st, malloc(n)));
	snprintf(query, n, "socket=%s", sock);
	url = it_own(st, mysql_url(MS, NULL, "localhost", e->dbname, query));
	assert_non_null(url);
	args[1] = url;
	three(e);
	it_exec(r, e->root, NULL, 0, args);
	assert_exit(r, 0);
	assert_table(e, "c");
	if (MS->password != NULL && *MS->password != '\0')
		assert_no_secret(r, MS->password, "up over the socket");
	args[4] = "status";
	it_exec(r, e->root, NULL, 0, args);
	assert_exit(r, 0);
	assert_int_equal(count_of(r->out, "applied"), 3);
	/* the server saw a local connection */
	assert_int_equal(it_ledger_count(e, "status = 'ok' AND db_user LIKE "
					    "'%@localhost'"), 3);
}

/* ---- half-applied files, dirty, repair ---- */

static const char HALF_UP[] = "CREATE TABLE a (x int);\n"
			      "CREATE TABLE b (x int);\n"
			      "INSERT INTO nosuch VALUES (1);\n";

/* Version 1 fails at its 3rd statement, after two committed; version 2
 * waits behind it. */
static void make_dirty(struct it_state *st)
{
	struct it_env *e = &st->e;
	struct it_run *r = &st->r;
	char *err;

	assert_int_equal(it_pair(e, "0001_half", HALF_UP,
				 "DROP TABLE b;\nDROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_later",
				 "CREATE TABLE later(x int);\n",
				 "DROP TABLE later;\n"), 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "0001_half.up.sql:3:");
	assert_contains(r->err, "nosuch");
	/* the first two statements committed on their own */
	assert_table(e, "a");
	assert_table(e, "b");
	assert_no_table(e, "later");
	assert_int_equal(it_ledger_count(e, "version = 1 AND status = 'ok'"),
			 0);
	err = it_own(st, it_value(e, "SELECT error FROM migrate_ledger WHERE "
				     "version = 1 ORDER BY id DESC LIMIT 1"));
	assert_contains(err, "0001_half.up.sql:3:");
	assert_contains(err, "statements completed: 2 of 3");
	assert_state(e, 1, "dirty");
	MG(r, "status");
	assert_exit(r, 0);
	assert_contains(r->out, "dirty");

	/* no up (and no down) until repaired */
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "repair");
	assert_no_table(e, "later");
	MG(r, "down");
	assert_exit(r, 1);
	assert_table(e, "a");
	MG(r, "verify");
	assert_exit(r, 4);
}

static void test_half_applied_file_is_dirty_until_repair(void **state)
{
	IT_BEGIN;

	make_dirty(st);
	/* undone by hand, the file fixed, then repaired */
	assert_int_equal(it_sql(e, "DROP TABLE a; DROP TABLE b"), 0);
	MG(r, "repair", "1", "--reason", "r");
	assert_exit(r, 0);
	assert_state(e, 1, "pending");
	assert_int_equal(it_ledger_count(e, "direction = 'repair' AND "
					    "status = 'ok' AND reason = 'r'"),
			 1);
	assert_int_equal(it_write_str(e, "0001_half.up.sql",
				      "CREATE TABLE a (x int);\n"
				      "CREATE TABLE b (x int);\n"
				      "INSERT INTO b VALUES (1);\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM b"), 1);
	assert_table(e, "later");
	assert_state(e, 1, "applied");
	assert_state(e, 2, "applied");
	MG(r, "verify");
	assert_exit(r, 0);
}

/* A down that stops half-way is as dirty as an up. */
static void test_half_applied_down_is_dirty(void **state)
{
	IT_BEGIN;
	char *err;

	assert_int_equal(it_pair(e, "0001_ab",
				 "CREATE TABLE a (x int);\n"
				 "CREATE TABLE b (x int);\n",
				 "DROP TABLE b;\n"
				 "DROP TABLE nosuch;\n"
				 "DROP TABLE a;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "down");
	assert_exit(r, 1);
	assert_contains(r->err, "0001_ab.down.sql:2:");
	assert_no_table(e, "b");
	assert_table(e, "a");
	assert_state(e, 1, "dirty");
	err = it_own(st, it_value(e, "SELECT error FROM migrate_ledger WHERE "
				     "version = 1 AND direction = 'down' "
				     "ORDER BY id DESC LIMIT 1"));
	assert_contains(err, "statements completed: 1 of 3");
	assert_int_equal(it_ledger_count(e, "direction = 'down' AND "
					    "status = 'ok'"), 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "repair");
	MG(r, "down");
	assert_exit(r, 1);

	/* finished by hand: not applied any more */
	assert_int_equal(it_sql(e, "DROP TABLE a"), 0);
	MG(r, "repair", "1", "--reason", "down finished by hand");
	assert_exit(r, 0);
	assert_state(e, 1, "pending");
	assert_int_equal(it_write_str(e, "0001_ab.down.sql",
				      "DROP TABLE b;\nDROP TABLE a;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "b");
	assert_state(e, 1, "applied");
}

/* The server counts lines from the statement's start ("... at line 2"):
 * the error names the file's line. */
static void test_syntax_error_names_the_file_line(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_syntax",
				 "-- a comment first\n"
				 "\n"
				 "SELECT 1,\n"
				 "  2 FRM nosuch;\n"
				 "CREATE TABLE never (x int);\n",
				 "DROP TABLE never;\n"), 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "0001_syntax.up.sql:4:");
	assert_contains(r->err, "SQL syntax");
	assert_no_table(e, "never");
	assert_state(e, 1, "failed");
}

/* ---- checks, where DDL cannot roll back ---- */

/* A down file that does not bring the "before" values back leaves the
 * version dirty. */
static void test_failed_check_with_incomplete_down_is_dirty(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_t",
				 "CREATE TABLE t(x int);\n"
				 "INSERT INTO t VALUES (1), (2);\n",
				 "DROP TABLE t;\n"), 0);
	assert_int_equal(it_pair(e, "0002_more",
				 "-- check: rows t unchanged\n"
				 "INSERT INTO t VALUES (3);\n",
				 "SELECT 1;\n"), 0);
	MG(r, "up");
	/* exit 3 promises "rolled back": an undo that did not restore is
	 * a runtime failure that leaves the version dirty */
	assert_exit(r, 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t"), 3);
	assert_state(e, 2, "dirty");
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "repair");
}

/* ---- MySQL's own file shapes ---- */

static void test_delimiter_procedure_and_trigger_apply(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_items",
				 "CREATE TABLE items (id int PRIMARY KEY, "
				 "qty int NOT NULL);\n"
				 "CREATE TABLE audit (item_id int, "
				 "note varchar(100));\n"
				 "\n"
				 "DELIMITER $$\n"
				 "CREATE PROCEDURE add_item(IN p_id int, "
				 "IN p_qty int)\n"
				 "BEGIN\n"
				 "  INSERT INTO items VALUES (p_id, p_qty);\n"
				 "  INSERT INTO audit VALUES (p_id, "
				 "'added; via proc');\n"
				 "END$$\n"
				 "\n"
				 "CREATE TRIGGER items_bi BEFORE INSERT ON "
				 "items\n"
				 "FOR EACH ROW\n"
				 "BEGIN\n"
				 "  IF NEW.qty < 0 THEN\n"
				 "    SET NEW.qty = 0;\n"
				 "  END IF;\n"
				 "END $$\n"
				 "DELIMITER ;\n"
				 "\n"
				 "CALL add_item(1, 5);\n"
				 "CALL add_item(2, -3);\n",
				 "DROP TRIGGER items_bi;\n"
				 "DROP PROCEDURE add_item;\n"
				 "DROP TABLE audit;\n"
				 "DROP TABLE items;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM "
				     "information_schema.ROUTINES WHERE "
				     "ROUTINE_SCHEMA = DATABASE() AND "
				     "ROUTINE_NAME = 'add_item' AND "
				     "ROUTINE_TYPE = 'PROCEDURE'"), 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM "
				     "information_schema.TRIGGERS WHERE "
				     "TRIGGER_SCHEMA = DATABASE() AND "
				     "TRIGGER_NAME = 'items_bi'"), 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM items"), 2);
	/* the trigger ran on the CALL's insert */
	assert_int_equal(it_count(e, "SELECT qty FROM items WHERE id = 2"), 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM audit WHERE "
				     "note = 'added; via proc'"), 2);
	assert_int_equal(it_ledger_count(e, "status = 'ok'"), 1);

	MG(r, "down");
	assert_exit(r, 0);
	assert_no_table(e, "items");
	assert_int_equal(it_count(e, "SELECT count(*) FROM "
				     "information_schema.ROUTINES WHERE "
				     "ROUTINE_SCHEMA = DATABASE()"), 0);
}

static void test_stored_programs_without_delimiter_apply(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_items",
				 "CREATE TABLE items (id int PRIMARY KEY, "
				 "qty int NOT NULL);\n"
				 "CREATE TABLE audit (item_id int, "
				 "note varchar(100));\n"
				 "INSERT INTO items VALUES (1, 5), (2, 7);\n",
				 "DROP TABLE audit;\nDROP TABLE items;\n"), 0);
	assert_int_equal(it_pair(e, "0002_programs",
				 "CREATE PROCEDURE bump(IN p_id int)\n"
				 "BEGIN\n"
				 "  DECLARE n int DEFAULT 0;\n"
				 "  WHILE n < 2 DO\n"
				 "    UPDATE items SET qty = qty + 1 "
				 "WHERE id = p_id;\n"
				 "    SET n = n + 1;\n"
				 "  END WHILE;\n"
				 "  INSERT INTO audit VALUES (p_id, "
				 "'bumped; twice');\n"
				 "END;\n"
				 "\n"
				 "CREATE FUNCTION twice(x int) RETURNS int\n"
				 "DETERMINISTIC\n"
				 "BEGIN\n"
				 "  DECLARE y int;\n"
				 "  SET y = x * 2;\n"
				 "  RETURN y;\n"
				 "END;\n"
				 "\n"
				 "CREATE TRIGGER items_bu BEFORE UPDATE ON "
				 "items\n"
				 "FOR EACH ROW\n"
				 "BEGIN\n"
				 "  IF NEW.qty > 100 THEN\n"
				 "    SET NEW.qty = 100;\n"
				 "  ELSEIF NEW.qty < 0 THEN\n"
				 "    SET NEW.qty = 0;\n"
				 "  END IF;\n"
				 "END;\n"
				 "\n"
				 "CALL bump(1);\n"
				 "UPDATE items SET qty = twice(qty) "
				 "WHERE id = 2;\n",
				 "DROP TRIGGER items_bu;\n"
				 "DROP FUNCTION twice;\n"
				 "DROP PROCEDURE bump;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM "
				     "information_schema.ROUTINES WHERE "
				     "ROUTINE_SCHEMA = DATABASE() AND "
				     "ROUTINE_NAME IN ('bump', 'twice')"), 2);
	assert_int_equal(it_count(e, "SELECT count(*) FROM "
				     "information_schema.TRIGGERS WHERE "
				     "TRIGGER_SCHEMA = DATABASE() AND "
				     "TRIGGER_NAME = 'items_bu'"), 1);
	assert_int_equal(it_count(e, "SELECT qty FROM items WHERE id = 1"), 7);
	assert_int_equal(it_count(e, "SELECT qty FROM items WHERE id = 2"),
			 14);
	assert_int_equal(it_count(e, "SELECT count(*) FROM audit WHERE "
				     "note = 'bumped; twice'"), 1);
	/* the trigger works */
	assert_int_equal(it_sql(e, "UPDATE items SET qty = 500 WHERE id = 1"),
			 0);
	assert_int_equal(it_count(e, "SELECT qty FROM items WHERE id = 1"),
			 100);
	assert_int_equal(it_sql(e, "UPDATE items SET qty = -5 WHERE id = 2"),
			 0);
	assert_int_equal(it_count(e, "SELECT qty FROM items WHERE id = 2"), 0);

	MG(r, "down");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM "
				     "information_schema.ROUTINES WHERE "
				     "ROUTINE_SCHEMA = DATABASE()"), 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM "
				     "information_schema.TRIGGERS WHERE "
				     "TRIGGER_SCHEMA = DATABASE()"), 0);
}

/* What `mysqldump` writes, header and trailer included. */
static const char DUMP[] =
	"-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for "
	"debian-linux-gnu (x86_64)\n"
	"--\n"
	"-- Host: localhost    Database: shop\n"
	"-- ------------------------------------------------------\n"
	"-- Server version\t10.11.6-MariaDB-0+deb12u1\n"
	"\n"
	"/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
	"/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;\n"
	"/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;\n"
	"/*!40101 SET NAMES utf8mb4 */;\n"
	"/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;\n"
	"/*!40103 SET TIME_ZONE='+00:00' */;\n"
	"/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n"
	"/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, "
	"FOREIGN_KEY_CHECKS=0 */;\n"
	"/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, "
	"SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n"
	"/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n"
	"\n"
	"--\n"
	"-- Table structure for table `t`\n"
	"--\n"
	"\n"
	"DROP TABLE IF EXISTS `t`;\n"
	"/*!40101 SET @saved_cs_client     = @@character_set_client */;\n"
	"/*!40101 SET character_set_client = utf8 */;\n"
	"CREATE TABLE `t` (\n"
	"  `id` int(11) NOT NULL AUTO_INCREMENT,\n"
	"  `note` varchar(200) DEFAULT NULL,\n"
	"  PRIMARY KEY (`id`)\n"
	") ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 "
	"COLLATE=utf8mb4_general_ci;\n"
	"/*!40101 SET character_set_client = @saved_cs_client */;\n"
	"\n"
	"--\n"
	"-- Dumping data for table `t`\n"
	"--\n"
	"\n"
	"LOCK TABLES `t` WRITE;\n"
	"/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n"
	"INSERT INTO `t` VALUES (1,'it\\'s; fine'),(2,'a;b;c'),"
	"(3,'back\\\\slash \\\"dq\\\" -- not a comment /* nor this */'),"
	"(4,'`tick`; # hash');\n"
	"/*!40000 ALTER TABLE `t` ENABLE KEYS */;\n"
	"UNLOCK TABLES;\n"
	"/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n"
	"\n"
	"/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n"
	"/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;\n"
	"/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;\n"
	"/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n"
	"/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;\n"
	"/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;\n"
	"/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n"
	"\n"
	"-- Dump completed on 2024-05-01 12:00:00\n";

static void test_mysqldump_file_applies(void **state)
{
	IT_BEGIN;
	char *v;

	assert_int_equal(it_pair(e, "0001_dump", DUMP, "DROP TABLE t;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t"), 4);
	v = it_own(st, it_value(e, "SELECT note FROM t WHERE id = 1"));
	assert_non_null(v);
	assert_string_equal(v, "it's; fine");
	v = it_own(st, it_value(e, "SELECT note FROM t WHERE id = 2"));
	assert_string_equal(v, "a;b;c");
	v = it_own(st, it_value(e, "SELECT note FROM t WHERE id = 3"));
	assert_string_equal(v, "back\\slash \"dq\" -- not a comment "
			       "/* nor this */");
	v = it_own(st, it_value(e, "SELECT note FROM t WHERE id = 4"));
	assert_string_equal(v, "`tick`; # hash");
	v = it_own(st, it_value(e, "SELECT ENGINE FROM "
				   "information_schema.TABLES WHERE "
				   "TABLE_SCHEMA = DATABASE() AND "
				   "TABLE_NAME = 't'"));
	assert_string_equal(v, "InnoDB");
	/* the dump's table locks were released: the ledger got its row */
	assert_int_equal(it_ledger_count(e, "status = 'ok'"), 1);
	assert_state(e, 1, "applied");
	MG(r, "down");
	assert_exit(r, 0);
	assert_no_table(e, "t");
}

/* mysqldump's triggers: DELIMITER ;; and the body inside versioned
 * comments. */
static void test_mysqldump_trigger_section_applies(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_t",
				 "CREATE TABLE t (id int, note "
				 "varchar(50));\n",
				 "DROP TABLE t;\n"), 0);
	assert_int_equal(it_pair(e, "0002_trg",
				 "/*!50003 SET @saved_cs_client      = "
				 "@@character_set_client */ ;\n"
				 "/*!50003 SET @saved_sql_mode       = "
				 "@@sql_mode */ ;\n"
				 "/*!50003 SET sql_mode              = "
				 "'STRICT_TRANS_TABLES' */ ;\n"
				 "DELIMITER ;;\n"
				 "/*!50003 CREATE*/ /*!50017 "
				 "DEFINER=CURRENT_USER*/ /*!50003 TRIGGER "
				 "t_bi BEFORE INSERT ON t FOR EACH ROW "
				 "BEGIN\n"
				 "  SET NEW.note = CONCAT('[', NEW.note, "
				 "']');\n"
				 "  SET NEW.id = NEW.id * 10;\n"
				 "END */;;\n"
				 "DELIMITER ;\n"
				 "/*!50003 SET sql_mode              = "
				 "@saved_sql_mode */ ;\n"
				 "/*!50003 SET character_set_client  = "
				 "@saved_cs_client */ ;\n",
				 "DROP TRIGGER t_bi;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM "
				     "information_schema.TRIGGERS WHERE "
				     "TRIGGER_SCHEMA = DATABASE() AND "
				     "TRIGGER_NAME = 't_bi'"), 1);
	assert_int_equal(it_sql(e, "INSERT INTO t VALUES (4, 'x;y')"), 0);
	assert_int_equal(it_count(e, "SELECT id FROM t"), 40);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t WHERE "
				     "note = '[x;y]'"), 1);
}

/* ---- server warnings ---- */

static void test_server_warnings_are_shown_not_errors(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_warn",
				 "DROP TABLE IF EXISTS nosuch_warned;\n"
				 "CREATE TABLE w (x int);\n",
				 "DROP TABLE w;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_contains(r->err, "server:");
	assert_contains(r->err, "nosuch_warned");
	assert_not_contains(r->err, "error:");
	assert_table(e, "w");
	assert_state(e, 1, "applied");
	assert_int_equal(it_ledger_count(e, "version = 1 AND status = 'ok' AND "
					    "error IS NULL"), 1);

	/* --json: the warning stays on stderr, stdout stays JSON */
	assert_int_equal(it_pair(e, "0002_warn",
				 "DROP TABLE IF EXISTS nosuch_again;\n",
				 "\n"), 0);
	MG(r, "--json", "up");
	assert_exit(r, 0);
	assert_contains(r->err, "nosuch_again");
	assert_not_contains(r->out, "nosuch_again");
	assert_true(it_json_lines(r->out, true));
}

/* ---- migrate test ---- */

/* migrate test reads MySQL's schema description before and after. */
static void test_roundtrip_proves_down_files(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_ok",
				 "CREATE TABLE a (x int, KEY a_x (x));\n",
				 "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_leaky",
				 "CREATE TABLE b (x int);\n"
				 "CREATE INDEX b_x ON b (x);\n",
				 "DROP INDEX b_x ON b;\n"), 0);
	MG(r, "test");
	assert_exit(r, 4);
	assert_contains(r->err, "0002_leaky.down.sql");
	assert_contains(r->err, "b");
	assert_state(e, 1, "applied");
	assert_table(e, "a");
	/* MySQL's DDL cannot roll back: the leaky down ran, and the
	 * version says so until repaired */
	assert_contains(r->err, "dirty until 'migrate repair'");
	assert_state(e, 2, "dirty");

	/* b stays behind until dropped by hand */
	assert_int_equal(it_sql(e, "DROP TABLE IF EXISTS b"), 0);
	assert_int_equal(it_write_str(e, "0002_leaky.down.sql",
				      "DROP TABLE b;\n"), 0);
	MG(r, "repair", "2", "--reason", "dropped b by hand");
	assert_exit(r, 0);
	MG(r, "test");
	assert_exit(r, 0);
	assert_table(e, "b");
	assert_state(e, 2, "applied");
}

/* ---- more of MySQL's dialect ---- */

/* What the mysql client accepts and a naive splitter gets wrong. */
static const char CORNERS[] =
	"CREATE TABLE t (x int);\n"
	/* "--" without a space after it is arithmetic */
	"INSERT INTO t VALUES (5--1);\n"
	/* BEGIN alone starts a transaction */
	"BEGIN;\n"
	"INSERT INTO t VALUES (1);\n"
	"COMMIT;\n"
	/* quotes inside comments, ';' in a name */
	"/* DELIMITER $$\n   it's here; */\n"
	"-- it's a comment; really\n"
	"# and it's another\n"
	"CREATE TABLE `we;ird``t` (x int);\n"
	"INSERT INTO `we;ird``t` VALUES (2); -- trailing, it's\n"
	/* a CASE expression's END closes no block */
	"CREATE PROCEDURE p(a int)\n"
	"lbl: BEGIN\n"
	"  DECLARE v int DEFAULT 0;\n"
	"  SET v = CASE WHEN a > 0 THEN 10 ELSE 20 END;\n"
	"  REPEAT SET v = v + 1; UNTIL v >= 12 END REPEAT;\n"
	"  l2: LOOP\n"
	"    SET v = v + 1;\n"
	"    IF v > 13 THEN LEAVE l2; END IF;\n"
	"  END LOOP l2;\n"
	"  CASE v WHEN 14 THEN INSERT INTO t VALUES (v);\n"
	"    ELSE INSERT INTO t VALUES (-1);\n"
	"  END CASE;\n"
	"  BEGIN\n"
	"    INSERT INTO t VALUES (IF(v > 0, 100, 200));\n"
	"  END;\n"
	"END lbl;\n"
	"CALL p(1);\n"
	/* MariaDB's anonymous block */
	"BEGIN NOT ATOMIC\n"
	"  INSERT INTO t VALUES (1000);\n"
	"  INSERT INTO t VALUES (1001);\n"
	"END;\n"
	"CREATE TRIGGER tb BEFORE INSERT ON t FOR EACH ROW "
	"SET NEW.x = NEW.x + 0;\n"
	"CREATE FUNCTION f(a int) RETURNS int DETERMINISTIC RETURN a + 1;\n"
	/* no final semicolon, no final newline */
	"INSERT INTO t VALUES (f(1))";

static void test_dialect_corners_split_as_the_client_does(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_corners", CORNERS,
				 "DROP FUNCTION f;\nDROP PROCEDURE p;\n"
				 "DROP TABLE `we;ird``t`;\nDROP TABLE t;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t"), 7);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t WHERE x = 6"), 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t WHERE x = 1"), 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t WHERE x = 14"),
			 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t WHERE x = 100"),
			 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t WHERE x = 2"), 1);
	assert_int_equal(it_count(e, "SELECT x FROM `we;ird``t`"), 2);
	assert_int_equal(it_ledger_count(e, "status = 'ok'"), 1);
	MG(r, "down");
	assert_exit(r, 0);
	assert_no_table(e, "t");
}

/* An error inside a stored program's body names the body's line. */
static void test_error_in_program_body_names_its_line(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_p",
				 "CREATE TABLE t (x int);\n"
				 "\n"
				 "DELIMITER $$\n"
				 "CREATE PROCEDURE p()\n"
				 "BEGIN\n"
				 "  INSERT INTO t VALUES (1);\n"
				 "  SELEC 1;\n"
				 "END$$\n"
				 "DELIMITER ;\n",
				 "DROP TABLE t;\n"), 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "0001_p.up.sql:7:");
	assert_state(e, 1, "dirty");
}

/* ---- the target database and nothing else ---- */

/* Makes MS->other_db, a second database the teardown drops; its URL is
 * returned (the test's state owns it). */
static char *other_database(struct it_state *st)
{
	char sql[128], *url;

	snprintf(MS->other_db, sizeof(MS->other_db), "%s_other",
		 st->e.dbname);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s",
		 MS->other_db);
	assert_int_equal(it_sql(&st->e, sql), 0);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", MS->other_db);
	assert_int_equal(it_sql(&st->e, sql), 0);
	url = it_own(st, mysql_url(MS, NULL, NULL, MS->other_db, NULL));
	assert_non_null(url);
	return url;
}

/* Writes root/<dir>/<name>, making root/<dir> if needed. */
static void write_in(const struct it_env *e, const char *dir,
		     const char *name, const char *text)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", e->root, dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", e->root, dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/*
 * mysqldump --databases writes `USE db;`, and a file may switch databases
 * for its own reasons: the runner must still record the outcome in the
 * ledger of the database it was given, and never write into another
 * database's ledger.
 */
static void test_use_in_file_keeps_ledger_in_target_database(void **state)
{
	IT_BEGIN;
	char *other = other_database(st), odir[400], sql[256], up[256];
	const char *args[] = { "-d", other, "-m", odir, "up", NULL };
	long long stray;

	/* the other database is managed by migrate too */
	snprintf(odir, sizeof(odir), "%s/other", e->root);
	write_in(e, "other", "0001_o.up.sql", "CREATE TABLE o (x int);\n");
	write_in(e, "other", "0001_o.down.sql", "DROP TABLE o;\n");
	it_exec(r, e->root, NULL, 0, args);
	assert_exit(r, 0);

	snprintf(up, sizeof(up), "CREATE TABLE c (x int);\n"
		 "USE `%s`;\n"
		 "CREATE TABLE cb (x int);\n", MS->other_db);
	assert_int_equal(it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_use", up, "DROP TABLE c;\n"), 0);
	MG(r, "up");
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM `%s`.migrate_ledger "
		 "WHERE version = 2", MS->other_db);
	stray = it_count(e, sql);
	if (stray != 0)
		print_error("%lld ledger row(s) of %s went into %s's ledger\n"
			    "--- stderr:\n%s\n", stray, e->dbname,
			    MS->other_db, r->err);
	assert_int_equal(stray, 0);
	assert_exit(r, 0);
	assert_state(e, 2, "applied");
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok'"),
			 1);
	args[4] = "verify";
	it_exec(r, e->root, NULL, 0, args);
	assert_exit(r, 0);
}

/* GET_LOCK names are server-wide: the runner's lock must still be one per
 * database (SPEC.md, Safety), so that a deploy to one database does not
 * wait for, or time out behind, a deploy to another. */
static void test_lock_is_per_database(void **state)
{
	IT_BEGIN;
	static const char *const hold[] = { "up", NULL };
	char *other = other_database(st), odir[400];
	const char *args[] = { "-d", other, "-m", odir, "--lock-timeout", "1",
			       "up", NULL };
	pid_t pid;

	snprintf(odir, sizeof(odir), "%s/other", e->root);
	write_in(e, "other", "0001_o.up.sql", "CREATE TABLE o (x int);\n");
	write_in(e, "other", "0001_o.down.sql", "DROP TABLE o;\n");
	assert_int_equal(it_pair(e, "0001_slow", "SELECT SLEEP(2);\n", "\n"),
			 0);
	pid = bg_start(MS, "holder", hold);
	if (!wait_for_query(e, "SLEEP(2)", 10000))
		fail_msg("the first runner never reached SLEEP(2)");
	it_exec(r, e->root, NULL, 0, args);
	assert_exit(r, 0);
	assert_int_equal(bg_wait(MS, pid, 15000), 0);
}

/*
 * The ledger holds whatever text a migration brings: a check's query, a
 * server message, an operator's reason. On a database whose default
 * character set is latin1 (MariaDB's default before 11.6, MySQL 5.7's)
 * that must still work, or a file that ran completely is left dirty.
 */
static void test_ledger_holds_any_utf8_on_latin1_database(void **state)
{
	IT_BEGIN;
	static const char reason[] = "moved from flyway \xF0\x9F\x9A\x80 "
				     "\xE4\xB8\xAD\xE6\x96\x87";
	char sql[160], *got;

	snprintf(sql, sizeof(sql), "ALTER DATABASE %s CHARACTER SET latin1 "
		 "COLLATE latin1_swedish_ci", e->dbname);
	assert_int_equal(it_sql(e, sql), 0);
	assert_int_equal(it_pair(e, "0001_t",
				 "-- check: true SELECT count(*) = 1 FROM t "
				 "WHERE note = '\xE4\xB8\xAD\xE6\x96\x87'\n"
				 "CREATE TABLE t (note varchar(20)) "
				 "CHARACTER SET utf8mb4;\n"
				 "INSERT INTO t VALUES "
				 "('\xE4\xB8\xAD\xE6\x96\x87');\n",
				 "DROP TABLE t;\n"), 0);
	assert_int_equal(it_pair(e, "0002_a", UP_A, "DROP TABLE a;\n"), 0);
	/* the check's query goes into the outcome row's checks */
	MG(r, "up", "--to", "1");
	assert_exit(r, 0);
	assert_state(e, 1, "applied");
	MG(r, "baseline", "2", "--reason", reason);
	assert_exit(r, 0);
	got = it_own(st, it_value(e, "SELECT reason FROM migrate_ledger "
				     "WHERE version = 2"));
	assert_non_null(got);
	assert_string_equal(got, reason);
	MG(r, "verify");
	assert_exit(r, 0);
}

/* Table names up to MySQL's 64 characters work as ledger names. */
static void test_long_ledger_table_name(void **state)
{
	IT_BEGIN;
	/* 60 characters */
	static const char name[] = "ledger_of_the_billing_service_"
				   "in_the_eu_west_region_prod_001";

	assert_int_equal(strlen(name), 60);
	three(e);
	MG(r, "--ledger-table", name, "up");
	assert_exit(r, 0);
	assert_table(e, name);
	assert_table(e, "c");
	MG(r, "--ledger-table", name, "--json", "status");
	assert_exit(r, 0);
	assert_int_equal(count_of(r->out, "\"state\":\"applied\""), 3);
	MG(r, "--ledger-table", name, "verify");
	assert_exit(r, 0);
}

/* ---- JSON ---- */

/* stdout's lines, each checked to be a JSON object (with an "event" key
 * if need_event); the test's state owns them. */
static char **json_lines(struct it_state *st, const char *out, size_t *n,
			 bool need_event)
{
	char **lines;

	assert_true(it_json_lines(out, need_event));
	lines = it_own_lines(st, it_lines(out, n));
	assert_non_null(lines);
	it_drop_progress(lines, n); /* issue 14's, timing-dependent */
	return lines;
}

static void test_json_dirty_up_ends_with_error_summary(void **state)
{
	IT_BEGIN;
	char **lines;
	size_t n;

	assert_int_equal(it_pair(e, "0001_half", HALF_UP,
				 "DROP TABLE b;\nDROP TABLE a;\n"), 0);
	MG(r, "--json", "up");
	assert_exit(r, 1);
	lines = json_lines(st, r->out, &n, true);
	assert_int_equal(n, 2);
	assert_contains(lines[0], "\"event\":\"migration\"");
	assert_contains(lines[0], "\"status\":\"dirty\"");
	assert_contains(lines[0], "\"error\":\"");
	assert_contains(lines[0], "\"sqlstate\":\"42S02\"");
	assert_contains(lines[1], "\"event\":\"summary\"");
	assert_contains(lines[1], "\"status\":\"error\"");
	assert_contains(lines[1], "\"exit_code\":1");

	/* refused before anything runs: a summary all the same */
	MG(r, "--json", "up");
	assert_exit(r, 1);
	lines = json_lines(st, r->out, &n, true);
	assert_true(n >= 1);
	assert_contains(lines[n - 1], "\"event\":\"summary\"");
	assert_contains(lines[n - 1], "\"exit_code\":1");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sigkilled_runner_leaves_dirty_and_frees_lock),
		T(test_lock_timeout_names_the_holder),
		T(test_password_never_shown),
		T(test_unknown_database_and_unreachable_host_fail),
		T(test_percent_encoded_password_connects),
		T(test_socket_url_connects),
		T(test_half_applied_file_is_dirty_until_repair),
		T(test_half_applied_down_is_dirty),
		T(test_syntax_error_names_the_file_line),
		T(test_failed_check_with_incomplete_down_is_dirty),
		T(test_delimiter_procedure_and_trigger_apply),
		T(test_stored_programs_without_delimiter_apply),
		T(test_mysqldump_file_applies),
		T(test_mysqldump_trigger_section_applies),
		T(test_server_warnings_are_shown_not_errors),
		T(test_dialect_corners_split_as_the_client_does),
		T(test_error_in_program_body_names_its_line),
		T(test_use_in_file_keeps_ledger_in_target_database),
		T(test_lock_is_per_database),
		T(test_ledger_holds_any_utf8_on_latin1_database),
		T(test_long_ledger_table_name),
		T(test_roundtrip_proves_down_files),
		T(test_json_dirty_up_ends_with_error_summary),
	};
	int rc;

	if (sodium_init() < 0 || mg_drivers_init() < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	mg_drivers_end();
	return rc;
}
