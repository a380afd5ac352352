/* Unit tests of migrator/targets.h: targets files and --targets-query's
 * URLs (fleets, issue 12). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "migrator/error.h"
#include "migrator/targets.h"

static int parse(struct mg_targets *t, const char *text, struct mg_error *err)
{
	return mg_targets_parse(t, "fleet.txt", text, strlen(text), err);
}

static void test_parse_skips_comments_and_blanks(void **state)
{
	struct mg_targets t;
	struct mg_error err = { 0 };

	(void)state;
	assert_int_equal(parse(&t,
	                       "# tenants\n"
	                       "\n"
	                       "  postgres://app:pw1@db/t1  \r\n"
	                       "\t# indented comment\n"
	                       "host=db dbname=t2 password=pw2\n"
	                       "sqlite:/srv/t3.db\n"
	                       "mysql://app:pw4@db:3306/t4",
	                       &err),
	                 0);
	assert_int_equal(t.n, 4);
	assert_string_equal(t.v[0].url, "postgres://app:pw1@db/t1");
	assert_int_equal(t.v[0].line, 3);
	assert_int_equal(t.v[1].line, 5);
	assert_int_equal(t.v[3].line, 7); /* no '\n' after the last line */
	assert_string_equal(t.v[2].url, "sqlite:/srv/t3.db");
	mg_targets_dispose(&t);
}

static void test_labels_never_hold_the_password(void **state)
{
	struct mg_targets t;
	struct mg_error err = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(parse(&t,
	                       "postgres://app:Pw1secret@db/t1\n"
	                       "host=db dbname=t2 password=Pw2secret\n"
	                       "mysql://app:Pw3secret@db/t3\n"
	                       "postgres://app@db/t4?password=Pw4secret\n",
	                       &err),
	                 0);
	assert_int_equal(t.n, 4);
	for (i = 0; i < t.n; i++) {
		assert_null(strstr(t.v[i].label, "secret"));
		assert_non_null(strstr(t.v[i].label, "***"));
	}
	assert_string_equal(t.v[0].label, "postgres://app:***@db/t1");
	mg_targets_dispose(&t);
}

/* What a bad line gives: the error at file:line, never the URL. */
static void assert_bad(const char *text, unsigned line, const char *msg)
{
	struct mg_targets t;
	struct mg_error err = { 0 };

	assert_int_equal(parse(&t, text, &err), MG_EINVALID);
	assert_string_equal(err.path, "fleet.txt");
	assert_int_equal(err.line, line);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("'%s' not in '%s'", msg, err.msg);
	assert_null(strstr(err.msg, "secret"));
	assert_null(strstr(err.detail, "secret"));
	mg_targets_dispose(&t);
}

static void test_bad_lines_are_located(void **state)
{
	(void)state;
	assert_bad("sqlite:a.db\nnot a url\n", 2, "unknown database URL");
	assert_bad("sqlite:a.db\n\nftp://x:secret@h/db\n", 3,
	           "unknown database URL");
	assert_bad("sqlite:\n", 1, "file name");
	/* a password holding '@' that libpq would split elsewhere */
	assert_bad("# c\npostgres://u:se@cret@h/db\n", 2, "percent-encode");
	assert_bad("mysql://u:secret@h:port/db\n", 1, "");
}

static void test_duplicates_are_refused(void **state)
{
	(void)state;
	assert_bad("postgres://u:secret@h/db\nsqlite:x.db\n"
	           "postgres://u:secret@h/db\n",
	           3, "the same target as line 1");
	/* another password is not another database */
	assert_bad("postgres://u:secret@h/db\npostgres://u:other@h/db\n", 2,
	           "the same target as line 1");
	assert_bad("sqlite:x.db\n  sqlite:x.db\n", 2,
	           "the same target as line 1");
}

static void test_an_empty_file_names_no_target(void **state)
{
	(void)state;
	assert_bad("# only\n\n   \n", 0, "names no target");
	assert_bad("", 0, "names no target");
}

static void test_add_refuses_the_same_target_twice(void **state)
{
	struct mg_targets t = { 0 };
	struct mg_error err = { 0 };

	(void)state;
	assert_int_equal(mg_targets_add(&t, "postgres://h/a", 0, &err), 0);
	assert_int_equal(mg_targets_add(&t, "postgres://h/b", 0, &err), 0);
	assert_int_equal(mg_targets_add(&t, "postgres://h/a", 0, &err),
	                 MG_EINVALID);
	assert_string_equal(err.msg, "the same target twice");
	assert_int_equal(t.n, 2);
	mg_targets_dispose(&t);
}

static void assert_with_db(const char *url, const char *db, const char *want)
{
	struct mg_error err = { 0 };
	char *out = NULL;

	assert_int_equal(mg_url_with_database(&out, url, db, &err), 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_url_with_database(void **state)
{
	struct mg_error err = { 0 };
	char *out = NULL;

	(void)state;
	assert_with_db("postgres://u:p@h:5432/postgres", "t1",
	               "postgres://u:p@h:5432/t1");
	assert_with_db("postgres://u:p@h:5432/postgres?sslmode=disable", "t1",
	               "postgres://u:p@h:5432/t1?sslmode=disable");
	assert_with_db("postgresql://h", "t1", "postgresql://h/t1");
	assert_with_db("postgres://u@h1:5432,h2:5433/x?target_session_attrs="
	               "read-write",
	               "t 2/x",
	               "postgres://u@h1:5432,h2:5433/t%202%2Fx?"
	               "target_session_attrs=read-write");
	assert_with_db("mysql://u:p@h:3306/mysql", "t1",
	               "mysql://u:p@h:3306/t1");
	assert_with_db("host=h dbname=postgres", "it's",
	               "host=h dbname=postgres dbname='it\\'s'");
	assert_int_equal(mg_url_with_database(&out, "sqlite:a.db", "t1", &err),
	                 MG_EINVALID);
	assert_int_equal(mg_url_with_database(&out, "postgres://h/x", "", &err),
	                 MG_EINVALID);
	assert_null(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_skips_comments_and_blanks),
		cmocka_unit_test(test_labels_never_hold_the_password),
		cmocka_unit_test(test_bad_lines_are_located),
		cmocka_unit_test(test_duplicates_are_refused),
		cmocka_unit_test(test_an_empty_file_names_no_target),
		cmocka_unit_test(test_add_refuses_the_same_target_twice),
		cmocka_unit_test(test_url_with_database),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
