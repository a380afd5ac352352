/*
 * Integration tests of the checks (rows, data, empty, true, check:pre)
 * and of `migrate test`, on all three databases: SQLite (a file in the
 * test's temp dir, never skipped), PostgreSQL (MG_TEST_PG_DSN) and
 * MariaDB/MySQL (MG_TEST_MYSQL_DSN), each test in a database of its own.
 *
 * One body per behaviour, registered once per backend
 * (test_x_sqlite/_postgres/_mysql), in one cmocka group per backend: a
 * missing server skips that group's tests, or fails its group setup when
 * MG_TEST_REQUIRE_SERVERS is set, and never touches the other groups.
 * The SQL is written to run on all three (INTEGER, VARCHAR(100) for what
 * gets indexed); where the databases differ a helper picks the dialect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "migrator/driver.h"
#include "migrator/error.h"
#include "support/it.h"

static enum backend backend_of(const struct it_env *e)
{
	if (strncmp(e->url, "sqlite:", 7) == 0)
		return BK_SQLITE;
	if (strncmp(e->url, "mysql:", 6) == 0)
		return BK_MYSQL;
	return BK_POSTGRES;
}

/* ---- what the tests look at, in each dialect ---- */

static bool has_index(const struct it_env *e, const char *index)
{
	char sql[300];

	switch (backend_of(e)) {
	case BK_SQLITE:
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master "
			 "WHERE type = 'index' AND name = '%s'", index);
		break;
	case BK_POSTGRES:
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_indexes "
			 "WHERE schemaname = current_schema() AND "
			 "indexname = '%s'", index);
		break;
	case BK_MYSQL:
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
			 "information_schema.statistics WHERE table_schema = "
			 "database() AND index_name = '%s'", index);
		break;
	}
	return it_count(e, sql) > 0;
}

/* A column of the version's latest ledger row, owned by the test. */
static const char *last_event(struct it_state *st, long long version,
			      const char *column)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT %s FROM migrate_ledger WHERE "
		 "version = %lld ORDER BY id DESC LIMIT 1", column, version);
	return it_own(st, it_value(&st->e, sql));
}

/* "DROP INDEX i" in the test's dialect: MySQL wants the table too. */
static const char *drop_index(struct it_state *st, const char *index,
			      const char *table)
{
	char *sql = it_own(st, malloc(200));

	assert_non_null(sql);
	if (backend_of(&st->e) == BK_MYSQL)
		snprintf(sql, 200, "DROP INDEX %s ON %s;\n", index, table);
	else
		snprintf(sql, 200, "DROP INDEX %s;\n", index);
	return sql;
}

/* The JSON array after "key": in a line, copied and owned, or NULL. */
static const char *json_array(struct it_state *st, const char *line,
			      const char *key)
{
	char pat[64];
	const char *p, *s;
	bool in_str = false;
	int depth = 0;

	snprintf(pat, sizeof(pat), "\"%s\":[", key);
	if (line == NULL || (s = strstr(line, pat)) == NULL)
		return NULL;
	s += strlen(pat) - 1;
	for (p = s; *p; p++) {
		if (in_str) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				in_str = false;
		} else if (*p == '"') {
			in_str = true;
		} else if (*p == '[') {
			depth++;
		} else if (*p == ']' && --depth == 0) {
			return it_own(st, strndup(s, (size_t)(p - s + 1)));
		}
	}
	return NULL;
}

/*
 * True when the schema difference `migrate test` printed has an item
 * "<sign> index ..." naming `name`. Items are separated by "; " on the
 * detail line.
 */
static bool diff_has_index(const char *text, char sign, const char *name)
{
	char pat[16];
	const char *p = text;

	snprintf(pat, sizeof(pat), "%c index ", sign);
	while (p != NULL && (p = strstr(p, pat)) != NULL) {
		size_t len = strcspn(p, ";\n");
		bool starts = p == text || p[-1] == ' ';
		const char *hit = strstr(p, name);

		if (starts && hit != NULL && (size_t)(hit - p) < len)
			return true;
		p += strlen(pat);
	}
	return false;
}

#define assert_last_event(st, version, want)                                  \
	do {                                                                  \
		const char *got_ = last_event((st), (version), "status");     \
		if (got_ == NULL || strcmp(got_, (want)) != 0)                \
			print_error("version %d: last event %s, want %s\n",   \
				    (int)(version), got_ ? got_ : "(none)",   \
				    (want));                                  \
		assert_non_null(got_);                                        \
		assert_string_equal(got_, (want));                            \
	} while (0)

#define CK_BEGIN                                                              \
	IT_BEGIN;                                                             \
	const enum backend bk = backend_of(e);                                \
	(void)bk

/* ---- fixtures ---- */

static const char USERS_UP[] =
	"CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100), "
	"name VARCHAR(100));\n"
	"INSERT INTO users VALUES (1, 'a@x', 'A'), (2, 'b@x', 'B'), "
	"(3, 'c@x', 'C');\n";
static const char USERS_DOWN[] = "DROP TABLE users;\n";

/* Version 1, users with three rows, applied. */
static void users_applied(struct it_state *st)
{
	struct it_env *e = &st->e;

	assert_int_equal(it_pair(e, "0001_users", USERS_UP, USERS_DOWN), 0);
	MG(&st->r, "up");
	assert_exit(&st->r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 3);
}

/* ---- rows and data checks ---- */

/* 1. a DELETE caught by rows ... unchanged */
static void delete_caught_by_rows_check(void **state)
{
	CK_BEGIN;
	const char *checks, *error;

	assert_int_equal(it_pair(e, "0001_users", USERS_UP, USERS_DOWN), 0);
	/* the down puts the row back: MySQL runs it to undo the file */
	assert_int_equal(it_pair(e, "0002_purge",
				 "-- purge the third user\n"
				 "-- check: rows users unchanged\n"
				 "DELETE FROM users WHERE id = 3;\n",
				 "INSERT INTO users VALUES (3, 'c@x', 'C');\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 3);
	assert_contains(r->err, "rows users: 3 -> 2 failed");
	assert_contains(r->err, "0002_purge.up.sql:2: ");
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 3);
	assert_int_equal(it_count(e, "SELECT count(*) FROM users WHERE "
				     "id = 3 AND email = 'c@x'"), 1);
	assert_state(e, 1, "applied");
	assert_state(e, 2, "failed");
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok'"),
			 0);
	assert_last_event(st, 2, "rolled_back");

	error = last_event(st, 2, "error");
	assert_non_null(error);
	assert_contains(error, "0002_purge.up.sql:2: ");
	assert_contains(error, "rows users: 3 -> 2 failed");
	if (bk == BK_MYSQL)
		assert_contains(error, "every before value was restored");
	else
		assert_contains(error, "rolled back");

	/* the evidence: what the check saw after the file ran */
	checks = last_event(st, 2, "checks");
	assert_non_null(checks);
	assert_contains(checks, "\"kind\":\"rows\"");
	assert_contains(checks, "\"line\":2");
	assert_contains(checks, "\"before\":\"3\"");
	assert_contains(checks, "\"verdict\":\"failed\"");
	assert_contains(checks, "\"after\":\"2\"");
}

/* 2. an UPDATE caught by data ... unchanged while rows passes */
static void update_caught_by_data_check(void **state)
{
	CK_BEGIN;
	const char *checks;

	users_applied(st);
	assert_int_equal(it_pair(e, "0002_email",
				 "-- check: rows users unchanged\n"
				 "-- check: data users (id, email) unchanged\n"
				 "UPDATE users SET email = 'z@x' "
				 "WHERE id = 2;\n",
				 "UPDATE users SET email = 'b@x' "
				 "WHERE id = 2;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 3);
	assert_contains(r->err, "rows users: 3 -> 3 ok");
	assert_contains(r->err, "0002_email.up.sql:2: check failed: data "
				"users:");
	assert_int_equal(it_count(e, "SELECT count(*) FROM users WHERE "
				     "id = 2 AND email = 'b@x'"), 1);
	assert_state(e, 2, "failed");
	assert_last_event(st, 2, "rolled_back");
	checks = last_event(st, 2, "checks");
	assert_non_null(checks);
	assert_contains(checks, "\"kind\":\"data\"");
	assert_contains(checks, "\"before\":\"3:");
}

/* 3. a check:pre stops a unique index over duplicates: nothing runs */
static void pre_check_stops_unique_index(void **state)
{
	CK_BEGIN;
	char down[300];
	const char *checks;

	assert_int_equal(it_pair(e, "0001_users",
				 "CREATE TABLE users (id INTEGER PRIMARY KEY, "
				 "email VARCHAR(100), name VARCHAR(100));\n"
				 "INSERT INTO users VALUES (1, 'a@x', 'A'), "
				 "(2, 'a@x', 'B'), (3, 'c@x', 'C');\n",
				 USERS_DOWN), 0);
	/* if the down ran as an undo on MySQL it would fail: there is
	 * nothing to drop, since nothing ran */
	snprintf(down, sizeof(down), "%sDROP TABLE email_audit;\n",
		 drop_index(st, "users_email", "users"));
	assert_int_equal(it_pair(e, "0002_unique_email",
				 "-- check:pre empty SELECT email FROM users "
				 "GROUP BY email HAVING count(*) > 1\n"
				 "CREATE TABLE email_audit (id INTEGER);\n"
				 "CREATE UNIQUE INDEX users_email ON users "
				 "(email);\n", down), 0);
	MG(r, "up");
	assert_exit(r, 3);
	assert_contains(r->err, "0002_unique_email.up.sql:1: ");
	assert_contains(r->err, "1 row failed");
	assert_false(has_index(e, "users_email"));
	assert_false(it_table_exists(e, "email_audit"));
	assert_state(e, 2, "failed");
	assert_last_event(st, 2, "rolled_back");
	checks = last_event(st, 2, "checks");
	assert_non_null(checks);
	assert_contains(checks, "\"pre\":true");
	assert_contains(checks, "\"before\":\"1 row\"");

	/* the duplicate fixed by hand, the same file now runs */
	assert_int_equal(it_sql(e, "UPDATE users SET email = 'b@x' WHERE "
				   "id = 2"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_true(has_index(e, "users_email"));
	assert_true(it_table_exists(e, "email_audit"));
	assert_state(e, 2, "applied");
	checks = last_event(st, 2, "checks");
	assert_non_null(checks);
	assert_contains(checks, "\"before\":\"0 rows\",\"after\":null,"
				"\"verdict\":\"ok\"");
}

/* 4. rows ... delta +2 passes with two inserts, fails with one */
static void rows_delta_passes_and_fails(void **state)
{
	CK_BEGIN;

	users_applied(st);
	assert_int_equal(it_pair(e, "0002_two",
				 "-- check: rows users delta +2\n"
				 "INSERT INTO users VALUES (4, 'd@x', 'D'), "
				 "(5, 'e@x', 'E');\n",
				 "DELETE FROM users WHERE id IN (4, 5);\n"), 0);
	assert_int_equal(it_pair(e, "0003_one",
				 "-- check: rows users delta +2\n"
				 "INSERT INTO users VALUES (6, 'f@x', 'F');\n",
				 "DELETE FROM users WHERE id = 6;\n"), 0);
	MG(r, "up");
	assert_exit(r, 3);
	assert_contains(r->err, "rows users: 3 -> 5 (expected +2) ok");
	assert_contains(r->err, "rows users: 5 -> 6 (expected +2) failed");
	assert_contains(r->err, "0003_one.up.sql:1: ");
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 5);
	assert_state(e, 2, "applied");
	assert_state(e, 3, "failed");
	assert_last_event(st, 2, "ok");
	assert_last_event(st, 3, "rolled_back");
}

/* 5. a passing migration's evidence, in the ledger and in --json */
static void passing_checks_recorded_in_ledger_and_json(void **state)
{
	CK_BEGIN;
	const char *ledger_checks, *json_checks;
	char *line;

	users_applied(st);
	assert_int_equal(it_pair(e, "0002_nick",
				 "-- check: rows users unchanged\n"
				 "-- check: data users (id, email) unchanged\n"
				 "-- check: true SELECT count(*) = 3 "
				 "FROM users\n"
				 "ALTER TABLE users ADD COLUMN nick "
				 "VARCHAR(100);\n",
				 "ALTER TABLE users DROP COLUMN nick;\n"), 0);
	MG(r, "--json", "up");
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, true));
	/* with --json, stderr is for errors only: the checks are in the
	 * JSON line read below */
	assert_not_contains(r->err, "rows users: 3 -> 3 ok");
	assert_state(e, 2, "applied");

	ledger_checks = last_event(st, 2, "checks");
	assert_non_null(ledger_checks);
	assert_contains(ledger_checks, "\"kind\":\"rows\",\"check\":\"check: "
				       "rows users unchanged\",\"line\":1,"
				       "\"pre\":false,\"before\":\"3\","
				       "\"after\":\"3\",\"verdict\":\"ok\"");
	assert_contains(ledger_checks, "\"kind\":\"data\"");
	assert_contains(ledger_checks, "\"kind\":\"true\"");
	assert_int_equal(count_of(ledger_checks, "\"verdict\":\"ok\""), 3);

	line = it_own(st, it_line_with(r->out, "{\"event\":\"migration\","
					       "\"version\":2,"));
	assert_non_null(line);
	assert_contains(line, "\"status\":\"ok\"");
	json_checks = json_array(st, line, "checks");
	assert_non_null(json_checks);
	assert_string_equal(json_checks, ledger_checks);
}

/* 6. dry runs read the live before values and change nothing */
static void dry_runs_change_nothing_and_show_before_values(void **state)
{
	CK_BEGIN;
	long long n;
	char *line;

	users_applied(st);
	assert_int_equal(it_pair(e, "0002_extra",
				 "-- check: rows users unchanged\n"
				 "-- check: data users (id, email) unchanged\n"
				 "CREATE TABLE extra (id INTEGER);\n"
				 "INSERT INTO extra VALUES (1);\n",
				 "-- check: rows users unchanged\n"
				 "DROP TABLE extra;\n"), 0);
	n = it_ledger_count(e, NULL);
	assert_true(n > 0);

	MG(r, "up", "--dry-run");
	assert_exit(r, 0);
	assert_contains(r->out, "0002_extra.up.sql");
	assert_contains(r->out, "rows users: 3 -> ");
	assert_contains(r->out, "data users: 3:");
	assert_false(it_table_exists(e, "extra"));
	assert_int_equal(it_ledger_count(e, NULL), n);
	assert_state(e, 2, "pending");

	MG(r, "--json", "up", "--dry-run");
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, true));
	line = it_own(st, it_line_with(r->out, "\"version\":2,"));
	assert_non_null(line);
	assert_contains(line, "\"status\":\"planned\"");
	assert_contains(line, "\"dry_run\":true");
	assert_contains(line, "\"before\":\"3\"");
	assert_false(it_table_exists(e, "extra"));
	assert_int_equal(it_ledger_count(e, NULL), n);

	MG(r, "up");
	assert_exit(r, 0);
	assert_true(it_table_exists(e, "extra"));
	/* a live value that no run has seen yet */
	assert_int_equal(it_sql(e, "INSERT INTO users VALUES (4, 'd@x', "
				   "'D')"), 0);
	n = it_ledger_count(e, NULL);

	MG(r, "down", "--dry-run");
	assert_exit(r, 0);
	assert_contains(r->out, "0002_extra.down.sql");
	assert_contains(r->out, "rows users: 4 -> ");
	assert_true(it_table_exists(e, "extra"));
	assert_int_equal(it_count(e, "SELECT count(*) FROM extra"), 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 4);
	assert_int_equal(it_ledger_count(e, NULL), n);
	assert_state(e, 2, "applied");
}

/* ---- where DDL cannot roll back: the undo ---- */

/*
 * 7. MySQL, and a -- migrate:no-transaction file elsewhere: a failed
 * post-check runs the down file, and the before values must come back.
 */
static void write_undo_pair(struct it_state *st, const char *down)
{
	bool mysql = backend_of(&st->e) == BK_MYSQL;
	char up[300];

	snprintf(up, sizeof(up), "%s-- check: rows users unchanged\n"
		 "INSERT INTO users VALUES (4, 'x@y', 'X');\n",
		 mysql ? "" : "-- migrate:no-transaction\n");
	assert_int_equal(it_pair(&st->e, "0002_add", up, down), 0);
}

static void undo_restores_after_failed_check(void **state)
{
	CK_BEGIN;
	const char *error;
	char *checks;

	users_applied(st);
	write_undo_pair(st, "DELETE FROM users WHERE id = 4;\n");
	MG(r, "up");
	assert_exit(r, 3);
	assert_contains(r->err, "rows users: 3 -> 4 failed");
	assert_contains(r->err, "every before value was restored");
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 3);
	assert_state(e, 2, "failed");
	assert_last_event(st, 2, "rolled_back");
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok'"),
			 0);
	error = last_event(st, 2, "error");
	assert_non_null(error);
	assert_contains(error, "0002_add.up.sql");
	assert_contains(error, "0002_add.down.sql");
	assert_contains(error, "every before value was restored");

	/* failed, not dirty: the next up retries the file */
	assert_int_equal(it_write_str(e, "0002_add.up.sql",
				      "-- check: rows users delta +1\n"
				      "INSERT INTO users VALUES (4, 'x@y', "
				      "'X');\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_state(e, 2, "applied");

	/* the rolled_back event's evidence is what the check saw after the
	 * file ran (4), not what the undo measured (3) */
	checks = it_own(st, it_value(e, "SELECT checks FROM migrate_ledger "
					"WHERE version = 2 AND status = "
					"'rolled_back'"));
	assert_non_null(checks);
	assert_contains(checks, "\"before\":\"3\"");
	assert_contains(checks, "\"verdict\":\"failed\"");
	assert_contains(checks, "\"after\":\"4\"");
}

static void undo_that_does_not_restore_is_dirty(void **state)
{
	CK_BEGIN;
	const char *error;

	users_applied(st);
	write_undo_pair(st, "SELECT 1;\n");
	MG(r, "up");
	assert_exit(r, 1); /* not "rolled back": dirty */
	assert_contains(r->err, "rows users: 3 -> 4 failed");
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 4);
	assert_state(e, 2, "dirty");
	assert_last_event(st, 2, "dirty");
	error = last_event(st, 2, "error");
	assert_non_null(error);
	assert_contains(error, "differs");
	assert_contains(error, "before 3, after the undo 4");

	/* dirty stops the next up until repair */
	MG(r, "up");
	assert_exit(r, 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 4);
}

/* ---- the data fingerprint ---- */

static const char T_UP[] =
	"CREATE TABLE t (a VARCHAR(100), b VARCHAR(100));\n"
	"INSERT INTO t VALUES ('p', 'q');\n"
	"INSERT INTO t VALUES ('r', 's');\n"
	"INSERT INTO t VALUES ('u', NULL);\n";

/* 8. the same values, moved between the listed columns */
static void fingerprint_sees_values_swapped_between_columns(void **state)
{
	CK_BEGIN;
	char sql[400];

	assert_int_equal(it_pair(e, "0001_t", T_UP, "DROP TABLE t;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	/* MySQL assigns left to right (a = b, then b = the new a): renaming
	 * the columns is its swap. It is its own inverse: the down too. */
	snprintf(sql, sizeof(sql), "%s",
		 bk == BK_MYSQL ? "ALTER TABLE t RENAME COLUMN a TO tmp;\n"
				  "ALTER TABLE t RENAME COLUMN b TO a;\n"
				  "ALTER TABLE t RENAME COLUMN tmp TO b;\n" :
				  "UPDATE t SET a = b, b = a;\n");
	assert_int_equal(it_write_str(e, "0002_swap.down.sql", sql), 0);
	snprintf(sql, sizeof(sql), "-- check: rows t unchanged\n"
		 "-- check: data t (a, b) unchanged\n%s",
		 bk == BK_MYSQL ? "ALTER TABLE t RENAME COLUMN a TO tmp;\n"
				  "ALTER TABLE t RENAME COLUMN b TO a;\n"
				  "ALTER TABLE t RENAME COLUMN tmp TO b;\n" :
				  "UPDATE t SET a = b, b = a;\n");
	assert_int_equal(it_write_str(e, "0002_swap.up.sql", sql), 0);
	MG(r, "up");
	assert_exit(r, 3);
	assert_contains(r->err, "rows t: 3 -> 3 ok");
	assert_contains(r->err, "0002_swap.up.sql:2: check failed: data t:");
	assert_last_event(st, 2, "rolled_back");
	/* back as it was */
	assert_int_equal(it_count(e, "SELECT count(*) FROM t WHERE a = 'p' "
				     "AND b = 'q'"), 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t WHERE a = 'u' "
				     "AND b IS NULL"), 1);
}

/* 8. the same rows in another physical order: no difference */
static void fingerprint_ignores_row_order(void **state)
{
	CK_BEGIN;
	char *first;

	assert_int_equal(it_pair(e, "0001_t", T_UP, "DROP TABLE t;\n"), 0);
	assert_int_equal(it_pair(e, "0002_reorder",
				 "-- check: rows t unchanged\n"
				 "-- check: data t (a, b) unchanged\n"
				 "CREATE TABLE t2 (a VARCHAR(100), "
				 "b VARCHAR(100));\n"
				 "INSERT INTO t2 SELECT a, b FROM t "
				 "ORDER BY a DESC;\n"
				 "DROP TABLE t;\n"
				 "ALTER TABLE t2 RENAME TO t;\n",
				 "SELECT 1;\n"), 0);
	MG(r, "up", "--to", "1");
	assert_exit(r, 0);
	first = it_own(st, it_value(e, "SELECT a FROM t LIMIT 1"));
	assert_non_null(first);
	assert_string_equal(first, "p");

	MG(r, "up");
	assert_exit(r, 0);
	assert_contains(r->err, "rows t: 3 -> 3 ok");
	assert_state(e, 2, "applied");
	/* the rows do come back in another order now */
	first = it_own(st, it_value(e, "SELECT a FROM t LIMIT 1"));
	assert_non_null(first);
	assert_string_equal(first, "u");
	assert_contains(last_event(st, 2, "checks"), "\"kind\":\"data\"");
	assert_int_equal(count_of(last_event(st, 2, "checks"),
				  "\"verdict\":\"ok\""), 2);
}

/* 8. NULL turned into '' */
static void fingerprint_tells_null_from_empty(void **state)
{
	CK_BEGIN;

	assert_int_equal(it_pair(e, "0001_t", T_UP, "DROP TABLE t;\n"), 0);
	assert_int_equal(it_pair(e, "0002_blank",
				 "-- check: data t (a, b) unchanged\n"
				 "UPDATE t SET b = '' WHERE b IS NULL;\n",
				 "UPDATE t SET b = NULL WHERE b = '';\n"), 0);
	MG(r, "up");
	assert_exit(r, 3);
	assert_contains(r->err, "0002_blank.up.sql:1: check failed: data t:");
	assert_last_event(st, 2, "rolled_back");
	assert_int_equal(it_count(e, "SELECT count(*) FROM t WHERE b IS NULL"),
			 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t WHERE b = ''"),
			 0);
}

/* 8. duplicates count: one removed, or traded for another pair */
static void fingerprint_counts_duplicate_rows(void **state)
{
	CK_BEGIN;

	assert_int_equal(it_pair(e, "0001_d",
				 "CREATE TABLE d (a INTEGER, b VARCHAR(100));\n"
				 "INSERT INTO d VALUES (1, 'a'), (1, 'a'), "
				 "(2, 'b');\n",
				 "DROP TABLE d;\n"), 0);
	/* (1,a),(1,a),(2,b) -> (1,a),(2,b) */
	assert_int_equal(it_pair(e, "0002_dedup",
				 "-- check: data d (a, b) unchanged\n"
				 "DELETE FROM d WHERE a = 1;\n"
				 "INSERT INTO d VALUES (1, 'a');\n",
				 "INSERT INTO d VALUES (1, 'a');\n"), 0);
	MG(r, "up");
	assert_exit(r, 3);
	assert_contains(r->err, "0002_dedup.up.sql:1: check failed: data d:");
	assert_last_event(st, 2, "rolled_back");
	assert_int_equal(it_count(e, "SELECT count(*) FROM d WHERE a = 1"), 2);

	/* (1,a),(1,a),(2,b) -> (2,b),(3,c),(3,c): the same count, and an
	 * XOR of row hashes would be the same too (pairs cancel) */
	assert_int_equal(it_pair(e, "0002_dedup",
				 "-- check: rows d unchanged\n"
				 "-- check: data d (a, b) unchanged\n"
				 "DELETE FROM d WHERE a = 1;\n"
				 "INSERT INTO d VALUES (3, 'c'), (3, 'c');\n",
				 "DELETE FROM d WHERE a = 3;\n"
				 "INSERT INTO d VALUES (1, 'a'), (1, 'a');\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 3);
	assert_contains(r->err, "rows d: 3 -> 3 ok");
	assert_contains(r->err, "0002_dedup.up.sql:2: check failed: data d:");
	assert_last_event(st, 2, "rolled_back");
	assert_int_equal(it_count(e, "SELECT count(*) FROM d WHERE a = 1"), 2);
	assert_int_equal(it_count(e, "SELECT count(*) FROM d WHERE a = 3"), 0);
}

/* ---- checks that cannot run, queries that cannot answer ---- */

/* 9. a table or column that does not exist: exit 2, nothing runs */
static void check_on_missing_table_or_column_refused(void **state)
{
	CK_BEGIN;

	users_applied(st);
	assert_int_equal(it_pair(e, "0002_side",
				 "CREATE TABLE side (id INTEGER);\n"
				 "-- check: rows nosuch unchanged\n",
				 "DROP TABLE side;\n"), 0);
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "0002_side.up.sql:2: ");
	assert_contains(r->err, "nosuch");
	assert_false(it_table_exists(e, "side"));
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok'"),
			 0);

	assert_int_equal(it_pair(e, "0002_side",
				 "-- check: rows users unchanged\n"
				 "-- check: data users (id, nosuch) unchanged\n"
				 "CREATE TABLE side (id INTEGER);\n",
				 "DROP TABLE side;\n"), 0);
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "0002_side.up.sql:2: ");
	assert_contains(r->err, "nosuch");
	assert_false(it_table_exists(e, "side"));
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok'"),
			 0);
}

/* 9. a true query must give one row of one boolean */
static void true_check_needs_one_boolean(void **state)
{
	CK_BEGIN;
	static const struct {
		const char *query, *says;
	} cases[] = {
		{ "SELECT 1 = 1 FROM users WHERE id < 0", "exactly one row" },
		{ "SELECT 1 = 1 FROM users", "exactly one row" },
		{ "SELECT 'abc'", "must return a boolean" },
		{ "SELECT 1 = 1, 2 = 2", "single column" },
	};
	char up[300];
	size_t i;

	users_applied(st);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(up, sizeof(up), "CREATE TABLE side (id INTEGER);\n"
			 "-- check: true %s\n", cases[i].query);
		assert_int_equal(it_pair(e, "0002_side", up,
					 "DROP TABLE side;\n"), 0);
		MG(r, "up");
		if (r->code != 3)
			print_error("case %zu: %s\n", i, cases[i].query);
		assert_exit(r, 3);
		assert_contains(r->err, "0002_side.up.sql:2: check failed: ");
		assert_contains(r->err, cases[i].says);
		assert_false(it_table_exists(e, "side"));
		assert_last_event(st, 2, "rolled_back");
	}

	/* and a true one passes */
	assert_int_equal(it_pair(e, "0002_side",
				 "CREATE TABLE side (id INTEGER);\n"
				 "-- check: true SELECT count(*) = 0 "
				 "FROM side\n",
				 "DROP TABLE side;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_true(it_table_exists(e, "side"));
}

/* ---- checks in down files ---- */

/* 10. a down file's check fails: migrate down exits 3 */
static void down_file_checks_stop_down(void **state)
{
	CK_BEGIN;

	users_applied(st);
	assert_int_equal(it_pair(e, "0002_nick",
				 "ALTER TABLE users ADD COLUMN nick "
				 "VARCHAR(100);\n",
				 "-- check: rows users unchanged\n"
				 "DELETE FROM users WHERE id = 3;\n"
				 "ALTER TABLE users DROP COLUMN nick;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "down");
	/* 3 only when rolled back; MySQL's undo leaves it dirty: 1 */
	assert_exit(r, bk == BK_MYSQL ? 1 : 3);
	assert_contains(r->err, "rows users: 3 -> 2 failed");
	assert_contains(r->err, "0002_nick.down.sql:1: ");
	assert_string_equal(last_event(st, 2, "direction"), "down");
	if (bk == BK_MYSQL) {
		/* the undo runs the up file again: the column comes back,
		 * the row does not */
		assert_last_event(st, 2, "dirty");
		assert_state(e, 2, "dirty");
		assert_int_equal(it_count(e, "SELECT count(*) FROM users"),
				 2);
		return;
	}
	assert_last_event(st, 2, "rolled_back");
	assert_state(e, 2, "applied");
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 3);
	/* the column is still there */
	assert_int_equal(it_count(e, "SELECT count(nick) FROM users"), 0);
}

/* ---- migrate test ---- */

static const char SHOP_UP[] =
	"CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100), "
	"name VARCHAR(100));\n"
	"INSERT INTO users VALUES (1, 'a@x', 'A'), (2, 'b@x', 'B'), "
	"(3, 'c@x', 'C');\n"
	"CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, "
	"total INTEGER);\n";

/* 11. a correct pair: up, down, the same schema, up again */
static void test_command_proves_correct_down(void **state)
{
	CK_BEGIN;
	static const char *const want[] = { "up", "down", "up" };
	struct mg_rows *rows;
	char down[300];
	size_t i;

	assert_int_equal(it_pair(e, "0001_shop", SHOP_UP,
				 "DROP TABLE orders;\nDROP TABLE users;\n"), 0);
	snprintf(down, sizeof(down), "%sALTER TABLE users DROP COLUMN nick;\n",
		 drop_index(st, "orders_total", "orders"));
	assert_int_equal(it_pair(e, "0002_nick",
				 "-- check: rows users unchanged\n"
				 "ALTER TABLE users ADD COLUMN nick "
				 "VARCHAR(100);\n"
				 "CREATE INDEX orders_total ON orders "
				 "(total);\n",
				 down), 0);
	MG(r, "test");
	assert_exit(r, 0);
	assert_contains(r->err, "0001_shop.down.sql: down restores the schema");
	assert_contains(r->err, "0002_nick.down.sql: down restores the schema");
	assert_state(e, 1, "applied");
	assert_state(e, 2, "applied");
	assert_true(has_index(e, "orders_total"));
	assert_int_equal(it_count(e, "SELECT count(nick) FROM users"), 0);

	/* where files run outside a transaction (MySQL) each also gets a
	 * "dirty" event first, before its outcome */
	rows = it_own_rows(st, it_query(e, "SELECT direction, status FROM "
					"migrate_ledger WHERE version = 2 "
					"AND status <> 'dirty' ORDER BY id"));
	assert_non_null(rows);
	assert_int_equal(rows->nrows, 3);
	for (i = 0; i < 3; i++) {
		assert_string_equal(mg_rows_get(rows, i, 0), want[i]);
		assert_string_equal(mg_rows_get(rows, i, 1), "ok");
	}
	assert_int_equal(it_ledger_count(e, "version = 1 AND status = 'ok'"),
			 3);
}

/* 11. a down that leaves an index behind */
static void test_command_finds_index_left_behind(void **state)
{
	CK_BEGIN;
	char *detail;

	assert_int_equal(it_pair(e, "0001_shop", SHOP_UP,
				 "DROP TABLE orders;\nDROP TABLE users;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_pair(e, "0002_nick",
				 "ALTER TABLE users ADD COLUMN nick "
				 "VARCHAR(100);\n"
				 "CREATE INDEX orders_total ON orders "
				 "(total);\n",
				 "ALTER TABLE users DROP COLUMN nick;\n"), 0);
	MG(r, "test");
	assert_exit(r, 4);
	assert_contains(r->err, "0002_nick.down.sql does not undo");
	if (!diff_has_index(r->err, '+', "orders_total"))
		print_error("no '+ index ... orders_total' in:\n%s\n", r->err);
	assert_true(diff_has_index(r->err, '+', "orders_total"));
	assert_false(diff_has_index(r->err, '-', "orders_total"));
	/* the column went away cleanly: users is not in the difference */
	detail = it_own(st, it_line_with(r->err, "detail: "));
	assert_non_null(detail);
	assert_not_contains(detail, "users");
	assert_not_contains(r->err, "down restores the schema");
}

/* 11. a down that drops too much */
static void test_command_finds_down_dropping_too_much(void **state)
{
	CK_BEGIN;
	char up[400], down[300];

	snprintf(up, sizeof(up), "%sCREATE INDEX orders_total ON orders "
		 "(total);\n", SHOP_UP);
	assert_int_equal(it_pair(e, "0001_shop", up,
				 "DROP TABLE orders;\nDROP TABLE users;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_true(has_index(e, "orders_total"));
	snprintf(down, sizeof(down), "ALTER TABLE users DROP COLUMN nick;\n%s",
		 drop_index(st, "orders_total", "orders"));
	assert_int_equal(it_pair(e, "0002_nick",
				 "ALTER TABLE users ADD COLUMN nick "
				 "VARCHAR(100);\n", down), 0);
	MG(r, "test");
	assert_exit(r, 4);
	assert_contains(r->err, "0002_nick.down.sql does not undo");
	if (!diff_has_index(r->err, '-', "orders_total"))
		print_error("no '- index ... orders_total' in:\n%s\n", r->err);
	assert_true(diff_has_index(r->err, '-', "orders_total"));
	assert_false(diff_has_index(r->err, '+', "orders_total"));
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

#define BODIES(X)                                                             \
	X(delete_caught_by_rows_check)                                        \
	X(update_caught_by_data_check)                                        \
	X(pre_check_stops_unique_index)                                       \
	X(rows_delta_passes_and_fails)                                        \
	X(passing_checks_recorded_in_ledger_and_json)                         \
	X(dry_runs_change_nothing_and_show_before_values)                     \
	X(undo_restores_after_failed_check)                                   \
	X(undo_that_does_not_restore_is_dirty)                                \
	X(fingerprint_sees_values_swapped_between_columns)                    \
	X(fingerprint_ignores_row_order)                                      \
	X(fingerprint_tells_null_from_empty)                                  \
	X(fingerprint_counts_duplicate_rows)                                  \
	X(check_on_missing_table_or_column_refused)                           \
	X(true_check_needs_one_boolean)                                       \
	X(down_file_checks_stop_down)                                         \
	X(test_command_proves_correct_down)                                   \
	X(test_command_finds_index_left_behind)                               \
	X(test_command_finds_down_dropping_too_much)

BODIES(EACH)

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
	const struct CMUnitTest sqlite_tests[] = { BODIES(T_SQLITE) };
	const struct CMUnitTest postgres_tests[] = { BODIES(T_POSTGRES) };
	const struct CMUnitTest mysql_tests[] = { BODIES(T_MYSQL) };
	return IT_RUN_ENGINES("it_checks", sqlite_tests, postgres_tests, mysql_tests);
}
