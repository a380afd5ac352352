/*
 * Integration tests from the hostile pass over the whole tool: what a new
 * user found trying every command against SPEC.md with hostile input, each
 * kept here as the regression test of its fix. One body per finding, run
 * on every engine it applies to, as in it_core.c.
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

static enum backend backend(void **state)
{
	return ((struct it_state *)*state)->bk;
}

/* ---- helpers ---- */

/* A statement that runs for far longer than any test waits. SQLite has
 * no sleep: a recursive count that takes minutes. */
static const char *slow_statement(void **state)
{
	switch (backend(state)) {
	case BK_POSTGRES:
		return "SELECT pg_sleep(120);\n";
	case BK_MYSQL:
		return "SELECT SLEEP(120);\n";
	case BK_SQLITE:
		break;
	}
	return "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
	       "FROM c WHERE x < 2000000000) SELECT count(*) FROM c;\n";
}

/* ---- tests ---- */

/*
 * Ctrl-C in the middle of a long statement stops it, on every engine. On
 * SQLite the signal used to be taken (no default action) but nothing
 * stopped the statement: the run went on for minutes and then exited 0
 * as if no one had asked it to stop. Now: exit 130 at once, the file
 * recorded failed with the signal, none of its work kept (on MySQL, the
 * table its first statement made stays: dirty, as SPEC says).
 */
static void sigint_stops_a_long_statement(void **state)
{
	IT_BEGIN;
	const char *args[] = { "up", NULL };
	char up[512];
	long long t0;
	char *err;
	pid_t pid;
	int code;

	assert_int_equal(it_pair(e, "0001_a", "CREATE TABLE a (x int);\n",
	                         "DROP TABLE a;\n"),
	                 0);
	snprintf(up, sizeof(up),
	         "CREATE TABLE b (x int);\n%sCREATE TABLE c (x int);\n",
	         slow_statement(state));
	assert_int_equal(it_pair(e, "0002_slow", up,
	                         "DROP TABLE c;\nDROP TABLE b;\n"),
	                 0);
	pid = it_mg_bg(e, "int", NULL, args);
	assert_true(pid > 0);
	it_sleep_ms(2000);
	t0 = it_now_ms();
	assert_int_equal(kill(pid, SIGINT), 0);
	code = it_wait(pid, 20000);
	err = it_own(st, it_bg_output(e, "int", true));
	if (code != 130)
		fail_msg("exit %d, want 130: %s", code, err);
	assert_true(it_now_ms() - t0 < 10000);
	assert_contains(err, "0002_slow.up.sql:2: cancelled by SIGINT");
	assert_int_equal(it_ledger_count(e, "version = 2 AND error LIKE "
	                                    "'%SIGINT%'"),
	                 1);
	assert_state(e, 1, "applied");
	assert_no_table(e, "c");
	if (backend(state) == BK_MYSQL) {
		assert_state(e, 2, "dirty");
	} else {
		assert_state(e, 2, "failed");
		assert_no_table(e, "b");
	}
}

/* A --json run that succeeds: JSON lines on stdout, nothing on stderr. */
#define JSON_ONLY(...)                                                         \
	do {                                                                   \
		MG(r, __VA_ARGS__, "--json");                                  \
		assert_exit(r, 0);                                             \
		if (r->err[0] != '\0')                                         \
			fail_msg("stderr with --json: %s", r->err);            \
		assert_true(it_json_lines(r->out, false));                     \
	} while (0)

/*
 * SPEC.md "JSON output": with --json, stdout carries only JSON lines and
 * stderr only errors. Every command used to print its human lines (plan,
 * outcome, checks, statements, summaries, a dry run's whole plan) to
 * stderr as well.
 */
static void json_leaves_stderr_to_errors(void **state)
{
	IT_BEGIN;

	three(e);
	/* a check whose before value needs a table that 0001 makes */
	assert_int_equal(it_pair(e, "0004_d",
	                         "-- check: rows b unchanged\n"
	                         "CREATE TABLE d (x int);\n",
	                         "DROP TABLE d;\n"),
	                 0);
	JSON_ONLY("up", "--dry-run");
	assert_contains(r->out, "\"checks_not_evaluated\":");
	JSON_ONLY("up", "--to", "2");
	JSON_ONLY("up", "--dry-run");
	assert_contains(r->out, "\"before\":\"2\"");
	JSON_ONLY("up");
	assert_contains(r->out, "\"event\":\"migration\"");
	JSON_ONLY("status");
	JSON_ONLY("verify");
	JSON_ONLY("ledger", "--format", "json");
	JSON_ONLY("backups");
	JSON_ONLY("config");
	JSON_ONLY("down", "--dry-run");
	JSON_ONLY("down");
	JSON_ONLY("test");
	assert_state(e, 4, "applied");
	/* an error is still said on stderr, and in the summary */
	assert_int_equal(it_pair(e, "0005_bad", "CREATE TABLE e (x int);\n"
	                                        "THIS IS NOT SQL;\n",
	                         "DROP TABLE e;\n"),
	                 0);
	MG(r, "up", "--json");
	assert_exit(r, 1);
	assert_contains(r->err, "error: ");
	assert_contains(r->err, "0005_bad.up.sql:2");
	assert_not_contains(r->err, "plan:");
	assert_true(it_json_lines(r->out, true));
	assert_contains(r->out, "\"event\":\"summary\"");
}

/*
 * A data check over a column that does not exist must fail, however the
 * name is quoted. It used to pass on SQLite (the double-quoted string
 * misfeature) and on MySQL (where "x" is a string): the fingerprint was
 * over a constant, so it could never see the data change. Quoted names
 * that do exist work on every engine (MySQL gets them in backticks).
 */
static void data_check_on_a_missing_quoted_column_fails(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_u",
	                         "CREATE TABLE u (id int PRIMARY KEY, "
	                         "name varchar(20));\n"
	                         "INSERT INTO u VALUES (1, 'ann');\n",
	                         "DROP TABLE u;\n"),
	                 0);
	assert_int_equal(it_pair(e, "0002_x",
	                         "-- check: data u (id, \"nosuch\") "
	                         "unchanged\n"
	                         "UPDATE u SET name = 'bob';\n",
	                         "SELECT 1;\n"),
	                 0);
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "0002_x.up.sql:1:");
	assert_contains(r->err, "nosuch");
	assert_state(e, 1, "applied");
	assert_int_equal(it_count(e, "SELECT count(*) FROM u WHERE name = "
	                             "'ann'"),
	                 1);
	/* the same check over names that exist, quoted both ways */
	assert_int_equal(it_pair(e, "0002_x",
	                         "-- check: data \"u\" (`id`, \"name\") "
	                         "unchanged\n"
	                         "-- check: rows \"u\" unchanged\n"
	                         "UPDATE u SET name = name;\n",
	                         "SELECT 1;\n"),
	                 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_state(e, 2, "applied");
	if (backend(state) != BK_SQLITE)
		return;
	/* SQLite: a string in double quotes is a column name now, with a
	 * hint; the file is rolled back */
	assert_int_equal(it_pair(e, "0003_dq",
	                         "UPDATE u SET name = \"bob\";\n",
	                         "SELECT 1;\n"),
	                 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "0003_dq.up.sql:1: no such column: bob");
	assert_contains(r->err, "single quotes");
	assert_state(e, 3, "failed");
}

/*
 * A driver's query() with parameters returns the rows, on every engine.
 * MySQL's dropped them (its prepared statements were executed and closed
 * unread), so two callers inlined values as literals; they use
 * parameters again. Values of every size and NULL come back as text.
 */
static void query_with_parameters_returns_rows(void **state)
{
	IT_BEGIN;
	struct mg_error err = { 0 };
	const struct mg_rows *rows;
	struct mg_rows *got = NULL;
	struct mg_conn *c = e->conn;
	char big[5000];
	const char *params[3];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	params[0] = "it's";
	params[1] = big;
	params[2] = NULL;
	assert_non_null(c);
	if (c->drv->query(&got, c,
	                  "SELECT ?, ?, COALESCE(?, 'none'), 12345678901234 "
	                  "UNION ALL SELECT 'b', NULL, 'c', 2",
	                  params, 3, 0, &err) < 0)
		fail_msg("query: %s", err.msg);
	rows = it_own_rows(st, got);
	assert_int_equal(rows->nrows, 2);
	assert_int_equal(rows->ncols, 4);
	assert_string_equal(mg_rows_get(rows, 0, 0), "it's");
	assert_string_equal(mg_rows_get(rows, 0, 1), big);
	assert_string_equal(mg_rows_get(rows, 0, 2), "none");
	assert_string_equal(mg_rows_get(rows, 0, 3), "12345678901234");
	assert_string_equal(mg_rows_get(rows, 1, 0), "b");
	assert_null(mg_rows_get(rows, 1, 1));
	/* no rows: an empty result, not NULL */
	if (c->drv->query(&got, c, "SELECT 1 WHERE 'a' = ?", params, 1, 0,
	                  &err) < 0)
		fail_msg("query: %s", err.msg);
	rows = it_own_rows(st, got);
	assert_int_equal(rows->nrows, 0);
}

/*
 * A version typed by hand is a version as files write it. `baseline` with
 * a 20-digit typo used to saturate to INT64_MAX and record every file as
 * applied without running any; " 5" and "+5" were taken too. `restore V`
 * reads its version the same way.
 */
static void baseline_refuses_a_version_that_is_not_one(void **state)
{
	IT_BEGIN;
	static const char *const bad[] = { "99999999999999999999",
		                           "1234567890123456789", " 2", "+2",
		                           "2x", "" };
	size_t i;

	three(e);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		MG(r, "baseline", bad[i], "--reason", "typo");
		assert_exit(r, 2);
		assert_contains(r->err, "is not a version number");
		MG(r, "repair", bad[i], "--reason", "typo");
		assert_exit(r, 2);
		/* restore V shares the parser (it took the typo as version
		 * INT64_MAX before) */
		MG(r, "restore", bad[i]);
		assert_exit(r, 2);
		assert_contains(r->err, "is not a version number");
	}
	assert_int_equal(it_ledger_count(e, "1 = 1"), 0);
	assert_state(e, 3, "pending");
	/* leading zeros are a version */
	MG(r, "baseline", "000000000000000002", "--reason", "adopted");
	assert_exit(r, 0);
	assert_state(e, 2, "applied");
	assert_state(e, 3, "pending");
}

/*
 * `verify` while another runner is in the middle of a file. On MySQL that
 * runner's dirty marker made verify exit 4 ("dirty (half-applied)")
 * although nothing was wrong: a pipeline's verify step failed whenever a
 * deploy ran beside it. Now it says the file is in progress and exits 0,
 * as status does; once the runner is gone, a marker it left is a problem
 * again (exit 4).
 */
static void verify_beside_a_run_in_progress(void **state)
{
	IT_BEGIN;
	const char *args[] = { "up", NULL };
	char up[256];
	pid_t pid;
	int code;

	assert_int_equal(it_pair(e, "0001_a", "CREATE TABLE a (x int);\n",
	                         "DROP TABLE a;\n"),
	                 0);
	snprintf(up, sizeof(up), "CREATE TABLE b (x int);\n%s",
	         backend(state) == BK_MYSQL ? "SELECT SLEEP(60);\n"
	                                    : "SELECT pg_sleep(60);\n");
	assert_int_equal(it_pair(e, "0002_slow", up, "DROP TABLE b;\n"), 0);
	pid = it_mg_bg(e, "run", NULL, args);
	assert_true(pid > 0);
	it_sleep_ms(2500);
	MG(r, "verify");
	if (r->code != 0)
		kill(pid, SIGKILL);
	assert_exit(r, 0);
	if (backend(state) == BK_MYSQL)
		assert_contains(r->err, "2_slow is in progress by pid");
	/* killed: on MySQL the marker stays, and is a problem now */
	assert_int_equal(kill(pid, SIGKILL), 0);
	code = it_wait(pid, 20000);
	assert_int_equal(code, 128 + SIGKILL);
	MG(r, "verify");
	if (backend(state) == BK_MYSQL) {
		assert_exit(r, 4);
		assert_contains(r->err, "2_slow is dirty (half-applied)");
	} else {
		assert_exit(r, 0);
	}
}

/*
 * MySQL's ?socket= is the socket used, or an error: with host 127.0.0.1
 * Connector/C connected over TCP and ignored it, so a URL naming a
 * socket that does not exist worked; an empty one fell back to the
 * default socket.
 */
static void mysql_socket_parameter_is_used_or_refused(void **state)
{
	IT_BEGIN;
	char url[600];

	three(e);
	snprintf(url, sizeof(url), "%s?socket=/nonexistent/mysqld.sock",
	         e->url);
	MG(r, "-d", url, "status");
	assert_exit(r, 2);
	assert_contains(r->err, "?socket= goes with host localhost");
	snprintf(url, sizeof(url), "%s?socket=", e->url);
	MG(r, "-d", url, "status");
	assert_exit(r, 2);
	assert_contains(r->err, "socket parameter is empty");
	/* the URL as it was still works */
	MG(r, "status");
	assert_exit(r, 0);
}

/* A file that is not an SQLite database: the error names it (it said
 * only "file is not a database"), exit 1, and nothing is written. */
static void sqlite_file_that_is_not_a_database_is_named(void **state)
{
	IT_BEGIN;
	char path[400], url[420];
	FILE *f;

	three(e);
	snprintf(path, sizeof(path), "%s/notes.db", e->root);
	assert_non_null(f = fopen(path, "w"));
	fputs("these are my notes, not a database\n", f);
	fclose(f);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	MG(r, "-d", url, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "notes.db': file is not a database");
	MG(r, "-d", url, "status");
	assert_exit(r, 1);
	assert_contains(r->err, "notes.db': file is not a database");
}

/* ---- registration ---- */

/*
 * A backup: and a restore: of a table the directive names in double
 * quotes. On MySQL "leads" is the string 'leads': the backup failed with
 * a syntax error (cleanly, before the DELETE). The name reaches each
 * database in its own quote now, for the copy and for the restore.
 */
static void backup_of_a_quoted_table_name(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_leads",
	                         "CREATE TABLE leads (id int PRIMARY KEY, "
	                         "staff int NOT NULL);\n"
	                         "INSERT INTO leads VALUES (1, 0), (2, 1), "
	                         "(3, 1);\n",
	                         "DROP TABLE leads;\n"),
	                 0);
	assert_int_equal(it_pair(e, "0002_purge",
	                         "-- backup: \"leads\" keep 30d where staff = 1\n"
	                         "-- check: rows \"leads\" delta -backup\n"
	                         "DELETE FROM leads WHERE staff = 1;\n",
	                         "-- restore: \"leads\"\n"),
	                 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_state(e, 2, "applied");
	assert_int_equal(it_count(e, "SELECT count(*) FROM leads"), 1);
	MG(r, "down");
	assert_exit(r, 0);
	assert_state(e, 2, "pending");
	assert_int_equal(it_count(e, "SELECT count(*) FROM leads WHERE "
	                             "staff = 1"),
	                 2);
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "restore", "2");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM leads"), 3);
}

#define BODIES(X)                                                              \
	X(sigint_stops_a_long_statement)                                       \
	X(json_leaves_stderr_to_errors)                                        \
	X(data_check_on_a_missing_quoted_column_fails)                         \
	X(query_with_parameters_returns_rows)                                  \
	X(baseline_refuses_a_version_that_is_not_one)                          \
	X(backup_of_a_quoted_table_name)

#define EACH_ENGINE(body)                                                      \
	static void test_##body##_sqlite(void **state)                         \
	{                                                                      \
		body(state);                                                   \
	}                                                                      \
	static void test_##body##_postgres(void **state)                       \
	{                                                                      \
		body(state);                                                   \
	}                                                                      \
	static void test_##body##_mysql(void **state)                          \
	{                                                                      \
		body(state);                                                   \
	}

BODIES(EACH_ENGINE)

/* Bodies that need a server (a second session, a run's marker). */
#define BODIES_SERVERS(X) X(verify_beside_a_run_in_progress)

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

#define T(fn) cmocka_unit_test_setup_teardown(fn, it_setup, it_teardown)
#define T_SQLITE(body) T(test_##body##_sqlite),
#define T_POSTGRES(body) T(test_##body##_postgres),
#define T_MYSQL(body) T(test_##body##_mysql),

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		BODIES(T_SQLITE) T(sqlite_file_that_is_not_a_database_is_named),
	};
	const struct CMUnitTest postgres_tests[] = {
		BODIES(T_POSTGRES) BODIES_SERVERS(T_POSTGRES)
	};
	const struct CMUnitTest mysql_tests[] = {
		BODIES(T_MYSQL) BODIES_SERVERS(T_MYSQL)
		T(mysql_socket_parameter_is_used_or_refused),
	};
	return IT_RUN_ENGINES("it_hostile", sqlite_tests, postgres_tests, mysql_tests);
}
