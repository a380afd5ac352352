/*
 * Integration tests on PostgreSQL: the built binary (MG_BIN) against a
 * real server (MG_TEST_PG_DSN), each test in a database of its own and a
 * temp dir of its own, asserting on exit codes, output, the ledger and the
 * database itself. Without a server each test is skipped, unless
 * MG_TEST_REQUIRE_SERVERS is set: then the group fails.
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

static const char UP_A[] = "CREATE TABLE a(x int);\n";
static const char UP_B[] = "CREATE TABLE b(x int);\n"
			   "INSERT INTO b VALUES (1), (2);\n";
static const char UP_C[] = "CREATE TABLE c(x int);\n";

/* The three plain migrations most tests start from. */
static void three(const struct it_env *e)
{
	assert_int_equal(it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_b", UP_B, "DROP TABLE b;\n"), 0);
	assert_int_equal(it_pair(e, "0003_c", UP_C, "DROP TABLE c;\n"), 0);
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

/* ---- up and down ---- */

static void test_up_applies_all_and_records_checksums(void **state)
{
	IT_BEGIN;
	static const char *const ups[] = { UP_A, UP_B, UP_C };
	struct mg_rows *rows;
	char sum[65], vers[8];
	size_t i;

	three(e);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "a");
	assert_table(e, "b");
	assert_table(e, "c");
	assert_int_equal(it_count(e, "SELECT count(*) FROM b"), 2);

	MG(r, "status");
	assert_exit(r, 0);
	assert_int_equal(count_of(r->out, "applied"), 3);
	assert_not_contains(r->out, "pending");

	rows = it_own_rows(st, it_query(e, "SELECT version, direction, "
					"status, up_checksum, down_checksum, "
					"error FROM migrate_ledger ORDER BY "
					"id"));
	assert_non_null(rows);
	assert_int_equal(rows->nrows, 3);
	for (i = 0; i < 3; i++) {
		snprintf(vers, sizeof(vers), "%zu", i + 1);
		assert_string_equal(mg_rows_get(rows, i, 0), vers);
		assert_string_equal(mg_rows_get(rows, i, 1), "up");
		assert_string_equal(mg_rows_get(rows, i, 2), "ok");
		assert_true(it_is_hex64(mg_rows_get(rows, i, 3)));
		assert_true(it_is_hex64(mg_rows_get(rows, i, 4)));
		assert_null(mg_rows_get(rows, i, 5));
		/* SPEC.md's checksum, computed independently */
		it_checksum(sum, ups[i], strlen(ups[i]));
		assert_string_equal(mg_rows_get(rows, i, 3), sum);
	}
}

static void test_down_rolls_back_exactly_one(void **state)
{
	IT_BEGIN;

	three(e);
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "down");
	assert_exit(r, 0);
	assert_table(e, "a");
	assert_table(e, "b");
	assert_no_table(e, "c");
	assert_int_equal(it_ledger_count(e, "direction = 'down'"), 1);
	assert_int_equal(it_ledger_count(e, "direction = 'down' AND "
					    "status = 'ok' AND version = 3"),
			 1);
	assert_state(e, 3, "pending");
	assert_state(e, 2, "applied");

	MG(r, "down");
	assert_exit(r, 0);
	assert_table(e, "a");
	assert_no_table(e, "b");
	assert_int_equal(it_ledger_count(e, "direction = 'down'"), 2);
}

static void test_down_all_then_up_again(void **state)
{
	IT_BEGIN;

	three(e);
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "down", "--all");
	assert_exit(r, 0);
	assert_no_table(e, "a");
	assert_no_table(e, "b");
	assert_no_table(e, "c");
	assert_int_equal(it_ledger_count(e, "direction = 'down' AND "
					    "status = 'ok'"), 3);
	assert_state(e, 1, "pending");

	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "a");
	assert_table(e, "c");
	assert_int_equal(it_count(e, "SELECT count(*) FROM b"), 2);
	assert_int_equal(it_ledger_count(e, "direction = 'up' AND "
					    "status = 'ok'"), 6);
	assert_state(e, 3, "applied");
}

static void test_up_to_and_down_to_stop_at_version(void **state)
{
	IT_BEGIN;

	three(e);
	MG(r, "up", "--to", "2");
	assert_exit(r, 0);
	assert_table(e, "a");
	assert_table(e, "b");
	assert_no_table(e, "c");
	assert_state(e, 3, "pending");

	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "c");

	MG(r, "down", "--to", "1");
	assert_exit(r, 0);
	assert_table(e, "a");
	assert_no_table(e, "b");
	assert_no_table(e, "c");
	assert_state(e, 1, "applied");
	assert_state(e, 2, "pending");
}

/* ---- failures ---- */

static void test_failed_file_rolls_back_and_is_retried(void **state)
{
	IT_BEGIN;
	char *err;

	assert_int_equal(it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_half",
				 "CREATE TABLE half(x int);\n"
				 "INSERT INTO half VALUES (1);\n"
				 "SELECT * FROM nosuch_table;\n",
				 "DROP TABLE half;\n"), 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "0002_half.up.sql:3:");
	assert_contains(r->err, "relation \"nosuch_table\" does not exist");
	assert_table(e, "a");
	/* nothing half-applied */
	assert_no_table(e, "half");
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = "
					    "'failed' AND direction = 'up'"),
			 1);
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok'"),
			 0);
	err = it_own(st, it_value(e, "SELECT error FROM migrate_ledger "
				     "WHERE version = 2"));
	assert_contains(err, "0002_half.up.sql:3:");
	assert_contains(err, "nosuch_table");
	assert_state(e, 2, "failed");

	assert_int_equal(it_write_str(e, "0002_half.up.sql",
				      "CREATE TABLE half(x int);\n"
				      "INSERT INTO half VALUES (1);\n"
				      "SELECT count(*) FROM half;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM half"), 1);
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok' "
					    "AND direction = 'up'"), 1);
	assert_state(e, 2, "applied");
}

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

/* "relation already exists" comes without an error position: the line
 * must still be the failing statement's, not a comment before it. */
static void test_error_without_position_names_the_statement_line(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_dup",
				 "CREATE TABLE dup(x int);\n"
				 "-- and once more, which fails:\n"
				 "\n"
				 "CREATE TABLE dup(x int);\n",
				 "DROP TABLE dup;\n"), 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "relation \"dup\" already exists");
	assert_contains(r->err, "0001_dup.up.sql:4:");
}

/* ---- drift ---- */

static void test_drift_stops_up_and_fails_verify(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_pair(e, "0002_b", UP_B, "DROP TABLE b;\n"), 0);
	assert_int_equal(it_write_str(e, "0001_a.up.sql",
				      "CREATE TABLE a(x bigint);\n"), 0);
	MG(r, "up");
	assert_exit(r, 4);
	assert_contains(r->err, "1_a");
	/* nothing ran: the pending file neither */
	assert_no_table(e, "b");
	assert_int_equal(it_ledger_count(e, "version = 2"), 0);
	assert_state(e, 1, "drifted");

	MG(r, "verify");
	assert_exit(r, 4);
	assert_contains(r->err, "0001_a.up.sql");
}

static void test_crlf_and_bom_are_not_drift(void **state)
{
	IT_BEGIN;
	static const char lf[] = "CREATE TABLE a(\n  x int\n);\n";
	static const char crlf[] = "CREATE TABLE a(\r\n  x int\r\n);\r\n";
	static const char bom[] = "\xEF\xBB\xBF"
				  "CREATE TABLE a(\r\n  x int\r\n);\r\n";

	assert_int_equal(it_pair(e, "0001_a", lf, "DROP TABLE a;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);

	assert_int_equal(it_write_str(e, "0001_a.up.sql", crlf), 0);
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "verify");
	assert_exit(r, 0);
	assert_state(e, 1, "applied");

	assert_int_equal(it_write_str(e, "0001_a.up.sql", bom), 0);
	assert_int_equal(it_pair(e, "0002_b", UP_B, "DROP TABLE b;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "b");
	MG(r, "verify");
	assert_exit(r, 0);
	assert_state(e, 1, "applied");
	/* the ledger holds one up row of version 1: nothing re-ran */
	assert_int_equal(it_ledger_count(e, "version = 1"), 1);
}

/* ---- concurrency ---- */

static void test_racing_runners_apply_each_version_once(void **state)
{
	IT_BEGIN;
	enum { RUNNERS = 4 };
	static const char *const args[] = { "up", NULL };
	pid_t pids[RUNNERS];
	char tag[16], *err;
	int i, code;

	assert_int_equal(it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_b", UP_B, "DROP TABLE b;\n"), 0);
	assert_int_equal(it_pair(e, "0003_slow",
				 "CREATE TABLE slow(x int);\n"
				 "SELECT pg_sleep(0.3);\n"
				 "INSERT INTO slow VALUES (1);\n",
				 "DROP TABLE slow;\n"), 0);
	assert_int_equal(it_pair(e, "0004_c", UP_C, "DROP TABLE c;\n"), 0);
	assert_int_equal(it_pair(e, "0005_d", "CREATE TABLE d(x int);\n",
				 "DROP TABLE d;\n"), 0);
	for (i = 0; i < RUNNERS; i++) {
		snprintf(tag, sizeof(tag), "runner%d", i);
		pids[i] = it_mg_bg(e, tag, NULL, args);
		assert_true(pids[i] > 0);
	}
	for (i = 0; i < RUNNERS; i++) {
		code = it_wait(pids[i], 30000);
		if (code != 0) {
			snprintf(tag, sizeof(tag), "runner%d", i);
			err = it_bg_output(e, tag, true);
			print_error("runner %d: exit %d\n%s\n", i, code, err);
			free(err);
		}
		assert_int_equal(code, 0);
	}
	assert_int_equal(it_ledger_count(e, NULL), 5);
	assert_int_equal(it_ledger_count(e, "direction = 'up' AND "
					    "status = 'ok'"), 5);
	assert_int_equal(it_count(e, "SELECT count(DISTINCT version) FROM "
				     "migrate_ledger"), 5);
	assert_int_equal(it_count(e, "SELECT count(*) FROM slow"), 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM b"), 2);
}

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

static const char DIRTY_UP[] = "-- migrate:no-transaction\n"
			       "CREATE TABLE nt(x int);\n"
			       "SELECT * FROM nosuch;\n";

/* Version 1 fails at its 2nd statement outside a transaction; version 2
 * waits behind it. */
static void make_dirty(struct it_env *e, struct it_run *r)
{
	assert_int_equal(it_pair(e, "0001_nt", DIRTY_UP, "DROP TABLE nt;\n"),
			 0);
	assert_int_equal(it_pair(e, "0002_later",
				 "CREATE TABLE later(x int);\n",
				 "DROP TABLE later;\n"), 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "0001_nt.up.sql:3:");
	/* the first statement committed on its own */
	assert_table(e, "nt");
	assert_no_table(e, "later");
	assert_int_equal(it_ledger_count(e, "version = 1 AND status = "
					    "'dirty' AND error LIKE '%:3:%'"),
			 1);
	assert_int_equal(it_ledger_count(e, "version = 1 AND status = 'ok'"),
			 0);
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
}

static void test_dirty_blocks_up_until_repair(void **state)
{
	IT_BEGIN;

	make_dirty(e, r);
	/* undone by hand, the file fixed, then repaired */
	assert_int_equal(it_sql(e, "DROP TABLE nt"), 0);
	assert_int_equal(it_write_str(e, "0001_nt.up.sql",
				      "-- migrate:no-transaction\n"
				      "CREATE TABLE nt(x int);\n"
				      "SELECT count(*) FROM nt;\n"), 0);
	MG(r, "repair", "1", "--reason", "x");
	assert_exit(r, 0);
	assert_state(e, 1, "pending");
	assert_int_equal(it_ledger_count(e, "direction = 'repair' AND "
					    "reason = 'x'"), 1);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "nt");
	assert_table(e, "later");
	assert_state(e, 1, "applied");
	assert_state(e, 2, "applied");
}

static void test_repair_applied_counts_dirty_version_as_applied(void **state)
{
	IT_BEGIN;

	make_dirty(e, r);
	/* completed by hand: the file stays as it is */
	MG(r, "repair", "1", "--applied", "--reason", "x");
	assert_exit(r, 0);
	assert_state(e, 1, "applied");
	MG(r, "status");
	assert_exit(r, 0);
	assert_not_contains(r->out, "dirty");
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "later");
	/* version 1 was not run again */
	assert_int_equal(it_ledger_count(e, "version = 1 AND direction = "
					    "'up' AND status = 'ok'"), 0);
	MG(r, "verify");
	assert_exit(r, 0);
}

/* ---- checks ---- */

static void test_failed_check_rolls_back_and_is_recorded(void **state)
{
	IT_BEGIN;
	char *checks;

	assert_int_equal(it_pair(e, "0001_t",
				 "CREATE TABLE t(x int);\n"
				 "INSERT INTO t VALUES (1), (2);\n",
				 "DROP TABLE t;\n"), 0);
	assert_int_equal(it_pair(e, "0002_more",
				 "-- check: rows t delta +1\n"
				 "INSERT INTO t VALUES (3), (4);\n"
				 "CREATE TABLE side(x int);\n",
				 "DELETE FROM t WHERE x > 2;\n"
				 "DROP TABLE side;\n"), 0);
	MG(r, "up");
	assert_exit(r, 3);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t"), 2);
	assert_no_table(e, "side");
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = "
					    "'rolled_back'"), 1);
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok'"),
			 0);
	assert_state(e, 2, "failed");

	assert_int_equal(it_write_str(e, "0002_more.up.sql",
				      "-- check: rows t delta +2\n"
				      "INSERT INTO t VALUES (3), (4);\n"
				      "CREATE TABLE side(x int);\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t"), 4);
	assert_table(e, "side");
	checks = it_own(st, it_value(e, "SELECT checks FROM migrate_ledger "
					"WHERE version = 2 AND status = 'ok'"));
	assert_non_null(checks);
	assert_true(checks[0] == '[');
	assert_string_not_equal(checks, "[]");
}

/* ---- invalid files ---- */

static void test_invalid_files_refused_before_anything_runs(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_b", UP_B, "DROP TABLE b;\n"), 0);
	/* a second up file for version 2 */
	assert_int_equal(it_write_str(e, "2_dup.up.sql", UP_C), 0);
	/* a stray .sql name */
	assert_int_equal(it_write_str(e, "notes.sql", "SELECT 1;\n"), 0);
	/* an up file without a down file */
	assert_int_equal(it_pair(e, "0003_c", UP_C, NULL), 0);
	/* a directive that does not parse, on line 2 */
	assert_int_equal(it_pair(e, "0004_d",
				 "CREATE TABLE d(x int);\n"
				 "-- check: rows d sometimes\n",
				 "DROP TABLE d;\n"), 0);
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "2_dup.up.sql");
	assert_contains(r->err, "notes.sql");
	assert_contains(r->err, "0003_c.up.sql");
	assert_contains(r->err, "0004_d.up.sql:2:");
	/* nothing ran, not even the ledger's creation */
	assert_no_table(e, "a");
	assert_no_table(e, "migrate_ledger");

	MG(r, "status");
	assert_exit(r, 2);
}

static void test_irreversible_needs_no_down_and_stops_down(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_a",
				 "-- migrate:irreversible\n"
				 "CREATE TABLE a(x int);\n", NULL), 0);
	assert_int_equal(it_pair(e, "0002_b", UP_B, "DROP TABLE b;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "a");
	MG(r, "down");
	assert_exit(r, 0);
	assert_no_table(e, "b");
	MG(r, "down");
	assert_exit(r, 2);
	assert_contains(r->err, "irreversible");
	assert_table(e, "a");
	assert_state(e, 1, "applied");
	MG(r, "down", "--all");
	assert_exit(r, 2);
	assert_table(e, "a");
}

static void test_out_of_order_needs_flag(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0003_c", UP_C, "DROP TABLE c;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_pair(e, "0002_b", UP_B, "DROP TABLE b;\n"), 0);
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "2_b");
	assert_no_table(e, "b");
	assert_int_equal(it_ledger_count(e, "version = 2"), 0);
	MG(r, "up", "--allow-out-of-order");
	assert_exit(r, 0);
	assert_table(e, "b");
	assert_state(e, 2, "applied");
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
	return lines;
}

static void test_json_up_prints_events_and_summary(void **state)
{
	IT_BEGIN;
	char **lines;
	size_t n;

	assert_int_equal(it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_b", UP_B, "DROP TABLE b;\n"), 0);
	MG(r, "--json", "up");
	assert_exit(r, 0);
	lines = json_lines(st, r->out, &n, true);
	assert_int_equal(n, 3);
	assert_contains(lines[0], "\"event\":\"migration\"");
	assert_contains(lines[0], "\"version\":1,");
	assert_contains(lines[0], "\"name\":\"a\"");
	assert_contains(lines[0], "\"direction\":\"up\"");
	assert_contains(lines[0], "\"status\":\"ok\"");
	assert_contains(lines[0], "\"duration_ms\":");
	assert_contains(lines[0], "\"checks\":[");
	assert_contains(lines[1], "\"version\":2,");
	assert_contains(lines[1], "\"name\":\"b\"");
	assert_contains(lines[2], "\"event\":\"summary\"");

	MG(r, "--json", "down");
	assert_exit(r, 0);
	lines = json_lines(st, r->out, &n, true);
	assert_int_equal(n, 2);
	assert_contains(lines[0], "\"version\":2,");
	assert_contains(lines[0], "\"direction\":\"down\"");
	assert_contains(lines[0], "\"status\":\"ok\"");
	assert_contains(lines[1], "\"event\":\"summary\"");
}

static void test_json_failed_up_ends_with_error_summary(void **state)
{
	IT_BEGIN;
	char **lines;
	size_t n;

	assert_int_equal(it_pair(e, "0001_bad", "SELECT \"quoted\" FROM "
				 "nosuch;\n", "\n"), 0);
	MG(r, "--json", "up");
	assert_exit(r, 1);
	lines = json_lines(st, r->out, &n, true);
	assert_true(n >= 2);
	assert_contains(lines[0], "\"event\":\"migration\"");
	assert_contains(lines[0], "\"status\":\"failed\"");
	assert_contains(lines[n - 1], "\"event\":\"summary\"");
	assert_contains(lines[n - 1], "\"exit_code\":1");

	/* invalid files and a missing lock also end in a summary */
	assert_int_equal(it_write_str(e, "stray.sql", "\n"), 0);
	MG(r, "--json", "up");
	assert_exit(r, 2);
	lines = json_lines(st, r->out, &n, true);
	assert_true(n >= 1);
	assert_contains(lines[n - 1], "\"event\":\"summary\"");
	assert_contains(lines[n - 1], "\"exit_code\":2");
}

#define CSV_HEADER                                                            \
	"id,version,name,direction,status,up_checksum,down_checksum,"        \
	"started_at,finished_at,duration_ms,db_user,os_user,host,"            \
	"tool_version,checks,error,reason,prev_hash,entry_hash,signature\n"

static void test_status_json_one_object_per_migration(void **state)
{
	IT_BEGIN;
	char **lines;
	size_t n;

	three(e);
	MG(r, "up", "--to", "2");
	assert_exit(r, 0);
	MG(r, "--json", "status");
	assert_exit(r, 0);
	lines = json_lines(st, r->out, &n, false);
	assert_int_equal(n, 3);
	assert_contains(lines[0], "\"version\":1,");
	assert_contains(lines[0], "\"name\":\"a\"");
	assert_contains(lines[0], "\"state\":\"applied\"");
	assert_contains(lines[1], "\"state\":\"applied\"");
	assert_contains(lines[2], "\"version\":3,");
	assert_contains(lines[2], "\"name\":\"c\"");
	assert_contains(lines[2], "\"state\":\"pending\"");

	MG(r, "ledger", "--format", "json");
	assert_exit(r, 0);
	lines = json_lines(st, r->out, &n, false);
	assert_int_equal(n, 2);
	assert_contains(lines[0], "\"id\":1,");
	assert_contains(lines[0], "\"entry_hash\":\"");

	MG(r, "ledger", "--format", "csv");
	assert_exit(r, 0);
	assert_int_equal(strncmp(r->out, CSV_HEADER, strlen(CSV_HEADER)), 0);
	assert_int_equal(count_of(r->out, "\n"), 3);
}

/* ---- ledger integrity ---- */

static void test_verify_passes_on_clean_ledger(void **state)
{
	IT_BEGIN;

	three(e);
	MG(r, "verify");
	assert_exit(r, 0); /* no ledger yet */
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "down");
	assert_exit(r, 0);
	MG(r, "verify");
	assert_exit(r, 0);
}

static void test_verify_detects_changed_row(void **state)
{
	IT_BEGIN;

	three(e);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_sql(e, "UPDATE migrate_ledger SET name = 'x' "
				   "WHERE id = 1"), 0);
	MG(r, "verify");
	assert_exit(r, 4);
	assert_contains(r->err, "row 1");
}

static void test_verify_detects_deleted_row(void **state)
{
	IT_BEGIN;

	three(e);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_sql(e, "DELETE FROM migrate_ledger WHERE id = 2"),
			 0);
	MG(r, "verify");
	assert_exit(r, 4);
}

static void test_signed_ledger_verifies_only_with_its_key(void **state)
{
	IT_BEGIN;
	char key[300], pub[310], other[300], other_pub[310], env[330];
	const char *envv[] = { env, NULL };
	struct mg_rows *rows;
	size_t i;

	snprintf(key, sizeof(key), "%s/signing.key", e->root);
	snprintf(pub, sizeof(pub), "%s.pub", key);
	snprintf(other, sizeof(other), "%s/other.key", e->root);
	snprintf(other_pub, sizeof(other_pub), "%s.pub", other);
	snprintf(env, sizeof(env), "MIGRATE_SIGNING_KEY=%s", key);
	MG(r, "keygen", "--out", key);
	assert_exit(r, 0);
	assert_true(it_exists(key));
	assert_true(it_exists(pub));
	MG(r, "keygen", "--out", other);
	assert_exit(r, 0);

	three(e);
	MG_ENV(r, envv, "up");
	assert_exit(r, 0);
	MG_ENV(r, envv, "down");
	assert_exit(r, 0);
	rows = it_own_rows(st, it_query(e, "SELECT signature FROM "
					"migrate_ledger"));
	assert_non_null(rows);
	assert_int_equal(rows->nrows, 4);
	for (i = 0; i < rows->nrows; i++) {
		assert_non_null(mg_rows_get(rows, i, 0));
		assert_int_equal(strlen(mg_rows_get(rows, i, 0)), 128);
	}

	MG(r, "verify", "--public-key", pub);
	assert_exit(r, 0);
	MG(r, "verify", "--public-key", other_pub);
	assert_exit(r, 4);
}

static void test_unsigned_ledger_fails_verify_with_key(void **state)
{
	IT_BEGIN;
	char key[300], pub[310];

	snprintf(key, sizeof(key), "%s/signing.key", e->root);
	snprintf(pub, sizeof(pub), "%s.pub", key);
	MG(r, "keygen", "--out", key);
	assert_exit(r, 0);
	three(e);
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "verify", "--public-key", pub);
	assert_exit(r, 4);
}

/* ---- baseline ---- */

static void test_baseline_marks_applied_without_running(void **state)
{
	IT_BEGIN;

	three(e);
	MG(r, "baseline", "2", "--reason", "r");
	assert_exit(r, 0);
	assert_no_table(e, "a");
	assert_no_table(e, "b");
	assert_int_equal(it_ledger_count(e, "direction = 'baseline' AND "
					    "status = 'ok' AND reason = 'r'"),
			 2);
	assert_state(e, 1, "applied");
	assert_state(e, 2, "applied");
	assert_state(e, 3, "pending");
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "c");
	assert_no_table(e, "a");
	assert_no_table(e, "b");
	assert_int_equal(it_ledger_count(e, "direction = 'up'"), 1);
	assert_int_equal(it_ledger_count(e, "direction = 'up' AND "
					    "version = 3"), 1);
	MG(r, "verify");
	assert_exit(r, 0);
}

/* ---- odd files ---- */

static void test_empty_and_comment_only_files_apply(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_empty", "", ""), 0);
	assert_int_equal(it_pair(e, "0002_comments",
				 "-- only a comment\n/* and a block\n"
				 "   comment */\n",
				 "-- nothing to undo\n"), 0);
	assert_int_equal(it_pair(e, "0003_a", UP_A, "DROP TABLE a;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "a");
	assert_int_equal(it_ledger_count(e, "direction = 'up' AND "
					    "status = 'ok'"), 3);
	MG(r, "down", "--all");
	assert_exit(r, 0);
	assert_no_table(e, "a");
	assert_int_equal(it_ledger_count(e, "direction = 'down' AND "
					    "status = 'ok'"), 3);
}

static void test_file_without_final_newline_or_semicolon(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_z",
				 "CREATE TABLE z(x int);\n"
				 "INSERT INTO z VALUES (1)",
				 "DROP TABLE z"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM z"), 1);
	MG(r, "down");
	assert_exit(r, 0);
	assert_no_table(e, "z");
}

/* ---- dry run ---- */

static void test_dry_run_changes_nothing(void **state)
{
	IT_BEGIN;
	char sum[65];

	three(e);
	MG(r, "up", "--dry-run");
	assert_exit(r, 0);
	it_checksum(sum, UP_A, strlen(UP_A));
	assert_contains(r->err, sum);
	it_checksum(sum, UP_B, strlen(UP_B));
	assert_contains(r->err, sum);
	it_checksum(sum, UP_C, strlen(UP_C));
	assert_contains(r->err, sum);
	assert_no_table(e, "a");
	assert_no_table(e, "c");
	assert_int_equal(it_ledger_count(e, NULL), 0);
	assert_no_table(e, "migrate_ledger");
	assert_state(e, 1, "pending");
}

static void test_down_dry_run_changes_nothing(void **state)
{
	IT_BEGIN;
	static const char down_c[] = "DROP TABLE c;\n";
	char sum[65];

	three(e);
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "down", "--all", "--dry-run");
	assert_exit(r, 0);
	it_checksum(sum, down_c, strlen(down_c));
	assert_contains(r->err, sum);
	assert_table(e, "a");
	assert_table(e, "c");
	assert_int_equal(it_ledger_count(e, NULL), 3);
	assert_state(e, 3, "applied");
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

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_up_applies_all_and_records_checksums),
		T(test_down_rolls_back_exactly_one),
		T(test_down_all_then_up_again),
		T(test_up_to_and_down_to_stop_at_version),
		T(test_failed_file_rolls_back_and_is_retried),
		T(test_error_in_function_body_names_its_line),
		T(test_error_without_position_names_the_statement_line),
		T(test_drift_stops_up_and_fails_verify),
		T(test_crlf_and_bom_are_not_drift),
		T(test_racing_runners_apply_each_version_once),
		T(test_sigkilled_runner_leaves_nothing_and_frees_lock),
		T(test_lock_timeout_names_the_holder),
		T(test_password_never_shown),
		T(test_pg_environment_completes_the_url),
		T(test_password_with_unencoded_at_sign_not_shown),
		T(test_no_transaction_runs_create_index_concurrently),
		T(test_concurrently_in_transaction_hints_at_directive),
		T(test_dirty_blocks_up_until_repair),
		T(test_repair_applied_counts_dirty_version_as_applied),
		T(test_failed_check_rolls_back_and_is_recorded),
		T(test_invalid_files_refused_before_anything_runs),
		T(test_irreversible_needs_no_down_and_stops_down),
		T(test_out_of_order_needs_flag),
		T(test_json_up_prints_events_and_summary),
		T(test_json_failed_up_ends_with_error_summary),
		T(test_status_json_one_object_per_migration),
		T(test_verify_passes_on_clean_ledger),
		T(test_verify_detects_changed_row),
		T(test_verify_detects_deleted_row),
		T(test_signed_ledger_verifies_only_with_its_key),
		T(test_unsigned_ledger_fails_verify_with_key),
		T(test_baseline_marks_applied_without_running),
		T(test_empty_and_comment_only_files_apply),
		T(test_file_without_final_newline_or_semicolon),
		T(test_dry_run_changes_nothing),
		T(test_down_dry_run_changes_nothing),
		T(test_new_pair_applies),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
