/* Unit tests of checks/directive.h: parsing -- migrate: and -- check: lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "checks/directive.h"
#include "migrator/error.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int parse(struct mg_directives *d, const char *text,
		 struct mg_error *err)
{
	memset(err, 0, sizeof(*err));
	return mg_directives_parse(d, text, strlen(text), err);
}

/* ---- migrate: ---- */

struct migrate_case {
	const char *line;
	bool no_transaction, irreversible;
};

static const struct migrate_case migrate_cases[] = {
	{ "-- migrate:no-transaction", true, false },
	{ "-- migrate:irreversible", false, true },
	{ "--migrate:irreversible", false, true },
	{ "--   migrate:no-transaction   ", true, false },
	{ "-- migrate:irreversible\t", false, true },
};

static void test_migrate_directives_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(migrate_cases); i++) {
		const struct migrate_case *c = &migrate_cases[i];
		struct mg_directives d;
		struct mg_error err;
		int rc = parse(&d, c->line, &err);

		if (rc != 0)
			print_error("'%s': %s (%s)\n", c->line, err.msg,
				    err.detail);
		assert_int_equal(rc, 0);
		assert_int_equal(d.no_transaction, c->no_transaction);
		assert_int_equal(d.irreversible, c->irreversible);
		assert_int_equal(d.nchecks, 0);
		mg_directives_dispose(&d);
	}
}

static void test_migrate_directives_combine(void **state)
{
	struct mg_directives d;
	struct mg_error err;

	(void)state;
	assert_int_equal(parse(&d, "-- migrate:no-transaction\n"
				   "CREATE INDEX CONCURRENTLY i ON t (a);\n"
				   "-- migrate:irreversible\n", &err), 0);
	assert_true(d.no_transaction);
	assert_true(d.irreversible);
	mg_directives_dispose(&d);
}

/* ---- check: ---- */

struct check_case {
	const char *line;
	enum mg_check_kind kind;
	bool pre;
	const char *table; /* NULL: none */
	const char *cols;  /* joined with "|"; NULL: none */
	int64_t delta;
	const char *query; /* NULL: none */
};

static const struct check_case check_cases[] = {
	{ "-- check: rows users unchanged", MG_CHECK_ROWS_UNCHANGED, false,
	  "users", NULL, 0, NULL },
	{ "--check: rows users unchanged", MG_CHECK_ROWS_UNCHANGED, false,
	  "users", NULL, 0, NULL },
	{ "-- check:   rows   users   unchanged  ", MG_CHECK_ROWS_UNCHANGED,
	  false, "users", NULL, 0, NULL },
	{ "-- check: rows users delta +3", MG_CHECK_ROWS_DELTA, false,
	  "users", NULL, 3, NULL },
	{ "-- check: rows users delta -2", MG_CHECK_ROWS_DELTA, false,
	  "users", NULL, -2, NULL },
	{ "-- check: rows users delta +0", MG_CHECK_ROWS_DELTA, false,
	  "users", NULL, 0, NULL },
	{ "-- check: rows users delta +1000000", MG_CHECK_ROWS_DELTA, false,
	  "users", NULL, 1000000, NULL },
	{ "-- check: rows public.users unchanged", MG_CHECK_ROWS_UNCHANGED,
	  false, "public.users", NULL, 0, NULL },
	{ "-- check: rows \"My Schema\".\"User \"\"T\"\"\" delta -1",
	  MG_CHECK_ROWS_DELTA, false, "\"My Schema\".\"User \"\"T\"\"\"",
	  NULL, -1, NULL },
	{ "-- check: rows `shop`.`order items` unchanged",
	  MG_CHECK_ROWS_UNCHANGED, false, "`shop`.`order items`", NULL, 0,
	  NULL },
	{ "-- check: data users (a, b) unchanged", MG_CHECK_DATA_UNCHANGED,
	  false, "users", "a|b", 0, NULL },
	{ "-- check: data users (id) unchanged", MG_CHECK_DATA_UNCHANGED,
	  false, "users", "id", 0, NULL },
	{ "-- check: data app.users ( id ,email,  \"Full Name\" ) unchanged",
	  MG_CHECK_DATA_UNCHANGED, false, "app.users",
	  "id|email|\"Full Name\"", 0, NULL },
	{ "-- check: empty SELECT 1 FROM users WHERE email IS NULL",
	  MG_CHECK_EMPTY, false, NULL, NULL, 0,
	  "SELECT 1 FROM users WHERE email IS NULL" },
	{ "-- check: empty SELECT 1 FROM users WHERE email IS NULL;  ",
	  MG_CHECK_EMPTY, false, NULL, NULL, 0,
	  "SELECT 1 FROM users WHERE email IS NULL" },
	{ "-- check: true SELECT count(*) = 0 FROM users",
	  MG_CHECK_TRUE, false, NULL, NULL, 0,
	  "SELECT count(*) = 0 FROM users" },
	{ "-- check:pre empty SELECT 1 FROM users WHERE id < 0",
	  MG_CHECK_EMPTY, true, NULL, NULL, 0,
	  "SELECT 1 FROM users WHERE id < 0" },
	{ "-- check:pre true SELECT NOT EXISTS (SELECT 1 FROM t)",
	  MG_CHECK_TRUE, true, NULL, NULL, 0,
	  "SELECT NOT EXISTS (SELECT 1 FROM t)" },
	/* a ';' inside quotes or a comment is no second statement */
	{ "-- check: empty select id from t where note = ';'", MG_CHECK_EMPTY,
	  false, NULL, NULL, 0, "select id from t where note = ';'" },
	{ "-- check: empty SELECT 1 FROM \"a;b\" WHERE x = `c;` /* ; */",
	  MG_CHECK_EMPTY, false, NULL, NULL, 0,
	  "SELECT 1 FROM \"a;b\" WHERE x = `c;` /* ; */" },
	{ "-- check: true SELECT $q$;$q$ <> $$;$$", MG_CHECK_TRUE, false,
	  NULL, NULL, 0, "SELECT $q$;$q$ <> $$;$$" },
	{ "-- check: empty WITH x AS (SELECT 1) SELECT * FROM x",
	  MG_CHECK_EMPTY, false, NULL, NULL, 0,
	  "WITH x AS (SELECT 1) SELECT * FROM x" },
	{ "-- check: empty (SELECT 1) UNION (SELECT 2)", MG_CHECK_EMPTY, false,
	  NULL, NULL, 0, "(SELECT 1) UNION (SELECT 2)" },
	{ "-- check: empty VALUES (1)", MG_CHECK_EMPTY, false, NULL, NULL, 0,
	  "VALUES (1)" },
};

static void join_cols(char *out, size_t size, const struct mg_check *c)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < c->ncols; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s",
					i ? "|" : "", c->cols[i]);
}

static void test_check_directives_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(check_cases); i++) {
		const struct check_case *want = &check_cases[i];
		const struct mg_check *c;
		struct mg_directives d;
		struct mg_error err;
		char cols[256];
		int rc = parse(&d, want->line, &err);

		if (rc != 0)
			print_error("'%s': %s (%s)\n", want->line, err.msg,
				    err.detail);
		assert_int_equal(rc, 0);
		assert_int_equal(d.nchecks, 1);
		assert_false(d.no_transaction);
		assert_false(d.irreversible);
		c = &d.checks[0];
		assert_int_equal(c->kind, want->kind);
		assert_int_equal(c->pre, want->pre);
		assert_int_equal(c->line, 1);
		/* the directive as written, after "--" */
		assert_non_null(c->text);
		assert_non_null(strstr(want->line, c->text));
		assert_int_equal(strncmp(c->text, "check:", 6), 0);
		if (want->table) {
			assert_non_null(c->table);
			assert_string_equal(c->table, want->table);
		} else {
			assert_null(c->table);
		}
		if (want->cols) {
			join_cols(cols, sizeof(cols), c);
			assert_string_equal(cols, want->cols);
		} else {
			assert_int_equal(c->ncols, 0);
		}
		assert_int_equal(c->delta, want->delta);
		if (want->query) {
			assert_non_null(c->query);
			assert_string_equal(c->query, want->query);
		} else {
			assert_null(c->query);
		}
		mg_directives_dispose(&d);
	}
}

static void test_checks_keep_order_and_line_numbers(void **state)
{
	struct mg_directives d;
	struct mg_error err;

	(void)state;
	assert_int_equal(parse(&d, "-- check:pre empty SELECT 1 WHERE false\n"
				   "ALTER TABLE t ADD COLUMN c int;\n"
				   "\n"
				   "-- check: rows t unchanged\n"
				   "-- an ordinary comment\n"
				   "-- check: data t (a) unchanged\n"
				   "-- check: true SELECT true", &err), 0);
	assert_int_equal(d.nchecks, 4);
	assert_true(d.checks[0].pre);
	assert_int_equal(d.checks[0].kind, MG_CHECK_EMPTY);
	assert_int_equal(d.checks[0].line, 1);
	assert_false(d.checks[1].pre);
	assert_int_equal(d.checks[1].kind, MG_CHECK_ROWS_UNCHANGED);
	assert_int_equal(d.checks[1].line, 4);
	assert_int_equal(d.checks[2].kind, MG_CHECK_DATA_UNCHANGED);
	assert_int_equal(d.checks[2].line, 6);
	assert_int_equal(d.checks[2].ncols, 1);
	assert_int_equal(d.checks[3].kind, MG_CHECK_TRUE);
	assert_int_equal(d.checks[3].line, 7);
	mg_directives_dispose(&d);
	assert_int_equal(parse(&d, "-- check: true SELECT true", &err), 0);
	assert_int_equal(d.nchecks, 1);
	assert_int_equal(d.checks[0].line, 1);
	assert_string_equal(d.checks[0].query, "SELECT true");
	mg_directives_dispose(&d);
}

/* ---- not directives ---- */

static const char *const plain_lines[] = {
	"-- checks are fun",
	"-- migrate later",
	"-- migration notes: see ticket 12",
	"-- check the index later",
	"-- checking: nothing",
	"---- separator ----",
	"--",
	"-",
	"",
	"SELECT 1; -- check: rows t unchanged",
	"  -- check: rows t unchanged",
	"\t-- migrate:irreversible",
	"/* -- migrate:foo */",
	"INSERT INTO t VALUES ('-- check: nonsense');",
};

static void test_ordinary_comments_are_not_directives(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(plain_lines); i++) {
		struct mg_directives d;
		struct mg_error err;
		int rc = parse(&d, plain_lines[i], &err);

		if (rc != 0)
			print_error("'%s': %s\n", plain_lines[i], err.msg);
		assert_int_equal(rc, 0);
		assert_int_equal(d.nchecks, 0);
		assert_false(d.no_transaction);
		assert_false(d.irreversible);
		mg_directives_dispose(&d);
	}
}

static void test_empty_text_has_no_directives(void **state)
{
	struct mg_directives d;
	struct mg_error err;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(mg_directives_parse(&d, "", 0, &err), 0);
	assert_int_equal(d.nchecks, 0);
	assert_null(d.checks);
	mg_directives_dispose(&d);
}

/* ---- bad directives ---- */

static const char *const bad_lines[] = {
	"-- migrate:foo",
	"-- migrate:up",   /* dbmate's one-file layout */
	"-- migrate:down",
	"-- migrate:",
	"-- migrate:irreversible now",
	"-- migrate:no-transaction please",
	"-- check:",
	"-- check:pre",
	"-- check: count t",
	"-- check: rows",
	"-- check: rows t",
	"-- check: rows t grew",
	"-- check: rows t unchanged junk",
	"-- check: rows t delta",
	"-- check: rows t delta 3",
	"-- check: rows t delta +",
	"-- check: rows t delta -",
	"-- check: rows t delta +3x",
	"-- check: rows t delta +3 rows",
	"-- check: rows t delta +99999999999999999999999",
	"-- check: rows \"unterminated unchanged",
	"-- check: data t a, b unchanged",
	"-- check: data t (a, b)",
	"-- check: data t (a, b unchanged",
	"-- check: data t () unchanged",
	"-- check: data t (a,) unchanged",
	"-- check: data t (a) unchanged junk",
	"-- check: data (a) unchanged",
	"-- check:pre rows t unchanged",
	"-- check:pre rows t delta +1",
	"-- check:pre data t (a) unchanged",
	"-- check: empty",
	"-- check: empty   ",
	"-- check: empty ;",
	"-- check: true",
	"-- check:pre empty",
	"-- check:pre true ;",
	/* a check must not write, nor end or change its transaction */
	"-- check:pre empty DELETE FROM victim RETURNING id",
	"-- check:pre empty CREATE TABLE pwned (id int)",
	"-- check: true COMMIT",
	"-- check: empty ROLLBACK",
	"-- check: empty SET TRANSACTION READ WRITE",
	"-- check: empty SELECT 1; COMMIT",
	"-- check: true SELECT 1;COMMIT;",
	"-- check: empty SELECT ';'; DROP TABLE t",
	"-- check: empty SELECTED FROM t",
	"-- check: empty begin",
};

static void test_bad_directives_fail_with_line_number(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(bad_lines); i++) {
		struct mg_directives d;
		struct mg_error err;
		char text[256];
		int rc;

		/* the bad line is line 3, after a statement and a comment */
		snprintf(text, sizeof(text),
			 "-- check: rows t unchanged\n-- fine\n%s\nSELECT 1;\n",
			 bad_lines[i]);
		memset(&d, 0xA5, sizeof(d)); /* must be emptied */
		rc = parse(&d, text, &err);
		if (rc != MG_EINVALID)
			print_error("'%s' gave %d\n", bad_lines[i], rc);
		assert_int_equal(rc, MG_EINVALID);
		assert_int_equal(err.code, MG_EINVALID);
		assert_true(err.msg[0] != '\0');
		if (err.line != 3)
			print_error("'%s': line %u\n", bad_lines[i], err.line);
		assert_int_equal(err.line, 3);
		/* on error *out is left empty */
		assert_int_equal(d.nchecks, 0);
		assert_null(d.checks);
		assert_false(d.irreversible);
		assert_false(d.no_transaction);
		mg_directives_dispose(&d);
	}
}

static void test_bad_directive_on_last_line_without_newline(void **state)
{
	struct mg_directives d;
	struct mg_error err;

	(void)state;
	assert_int_equal(parse(&d, "SELECT 1;\n\n\n\n-- migrate:foo", &err),
			 MG_EINVALID);
	assert_int_equal(err.line, 5);
	mg_directives_dispose(&d);
}

static void test_dbmate_layout_is_explained(void **state)
{
	struct mg_directives d;
	struct mg_error err;

	(void)state;
	assert_int_equal(parse(&d, "-- migrate:up\nCREATE TABLE t ();\n",
			       &err), MG_EINVALID);
	/* the message says what to do instead of just "unknown" */
	assert_non_null(strstr(err.msg, ".up.sql"));
	assert_int_equal(err.line, 1);
	mg_directives_dispose(&d);
}

static void test_first_bad_line_is_reported(void **state)
{
	struct mg_directives d;
	struct mg_error err;

	(void)state;
	assert_int_equal(parse(&d, "SELECT 1;\n-- check: empty\n"
				   "-- migrate:foo\n", &err), MG_EINVALID);
	assert_int_equal(err.line, 2);
	mg_directives_dispose(&d);
}

static void test_check_kind_names(void **state)
{
	(void)state;
	assert_string_equal(mg_check_kind_name(MG_CHECK_ROWS_UNCHANGED),
			    "rows");
	assert_string_equal(mg_check_kind_name(MG_CHECK_ROWS_DELTA), "rows");
	assert_string_equal(mg_check_kind_name(MG_CHECK_DATA_UNCHANGED),
			    "data");
	assert_string_equal(mg_check_kind_name(MG_CHECK_EMPTY), "empty");
	assert_string_equal(mg_check_kind_name(MG_CHECK_TRUE), "true");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_directives_parse),
		cmocka_unit_test(test_migrate_directives_combine),
		cmocka_unit_test(test_check_directives_parse),
		cmocka_unit_test(test_checks_keep_order_and_line_numbers),
		cmocka_unit_test(test_ordinary_comments_are_not_directives),
		cmocka_unit_test(test_empty_text_has_no_directives),
		cmocka_unit_test(test_bad_directives_fail_with_line_number),
		cmocka_unit_test(
			test_bad_directive_on_last_line_without_newline),
		cmocka_unit_test(test_dbmate_layout_is_explained),
		cmocka_unit_test(test_first_bad_line_is_reported),
		cmocka_unit_test(test_check_kind_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
