/*
 * Unit tests of checks/evidence.h (issue 10): statements kept within
 * their bound with a marker, the outer hooks told too, rows as JSON cut
 * with a marker; and the pieces it stands on: mg_stmt_tag() and the
 * record: directive.
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
#include "checks/evidence.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/drivers/split.h"
#include "migrator/error.h"
#include "migrator/json.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct outer {
	unsigned started, done, last_line;
};

static void outer_start(void *ctx, unsigned line)
{
	struct outer *o = ctx;

	o->started++;
	o->last_line = line;
}

static void outer_done(void *ctx, const struct mg_stmt_stat *st)
{
	struct outer *o = ctx;

	(void)st;
	o->done++;
}

static char *evidence_text(const struct mg_evidence *ev)
{
	struct mg_buf b = MG_BUF_INIT;
	struct mg_json w;

	mg_json_init(&w, &b);
	mg_json_array_begin(&w, NULL);
	mg_evidence_json(ev, &w);
	mg_json_end(&w);
	assert_int_equal(mg_json_check(&w, NULL), 0);
	return mg_buf_detach(&b);
}

static void test_statements_kept_and_outer_hooks_told(void **state)
{
	struct outer o = { 0 };
	struct mg_script_hooks outer = { outer_start, outer_done, &o };
	struct mg_evidence ev;
	struct mg_stmt_stat st = { .line = 3, .tag = "INSERT", .rows = 2,
				   .ms = 5 };
	char *text;

	(void)state;
	mg_evidence_init(&ev, &outer);
	ev.hooks.stmt_start(ev.hooks.ctx, 3);
	ev.hooks.stmt_done(ev.hooks.ctx, &st);
	st.line = 4;
	st.tag = "CREATE TABLE";
	st.rows = -1;
	ev.hooks.stmt_done(ev.hooks.ctx, &st);
	assert_int_equal(o.started, 1);
	assert_int_equal(o.last_line, 3);
	assert_int_equal(o.done, 2);
	text = evidence_text(&ev);
	assert_string_equal(text,
			    "[{\"kind\":\"statement\",\"line\":3,\"tag\":"
			    "\"INSERT\",\"rows\":2,\"ms\":5},{\"kind\":"
			    "\"statement\",\"line\":4,\"tag\":\"CREATE "
			    "TABLE\",\"rows\":null,\"ms\":5}]");
	free(text);
}

static void test_statements_past_the_bound_are_counted(void **state)
{
	struct mg_evidence ev;
	struct mg_stmt_stat st = { .tag = "INSERT", .rows = 1, .ms = 1 };
	char *text;
	unsigned i;

	(void)state;
	mg_evidence_init(&ev, NULL);
	for (i = 1; i <= 67; i++) {
		st.line = i;
		ev.hooks.stmt_done(ev.hooks.ctx, &st);
	}
	assert_int_equal(ev.n, MG_EVIDENCE_MAX_STMTS);
	assert_int_equal(ev.total, 67);
	text = evidence_text(&ev);
	assert_non_null(strstr(text, "{\"kind\":\"statement\",\"truncated\":"
				     "true,\"statements\":67,\"shown\":50,"
				     "\"rows\":67,\"ms\":67}]"));
	assert_null(strstr(text, "\"line\":51,"));
	free(text);
}

static void test_rows_json_cut_with_a_marker(void **state)
{
	struct mg_rows *r = mg_rows_new(2);
	char big[300], num[16], *text = NULL;
	const char *vals[2];
	int i;

	(void)state;
	assert_non_null(r);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 12; i++) {
		snprintf(num, sizeof(num), "%d", i);
		vals[0] = num;
		vals[1] = i == 0 ? big : i == 1 ? NULL : "a\"b";
		assert_int_equal(mg_rows_add(r, vals, 2), 0);
	}
	assert_int_equal(mg_evidence_rows_json(&text, r, 10, 16384, NULL), 0);
	/* a long value is cut, NULL stays null, quotes are escaped */
	assert_non_null(strstr(text, "[\"0\",\"xxxx"));
	assert_non_null(strstr(text, "xxx...\"],[\"1\",null],[\"2\",\"a\\\"b\"]"));
	assert_null(strstr(text, "\"10\""));
	assert_non_null(strstr(text, ",\"truncated: 12 rows of 2 columns, "
				     "10 rows of 2 columns shown\"]"));
	free(text);

	/* the byte bound stops it early too */
	assert_int_equal(mg_evidence_rows_json(&text, r, 100, 100, NULL), 0);
	assert_non_null(strstr(text, "\"truncated: 12 rows of 2 columns, 1 "
				     "row of 2 columns shown\"]"));
	free(text);
	mg_rows_free(r);
}

static void test_rows_json_whole_when_small(void **state)
{
	struct mg_rows *r = mg_rows_new(1);
	const char *v[1] = { "7" };
	char *text = NULL;

	(void)state;
	assert_int_equal(mg_rows_add(r, v, 1), 0);
	assert_int_equal(mg_evidence_rows_json(&text, r, 100, 16384, NULL), 0);
	assert_string_equal(text, "[[\"7\"]]");
	free(text);
	mg_rows_free(r);
}

struct tag_case {
	const char *sql, *tag;
};

static const struct tag_case tag_cases[] = {
	{ "insert into t values (1)", "INSERT" },
	{ "-- a comment\n/* and more */ UPDATE t SET x = 1", "UPDATE" },
	{ "CREATE TABLE t (x int)", "CREATE TABLE" },
	{ "create unique index i on t (x)", "CREATE INDEX" },
	{ "CREATE OR REPLACE VIEW v AS SELECT 1", "CREATE VIEW" },
	{ "alter table t add column y int", "ALTER TABLE" },
	{ "DROP INDEX i", "DROP INDEX" },
	{ "select 1", "SELECT" },
	{ "-- only a comment", "" },
};

static void test_stmt_tag(void **state)
{
	char tag[32];
	size_t i;

	(void)state;
	for (i = 0; i < N(tag_cases); i++) {
		mg_stmt_tag(tag, sizeof(tag), tag_cases[i].sql,
			    strlen(tag_cases[i].sql));
		assert_string_equal(tag, tag_cases[i].tag);
	}
	/* never past its buffer */
	mg_stmt_tag(tag, 4, "CREATE TABLE t", 14);
	assert_string_equal(tag, "CRE");
}

static void test_record_directive(void **state)
{
	static const char text[] = "-- record: SELECT status, count(*) FROM "
				   "t GROUP BY status;\n"
				   "-- check: rows t unchanged\n";
	struct mg_directives d;
	struct mg_error err = { 0 };

	(void)state;
	assert_int_equal(mg_directives_parse(&d, text, strlen(text), &err), 0);
	assert_int_equal(d.nchecks, 2);
	assert_int_equal(d.checks[0].kind, MG_CHECK_RECORD);
	assert_int_equal(d.checks[0].line, 1);
	assert_string_equal(d.checks[0].query,
			    "SELECT status, count(*) FROM t GROUP BY status");
	assert_string_equal(mg_check_kind_name(d.checks[0].kind), "record");
	mg_directives_dispose(&d);
}

static void test_record_directive_refuses_what_does_not_read(void **state)
{
	static const char *const bad[] = {
		"-- record:\n",
		"-- record: DELETE FROM t\n",
		"-- record: SELECT 1; DROP TABLE t\n",
	};
	struct mg_directives d;
	struct mg_error err;
	size_t i;

	(void)state;
	for (i = 0; i < N(bad); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(mg_directives_parse(&d, bad[i],
						     strlen(bad[i]), &err),
				 MG_EINVALID);
		assert_int_equal(err.line, 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statements_kept_and_outer_hooks_told),
		cmocka_unit_test(test_statements_past_the_bound_are_counted),
		cmocka_unit_test(test_rows_json_cut_with_a_marker),
		cmocka_unit_test(test_rows_json_whole_when_small),
		cmocka_unit_test(test_stmt_tag),
		cmocka_unit_test(test_record_directive),
		cmocka_unit_test(
			test_record_directive_refuses_what_does_not_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
