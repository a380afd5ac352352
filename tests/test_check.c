/*
 * Unit tests of checks/check.h against the fake driver: before and after
 * values, verdicts of each kind, a check that cannot run (the file's
 * fault, exit 2) against a server failure, queries without a result set,
 * the re-measure after an undo, and the evidence as text and JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "checks/check.h"
#include "checks/directive.h"
#include "fake_driver.h"
#include "migrator/buf.h"
#include "migrator/error.h"

struct fx {
	struct fake_db *db;
	struct mg_conn *conn;
	struct mg_directives dir;
	struct mg_checks cs;
	struct mg_error err;
	const char *users;  /* the count the fake answers */
	const char *finger; /* the fingerprint it answers */
	size_t empty_rows;  /* rows of any other query */
	bool no_result;     /* that query returns no result set */
	bool lost;          /* every query fails like a lost connection */
};

static int answer(void *ctx, const char *sql, struct mg_rows **out,
                  struct mg_error *err)
{
	struct fx *x = ctx;
	size_t i;

	if (x->lost) {
		mg_error_set(err, MG_EDRIVER, "server closed the connection");
		strcpy(err->sqlstate, "08006");
		return MG_EDRIVER;
	}
	if (strstr(sql, "gone") != NULL) {
		mg_error_set(err, MG_EDRIVER, "relation gone does not exist");
		strcpy(err->sqlstate, "42P01");
		err->bad_sql = true; /* as a driver marks it */
		return MG_EDRIVER;
	}
	if (strstr(sql, "count(*) FROM users") != NULL) {
		*out = fake_value(x->users);
		return 0;
	}
	if (strncmp(sql, "FINGERPRINT", 11) == 0) {
		*out = fake_value(x->finger);
		return 0;
	}
	if (strstr(sql, "SELECT true") != NULL) {
		*out = fake_value("t");
		return 0;
	}
	if (strstr(sql, "SELECT 42") != NULL) {
		*out = fake_value("42");
		return 0;
	}
	*out = mg_rows_new(x->no_result ? 0 : 1);
	for (i = 0; !x->no_result && i < x->empty_rows; i++) {
		const char *v = "x";

		mg_rows_add(*out, &v, 1);
	}
	return 0;
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (x == NULL || (x->db = fake_db_new()) == NULL)
		return -1;
	x->db->answer = answer;
	x->db->ctx = x;
	x->conn = fake_connect(x->db);
	x->users = "10";
	x->finger = "abc";
	*state = x;
	return x->conn == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	mg_checks_dispose(&x->cs);
	mg_directives_dispose(&x->dir);
	x->conn->drv->close(x->conn);
	fake_db_free(x->db);
	free(x);
	return 0;
}

static void parse(struct fx *x, const char *text)
{
	assert_int_equal(
	        mg_directives_parse(&x->dir, text, strlen(text), &x->err), 0);
}

static const char *describe(struct fx *x, size_t i, struct mg_buf *b)
{
	mg_buf_truncate(b, 0);
	mg_checks_describe(&x->cs, i, b);
	return mg_buf_cstr(b);
}

static void test_unchanged_rows_and_data_hold(void **state)
{
	struct fx *x = *state;
	struct mg_buf b = MG_BUF_INIT;

	parse(x, "-- check: rows users unchanged\n"
	         "-- check: data users (id, email) unchanged\n");
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 0);
	assert_string_equal(x->cs.r[0].before, "10");
	assert_string_equal(x->cs.r[1].before, "abc");
	assert_int_equal(mg_checks_after(&x->cs, x->conn, &x->err), 0);
	assert_false(x->cs.any_failed);
	assert_string_equal(describe(x, 0, &b), "rows users: 10 -> 10 ok");
	assert_non_null(strstr(x->db->log, "query FINGERPRINT users id "
	                                   "email"));
	mg_buf_dispose(&b);
}

static void test_changed_rows_fail_with_both_values(void **state)
{
	struct fx *x = *state;
	struct mg_buf b = MG_BUF_INIT;

	parse(x, "-- check: rows users delta +2\n"
	         "-- check: data users (id) unchanged\n");
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 0);
	x->users = "11";
	x->finger = "def";
	assert_int_equal(mg_checks_after(&x->cs, x->conn, &x->err), 0);
	assert_true(x->cs.any_failed);
	assert_int_equal(x->cs.failed, 0); /* the first failure */
	assert_int_equal(x->cs.r[1].verdict, MG_VERDICT_FAILED);
	assert_string_equal(describe(x, 0, &b),
	                    "rows users: 10 -> 11 (expected +2) failed");
	mg_checks_json(&x->cs, &b);
	assert_non_null(strstr(mg_buf_cstr(&b),
	                       "{\"kind\":\"data\",\"check\":\"check: data "
	                       "users (id) unchanged\",\"line\":2,"
	                       "\"pre\":false,\"before\":\"abc\","
	                       "\"after\":\"def\",\"verdict\":\"failed\"}]"));
	mg_buf_dispose(&b);
}

static void test_delta_that_matches_holds(void **state)
{
	struct fx *x = *state;

	parse(x, "-- check: rows users delta -3\n");
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 0);
	x->users = "7";
	assert_int_equal(mg_checks_after(&x->cs, x->conn, &x->err), 0);
	assert_false(x->cs.any_failed);
}

static void test_pre_queries_run_before_and_post_after(void **state)
{
	struct fx *x = *state;
	struct mg_buf b = MG_BUF_INIT;

	parse(x, "-- check:pre empty SELECT id FROM dupes\n"
	         "-- check: true SELECT true\n");
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 0);
	assert_string_equal(x->cs.r[0].before, "0 rows");
	assert_null(x->cs.r[1].after); /* not asked yet */
	assert_int_equal(mg_checks_after(&x->cs, x->conn, &x->err), 0);
	assert_string_equal(x->cs.r[1].after, "t");
	assert_false(x->cs.any_failed);
	assert_string_equal(describe(x, 0, &b),
	                    "empty (pre) SELECT id FROM dupes: 0 rows ok");
	mg_buf_dispose(&b);
}

static void test_failed_pre_query_is_no_error(void **state)
{
	struct fx *x = *state;

	parse(x, "-- check:pre empty SELECT id FROM dupes\n");
	x->empty_rows = 2;
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 0);
	assert_true(x->cs.any_failed);
	assert_string_equal(x->cs.r[0].before, "2 rows");
}

static void test_true_needs_one_boolean(void **state)
{
	struct fx *x = *state;

	parse(x, "-- check: true SELECT 42\n"
	         "-- check: true SELECT id FROM many\n");
	x->empty_rows = 3;
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 0);
	assert_int_equal(mg_checks_after(&x->cs, x->conn, &x->err), 0);
	assert_int_equal(x->cs.r[0].verdict, MG_VERDICT_FAILED);
	assert_string_equal(x->cs.r[0].note, "the query must return a boolean");
	assert_int_equal(x->cs.r[1].verdict, MG_VERDICT_FAILED);
	assert_string_equal(x->cs.r[1].after, "3 rows");
}

static void test_query_without_result_set_fails(void **state)
{
	struct fx *x = *state;

	parse(x, "-- check:pre empty SELECT nothing\n");
	x->no_result = true;
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 0);
	assert_true(x->cs.any_failed);
	assert_string_equal(x->cs.r[0].note, "the query must be a SELECT");
}

static void test_missing_table_is_the_files_fault(void **state)
{
	struct fx *x = *state;

	parse(x, "\n-- check: rows gone unchanged\n");
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 MG_EINVALID);
	assert_int_equal(x->err.line, 2);
	assert_string_equal(x->err.msg, "check 'check: rows gone unchanged' "
	                                "cannot run: relation gone does not "
	                                "exist");
	assert_null(x->cs.r); /* nothing to dispose on error */
}

static void test_lost_connection_is_a_runtime_error(void **state)
{
	struct fx *x = *state;

	parse(x, "-- check: rows users unchanged\n");
	x->lost = true;
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 MG_EDRIVER);
	assert_non_null(strstr(x->err.msg, "server closed the connection"));
}

static void test_after_query_error_is_a_verdict(void **state)
{
	struct fx *x = *state;

	/* the file dropped what the check reads: a broken promise */
	parse(x, "-- check: rows users unchanged\n"
	         "-- check: rows gone unchanged\n");
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 MG_EINVALID); /* "gone" cannot be read before */
	mg_directives_dispose(&x->dir);
	parse(x, "-- check: true SELECT 1 FROM gone\n");
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 0);
	assert_int_equal(mg_checks_after(&x->cs, x->conn, &x->err), 0);
	assert_true(x->cs.any_failed);
	assert_int_equal(x->cs.r[0].verdict, MG_VERDICT_ERROR);
}

static void test_lost_connection_after_is_no_verdict(void **state)
{
	struct fx *x = *state;

	parse(x, "-- check: rows users unchanged\n");
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 0);
	x->lost = true;
	/* no verdict on the file: the server's failure, exit 1 */
	assert_int_equal(mg_checks_after(&x->cs, x->conn, &x->err),
	                 MG_EDRIVER);
	assert_string_equal(x->err.msg, "check 'check: rows users unchanged' "
	                                "could not run: server closed the "
	                                "connection");
	assert_string_equal(x->err.sqlstate, "08006");
	assert_int_equal(x->cs.r[0].verdict, MG_VERDICT_ERROR);
	assert_string_equal(x->cs.r[0].note, "server closed the connection");
}

static void test_restored_compares_with_before(void **state)
{
	struct fx *x = *state;
	struct mg_buf b = MG_BUF_INIT;
	char *differs = NULL;
	bool same = false;

	parse(x, "-- check: rows users unchanged\n"
	         "-- check: data users (id) unchanged\n");
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 0);
	x->users = "4";
	assert_int_equal(mg_checks_after(&x->cs, x->conn, &x->err), 0);
	/* the undo brought the count back, not the data */
	x->users = "10";
	x->finger = "zzz";
	assert_int_equal(mg_checks_restored(&x->cs, x->conn, &same, &differs,
	                                    &x->err),
	                 0);
	assert_false(same);
	assert_string_equal(differs, "check: data users (id) unchanged: "
	                             "before abc, after the undo zzz");
	assert_string_equal(x->cs.r[0].after, "4"); /* what the check saw */
	assert_string_equal(x->cs.r[0].after_undo, "10");
	assert_string_equal(describe(x, 0, &b), "rows users: 10 -> 4 failed "
	                                        "(after the undo: 10)");
	free(differs);
	x->finger = "abc";
	assert_int_equal(mg_checks_restored(&x->cs, x->conn, &same, &differs,
	                                    &x->err),
	                 0);
	assert_true(same);
	free(differs);
	mg_buf_dispose(&b);
}

static void test_no_checks_is_an_empty_array(void **state)
{
	struct fx *x = *state;
	struct mg_buf b = MG_BUF_INIT;

	parse(x, "CREATE TABLE t (x int);\n");
	assert_int_equal(mg_checks_before(&x->cs, x->conn, &x->dir, &x->err),
	                 0);
	assert_int_equal(mg_checks_after(&x->cs, x->conn, &x->err), 0);
	mg_checks_json(&x->cs, &b);
	assert_string_equal(mg_buf_cstr(&b), "[]");
	assert_null(strstr(x->db->log, "query"));
	mg_buf_dispose(&b);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_unchanged_rows_and_data_hold),
		T(test_changed_rows_fail_with_both_values),
		T(test_delta_that_matches_holds),
		T(test_pre_queries_run_before_and_post_after),
		T(test_failed_pre_query_is_no_error),
		T(test_true_needs_one_boolean),
		T(test_query_without_result_set_fails),
		T(test_missing_table_is_the_files_fault),
		T(test_lost_connection_is_a_runtime_error),
		T(test_after_query_error_is_a_verdict),
		T(test_lost_connection_after_is_no_verdict),
		T(test_restored_compares_with_before),
		T(test_no_checks_is_an_empty_array),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
