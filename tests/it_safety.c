/*
 * Integration tests of production safety (issue 14; SPEC.md "Production
 * safety"): bounded lock waits, retries that name the blocker, statement
 * timeouts, cancellation by a signal, progress lines, and read-only
 * targets (a real streaming standby made by scripts/pg-standby.sh). The
 * blockers are real sessions holding real locks: a second connection
 * through the project's own drivers, idle in a transaction.
 *
 * One body per behaviour, registered for each engine it applies to, as in
 * it_core.c.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "migrator/driver.h"
#include "migrator/error.h"
#include "support/it.h"

/* What a test leaves for teardown() to end, whatever its outcome: the
 * file's own, as cmocka runs one test at a time. */
static struct {
	struct mg_conn *blocker; /* a test's second session, or NULL */
	char standby[300];       /* a standby's directory, or "" */
} left;

struct dialect {
	const char *timeout_text; /* what a statement timeout says */
};

static const struct dialect dialects[] = {
	[BK_SQLITE] = { 0 },
	[BK_POSTGRES] = {
		.timeout_text = "canceling statement due to statement timeout",
	},
	[BK_MYSQL] = {
		.timeout_text = "max_statement_time exceeded",
	},
};

static const struct dialect *dialect(void **state)
{
	return &dialects[((struct it_state *)*state)->bk];
}

static enum backend backend(void **state)
{
	return ((struct it_state *)*state)->bk;
}

static void standby_stop(void);

static int teardown(void **state)
{
	if (left.blocker != NULL) {
		left.blocker->drv->close(left.blocker);
		left.blocker = NULL;
	}
	standby_stop();
	return it_teardown(state);
}

/* ---- helpers ---- */

/*
 * A second session that reads `table` inside a transaction it leaves
 * open: idle in transaction, holding a lock that an ALTER TABLE must wait
 * for (PostgreSQL AccessShareLock, MariaDB a shared metadata lock, SQLite
 * a shared lock that a commit must wait for). Returns its session id on
 * the server (0 on SQLite).
 */
static int64_t block(void **state, const char *table)
{
	struct it_state *st = *state;
	const struct mg_driver *drv;
	struct mg_error err = { 0 };
	char sql[128];
	struct mg_conn *c;

	/* read-only: on SQLite a read transaction (BEGIN, not IMMEDIATE) */
	assert_non_null(drv = mg_driver_for_url(st->e.url, &err));
	if (drv->connect(&c, st->e.url, MG_CONNECT_READ_ONLY, &err) < 0)
		fail_msg("blocker: %s", err.msg);
	left.blocker = c;
	snprintf(sql, sizeof(sql), "SELECT * FROM %s", table);
	assert_int_equal(c->drv->txn(c, MG_TXN_BEGIN, &err), 0);
	if (c->drv->query(NULL, c, sql, NULL, 0, 0, &err) < 0)
		fail_msg("blocker: %s", err.msg);
	return c->drv->session_id != NULL ? c->drv->session_id(c) : 0;
}

/* The blocker commits, and so lets go of its lock. */
static void unblock(void **state)
{
	struct mg_error err = { 0 };

	(void)state; /* the blocker is in `left` */
	assert_non_null(left.blocker);
	assert_int_equal(
	        left.blocker->drv->txn(left.blocker, MG_TXN_COMMIT, &err), 0);
}

static void users_table(void **state)
{
	struct it_state *st = *state;
	struct it_env *e = &st->e;
	struct it_run *r = &st->r;

	assert_int_equal(it_pair(e, "0001_users",
	                         "CREATE TABLE users (id int PRIMARY KEY, "
	                         "name varchar(40));\n"
	                         "INSERT INTO users VALUES (1, 'ann');\n",
	                         "DROP TABLE users;\n"),
	                 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_pair(e, "0002_note",
	                         "ALTER TABLE users ADD COLUMN note "
	                         "varchar(40);\n",
	                         "ALTER TABLE users DROP COLUMN note;\n"),
	                 0);
}

/* ---- tests ---- */

/*
 * Behind an idle-in-transaction reader, the ALTER gives up after
 * --ddl-lock-timeout (not forever), the file fails with exit 1 (not 5),
 * nothing of it stays, and the message and ledger name the blocker.
 */
static void lock_wait_is_bounded_and_names_the_blocker(void **state)
{
	IT_BEGIN;
	char pid[64];
	long long t0, ms;
	int64_t id;

	users_table(state);
	id = block(state, "users");
	t0 = it_now_ms();
	MG(r, "--ddl-lock-timeout", "1s", "--retries", "0", "up");
	ms = it_now_ms() - t0;
	assert_exit(r, 1);
	assert_true(ms < 15000);
	assert_contains(r->err, "0002_note.up.sql");
	snprintf(pid, sizeof(pid), "blocked by session %lld", (long long)id);
	assert_contains(r->err, pid);
	/* MariaDB shows no statement of an idle session without
	 * performance_schema */
	if (backend(state) == BK_POSTGRES)
		assert_contains(r->err, "last query: SELECT * FROM users");
	assert_contains(r->err, "--ddl-lock-timeout");
	/* the failed attempt is an event, with the blocker in it */
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = "
	                                    "'failed' AND error LIKE "
	                                    "'%blocked by session%'"),
	                 1);
	assert_int_equal(it_ledger_count(e, "version = 2 AND checks LIKE "
	                                    "'%\"kind\":\"attempt\"%' AND "
	                                    "checks LIKE "
	                                    "'%\"lock_wait_timeout\":true%'"),
	                 1);
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok'"),
	                 0);
	unblock(state);
	assert_state(e, 2, "failed");
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(note) + 1 FROM users"), 1);
}

/*
 * With retries, the file waits 1 s, 2 s, ... between attempts, and goes
 * through once the blocker commits; each attempt is a ledger event.
 */
static void retries_until_the_blocker_commits(void **state)
{
	IT_BEGIN;
	const char *args[] = {
		"--ddl-lock-timeout", "1s", "--retries", "3", "up", NULL
	};
	long long t0;
	char *err;
	pid_t pid;
	int code;

	users_table(state);
	block(state, "users");
	pid = it_mg_bg(e, "retry", NULL, args);
	assert_true(pid > 0);
	/* the first attempt has timed out and is recorded */
	for (t0 = it_now_ms(); it_now_ms() - t0 < 15000 &&
	                       it_ledger_count(e, "version = 2 AND status = "
	                                          "'failed'") < 1;)
		it_sleep_ms(100);
	unblock(state);
	code = it_wait(pid, 30000);
	err = it_own(st, it_bg_output(e, "retry", true));
	if (code != 0)
		fail_msg("exit %d: %s", code, err);
	assert_contains(err, "lock wait timed out (attempt 1); retrying");
	assert_contains(err, "(attempt 2)");
	assert_true(it_ledger_count(e,
	                            "version = 2 AND status = 'failed' "
	                            "AND checks LIKE '%\"attempt\":1%'") == 1);
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok' "
	                                    "AND checks LIKE "
	                                    "'%\"kind\":\"attempt\"%'"),
	                 1);
	assert_state(e, 2, "applied");
}

/*
 * -- migrate:statement-timeout bounds a statement's run time, lock waits
 * included (an ALTER behind a reader, with the lock bound off).
 */
static void statement_timeout_directive_stops_a_statement(void **state)
{
	IT_BEGIN;
	long long t0;

	users_table(state);
	assert_int_equal(it_pair(e, "0002_note",
	                         "-- migrate:statement-timeout 800ms\n"
	                         "ALTER TABLE users ADD COLUMN note "
	                         "varchar(40);\n",
	                         "ALTER TABLE users DROP COLUMN note;\n"),
	                 0);
	block(state, "users");
	t0 = it_now_ms();
	MG(r, "--ddl-lock-timeout", "off", "--retries", "0", "up");
	assert_exit(r, 1);
	assert_true(it_now_ms() - t0 < 8000);
	assert_contains(r->err, dialect(state)->timeout_text);
	assert_contains(r->err, "0002_note.up.sql:2");
	assert_state(e, 2, "failed");
	unblock(state);
	/* a bad one is refused before anything runs */
	assert_int_equal(it_pair(e, "0002_note",
	                         "-- migrate:statement-timeout soon\n"
	                         "SELECT 1;\n",
	                         "SELECT 1;\n"),
	                 0);
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "0002_note.up.sql:1");
	assert_contains(r->err, "statement-timeout takes a duration");
}

/* The other sessions running an ALTER TABLE users on the server. On
 * PostgreSQL migrate sends the BEGIN with the file's text, so that is
 * where the ALTER is in the query; our own count is left out. */
static long long alters_on_server(void **state)
{
	struct it_state *st = *state;

	if (backend(state) == BK_POSTGRES)
		return it_count(&st->e,
		                "SELECT count(*) FROM pg_stat_activity WHERE "
		                "query LIKE '%ALTER TABLE users%' AND pid <> "
		                "pg_backend_pid()");
	return it_count(&st->e, "SELECT count(*) FROM "
	                        "information_schema.PROCESSLIST WHERE INFO "
	                        "LIKE '%ALTER TABLE users%' AND ID <> "
	                        "CONNECTION_ID()");
}

/*
 * SIGTERM (a cancelled deploy job) while an ALTER waits for its lock with
 * no bound: the statement is cancelled on the server, not left waiting
 * (and queueing everyone behind it); the file is recorded as failed with
 * the signal; exit 143.
 */
static void sigterm_cancels_the_statement_on_the_server(void **state)
{
	IT_BEGIN;
	const char *args[] = { "--ddl-lock-timeout", "off", "up", NULL };
	long long t0;
	char *err;
	pid_t pid;
	int code;

	users_table(state);
	block(state, "users");
	pid = it_mg_bg(e, "term", NULL, args);
	assert_true(pid > 0);
	/* until the ALTER waits on the server (no fixed sleep: under load
	 * one was either too long or too short) */
	for (t0 = it_now_ms();
	     it_now_ms() - t0 < 15000 && alters_on_server(state) < 1;)
		it_sleep_ms(50);
	assert_int_equal(alters_on_server(state), 1);
	t0 = it_now_ms();
	assert_int_equal(kill(pid, SIGTERM), 0);
	code = it_wait(pid, 20000);
	err = it_own(st, it_bg_output(e, "term", true));
	if (code != 143)
		fail_msg("exit %d, want 143: %s", code, err);
	assert_true(it_now_ms() - t0 < 10000);
	assert_contains(err, "cancelled by SIGTERM");
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = "
	                                    "'failed' AND error LIKE "
	                                    "'%SIGTERM%'"),
	                 1);
	/* nothing of ours still waits on the server */
	assert_int_equal(alters_on_server(state), 0);
	unblock(state);
	assert_state(e, 2, "failed");
}

/*
 * A statement that waits 25 s for a lock (--ddl-lock-timeout off): a
 * "start" line, then every 10 s a "running" line with the elapsed time
 * and, on PostgreSQL, what it waits for and who blocks it.
 */
static void progress_while_a_statement_waits(void **state)
{
	IT_BEGIN;
	const char *args[] = { "--json", "--ddl-lock-timeout", "off", "up",
		               NULL };
	char **lines, pid[64], *out, *err;
	size_t n, i, running = 0;
	int64_t id;
	pid_t bg;
	int code;

	users_table(state);
	id = block(state, "users");
	bg = it_mg_bg(e, "progress", NULL, args);
	assert_true(bg > 0);
	it_sleep_ms(23000);
	unblock(state);
	code = it_wait(bg, 30000);
	out = it_own(st, it_bg_output(e, "progress", false));
	err = it_own(st, it_bg_output(e, "progress", true));
	if (code != 0)
		fail_msg("exit %d: %s", code, err);
	assert_true(it_json_lines(out, true));
	lines = it_own_lines(st, it_lines(out, &n));
	snprintf(pid, sizeof(pid), "blocked by session %lld", (long long)id);
	for (i = 0; i < n; i++) {
		if (!contains(lines[i], "\"phase\":\"running\""))
			continue;
		running++;
		assert_contains(lines[i], "\"event\":\"progress\"");
		assert_contains(lines[i], "0002_note.up.sql");
		assert_contains(lines[i], "\"line\":1,");
		assert_contains(lines[i], "\"elapsed_ms\":");
		assert_contains(lines[i], pid);
		assert_contains(lines[i], "\"waits_for\":\"AccessExclusiveLock "
		                          "on users\"");
	}
	assert_true(running >= 2);
	assert_contains(out, "\"phase\":\"start\",\"file\":");
	assert_contains(out, "\"event\":\"summary\"");
	/* stdout carries JSON only; stderr no progress */
	assert_not_contains(err, "still running");
}

/* ---- read-only targets: a real hot standby ---- */

static void standby_stop(void)
{
	const char *src = getenv("MG_SOURCE_DIR");
	char cmd[700];

	if (left.standby[0] == '\0' || src == NULL)
		return;
	snprintf(cmd, sizeof(cmd), "bash %s/scripts/pg-standby.sh stop %s", src,
	         left.standby);
	if (system(cmd) != 0)
		fprintf(stderr, "it_safety: could not stop %s\n", left.standby);
	left.standby[0] = '\0';
}

/* Starts a standby of the test server; its URL for e's database. */
static char *standby_url(void **state)
{
	struct it_state *st = *state;
	const char *src = getenv("MG_SOURCE_DIR");
	const char *root = getenv("MG_TEST_PG_STANDBY_ROOT");
	char cmd[800], port[32] = "", *url, *p;
	FILE *f;

	if (src == NULL || root == NULL)
		skip(); /* not under scripts/with-servers.sh */
	snprintf(left.standby, sizeof(left.standby), "%s/pg-standby.%ld", root,
	         (long)getpid());
	snprintf(cmd, sizeof(cmd), "bash %s/scripts/pg-standby.sh start %s",
	         src, left.standby);
	assert_non_null(f = popen(cmd, "r"));
	if (fgets(port, sizeof(port), f) == NULL)
		port[0] = '\0';
	assert_int_equal(pclose(f), 0);
	port[strcspn(port, "\n")] = '\0';
	assert_true(port[0] != '\0');
	/* the test's URL with the standby's port */
	assert_non_null(url = strdup(st->e.url));
	assert_non_null(p = strstr(url, "@127.0.0.1:"));
	p += strlen("@127.0.0.1:");
	snprintf(cmd, sizeof(cmd), "%.*s%s%s", (int)(p - url), url, port,
	         strchr(p, '/'));
	free(url);
	return strdup(cmd);
}

/*
 * A pipeline pointed at a replica must not look healthy: write commands
 * refuse the standby before planning (exit 1, naming it, with the
 * target_session_attrs hint) even with nothing pending; status works
 * there and says how far it lags.
 */
static void standby_refused_for_writes_readable_for_status(void **state)
{
	IT_BEGIN;
	struct it_env sb;
	char *url;
	long long rows;

	three(e);
	MG(r, "up", "--to", "1");
	assert_exit(r, 0);
	rows = it_ledger_count(e, NULL);
	url = it_own(st, standby_url(state));
	sb = *e;
	sb.url = url;
	it_mg(r, &sb, "up", (const char *)NULL);
	assert_exit(r, 1);
	assert_contains(r->err, "is a hot standby (read-only): connect to the "
	                        "primary");
	assert_contains(r->err, "target_session_attrs=read-write");
	assert_not_contains(r->err, "mg_test_pw");
	it_mg(r, &sb, "baseline", "3", "--reason", "x", (const char *)NULL);
	assert_exit(r, 1);
	assert_contains(r->err, "hot standby");
	it_mg(r, &sb, "status", (const char *)NULL);
	assert_exit(r, 0);
	assert_contains(r->err, "this is a standby (read-only)");
	assert_contains(r->err, "behind the primary");
	assert_contains(r->out, "applied");
	assert_contains(r->out, "pending");
	it_mg(r, &sb, "status", "--json", (const char *)NULL);
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, false));
	/* with --json the note is an object on stdout: stderr carries only
	 * errors */
	assert_contains(r->out, "{\"event\":\"standby\",\"read_only\":true,"
	                        "\"lag\":\"");
	assert_not_contains(r->err, "standby");
	it_mg(r, &sb, "verify", (const char *)NULL);
	assert_exit(r, 0);
	/* nothing happened on the primary */
	assert_int_equal(it_ledger_count(e, NULL), rows);
	assert_no_table(e, "b");
	/* the primary still takes them */
	MG(r, "up");
	assert_exit(r, 0);
}

/* ---- SQLite: busy_timeout is the lock bound ---- */

/*
 * A reader's open transaction keeps SQLite from committing: the commit
 * waits --ddl-lock-timeout, not --lock-timeout, and the file is retried
 * once the reader is done.
 */
static void sqlite_commit_wait_is_bounded(void **state)
{
	IT_BEGIN;
	const char *args[] = {
		"--ddl-lock-timeout", "500ms", "--retries", "3", "up", NULL
	};
	long long t0;
	char *err;
	pid_t pid;
	int code;

	users_table(state);
	block(state, "users");
	t0 = it_now_ms();
	MG(r, "--ddl-lock-timeout", "500ms", "--retries", "0", "up");
	assert_exit(r, 1);
	assert_true(it_now_ms() - t0 < 10000);
	assert_contains(r->err, "locked");
	pid = it_mg_bg(e, "sq", NULL, args);
	it_sleep_ms(800);
	unblock(state);
	code = it_wait(pid, 30000);
	err = it_own(st, it_bg_output(e, "sq", true));
	if (code != 0)
		fail_msg("exit %d: %s", code, err);
	assert_state(e, 2, "applied");
}

/* ---- a frozen server ---- */

/*
 * The server stops answering while its kernel still does (both of
 * migrate's backends stopped with SIGSTOP, as a hung server would be):
 * the heartbeat on the second session goes unanswered, migrate cuts its
 * connection and exits 1 saying so, instead of waiting forever. Nothing
 * else of the server is touched.
 */
static void frozen_server_is_given_up_on(void **state)
{
	IT_BEGIN;
	const char *args[] = { "up", NULL };
	struct mg_rows *rows = NULL;
	char sql[256], *err;
	long long t0;
	size_t i;
	pid_t pid;
	int code;

	assert_int_equal(it_pair(e, "0001_long", "SELECT pg_sleep(120);\n",
	                         "SELECT 1;\n"),
	                 0);
	pid = it_mg_bg(e, "frozen", NULL, args);
	assert_true(pid > 0);
	snprintf(sql, sizeof(sql),
	         "SELECT pid FROM pg_stat_activity WHERE application_name "
	         "LIKE 'migrate pid=%ld %%'",
	         (long)pid);
	/* its main session and its second one */
	for (t0 = it_now_ms(); it_now_ms() - t0 < 15000; it_sleep_ms(100)) {
		mg_rows_free(rows);
		rows = it_query(e, sql);
		if (rows != NULL && rows->nrows >= 2 &&
		    it_count(e, "SELECT count(*) FROM pg_stat_activity WHERE "
		                "query LIKE 'SELECT pg_sleep(120)%'") == 1)
			break;
	}
	it_own_rows(st, rows);
	assert_true(rows != NULL && rows->nrows == 2);
	for (i = 0; i < rows->nrows; i++)
		assert_int_equal(
		        kill((pid_t)atol(mg_rows_get(rows, i, 0)), SIGSTOP), 0);
	t0 = it_now_ms();
	code = it_wait(pid, 70000);
	for (i = 0; i < rows->nrows; i++)
		kill((pid_t)atol(mg_rows_get(rows, i, 0)), SIGCONT);
	err = it_own(st, it_bg_output(e, "frozen", true));
	if (code != 1)
		fail_msg("exit %d, want 1: %s", code, err);
	/* a heartbeat every 10 s, answered within 30 s */
	assert_true(it_now_ms() - t0 < 45000);
	assert_contains(err, "the server stopped answering");
	assert_contains(err, "migrate status");
}

/* ---- migrate test --locks ---- */

static const char FK_UP[] = "ALTER TABLE orders ADD CONSTRAINT orders_user_fk\n"
                            "  FOREIGN KEY (user_id) REFERENCES users (id);\n";

static void orders_and_fk(void **state, const char *extra)
{
	struct it_state *st = *state;
	struct it_env *e = &st->e;
	struct it_run *r = &st->r;
	char up[512];

	users_table(state);
	assert_int_equal(it_remove(e, "0002_note.up.sql"), 0);
	assert_int_equal(it_remove(e, "0002_note.down.sql"), 0);
	assert_int_equal(it_pair(e, "0002_orders",
	                         "CREATE TABLE orders (id int PRIMARY KEY, "
	                         "user_id int);\n",
	                         "DROP TABLE orders;\n"),
	                 0);
	MG(r, "up");
	assert_exit(r, 0);
	snprintf(up, sizeof(up), "%s%s", extra, FK_UP);
	/* MariaDB keeps the index it made for the key */
	assert_int_equal(it_pair(e, "0003_fk", up,
	                         backend(state) == BK_MYSQL
	                                 ? "ALTER TABLE orders DROP FOREIGN "
	                                   "KEY orders_user_fk;\n"
	                                   "DROP INDEX orders_user_fk ON "
	                                   "orders;\n"
	                                 : "ALTER TABLE orders DROP "
	                                   "CONSTRAINT orders_user_fk;\n"),
	                 0);
}

/*
 * A foreign key added to existing tables: the report names both tables,
 * the lock (SHARE ROW EXCLUSIVE: writes wait), the tables' sizes and the
 * NOT VALID hint; --strict refuses it before anything is applied, until
 * the file acknowledges the locks.
 */
static void lock_report_for_a_foreign_key(void **state)
{
	IT_BEGIN;
	char **lines, *line;
	size_t n;

	orders_and_fk(state, "");
	MG(r, "test", "--locks", "--strict");
	assert_exit(r, 4);
	assert_contains(r->err, "locks ");
	assert_contains(r->err, "0003_fk.up.sql:1: ALTER TABLE orders ADD "
	                        "CONSTRAINT orders_user_fk");
	assert_contains(r->err, "  orders (");
	assert_contains(r->err, "  users (");
	assert_contains(r->err, "ShareRowExclusiveLock, blocks writes");
	assert_contains(r->err, "hint: add the constraint NOT VALID");
	assert_contains(r->err, "--strict: 2 blocking locks");
	assert_state(e, 3, "pending");

	MG(r, "--json", "test", "--locks", "--strict");
	assert_exit(r, 4);
	assert_true(it_json_lines(r->out, true));
	lines = it_own_lines(st, it_lines(r->out, &n));
	assert_true(n >= 2 && contains(lines[n - 1], "\"event\":\"summary\""));
	line = it_own(st, it_line_with(r->out, "\"event\":\"locks\""));
	assert_non_null(line);
	assert_contains(line, "\"line\":1");
	assert_contains(line, "{\"table\":\"users\",\"mode\":"
	                      "\"ShareRowExclusiveLock\",\"blocks\":"
	                      "\"writes\",\"table_bytes\":");
	assert_contains(line, "\"allowed\":false");
	assert_contains(line, "\"hint\":\"add the constraint NOT VALID");

	/* acknowledged: the report says so, and the round trip runs */
	assert_int_equal(it_pair(e, "0003_fk",
	                         "-- migrate:allow-lock orders\n"
	                         "-- migrate:allow-lock public.users\n"
	                         "ALTER TABLE orders ADD CONSTRAINT "
	                         "orders_user_fk\n"
	                         "  FOREIGN KEY (user_id) REFERENCES users "
	                         "(id);\n",
	                         "ALTER TABLE orders DROP CONSTRAINT "
	                         "orders_user_fk;\n"),
	                 0);
	MG(r, "test", "--locks", "--strict");
	assert_exit(r, 0);
	assert_contains(r->err, "blocks writes (allowed)");
	assert_state(e, 3, "applied");
}

/*
 * An index built without CONCURRENTLY, and a statement that runs while
 * an earlier one of its file holds ACCESS EXCLUSIVE: both get a hint; a
 * table the file creates itself is not reported.
 */
static void lock_report_hints(void **state)
{
	IT_BEGIN;

	users_table(state);
	assert_int_equal(it_pair(e, "0002_note",
	                         "ALTER TABLE users ADD COLUMN note int;\n"
	                         "UPDATE users SET note = 1;\n"
	                         "CREATE INDEX users_note ON users (note);\n"
	                         "CREATE TABLE fresh (id int);\n"
	                         "CREATE INDEX fresh_id ON fresh (id);\n",
	                         "DROP TABLE fresh;\n"
	                         "ALTER TABLE users DROP COLUMN note;\n"),
	                 0);
	MG(r, "test", "--locks");
	assert_exit(r, 0);
	assert_contains(r->err, "0002_note.up.sql:1: ALTER TABLE users");
	assert_contains(r->err, "AccessExclusiveLock, blocks reads and writes");
	assert_contains(r->err, "0002_note.up.sql:2: UPDATE users");
	assert_contains(r->err, "hint: runs while the lock that blocks reads "
	                        "and writes of users (line 1) is held");
	assert_contains(r->err, "hint: CREATE INDEX CONCURRENTLY");
	assert_not_contains(r->err, "  fresh (");
	/* each statement shows the locks it took, not those held before */
	assert_int_equal(count_of(r->err, "AccessExclusiveLock"), 1);
	assert_state(e, 2, "applied");
}

/* MySQL cannot rehearse DDL: the report says so, and the test goes on. */
static void lock_report_says_what_mysql_cannot(void **state)
{
	IT_BEGIN;

	orders_and_fk(state, "");
	MG(r, "test", "--locks");
	assert_exit(r, 0);
	assert_contains(r->err, "0003_fk.up.sql: MySQL and MariaDB commit DDL "
	                        "implicitly");
	assert_contains(r->err, "performance_schema");
	assert_state(e, 3, "applied");
}

/* ---- registration ---- */

#define BODIES_SERVERS(X)                                                      \
	X(lock_wait_is_bounded_and_names_the_blocker)                          \
	X(retries_until_the_blocker_commits)                                   \
	X(statement_timeout_directive_stops_a_statement)                       \
	X(sigterm_cancels_the_statement_on_the_server)

#define EACH_SERVER(body)                                                      \
	static void test_##body##_postgres(void **state)                       \
	{                                                                      \
		body(state);                                                   \
	}                                                                      \
	static void test_##body##_mysql(void **state)                          \
	{                                                                      \
		body(state);                                                   \
	}

BODIES_SERVERS(EACH_SERVER)

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_setup, teardown)
#define T_POSTGRES(body) T(test_##body##_postgres),
#define T_MYSQL(body) T(test_##body##_mysql),

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		T(sqlite_commit_wait_is_bounded),
	};
	const struct CMUnitTest postgres_tests[] = {
		BODIES_SERVERS(T_POSTGRES)
		        T(standby_refused_for_writes_readable_for_status),
		T(progress_while_a_statement_waits),
		T(lock_report_for_a_foreign_key),
		T(lock_report_hints),
		T(frozen_server_is_given_up_on),
	};
	const struct CMUnitTest mysql_tests[] = {
		BODIES_SERVERS(T_MYSQL) T(lock_report_says_what_mysql_cannot),
	};
	int failed = 0;

	if (sodium_init() < 0 || mg_drivers_init() < 0)
		return 1;
	failed += cmocka_run_group_tests_name("it_safety_sqlite", sqlite_tests,
	                                      it_group_setup_sqlite,
	                                      it_group_teardown);
	failed += cmocka_run_group_tests_name(
	        "it_safety_postgres", postgres_tests, it_group_setup_postgres,
	        it_group_teardown);
	failed += cmocka_run_group_tests_name("it_safety_mysql", mysql_tests,
	                                      it_group_setup_mysql,
	                                      it_group_teardown);
	mg_drivers_end();
	return failed;
}
