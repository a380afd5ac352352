/*
 * Integration tests on PostgreSQL: the built binary (MG_BIN) against a
 * real server (MG_TEST_PG_DSN), each test in a database of its own and a
 * temp dir of its own, asserting on exit codes, output, the ledger and the
 * database itself. Without a server each test is skipped, unless
 * MG_TEST_REQUIRE_SERVERS is set: then the group fails.
 * Only what is PostgreSQL's own is here: the behaviours it shares with
 * SQLite and MySQL are tested once for all three in it_core.c.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "migrator/driver.h"
#include "support/it.h"

static int group_setup(void **state)
{
	struct it_state *st = calloc(1, sizeof(*st));

	if ((*state = st) == NULL)
		return -1;
	st->dsn = getenv("MG_TEST_PG_DSN");
	if (!it_pg_reachable(st->dsn))
		st->no_server = true; /* each test then calls skip() */
	if (st->no_server)
		fprintf(stderr, "it_postgres: no server at MG_TEST_PG_DSN\n");
	/* CI always has servers: there, a missing one fails the group */
	return st->no_server && getenv("MG_TEST_REQUIRE_SERVERS") ? -1 : 0;
}

static int group_teardown(void **state)
{
	free(*state);
	return 0;
}

static int setup(void **state)
{
	struct it_state *st = *state;

	if (st->no_server)
		return 0;
	return it_env_setup_pg(&st->e, st->dsn);
}

static int teardown(void **state)
{
	struct it_state *st = *state;

	it_state_reset(st);
	it_env_teardown(&st->e);
	return 0;
}

/* Polls pg_stat_activity, up to timeout_ms, for another session of the
 * test's database running a query that contains `text`. */
static bool wait_for_query(const struct it_env *e, const char *text,
			   int timeout_ms)
{
	long long deadline = it_now_ms() + timeout_ms;
	char sql[512];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity "
		 "WHERE datname = current_database() AND state = 'active' "
		 "AND pid <> pg_backend_pid() AND query LIKE '%%%s%%'", text);
	while (it_now_ms() < deadline) {
		if (it_count(e, sql) > 0)
			return true;
		it_sleep_ms(20);
	}
	return false;
}

/* ---- failures ---- */

static void test_error_in_function_body_names_its_line(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_f",
				 "CREATE TABLE t(x int);\n"
				 "-- a function with a typo in its body\n"
				 "CREATE FUNCTION f() RETURNS int\n"
				 "LANGUAGE plpgsql AS $body$\n"
				 "BEGIN\n"
				 "  PERFORM 1;\n"
				 "  SELEC 1;\n"
				 "  RETURN 1;\n"
				 "END\n"
				 "$body$;\n",
				 "DROP FUNCTION f();\nDROP TABLE t;\n"), 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "0001_f.up.sql:7:");
	assert_contains(r->err, "SELEC");
	assert_no_table(e, "t");
}

/* ---- concurrency ---- */

static void test_sigkilled_runner_leaves_nothing_and_frees_lock(void **state)
{
	IT_BEGIN;
	static const char *const args[] = { "up", NULL };
	long long t0;
	pid_t pid;
	int code;

	assert_int_equal(it_pair(e, "0001_t",
				 "CREATE TABLE t(x int);\n"
				 "SELECT pg_sleep(30);\n",
				 "DROP TABLE t;\n"), 0);
	pid = it_mg_bg(e, "killed", NULL, args);
	assert_true(pid > 0);
	if (!wait_for_query(e, "pg_sleep(30)", 10000)) {
		it_wait(pid, 0);
		fail_msg("the runner never reached pg_sleep(30)");
	}
	assert_int_equal(kill(pid, SIGKILL), 0);
	code = it_wait(pid, 5000);
	assert_int_equal(code, 128 + SIGKILL);

	assert_no_table(e, "t");
	assert_int_equal(it_ledger_count(e, "status = 'ok'"), 0);

	/* the server notices the dead client (client_connection_check_
	 * interval) and frees the advisory lock */
	assert_int_equal(it_write_str(e, "0001_t.up.sql",
				      "CREATE TABLE t(x int);\n"), 0);
	t0 = it_now_ms();
	MG(r, "--lock-timeout", "10", "up");
	assert_exit(r, 0);
	assert_true(it_now_ms() - t0 < 11000);
	assert_table(e, "t");
	assert_int_equal(it_ledger_count(e, "status = 'ok'"), 1);
	assert_int_equal(it_ledger_count(e, "version = 1 AND status = 'ok' "
					    "AND direction = 'up'"), 1);
}

static void test_lock_timeout_names_the_holder(void **state)
{
	IT_BEGIN;
	static const char *const args[] = { "up", NULL };
	char holder[32];
	pid_t pid;

	assert_int_equal(it_pair(e, "0001_slow",
				 "CREATE TABLE slow(x int);\n"
				 "SELECT pg_sleep(2);\n",
				 "DROP TABLE slow;\n"), 0);
	pid = it_mg_bg(e, "holder", NULL, args);
	assert_true(pid > 0);
	if (!wait_for_query(e, "pg_sleep(2)", 10000)) {
		it_wait(pid, 0);
		fail_msg("the first runner never reached pg_sleep(2)");
	}
	MG(r, "--lock-timeout", "1", "up");
	assert_exit(r, 5);
	assert_contains(r->err, "pid=");
	snprintf(holder, sizeof(holder), "pid=%ld", (long)pid);
	assert_contains(r->err, holder);

	assert_int_equal(it_wait(pid, 15000), 0);
	assert_int_equal(it_ledger_count(e, NULL), 1);
}

/* ---- passwords ---- */

static void assert_no_secret(const struct it_run *r, const char *pw,
			     const char *what)
{
	if (contains(r->out, pw) || contains(r->err, pw))
		print_error("%s shows the password:\n--- stdout:\n%s\n"
			    "--- stderr:\n%s\n", what, r->out, r->err);
	assert_false(contains(r->out, pw));
	assert_false(contains(r->err, pw));
}

static void test_password_never_shown(void **state)
{
	IT_BEGIN;
	static const char wrong[] = "WRONGpw7x1q";
	const char *env_pw = getenv("MG_TEST_PG_PASSWORD");
	char *pw = it_own(st, env_pw && *env_pw ?
					      strdup(env_pw) :
					      it_pg_url_password(e->url));
	char *bad_url, *env_url[2] = { NULL, NULL };
	const char *a1[] = { "-d", NULL, "-m", NULL, "status", NULL };
	const char *a2[] = { "-d", NULL, "-m", NULL, "--json", "up", NULL };
	const char *a3[] = { "-m", NULL, "ledger", "--format", "csv", NULL };
	struct mg_rows *rows;
	size_t i, n;

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

	/* a wrong password: the connection fails, and shows neither */
	bad_url = it_own(st, it_pg_url(e->url, NULL, wrong));
	assert_non_null(bad_url);
	a1[1] = a2[1] = bad_url;
	a1[3] = a2[3] = a3[1] = e->mig;
	it_exec(r, e->root, NULL, 0, a1);
	assert_no_secret(r, wrong, "status, wrong password");
	assert_no_secret(r, pw, "status, wrong password");
	/* a server that checks passwords (with-servers.sh, CI) refuses */
	if (r->code == 0)
		print_message("note: this server does not check passwords\n");
	else
		assert_exit(r, 1);
	it_exec(r, e->root, NULL, 0, a2);
	assert_no_secret(r, wrong, "up --json, wrong password");
	assert_no_secret(r, pw, "up --json, wrong password");
	if (r->code != 0) {
		assert_exit(r, 1);
		assert_true(it_json_object(strtok(r->out, "\n")));
	}
	n = strlen(bad_url) + 16;
	assert_non_null(env_url[0] = it_own(st, malloc(n)));
	snprintf(env_url[0], n, "DATABASE_URL=%s", bad_url);
	it_exec(r, e->root, (const char *const *)env_url, 0, a3);
	assert_no_secret(r, wrong, "ledger, DATABASE_URL");
	assert_no_secret(r, pw, "ledger, DATABASE_URL");

	/* no ledger cell holds it either */
	rows = it_own_rows(st, it_query(e, "SELECT * FROM migrate_ledger"));
	assert_non_null(rows);
	assert_true(rows->nrows >= 5);
	for (i = 0; i < rows->nrows * rows->ncols; i++) {
		assert_false(contains(rows->cells[i], pw));
		assert_false(contains(rows->cells[i], wrong));
	}
}

/* libpq's PG* variables fill in what the URL leaves out (SPEC.md); the
 * password from PGPASSWORD shows nowhere either. */
static void test_pg_environment_completes_the_url(void **state)
{
	IT_BEGIN;
	char *pw = it_own(st, it_pg_url_password(e->url)), *url, env[300];
	const char *envv[] = { env, NULL };
	const char *args[] = { "-d", NULL, "-m", e->mig, "up", NULL };

	if (pw == NULL || *pw == '\0')
		skip(); /* the DSN has no password to move */
	snprintf(env, sizeof(env), "PGPASSWORD=%s", pw);
	url = it_own(st, it_pg_url(e->url, NULL, ""));
	assert_non_null(url);
	args[1] = url;
	three(e);
	it_exec(r, e->root, envv, 0, args);
	if (r->code == 0) {
		assert_table(e, "c");
		assert_int_equal(it_ledger_count(e, NULL), 3);
	}
	assert_not_contains(r->out, pw);
	assert_not_contains(r->err, pw);
	assert_exit(r, 0);
}

/* An '@' left unencoded in a password is a common slip; libpq then takes
 * the rest for the host or port, and its message must not carry it. */
static void test_password_with_unencoded_at_sign_not_shown(void **state)
{
	IT_BEGIN;
	static const char tail1[] = "Leak9tailQ";
	static const char tail2[] = "Leak7tailZ";
	char pw1[64], pw2[64], *u1, *u2;
	const char *a1[] = { "-d", NULL, "-m", e->mig, "status", NULL };
	const char *a2[] = { "-d", NULL, "-m", e->mig, "--json", "status",
			     NULL };

	snprintf(pw1, sizeof(pw1), "pa@%s", tail1);
	snprintf(pw2, sizeof(pw2), "pa@ss:%s", tail2);
	u1 = it_own(st, it_pg_url(e->url, NULL, pw1));
	u2 = it_own(st, it_pg_url(e->url, NULL, pw2));
	assert_non_null(u1);
	assert_non_null(u2);
	three(e);
	a1[1] = a2[1] = u1;
	it_exec(r, e->root, NULL, 0, a1);
	assert_int_not_equal(r->code, 0);
	assert_not_contains(r->err, tail1);
	assert_not_contains(r->out, tail1);
	it_exec(r, e->root, NULL, 0, a2);
	assert_not_contains(r->err, tail1);
	assert_not_contains(r->out, tail1);
	a1[1] = a2[1] = u2;
	it_exec(r, e->root, NULL, 0, a1);
	assert_int_not_equal(r->code, 0);
	assert_not_contains(r->err, tail2);
	assert_not_contains(r->out, tail2);
	it_exec(r, e->root, NULL, 0, a2);
	assert_not_contains(r->err, tail2);
	assert_not_contains(r->out, tail2);
}

/* ---- no-transaction, dirty, repair ---- */

static void test_no_transaction_runs_create_index_concurrently(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_items",
				 "CREATE TABLE items(id int);\n",
				 "DROP TABLE items;\n"), 0);
	assert_int_equal(it_pair(e, "0002_items_id",
				 "-- migrate:no-transaction\n"
				 "CREATE INDEX CONCURRENTLY items_id "
				 "ON items(id);\n",
				 "-- migrate:no-transaction\n"
				 "DROP INDEX CONCURRENTLY items_id;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM pg_indexes WHERE "
				     "indexname = 'items_id'"), 1);
	assert_state(e, 2, "applied");
	MG(r, "down");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM pg_indexes WHERE "
				     "indexname = 'items_id'"), 0);
}

static void test_concurrently_in_transaction_hints_at_directive(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_items",
				 "CREATE TABLE items(id int);\n",
				 "DROP TABLE items;\n"), 0);
	assert_int_equal(it_pair(e, "0002_items_id",
				 "CREATE INDEX CONCURRENTLY items_id "
				 "ON items(id);\n",
				 "DROP INDEX items_id;\n"), 0);
	/* refused before anything runs: 0001 does not run either */
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "0002_items_id.up.sql:1:");
	assert_contains(r->err, "migrate:no-transaction");
	assert_int_equal(it_count(e, "SELECT count(*) FROM pg_indexes WHERE "
				     "indexname = 'items_id'"), 0);
	assert_int_equal(it_ledger_count(e, "true"), 0);
	MG(r, "up", "--dry-run");
	assert_exit(r, 2);
}

/* ---- new ---- */

static void test_new_pair_applies(void **state)
{
	IT_BEGIN;
	char path[600];

	assert_int_equal(it_pair(e, "007_a", UP_A, "DROP TABLE a;\n"), 0);
	MG(r, "new", "add_users");
	assert_exit(r, 0);
	snprintf(path, sizeof(path), "%s/008_add_users.up.sql", e->mig);
	assert_true(it_exists(path));
	assert_contains(r->out, "008_add_users.up.sql");
	snprintf(path, sizeof(path), "%s/008_add_users.down.sql", e->mig);
	assert_true(it_exists(path));
	assert_int_equal(it_write_str(e, "008_add_users.up.sql",
				      "CREATE TABLE users(id int);\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "users");
	assert_state(e, 8, "applied");
}

/* While it runs, /proc shows the -d URL without its password, and the
 * process can leave no core dump holding it. */
static void test_password_gone_from_cmdline_and_core(void **state)
{
	IT_BEGIN;
	static const char *const args[] = { "up", NULL };
	const char *env_pw = getenv("MG_TEST_PG_PASSWORD");
	char *pw = it_own(st, env_pw && *env_pw ? strdup(env_pw)
						: it_pg_url_password(e->url));
	char path[64], *cmdline, *limits;
	size_t len, i;
	pid_t pid;

	assert_non_null(pw);
	assert_int_equal(it_pair(e, "0001_t", "SELECT pg_sleep(30);\n",
				 "SELECT 1;\n"), 0);
	pid = it_mg_bg(e, "slow", NULL, args);
	assert_true(pid > 0);
	if (!wait_for_query(e, "pg_sleep(30)", 10000)) {
		it_wait(pid, 0);
		fail_msg("the runner never reached pg_sleep(30)");
	}
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	cmdline = it_own(st, it_read_file(path, &len));
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	limits = it_own(st, it_read_file(path, NULL));
	kill(pid, SIGKILL);
	it_wait(pid, 5000);
	assert_non_null(cmdline);
	for (i = 0; i < len; i++) /* one string, to search */
		if (cmdline[i] == '\0')
			cmdline[i] = ' ';
	assert_contains(cmdline, "postgres://");
	assert_contains(cmdline, ":***@");
	assert_not_contains(cmdline, pw);
	assert_non_null(limits);
	assert_true(contains(limits, "Max core file size        0"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_error_in_function_body_names_its_line),
		T(test_sigkilled_runner_leaves_nothing_and_frees_lock),
		T(test_lock_timeout_names_the_holder),
		T(test_password_never_shown),
		T(test_pg_environment_completes_the_url),
		T(test_password_with_unencoded_at_sign_not_shown),
		T(test_no_transaction_runs_create_index_concurrently),
		T(test_concurrently_in_transaction_hints_at_directive),
		T(test_new_pair_applies),
		T(test_password_gone_from_cmdline_and_core),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
