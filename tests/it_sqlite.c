/*
 * Integration tests on SQLite: the built binary (MG_BIN) against a
 * database file in each test's own temp dir, asserting on exit codes,
 * output, the ledger and the database itself. No server: never skipped.
 * Only what is SQLite's own is here: the behaviours SQLite shares with
 * PostgreSQL and MySQL are tested once for all three in it_core.c.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "migrator/driver.h"
#include "migrator/error.h"
#include "support/it.h"

static int group_setup(void **state)
{
	return (*state = calloc(1, sizeof(struct it_state))) ? 0 : -1;
}

static int group_teardown(void **state)
{
	free(*state);
	return 0;
}

static int setup(void **state)
{
	struct it_state *st = *state;

	return it_env_setup_sqlite(&st->e);
}

static int teardown(void **state)
{
	struct it_state *st = *state;

	it_state_reset(st);
	it_env_teardown(&st->e);
	return 0;
}

/* ---- concurrency ---- */

static void test_sigkilled_runner_leaves_nothing(void **state)
{
	IT_BEGIN;
	static const char *const args[] = { "up", NULL };
	char journal[300];
	long long t0, deadline;
	bool running = false;
	pid_t pid;

	/* a write, then a long read in the same transaction */
	assert_int_equal(it_pair(e, "0001_t",
				 "CREATE TABLE t(x int);\n"
				 "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL "
				 "SELECT x + 1 FROM n WHERE x < 1000000000) "
				 "SELECT count(*) FROM n;\n",
				 "DROP TABLE t;\n"), 0);
	snprintf(journal, sizeof(journal), "%s/t.db-journal", e->root);
	pid = it_mg_bg(e, "killed", NULL, args);
	assert_true(pid > 0);
	/* the file's transaction is open once the ledger table is
	 * committed (visible here) and a rollback journal exists again */
	deadline = it_now_ms() + 10000;
	while (!running && it_now_ms() < deadline) {
		running = it_table_exists(e, "migrate_ledger") &&
			  it_exists(journal);
		if (!running)
			it_sleep_ms(10);
	}
	if (!running) {
		it_wait(pid, 0);
		fail_msg("the runner never started the file");
	}
	it_sleep_ms(50);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(it_wait(pid, 5000), 128 + SIGKILL);

	/* the next reader rolls the hot journal back */
	assert_no_table(e, "t");
	assert_int_equal(it_ledger_count(e, "status = 'ok'"), 0);

	assert_int_equal(it_write_str(e, "0001_t.up.sql",
				      "CREATE TABLE t(x int);\n"), 0);
	t0 = it_now_ms();
	MG(r, "--lock-timeout", "10", "up");
	assert_exit(r, 0);
	assert_true(it_now_ms() - t0 < 10000);
	assert_table(e, "t");
	assert_int_equal(it_ledger_count(e, "version = 1 AND status = 'ok' "
					    "AND direction = 'up'"), 1);
}

static void test_lock_timeout_when_database_is_locked(void **state)
{
	IT_BEGIN;
	struct mg_error err = { 0 };
	long long t0, took;

	three(e);
	/* the test's own connection holds the write lock */
	assert_int_equal(e->conn->drv->txn(e->conn, MG_TXN_BEGIN, &err), 0);
	t0 = it_now_ms();
	MG(r, "--lock-timeout", "1", "up");
	took = it_now_ms() - t0;
	e->conn->drv->txn(e->conn, MG_TXN_ROLLBACK, &err);
	assert_exit(r, 5);
	assert_contains(r->err, "lock");
	/* it waited about --lock-timeout, not the 60 s default */
	assert_true(took >= 900);
	assert_true(took < 8000);
	assert_no_table(e, "a");

	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "c");
}

/* While a no-transaction file runs statement by statement (its write
 * lock coming and going), a second runner waits or exits 5 on the run's
 * lock file: never 1 for a "half-applied" version that is only running.
 * Found by the fault campaign (seeds 50055, 50073). */
static void test_second_runner_waits_during_no_transaction_file(void **state)
{
	IT_BEGIN;
	static const char *const args[] = { "up", NULL };
	pid_t pid;
	int i;

	assert_int_equal(it_pair(e, "0001_slow",
				 "-- migrate:no-transaction\n"
				 "CREATE TABLE a (id int);\n"
				 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
				 "SELECT x + 1 FROM c WHERE x < 3000000) "
				 "SELECT count(*) FROM c;\n"
				 "CREATE TABLE b (id int);\n",
				 "DROP TABLE b;\nDROP TABLE a;\n"), 0);
	pid = it_mg_bg(e, "first", NULL, args);
	assert_true(pid > 0);
	/* until the first runner is inside its file */
	for (i = 0; i < 100 && it_ledger_count(e, "status = 'dirty'") < 1; i++)
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	MG(r, "--lock-timeout", "0", "up");
	assert_exit(r, 5);
	assert_contains(r->err, "another migrate (pid ");
	MG(r, "--lock-timeout", "30", "up");
	assert_exit(r, 0);
	assert_int_equal(it_wait(pid, 30000), 0);
	assert_table(e, "b");
	assert_int_equal(it_ledger_count(e, "version = 1 AND status = 'ok'"),
			 1);
}

/* ---- new ---- */

static void test_new_creates_first_pair(void **state)
{
	IT_BEGIN;
	char path[600];

	MG(r, "new", "first");
	assert_exit(r, 0);
	snprintf(path, sizeof(path), "%s/0001_first.up.sql", e->mig);
	assert_true(it_exists(path));
	snprintf(path, sizeof(path), "%s/0001_first.down.sql", e->mig);
	assert_true(it_exists(path));
	MG(r, "new", "second");
	assert_exit(r, 0);
	snprintf(path, sizeof(path), "%s/0002_second.up.sql", e->mig);
	assert_true(it_exists(path));
	/* the templates are comment-only: they apply as no-ops */
	MG(r, "up");
	assert_exit(r, 0);
	assert_state(e, 2, "applied");
}

static void test_new_keeps_zero_padding(void **state)
{
	IT_BEGIN;
	char path[600];

	assert_int_equal(it_pair(e, "009_a", UP_A, "DROP TABLE a;\n"), 0);
	MG(r, "new", "add-users.v2");
	assert_exit(r, 0);
	snprintf(path, sizeof(path), "%s/010_add-users.v2.up.sql", e->mig);
	assert_true(it_exists(path));
	snprintf(path, sizeof(path), "%s/010_add-users.v2.down.sql", e->mig);
	assert_true(it_exists(path));
	assert_contains(r->out, "010_add-users.v2.up.sql");
	assert_contains(r->out, "010_add-users.v2.down.sql");

	/* spaces become '_' (issue 13); what a name cannot hold is refused */
	MG(r, "new", "bad name");
	assert_exit(r, 0);
	snprintf(path, sizeof(path), "%s/011_bad_name.up.sql", e->mig);
	assert_true(it_exists(path));
	MG(r, "new", "bad/name");
	assert_exit(r, 2);
	snprintf(path, sizeof(path), "%s/012_bad", e->mig);
	assert_false(it_exists(path));
}

/* ---- the ledger table ---- */

static void test_ledger_table_option_names_the_ledger(void **state)
{
	IT_BEGIN;

	three(e);
	MG(r, "--ledger-table", "schema_history", "up");
	assert_exit(r, 0);
	assert_table(e, "schema_history");
	assert_no_table(e, "migrate_ledger");
	assert_int_equal(it_count(e, "SELECT count(*) FROM schema_history"),
			 3);
	/* another ledger knows of nothing applied */
	MG(r, "--json", "status");
	assert_exit(r, 0);
	assert_int_equal(count_of(r->out, "\"state\":\"pending\""), 3);
	MG(r, "--ledger-table", "schema_history", "verify");
	assert_exit(r, 0);
}

/* The JSON tests above are only as good as this checker. */
static void test_json_checker_rejects_malformed_lines(void **state)
{
	(void)state;
	assert_true(it_json_object("{}"));
	assert_true(it_json_object("{\"a\":1,\"b\":[1,-2.5e3,{\"c\":null}],"
				   "\"d\":\"x\\\"\\u00e9\\n\",\"e\":true}"));
	assert_false(it_json_object(""));
	assert_false(it_json_object("[1]"));
	assert_false(it_json_object("{\"a\":1}x"));
	assert_false(it_json_object("{\"a\":1,}"));
	assert_false(it_json_object("{a:1}"));
	assert_false(it_json_object("{\"a\":\"\\q\"}"));
	assert_false(it_json_object("{\"a\":\"tab\there\"}"));
	assert_false(it_json_object("{\"a\":01}"));
	assert_false(it_json_object("{\"a\":\"unterminated}"));
	assert_false(it_json_object("{\"a\":tru}"));
	assert_true(it_json_lines("{\"event\":\"x\"}\n{\"event\":1}\n", true));
	assert_false(it_json_lines("{\"event\":\"x\"}\nerror: text\n", true));
	assert_false(it_json_lines("{\"version\":1}\n", true));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sigkilled_runner_leaves_nothing),
		T(test_lock_timeout_when_database_is_locked),
		T(test_second_runner_waits_during_no_transaction_file),
		T(test_new_creates_first_pair),
		T(test_new_keeps_zero_padding),
		T(test_ledger_table_option_names_the_ledger),
		cmocka_unit_test(test_json_checker_rejects_malformed_lines),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
