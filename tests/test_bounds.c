/*
 * Unit tests of migrator/bounds.h (production safety, issue 14): the
 * durations of --ddl-lock-timeout / --statement-timeout and their
 * directives, and how a file's directives override the run's bounds;
 * and the directives themselves (checks/directive.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "checks/directive.h"
#include "migrator/bounds.h"
#include "migrator/error.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *text;
	bool off_ok;
	int rc;
	int64_t ms;
} parse_cases[] = {
	{ "5s", false, 0, 5000 },
	{ "500ms", false, 0, 500 },
	{ "2", false, 0, 2000 },
	{ "10m", false, 0, 600000 },
	{ "1h", false, 0, 3600000 },
	{ "24h", false, 0, 86400000 },
	{ "off", true, 0, MG_BOUND_OFF },
	{ "off", false, -1, 0 },
	/* 0 would mean "forever" on PostgreSQL and "do not wait" on MySQL */
	{ "0", true, -1, 0 },
	{ "0s", true, -1, 0 },
	{ "25h", true, -1, 0 },
	{ "86401s", true, -1, 0 },
	{ "-1s", true, -1, 0 },
	{ "+1s", true, -1, 0 },
	{ "1.5s", true, -1, 0 },
	{ "5x", true, -1, 0 },
	{ "s", true, -1, 0 },
	{ "", true, -1, 0 },
	{ "OFF", true, -1, 0 },
	{ "99999999999999999999", true, -1, 0 },
};

static void test_durations_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(parse_cases); i++) {
		int64_t ms = -42;
		int rc = mg_bounds_parse(&ms, parse_cases[i].text,
		                         parse_cases[i].off_ok);

		if (rc != parse_cases[i].rc)
			fail_msg("'%s': rc %d", parse_cases[i].text, rc);
		if (rc == 0 && ms != parse_cases[i].ms)
			fail_msg("'%s': %lld ms", parse_cases[i].text,
			         (long long)ms);
	}
}

static void test_durations_format(void **state)
{
	char out[32];

	(void)state;
	mg_bounds_format(out, sizeof(out), 5000);
	assert_string_equal(out, "5s");
	mg_bounds_format(out, sizeof(out), 1500);
	assert_string_equal(out, "1500ms");
	mg_bounds_format(out, sizeof(out), 600000);
	assert_string_equal(out, "10m");
	mg_bounds_format(out, sizeof(out), 7200000);
	assert_string_equal(out, "2h");
	mg_bounds_format(out, sizeof(out), MG_BOUND_OFF);
	assert_string_equal(out, "off");
	mg_bounds_format(out, sizeof(out), MG_BOUND_UNSET);
	assert_string_equal(out, "none");
}

static int parse(struct mg_directives *d, const char *text,
                 struct mg_error *err)
{
	memset(err, 0, sizeof(*err));
	return mg_directives_parse(d, text, strlen(text), err);
}

static void test_file_directives_override_the_run(void **state)
{
	const struct mg_bounds run = { 5000, MG_BOUND_UNSET };
	struct mg_directives d;
	struct mg_bounds b;
	struct mg_error err;

	(void)state;
	assert_int_equal(parse(&d,
	                       "-- migrate:ddl-lock-timeout 2s\n"
	                       "ALTER TABLE t ADD c int;\n"
	                       "-- migrate:statement-timeout 10m\n",
	                       &err),
	                 0);
	mg_bounds_for_file(&b, &run, &d);
	assert_int_equal(b.lock_ms, 2000);
	assert_int_equal(b.stmt_ms, 600000);
	mg_directives_dispose(&d);

	assert_int_equal(parse(&d, "-- migrate:ddl-lock-timeout off\n", &err),
	                 0);
	mg_bounds_for_file(&b, &run, &d);
	assert_int_equal(b.lock_ms, MG_BOUND_OFF);
	assert_int_equal(b.stmt_ms, MG_BOUND_UNSET);
	mg_directives_dispose(&d);

	/* none: the run's */
	assert_int_equal(parse(&d, "SELECT 1;\n", &err), 0);
	mg_bounds_for_file(&b, &run, &d);
	assert_int_equal(b.lock_ms, 5000);
	assert_int_equal(b.stmt_ms, MG_BOUND_UNSET);
	mg_directives_dispose(&d);
}

static void test_allow_lock_collects_tables(void **state)
{
	struct mg_directives d;
	struct mg_error err;

	(void)state;
	assert_int_equal(parse(&d,
	                       "-- migrate:allow-lock users\n"
	                       "--migrate:allow-lock  public.orders \n",
	                       &err),
	                 0);
	assert_int_equal(d.nallow_lock, 2);
	assert_string_equal(d.allow_lock[0], "users");
	assert_string_equal(d.allow_lock[1], "public.orders");
	mg_directives_dispose(&d);
}

static const struct {
	const char *text;
	unsigned line;
	const char *msg;
} bad_cases[] = {
	{ "SELECT 1;\n-- migrate:ddl-lock-timeout\n", 2,
	  "migrate:ddl-lock-timeout takes a duration" },
	{ "-- migrate:ddl-lock-timeout 0\n", 1, "not '0'" },
	{ "-- migrate:statement-timeout soon\n", 1, "not 'soon'" },
	{ "-- migrate:statement-timeout 1s 2s\n", 1, "unexpected text" },
	{ "-- migrate:ddl-lock-timeout 1s\n-- migrate:ddl-lock-timeout 2s\n", 2,
	  "set twice" },
	{ "\n\n-- migrate:allow-lock\n", 3, "takes a table name" },
};

static void test_bad_bounds_name_the_line(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(bad_cases); i++) {
		struct mg_directives d;
		struct mg_error err;
		int rc = parse(&d, bad_cases[i].text, &err);

		if (rc != MG_EINVALID || err.line != bad_cases[i].line ||
		    strstr(err.msg, bad_cases[i].msg) == NULL)
			fail_msg("'%s': rc %d, line %u, '%s'",
			         bad_cases[i].text, rc, err.line, err.msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations_parse),
		cmocka_unit_test(test_durations_format),
		cmocka_unit_test(test_file_directives_override_the_run),
		cmocka_unit_test(test_allow_lock_collects_tables),
		cmocka_unit_test(test_bad_bounds_name_the_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
