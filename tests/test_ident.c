/* Unit tests of checks/ident.c: directive identifiers in the database's
 * own quote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "checks/ident.h"
#include "migrator/buf.h"

static void requoted(const char *name, char q, const char *want)
{
	struct mg_buf b = MG_BUF_INIT;

	mg_ident_requote(&b, name, q);
	assert_false(b.failed);
	assert_string_equal(mg_buf_cstr(&b), want);
	mg_buf_dispose(&b);
}

static void test_bare_names_stay_bare(void **state)
{
	(void)state;
	requoted("users", '`', "users");
	requoted("app.users", '"', "app.users");
	requoted("ünï_1$", '`', "ünï_1$");
}

static void test_double_quotes_become_backticks_for_mysql(void **state)
{
	(void)state;
	/* on MySQL "x" is the string 'x': it must reach it as `x` */
	requoted("\"nosuch\"", '`', "`nosuch`");
	requoted("\"app\".\"my table\"", '`', "`app`.`my table`");
	requoted("app.\"Users\"", '`', "app.`Users`");
	requoted("\"a\"\"b\"", '`', "`a\"b`");
	requoted("\"a`b\"", '`', "`a``b`");
}

static void test_backticks_become_double_quotes(void **state)
{
	(void)state;
	requoted("`x`", '"', "\"x\"");
	requoted("`a``b`", '"', "\"a`b\"");
	requoted("`a\"b`", '"', "\"a\"\"b\"");
	requoted("\"same\"", '"', "\"same\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bare_names_stay_bare),
		cmocka_unit_test(test_double_quotes_become_backticks_for_mysql),
		cmocka_unit_test(test_backticks_become_double_quotes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
