/*
 * Integration tests of the behaviours common to SQLite, PostgreSQL and
 * MariaDB/MySQL: up and down, failures, drift, racing runners, dirty and
 * repair, checks, invalid files, JSON, ledger integrity, baseline, odd
 * files, dry runs. The built binary (MG_BIN) runs against SQLite (a file
 * in the test's temp dir, never skipped), PostgreSQL (MG_TEST_PG_DSN) and
 * MariaDB/MySQL (MG_TEST_MYSQL_DSN), each test in a database of its own,
 * asserting on exit codes, output, the ledger and the database itself.
 * What only one database has stays in it_sqlite.c, it_postgres.c and
 * it_mysql.c.
 *
 * One body per behaviour, registered once per backend
 * (test_x_sqlite/_postgres/_mysql), in one cmocka group per backend: a
 * missing server skips that group's tests, or fails its group setup when
 * MG_TEST_REQUIRE_SERVERS is set, and never touches the other groups.
 * Where the databases differ (error texts, a slow migration, how many
 * ledger rows a run of a file writes) the test asks dialect(), runs()
 * and markers().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "migrator/driver.h"
#include "support/it.h"

/* What differs between the databases in the tests below. */
struct dialect {
	const char *no_such_table; /* the error of a missing table */
	const char *dup_exists;    /* the error of CREATE TABLE dup twice */
	/* a migration that keeps a runner busy a moment, and the count
	 * query that proves it ran once */
	const char *slow_name, *slow_up, *slow_down, *slow_count;
	long long slow_rows;
	/* a file of nothing but comments, in each comment syntax */
	const char *comments;
	/*
	 * The ledger rows one run of a file writes: its outcome, and on
	 * MySQL, where DDL commits on its own, a 'dirty' marker before it
	 * (MIGRATING.md, "What happens on failure"). See runs().
	 */
	int rows_per_run;
};

#define COMMENTS                                                              \
	"-- only a comment\n"                                                 \
	"/* and a block\n"                                                    \
	"   comment */\n"

static const struct dialect dialects[] = {
	[BK_SQLITE] = {
		.no_such_table = "no such table: nosuch_table",
		.dup_exists = "table dup already exists",
		.slow_name = "0003_big",
		/* rows enough to keep a writer busy for a moment */
		.slow_up = "CREATE TABLE big(x int);\n"
			   "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL "
			   "SELECT x + 1 FROM n WHERE x < 200000) "
			   "INSERT INTO big SELECT x FROM n;\n",
		.slow_down = "DROP TABLE big;\n",
		.slow_count = "SELECT count(*) FROM big",
		.slow_rows = 200000,
		.comments = COMMENTS,
		.rows_per_run = 1,
	},
	[BK_POSTGRES] = {
		.no_such_table = "relation \"nosuch_table\" does not exist",
		.dup_exists = "relation \"dup\" already exists",
		.slow_name = "0003_slow",
		.slow_up = "CREATE TABLE slow(x int);\n"
			   "SELECT pg_sleep(0.3);\n"
			   "INSERT INTO slow VALUES (1);\n",
		.slow_down = "DROP TABLE slow;\n",
		.slow_count = "SELECT count(*) FROM slow",
		.slow_rows = 1,
		.comments = COMMENTS,
		.rows_per_run = 1,
	},
	[BK_MYSQL] = {
		.no_such_table = "nosuch_table' doesn't exist",
		.dup_exists = "Table 'dup' already exists",
		.slow_name = "0003_slow",
		.slow_up = "CREATE TABLE slow(x int);\n"
			   "SELECT SLEEP(0.3);\n"
			   "INSERT INTO slow VALUES (1);\n",
		.slow_down = "DROP TABLE slow;\n",
		.slow_count = "SELECT count(*) FROM slow",
		.slow_rows = 1,
		.comments = COMMENTS "# a hash comment\n",
		.rows_per_run = 2,
	},
};

static const struct dialect *dialect(const struct it_state *st)
{
	return &dialects[st->bk];
}

/* The ledger rows that n runs of files write, markers included. */
static long long runs(const struct it_state *st, long long n)
{
	return n * dialect(st)->rows_per_run;
}

/* The 'dirty' markers among them. */
static long long markers(const struct it_state *st, long long n)
{
	return n * (dialect(st)->rows_per_run - 1);
}

/* When every run so far succeeded: the run (from 0) that wrote ledger row
 * i (from 0, in id order), and that row's status, 'ok' for the outcome
 * and 'dirty' for a marker before it. */
static size_t run_of_row(const struct it_state *st, size_t i)
{
	return i / (size_t)dialect(st)->rows_per_run;
}

static const char *status_of_row(const struct it_state *st, size_t i)
{
	size_t per = (size_t)dialect(st)->rows_per_run;

	return i % per == per - 1 ? "ok" : "dirty";
}

/* ---- helpers ---- */

static const char DIRTY_UP[] = "-- migrate:no-transaction\n"
			       "CREATE TABLE nt(x int);\n"
			       "SELECT * FROM nosuch;\n";

/* Version 1 fails at its 2nd statement outside a transaction; version 2
 * waits behind it. */
static void make_dirty(struct it_state *st)
{
	struct it_env *e = &st->e;
	struct it_run *r = &st->r;
	char *err;

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
	err = it_own(st, it_value(e, "SELECT error FROM migrate_ledger WHERE "
				     "version = 1 ORDER BY id DESC LIMIT 1"));
	assert_contains(err, "0001_nt.up.sql:3:");
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
	assert_table(e, "nt");
	MG(r, "verify");
	assert_exit(r, 4);
}

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

/* ---- the behaviours ---- */

static void up_applies_all_and_records_checksums(void **state)
{
	IT_BEGIN;
	static const char *const ups[] = { UP_A, UP_B, UP_C };
	struct mg_rows *rows;
	char sum[65], vers[24];
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
	assert_not_contains(r->out, "dirty");

	/* each file: its 'dirty' marker if the dialect writes one, then
	 * its outcome */
	rows = it_own_rows(st, it_query(e, "SELECT version, direction, "
					"status FROM migrate_ledger ORDER BY "
					"id"));
	assert_non_null(rows);
	assert_int_equal(rows->nrows, runs(st, 3));
	for (i = 0; i < rows->nrows; i++) {
		snprintf(vers, sizeof(vers), "%zu", run_of_row(st, i) + 1);
		assert_string_equal(mg_rows_get(rows, i, 0), vers);
		assert_string_equal(mg_rows_get(rows, i, 1), "up");
		assert_string_equal(mg_rows_get(rows, i, 2),
				    status_of_row(st, i));
	}

	rows = it_own_rows(st, it_query(e, "SELECT version, direction, "
					"status, up_checksum, down_checksum, "
					"error FROM migrate_ledger WHERE "
					"status <> 'dirty' ORDER BY id"));
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

static void down_rolls_back_exactly_one(void **state)
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
	assert_int_equal(it_ledger_count(e, "direction = 'down'"), runs(st, 1));
	assert_int_equal(it_ledger_count(e, "direction = 'down' AND "
					    "status = 'ok' AND version = 3"),
			 1);
	assert_state(e, 3, "pending");
	assert_state(e, 2, "applied");

	MG(r, "down");
	assert_exit(r, 0);
	assert_table(e, "a");
	assert_no_table(e, "b");
	assert_int_equal(it_ledger_count(e, "direction = 'down'"), runs(st, 2));
	assert_int_equal(it_ledger_count(e, "direction = 'down' AND "
					    "status = 'ok'"), 2);
	/* the markers had their outcome each */
	assert_int_equal(it_ledger_count(e, "direction = 'down' AND "
					    "status = 'dirty'"),
			 markers(st, 2));
}

static void down_all_then_up_again(void **state)
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
	assert_state(e, 3, "pending");

	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "a");
	assert_table(e, "c");
	assert_int_equal(it_count(e, "SELECT count(*) FROM b"), 2);
	assert_int_equal(it_ledger_count(e, "direction = 'up' AND "
					    "status = 'ok'"), 6);
	assert_state(e, 3, "applied");
	MG(r, "verify");
	assert_exit(r, 0);
}

static void up_to_and_down_to_stop_at_version(void **state)
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

static void failed_file_rolls_back_and_is_retried(void **state)
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
	assert_contains(r->err, dialect(st)->no_such_table);
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

/* "relation already exists" (PostgreSQL) and "table already exists"
 * (SQLite, MySQL) come without an error position: the line must still be
 * the failing statement's, not a comment before it. */
static void error_without_position_names_the_statement_line(void **state)
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
	assert_contains(r->err, dialect(st)->dup_exists);
	assert_contains(r->err, "0001_dup.up.sql:4:");
}

static void drift_stops_up_and_fails_verify(void **state)
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

static void crlf_and_bom_are_not_drift(void **state)
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
	/* version 1 ran once: one outcome (after its marker, if any) */
	assert_int_equal(it_ledger_count(e, "version = 1"), runs(st, 1));
	assert_int_equal(it_ledger_count(e, "version = 1 AND status = 'ok'"),
			 1);
}

/* Four runners at once; version 3 keeps the winner busy a moment (a
 * pg_sleep on PostgreSQL, SLEEP on MySQL, a big insert on SQLite). */
static void racing_runners_apply_each_version_once(void **state)
{
	IT_BEGIN;
	enum { RUNNERS = 4 };
	static const char *const args[] = { "up", NULL };
	pid_t pids[RUNNERS];
	char tag[16], *err;
	int i, code;

	assert_int_equal(it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_b", UP_B, "DROP TABLE b;\n"), 0);
	assert_int_equal(it_pair(e, dialect(st)->slow_name,
				 dialect(st)->slow_up, dialect(st)->slow_down),
			 0);
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
		/* a second CREATE TABLE would have failed its runner */
		assert_int_equal(code, 0);
	}
	/* exactly one up/ok row per version, and no other run started */
	assert_int_equal(it_ledger_count(e, NULL), runs(st, 5));
	assert_int_equal(it_ledger_count(e, "direction = 'up' AND "
					    "status = 'ok'"), 5);
	assert_int_equal(it_ledger_count(e, "status = 'dirty'"),
			 markers(st, 5));
	assert_int_equal(it_count(e, "SELECT count(DISTINCT version) FROM "
				     "migrate_ledger WHERE status = 'ok'"),
			 5);
	assert_int_equal(it_count(e, dialect(st)->slow_count),
			 dialect(st)->slow_rows);
	assert_int_equal(it_count(e, "SELECT count(*) FROM b"), 2);
	MG(r, "verify");
	assert_exit(r, 0);
}

static void dirty_blocks_up_until_repair(void **state)
{
	IT_BEGIN;

	make_dirty(st);
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
					    "status = 'ok' AND reason = 'x'"),
			 1);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "nt");
	assert_table(e, "later");
	assert_state(e, 1, "applied");
	assert_state(e, 2, "applied");
	MG(r, "verify");
	assert_exit(r, 0);
}

static void repair_applied_counts_dirty_version_as_applied(void **state)
{
	IT_BEGIN;

	make_dirty(st);
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

/* Nothing committed yet: a clean failure, which the next up retries
 * (also on MySQL, where a later statement's failure leaves it dirty). */
static void failure_in_first_statement_is_failed_not_dirty(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_first",
				 "INSERT INTO feed VALUES (1);\n"
				 "CREATE TABLE after_feed (x int);\n",
				 "DROP TABLE after_feed;\n"), 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "0002_first.up.sql:1:");
	assert_table(e, "a");
	assert_no_table(e, "after_feed");
	assert_int_equal(it_ledger_count(e, "version = 2 AND direction = "
					    "'up' AND status = 'failed'"), 1);
	assert_state(e, 2, "failed");

	/* the missing table appears: the same file now runs */
	assert_int_equal(it_sql(e, "CREATE TABLE feed (x int)"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "after_feed");
	assert_int_equal(it_count(e, "SELECT count(*) FROM feed"), 1);
	assert_state(e, 2, "applied");
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok'"),
			 1);
}

/* Where DDL cannot roll back (MySQL), the down file undoes the change
 * before the check is measured again. */
static void failed_check_rolls_back_and_is_recorded(void **state)
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
	assert_contains(r->err, "0002_more.up.sql:1:");
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
	assert_contains(checks, "\"before\":\"2\"");
	assert_contains(checks, "\"after\":\"4\"");
}

static void invalid_files_refused_before_anything_runs(void **state)
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
	/* a NUL byte: the text after it would never run */
	{
		static const char nul[] = "CREATE TABLE e(x int);\n-- \0 x\n"
					  "CREATE TABLE e2(x int);\n";

		assert_int_equal(it_write(e, "0005_e.up.sql", nul,
					  sizeof(nul) - 1), 0);
	}
	assert_int_equal(it_write_str(e, "0005_e.down.sql", "DROP TABLE e;\n"),
			 0);
	/* a name wrong only by its case */
	assert_int_equal(it_write_str(e, "0006_f.UP.SQL", UP_C), 0);
	/* a file that is the environment, through a symlink */
	{
		char link[512];

		snprintf(link, sizeof(link), "%s/0007_g.up.sql", e->mig);
		assert_int_equal(symlink("/proc/self/environ", link), 0);
		assert_int_equal(it_write_str(e, "0007_g.down.sql", "SELECT 1;\n"),
				 0);
	}
	/* a check that would write */
	assert_int_equal(it_pair(e, "0008_h",
				 "-- check:pre empty DELETE FROM a RETURNING 1\n"
				 "SELECT 1;\n", "SELECT 1;\n"), 0);
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "2_dup.up.sql");
	assert_contains(r->err, "notes.sql");
	assert_contains(r->err, "0003_c.up.sql");
	assert_contains(r->err, "0004_d.up.sql:2:");
	assert_contains(r->err, "0005_e.up.sql:2: a NUL byte");
	assert_contains(r->err, "0006_f.UP.SQL");
	assert_contains(r->err, "0007_g.up.sql: resolves outside");
	assert_contains(r->err, "0008_h.up.sql:1: a check's query must read");
	/* nothing ran, not even the ledger's creation */
	assert_no_table(e, "a");
	assert_no_table(e, "migrate_ledger");

	MG(r, "status");
	assert_exit(r, 2);
}

static void irreversible_needs_no_down_and_stops_down(void **state)
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

static void out_of_order_needs_flag(void **state)
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
	MG(r, "verify");
	assert_exit(r, 0);
}

static void json_up_prints_events_and_summary(void **state)
{
	IT_BEGIN;
	char **lines;
	size_t n;

	assert_int_equal(it_pair(e, "0001_a", UP_A, "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_b", UP_B, "DROP TABLE b;\n"), 0);
	MG(r, "--json", "up");
	assert_exit(r, 0);
	lines = json_lines(st, r->out, &n, true);
	/* dirty markers are ledger rows, not events */
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
	assert_contains(lines[2], "\"exit_code\":0");

	MG(r, "--json", "down");
	assert_exit(r, 0);
	lines = json_lines(st, r->out, &n, true);
	assert_int_equal(n, 2);
	assert_contains(lines[0], "\"version\":2,");
	assert_contains(lines[0], "\"direction\":\"down\"");
	assert_contains(lines[0], "\"status\":\"ok\"");
	assert_contains(lines[1], "\"event\":\"summary\"");
}

static void json_failed_up_ends_with_error_summary(void **state)
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

static void status_json_one_object_per_migration(void **state)
{
	IT_BEGIN;
	const size_t outcome = (size_t)runs(st, 1) - 1; /* the 1st's row */
	char **lines, status[32];
	size_t n, i;

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
	assert_int_equal(n, runs(st, 2));
	assert_contains(lines[0], "\"id\":1,");
	/* each file: its marker if any, then its outcome */
	for (i = 0; i < n; i++) {
		snprintf(status, sizeof(status), "\"status\":\"%s\"",
			 status_of_row(st, i));
		assert_contains(lines[i], status);
	}
	assert_contains(lines[outcome], "\"entry_hash\":\"");
	/* timestamps come back as the ledger's ISO 8601 UTC text (MySQL:
	 * from DATETIME(6)) */
	assert_contains(lines[outcome], "\"started_at\":\"20");
	assert_contains(lines[outcome], "Z\",\"finished_at\"");

	MG(r, "ledger", "--format", "csv");
	assert_exit(r, 0);
	assert_int_equal(strncmp(r->out, CSV_HEADER, strlen(CSV_HEADER)), 0);
	assert_int_equal(count_of(r->out, "\n"), 1 + runs(st, 2));
}

static void verify_passes_on_clean_ledger(void **state)
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

/* The row changed is the first file's outcome (after its marker, if
 * any). */
static void verify_detects_changed_row(void **state)
{
	IT_BEGIN;
	char sql[128], row[32];

	three(e);
	MG(r, "up");
	assert_exit(r, 0);
	snprintf(sql, sizeof(sql), "UPDATE migrate_ledger SET name = 'x' "
		 "WHERE id = %lld", runs(st, 1));
	assert_int_equal(it_sql(e, sql), 0);
	MG(r, "verify");
	assert_exit(r, 4);
	snprintf(row, sizeof(row), "row %lld", runs(st, 1));
	assert_contains(r->err, row);
}

/* The row deleted is the second file's first. */
static void verify_detects_deleted_row(void **state)
{
	IT_BEGIN;
	char sql[128];

	three(e);
	MG(r, "up");
	assert_exit(r, 0);
	snprintf(sql, sizeof(sql), "DELETE FROM migrate_ledger WHERE id = "
		 "%lld", runs(st, 1) + 1);
	assert_int_equal(it_sql(e, sql), 0);
	MG(r, "verify");
	assert_exit(r, 4);
}

static void signed_ledger_verifies_only_with_its_key(void **state)
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
	assert_int_equal(rows->nrows, runs(st, 4));
	for (i = 0; i < rows->nrows; i++) {
		assert_non_null(mg_rows_get(rows, i, 0));
		assert_int_equal(strlen(mg_rows_get(rows, i, 0)), 128);
	}

	MG(r, "verify", "--public-key", pub);
	assert_exit(r, 0);
	MG(r, "verify", "--public-key", other_pub);
	assert_exit(r, 4);
}

static void unsigned_ledger_fails_verify_with_key(void **state)
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

/* A checkpoint kept outside the database catches what the chain cannot:
 * a lost tail; signed, it cannot be forged by whoever edits the ledger. */
static void checkpoint_catches_a_lost_tail(void **state)
{
	IT_BEGIN;
	char cp[300], key[300], pub[310], env[330], sql[128];
	const char *envv[] = { env, NULL };

	snprintf(cp, sizeof(cp), "%s/head.txt", e->root);
	snprintf(key, sizeof(key), "%s/signing.key", e->root);
	snprintf(pub, sizeof(pub), "%s.pub", key);
	snprintf(env, sizeof(env), "MIGRATE_SIGNING_KEY=%s", key);
	MG(r, "keygen", "--out", key);
	assert_exit(r, 0);
	three(e);
	MG_ENV(r, envv, "up");
	assert_exit(r, 0);
	MG_ENV(r, envv, "ledger", "--checkpoint", cp);
	assert_exit(r, 0);
	assert_contains(r->err, "signed");
	MG(r, "verify", "--checkpoint", cp, "--public-key", pub);
	assert_exit(r, 0);
	/* history goes on: still a continuation */
	MG_ENV(r, envv, "down");
	assert_exit(r, 0);
	MG(r, "verify", "--checkpoint", cp, "--public-key", pub);
	assert_exit(r, 0);
	/* the tail is deleted: the chain of the rest verifies, but not
	 * against the checkpoint */
	snprintf(sql, sizeof(sql), "DELETE FROM migrate_ledger WHERE id > %lld",
		 runs(st, 2));
	assert_int_equal(it_sql(e, sql), 0);
	MG(r, "verify");
	assert_exit(r, 0);
	MG(r, "verify", "--checkpoint", cp);
	assert_exit(r, 4);
	assert_contains(r->err, "shorter than its checkpoint");
	/* a file that is no checkpoint is a usage error */
	MG(r, "verify", "--checkpoint", pub);
	assert_exit(r, 2);
}

/* A signing key others can read is refused, as ssh refuses one. */
static void open_signing_key_is_refused(void **state)
{
	IT_BEGIN;
	char key[300], env[330];
	const char *envv[] = { env, NULL };

	snprintf(key, sizeof(key), "%s/signing.key", e->root);
	snprintf(env, sizeof(env), "MIGRATE_SIGNING_KEY=%s", key);
	MG(r, "keygen", "--out", key);
	assert_exit(r, 0);
	assert_int_equal(chmod(key, 0644), 0);
	three(e);
	MG_ENV(r, envv, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "open to others (mode 0644)");
	assert_no_table(e, "a");
}

/* A down file edited since its up ran is refused, unless allowed. */
static void changed_down_file_is_refused_unless_allowed(void **state)
{
	IT_BEGIN;

	three(e);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_write_str(e, "0003_c.down.sql",
				      "DROP TABLE c; -- edited\n"), 0);
	MG(r, "down");
	assert_exit(r, 4);
	assert_contains(r->err, "0003_c.down.sql changed since 3_c was "
				"applied");
	assert_table(e, "c");
	MG(r, "down", "--allow-changed-down", "--reason", "hotfix 12");
	assert_exit(r, 0);
	assert_no_table(e, "c");
	assert_int_equal(it_ledger_count(e, "direction = 'down' AND reason "
					    "LIKE 'hotfix 12; "
					    "--allow-changed-down:%'"),
			 1);
	/* up takes a reason too, kept in each row it writes */
	MG(r, "up", "--reason", "release 7");
	assert_exit(r, 0);
	assert_int_equal(it_ledger_count(e, "direction = 'up' AND version = 3 "
					    "AND status = 'ok' AND reason = "
					    "'release 7'"),
			 1);
}

/* status --exit-code lets CI gate on the worst state. */
static void status_exit_code_gates_ci(void **state)
{
	IT_BEGIN;

	three(e);
	MG(r, "status", "--exit-code");
	assert_exit(r, 6); /* pending only */
	MG(r, "up", "--to", "2");
	assert_exit(r, 0);
	MG(r, "status", "--exit-code");
	assert_exit(r, 6);
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "status", "--exit-code");
	assert_exit(r, 0);
	MG(r, "status");
	assert_exit(r, 0);
	assert_int_equal(it_write_str(e, "0002_b.up.sql", "-- edited\n"), 0);
	MG(r, "status", "--exit-code");
	assert_exit(r, 4); /* drifted */
	assert_int_equal(it_pair(e, "0004_d", "SELECT * FROM nosuch_table;\n",
				 "SELECT 1;\n"), 0);
	MG(r, "up");
	assert_exit(r, 4); /* drift stops up before anything runs */
	MG(r, "status");
	assert_exit(r, 0); /* without the flag, status only shows */
}

/* Switching from another tool: its history table gives the version. */
static void baseline_from_other_tools(void **state)
{
	IT_BEGIN;

	three(e);
	/* golang-migrate: one row, and a dirty flag */
	assert_int_equal(it_sql(e, "CREATE TABLE schema_migrations (version "
				"bigint NOT NULL, dirty boolean NOT NULL)"),
			 0);
	assert_int_equal(it_sql(e, "INSERT INTO schema_migrations VALUES "
				"(2, true)"),
			 0);
	MG(r, "baseline", "--from", "golang-migrate");
	assert_exit(r, 1);
	assert_contains(r->err, "left version 2 dirty");
	assert_int_equal(it_sql(e, "UPDATE schema_migrations SET dirty = "
				"false"),
			 0);
	MG(r, "baseline", "--from", "golang-migrate", "--reason", "switch");
	assert_exit(r, 0);
	assert_state(e, 2, "applied");
	assert_state(e, 3, "pending");
	assert_no_table(e, "a"); /* recorded, not run */
	assert_int_equal(it_ledger_count(e, "direction = 'baseline' AND reason "
					    "= 'baseline --from golang-migrate "
					    "schema_migrations: version 2: "
					    "switch'"),
			 2);
	/* dbmate: a row per version, in a table of another name here */
	assert_int_equal(it_sql(e, "CREATE TABLE dbm (version varchar(128) "
				"NOT NULL)"),
			 0);
	assert_int_equal(it_sql(e, "INSERT INTO dbm VALUES ('1'), ('3'), "
				"('2')"),
			 0);
	MG(r, "baseline", "--from", "dbmate", "--table", "dbm");
	assert_exit(r, 0);
	assert_state(e, 3, "applied");
	/* flyway: a failed run is refused; a dotted version cannot map */
	assert_int_equal(it_sql(e, "CREATE TABLE flyway_schema_history ("
				"version varchar(50), success boolean NOT "
				"NULL)"),
			 0);
	assert_int_equal(it_sql(e, "INSERT INTO flyway_schema_history VALUES "
				"('1', true), (NULL, true), ('2', false)"),
			 0);
	MG(r, "baseline", "--from", "flyway");
	assert_exit(r, 1);
	assert_contains(r->err, "flyway recorded version 2 as failed");
	MG(r, "baseline", "--from", "flyway", "--table", "nosuch_history");
	assert_exit(r, 1);
	assert_contains(r->err, "no flyway history table 'nosuch_history'");
	MG(r, "baseline", "--from", "liquibase");
	assert_exit(r, 2);
	MG(r, "baseline", "3", "--from", "dbmate");
	assert_exit(r, 2);
}

/* A golang-migrate URL works as written: tcp(host:port) on MySQL, and
 * x-migrations-table naming the ledger. */
static void golang_migrate_url_forms(void **state)
{
	IT_BEGIN;
	char url[1024], *at;
	const char *sep;

	if (st->bk == BK_SQLITE)
		skip(); /* golang-migrate's sqlite3:// is another driver */
	snprintf(url, sizeof(url), "%s", e->url);
	if (st->bk == BK_MYSQL &&
	    (at = strrchr(url, '@')) != NULL) {
		/* mysql://u:p@host:port/db -> mysql://u:p@tcp(host:port)/db */
		char rest[1024], *slash;

		snprintf(rest, sizeof(rest), "%s", at + 1);
		if ((slash = strchr(rest, '/')) != NULL) {
			*slash = '\0';
			snprintf(at + 1, sizeof(url) - (size_t)(at + 1 - url),
				 "tcp(%s)/%s", rest, slash + 1);
		}
	}
	sep = strchr(url, '?') ? "&" : "?";
	snprintf(url + strlen(url), sizeof(url) - strlen(url),
		 "%sx-migrations-table=gm_ledger&x-multi-statement=true", sep);
	three(e);
	MG(r, "-d", url, "up");
	assert_exit(r, 0);
	assert_table(e, "gm_ledger");
	assert_no_table(e, "migrate_ledger");
	assert_table(e, "c");
	MG(r, "-d", url, "--ledger-table", "other", "status");
	assert_exit(r, 2);
	assert_contains(r->err, "x-migrations-table says 'gm_ledger'");
	snprintf(url + strlen(url), sizeof(url) - strlen(url),
		 "&x-no-lock=true");
	MG(r, "-d", url, "status");
	assert_exit(r, 2);
	assert_contains(r->err, "'x-no-lock' has no meaning here");
}

static void baseline_marks_applied_without_running(void **state)
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
	assert_int_equal(it_ledger_count(e, "direction = 'up'"), runs(st, 1));
	assert_int_equal(it_ledger_count(e, "direction = 'up' AND "
					    "version = 3"), runs(st, 1));
	MG(r, "verify");
	assert_exit(r, 0);
}

static void empty_and_comment_only_files_apply(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_empty", "", ""), 0);
	assert_int_equal(it_pair(e, "0002_blank", " \n\t\n\n", "\n"), 0);
	assert_int_equal(it_pair(e, "0003_comments", dialect(st)->comments,
				 "-- nothing to undo\n"), 0);
	assert_int_equal(it_pair(e, "0004_a", UP_A, "DROP TABLE a;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "a");
	assert_int_equal(it_ledger_count(e, "direction = 'up' AND "
					    "status = 'ok'"), 4);
	assert_state(e, 3, "applied");
	MG(r, "down", "--all");
	assert_exit(r, 0);
	assert_no_table(e, "a");
	assert_int_equal(it_ledger_count(e, "direction = 'down' AND "
					    "status = 'ok'"), 4);
}

static void file_without_final_newline_or_semicolon(void **state)
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

static void dry_run_changes_nothing(void **state)
{
	IT_BEGIN;
	char sum[65];

	three(e);
	MG(r, "up", "--dry-run");
	assert_exit(r, 0);
	it_checksum(sum, UP_A, strlen(UP_A));
	assert_contains(r->out, sum); /* the plan: stdout */
	it_checksum(sum, UP_B, strlen(UP_B));
	assert_contains(r->out, sum); /* the plan: stdout */
	it_checksum(sum, UP_C, strlen(UP_C));
	assert_contains(r->out, sum); /* the plan: stdout */
	assert_no_table(e, "a");
	assert_no_table(e, "c");
	assert_int_equal(it_ledger_count(e, NULL), 0);
	assert_no_table(e, "migrate_ledger");
	assert_state(e, 1, "pending");
}

static void down_dry_run_changes_nothing(void **state)
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
	assert_contains(r->out, sum); /* the plan: stdout */
	assert_table(e, "a");
	assert_table(e, "c");
	assert_int_equal(it_ledger_count(e, NULL), runs(st, 3));
	assert_state(e, 3, "applied");
}

/* ---- registration: every body once per backend ---- */

#define EACH(body)                                                            \
	static void test_##body##_sqlite(void **state)                        \
	{                                                                     \
		body(state);                                                  \
	}                                                                     \
	static void test_##body##_postgres(void **state)                      \
	{                                                                     \
		body(state);                                                  \
	}                                                                     \
	static void test_##body##_mysql(void **state)                         \
	{                                                                     \
		body(state);                                                  \
	}

/* The behaviours of all three databases. */
#define BODIES(X)                                                             \
	X(up_applies_all_and_records_checksums)                               \
	X(down_rolls_back_exactly_one)                                        \
	X(down_all_then_up_again)                                             \
	X(up_to_and_down_to_stop_at_version)                                  \
	X(drift_stops_up_and_fails_verify)                                    \
	X(crlf_and_bom_are_not_drift)                                         \
	X(racing_runners_apply_each_version_once)                             \
	X(dirty_blocks_up_until_repair)                                       \
	X(repair_applied_counts_dirty_version_as_applied)                     \
	X(failure_in_first_statement_is_failed_not_dirty)                     \
	X(failed_check_rolls_back_and_is_recorded)                            \
	X(invalid_files_refused_before_anything_runs)                         \
	X(irreversible_needs_no_down_and_stops_down)                          \
	X(out_of_order_needs_flag)                                            \
	X(json_up_prints_events_and_summary)                                  \
	X(json_failed_up_ends_with_error_summary)                             \
	X(status_json_one_object_per_migration)                               \
	X(verify_passes_on_clean_ledger)                                      \
	X(verify_detects_changed_row)                                         \
	X(verify_detects_deleted_row)                                         \
	X(signed_ledger_verifies_only_with_its_key)                           \
	X(unsigned_ledger_fails_verify_with_key)                              \
	X(checkpoint_catches_a_lost_tail)                                     \
	X(open_signing_key_is_refused)                                        \
	X(changed_down_file_is_refused_unless_allowed)                        \
	X(status_exit_code_gates_ci)                                          \
	X(baseline_from_other_tools)                                          \
	X(golang_migrate_url_forms)                                           \
	X(baseline_marks_applied_without_running)                             \
	X(empty_and_comment_only_files_apply)                                 \
	X(file_without_final_newline_or_semicolon)                            \
	X(dry_run_changes_nothing)                                            \
	X(down_dry_run_changes_nothing)                                       \
	X(error_without_position_names_the_statement_line)

/*
 * SQLite and PostgreSQL only:
 * - failed_file_rolls_back_and_is_retried needs DDL to roll back with
 *   the file (MG_CAP_TXN_DDL). On MySQL a file that fails after a
 *   statement committed is dirty instead: it_mysql.c tests that.
 */
#define SQLITE_PG_BODIES(X) X(failed_file_rolls_back_and_is_retried)

#define EACH_SQLITE_PG(body)                                                  \
	static void test_##body##_sqlite(void **state)                        \
	{                                                                     \
		body(state);                                                  \
	}                                                                     \
	static void test_##body##_postgres(void **state)                      \
	{                                                                     \
		body(state);                                                  \
	}

BODIES(EACH)
SQLITE_PG_BODIES(EACH_SQLITE_PG)

#define T_SQLITE(body)                                                        \
	cmocka_unit_test_setup_teardown(test_##body##_sqlite, it_setup,       \
					it_teardown),
#define T_POSTGRES(body)                                                      \
	cmocka_unit_test_setup_teardown(test_##body##_postgres, it_setup,     \
					it_teardown),
#define T_MYSQL(body)                                                         \
	cmocka_unit_test_setup_teardown(test_##body##_mysql, it_setup,        \
					it_teardown),

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		BODIES(T_SQLITE) SQLITE_PG_BODIES(T_SQLITE)
	};
	const struct CMUnitTest postgres_tests[] = {
		BODIES(T_POSTGRES) SQLITE_PG_BODIES(T_POSTGRES)
	};
	const struct CMUnitTest mysql_tests[] = { BODIES(T_MYSQL) };
	return IT_RUN_ENGINES("it_core", sqlite_tests, postgres_tests, mysql_tests);
}
