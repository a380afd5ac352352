/*
 * Integration tests: the password never reaches stdout, stderr or the
 * ledger, even when the server quotes it back (issue 8: a migration file
 * that was a symlink to /proc/self/environ made MariaDB print
 * DATABASE_URL=mysql://u:PW@... in an error, and the ledger kept it).
 * Needs MG_TEST_PG_DSN / MG_TEST_MYSQL_DSN and their passwords in
 * MG_TEST_PG_PASSWORD / MG_TEST_MYSQL_PASSWORD.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "migrator/driver.h"
#include "support/it.h"

struct pw_state {
	struct it_state it; /* first: *state is also a struct it_state */
	bool mysql;
	const char *pw;   /* the server's password */
	char pw_enc[256]; /* every byte of it percent-encoded */
};

static int group_setup(struct pw_state **out, bool mysql)
{
	struct pw_state *ps = calloc(1, sizeof(*ps));
	const char *dsn, *pw;
	size_t i;

	if ((*out = ps) == NULL)
		return -1;
	ps->mysql = mysql;
	dsn = getenv(mysql ? "MG_TEST_MYSQL_DSN" : "MG_TEST_PG_DSN");
	pw = getenv(mysql ? "MG_TEST_MYSQL_PASSWORD" : "MG_TEST_PG_PASSWORD");
	ps->it.dsn = dsn;
	ps->pw = pw;
	if (mysql) {
		struct mg_conn *c = NULL;

		if (dsn == NULL || *dsn == '\0' ||
		    it_connect(&c, dsn, true) < 0)
			ps->it.no_server = true;
		if (c != NULL)
			c->drv->close(c);
	} else if (!it_pg_reachable(dsn)) {
		ps->it.no_server = true;
	}
	/* without a password there is nothing to look for */
	if (pw == NULL || *pw == '\0' || strlen(pw) * 3 >= sizeof(ps->pw_enc))
		ps->it.no_server = true;
	else
		for (i = 0; pw[i] != '\0'; i++)
			snprintf(ps->pw_enc + 3 * i, 4, "%%%02X",
			         (unsigned char)pw[i]);
	if (ps->it.no_server)
		fprintf(stderr, "it_password: no %s server or password\n",
		        mysql ? "mysql" : "postgres");
	/* CI always has servers: there, a missing one fails the group */
	return ps->it.no_server && getenv("MG_TEST_REQUIRE_SERVERS") ? -1 : 0;
}

static int pg_group_setup(void **state)
{
	return group_setup((struct pw_state **)state, false);
}

static int my_group_setup(void **state)
{
	return group_setup((struct pw_state **)state, true);
}

static int group_teardown(void **state)
{
	free(*state);
	return 0;
}

static int setup(void **state)
{
	struct pw_state *ps = *state;

	if (ps->it.no_server)
		return 0;
	return ps->mysql ? it_env_setup_mysql(&ps->it.e, ps->it.dsn)
	                 : it_env_setup_pg(&ps->it.e, ps->it.dsn);
}

static int teardown(void **state)
{
	struct pw_state *ps = *state;

	it_state_reset(&ps->it);
	it_env_teardown(&ps->it.e);
	return 0;
}

/* Neither form of the password in what the run printed. */
static void assert_run_hides(const struct pw_state *ps, const struct it_run *r)
{
	assert_not_contains(r->out, ps->pw);
	assert_not_contains(r->err, ps->pw);
	assert_not_contains(r->out, ps->pw_enc);
	assert_not_contains(r->err, ps->pw_enc);
}

/* Nor in any cell of the ledger, which has a row for the failure. */
static void assert_ledger_hides(struct pw_state *ps)
{
	struct mg_rows *rows;
	size_t i;

	rows = it_own_rows(&ps->it, it_query(&ps->it.e, "SELECT * FROM "
	                                                "migrate_ledger"));
	assert_non_null(rows);
	assert_true(rows->nrows > 0);
	for (i = 0; i < rows->nrows * rows->ncols; i++) {
		assert_not_contains(rows->cells[i], ps->pw);
		assert_not_contains(rows->cells[i], ps->pw_enc);
	}
}

/*
 * A file whose statement makes the server say `text` (which holds the
 * password) fails, and the password shows nowhere: not in `up`'s output
 * (text and --json), nor in the ledger or `status`.
 */
static void run_failing(void **state, const char *text)
{
	IT_BEGIN;
	struct pw_state *ps = *state;
	char sql[1024];

	if (ps->mysql)
		snprintf(sql, sizeof(sql),
		         "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '%s';\n",
		         text);
	else
		snprintf(sql, sizeof(sql),
		         "DO $$ BEGIN RAISE EXCEPTION 'failed: %%', '%s'; "
		         "END $$;\n",
		         text);
	assert_int_equal(it_pair(e, "0001_leak", sql, "SELECT 1;\n"), 0);
	MG(r, "up");
	assert_true(r->code != 0);
	/* the server's message is there, without the password */
	assert_contains(r->err, "DATABASE_URL");
	assert_run_hides(ps, r);
	assert_ledger_hides(ps);
	MG(r, "--json", "up");
	assert_true(r->code != 0);
	assert_run_hides(ps, r);
	MG(r, "status");
	assert_run_hides(ps, r);
	MG(r, "ledger", "--format", "csv");
	assert_run_hides(ps, r);
	assert_ledger_hides(ps);
}

static void test_statement_quoting_password_fails_hidden(void **state)
{
	struct pw_state *ps = *state;
	char text[512];

	if (ps->it.no_server)
		skip();
	snprintf(text, sizeof(text), "DATABASE_URL=x://mg_test:%s@h/db (%s)",
	         ps->pw, ps->pw);
	run_failing(state, text);
}

/* A notice or warning the server sends while a file runs (RAISE NOTICE,
 * SHOW WARNINGS) is printed scrubbed, and the file still applies. */
static void test_server_notice_quoting_password_hidden(void **state)
{
	IT_BEGIN;
	struct pw_state *ps = *state;
	char sql[512];

	if (ps->mysql)
		snprintf(sql, sizeof(sql),
		         "CREATE TABLE t (x int);\n"
		         "DROP TABLE IF EXISTS nosuch_%s_x;\n",
		         "pw");
	else
		snprintf(sql, sizeof(sql),
		         "DO $$ BEGIN RAISE NOTICE 'the password is %%', "
		         "'%s'; END $$;\n",
		         ps->pw);
	assert_int_equal(it_pair(e, "0001_note", sql, "SELECT 1;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	if (!ps->mysql)
		assert_contains(r->err, "server: ");
	assert_run_hides(ps, r);
	assert_ledger_hides(ps);
}

/* /proc/self/environ with the URL's password percent-encoded. */
static void test_environ_with_encoded_password_fails_hidden(void **state)
{
	struct pw_state *ps = *state;
	char text[512];

	if (ps->it.no_server)
		skip();
	snprintf(text, sizeof(text), "DATABASE_URL=x://mg_test:%s@h/db",
	         ps->pw_enc);
	run_failing(state, text);
}

/*
 * libpq quotes a URL it cannot parse whole, and PQpass() is empty then:
 * the error is scrubbed with our own parse's password (or the URL is
 * refused before libpq sees it).
 */
static void test_url_libpq_cannot_parse_is_hidden(void **state)
{
	IT_BEGIN;
	struct pw_state *ps = *state;
	char url[512];
	const char *args[] = { "-d", url, "-m", e->mig, "status", NULL };

	if (ps->mysql)
		skip();
	/* libpq: 'missing "=" after "POSTGRES://..."': no URL to it */
	snprintf(url, sizeof(url), "POSTGRES://mg_test:%s@127.0.0.1:1/db",
	         ps->pw);
	assert_int_equal(it_exec(r, e->root, NULL, 0, args), 2);
	assert_contains(r->err, "cannot parse the database URL");
	assert_contains(r->err, "mg_test:***@127.0.0.1:1/db");
	assert_run_hides(ps, r);
	/* issue 8's: refused before libpq reads past the '[' */
	snprintf(url, sizeof(url), "postgres://mg_test:%s@[::1/db", ps->pw);
	assert_int_equal(it_exec(r, e->root, NULL, 0, args), 2);
	assert_contains(r->err, "IPv6");
	assert_run_hides(ps, r);
}

/* The driver lends the password, for the sinks to scrub with. */
static void test_secret_slot_lends_the_password(void **state)
{
	IT_BEGIN;
	struct pw_state *ps = *state;

	assert_non_null(e->conn);
	assert_non_null(e->conn->drv->secret);
	assert_non_null(e->conn->drv->secret(e->conn));
	assert_string_equal(e->conn->drv->secret(e->conn), ps->pw);
}

static char *url_without_password(struct pw_state *ps);

/* Also when the client library found it in the environment. */
static void test_secret_slot_lends_a_password_from_env(void **state)
{
	IT_BEGIN;
	struct pw_state *ps = *state;
	const char *name = ps->mysql ? "MYSQL_PWD" : "PGPASSWORD";
	struct mg_conn *c = NULL;
	char *got = NULL;

	(void)e;
	assert_int_equal(setenv(name, ps->pw, 1), 0);
	if (it_connect(&c, url_without_password(ps), false) == 0) {
		const char *pw = c->drv->secret(c);

		got = pw ? strdup(pw) : NULL;
		c->drv->close(c);
	}
	unsetenv(name);
	it_own(&ps->it, got);
	assert_non_null(got);
	assert_string_equal(got, ps->pw);
}

/* e->url without its password: the userinfo's ":PW" dropped. */
static char *url_without_password(struct pw_state *ps)
{
	const char *url = ps->it.e.url;
	char *out = it_own(&ps->it, calloc(1, strlen(url) + 1));
	const char *at = strchr(url, '@'), *colon;

	assert_non_null(out);
	assert_non_null(at);
	colon = strchr(strstr(url, "://") + 3, ':');
	assert_true(colon != NULL && colon < at);
	memcpy(out, url, (size_t)(colon - url));
	strcat(out, at);
	return out;
}

/*
 * MIGRATING.md, "Connecting": the password can stay off the command line,
 * in PGPASSWORD or MYSQL_PWD (the URL without one), or with the whole URL
 * in DATABASE_URL.
 */
static void test_password_from_environment(void **state)
{
	IT_BEGIN;
	struct pw_state *ps = *state;
	char pw_env[300], url_env[1024];
	const char *bare = url_without_password(ps);
	const char *env1[] = { pw_env, NULL };
	const char *env2[] = { url_env, NULL };
	const char *a1[] = { "-d", bare, "-m", e->mig, "up", NULL };
	const char *a2[] = { "-m", e->mig, "status", NULL };

	snprintf(pw_env, sizeof(pw_env), "%s=%s",
	         ps->mysql ? "MYSQL_PWD" : "PGPASSWORD", ps->pw);
	snprintf(url_env, sizeof(url_env), "DATABASE_URL=%s", e->url);
	assert_int_equal(it_pair(e, "0001_a", "CREATE TABLE a (id int);\n",
	                         "DROP TABLE a;\n"),
	                 0);
	assert_int_equal(it_exec(r, e->root, env1, 0, a1), 0);
	assert_run_hides(ps, r);
	assert_true(it_table_exists(e, "a"));
	/* and the driver still knows it, to scrub with */
	assert_int_equal(it_exec(r, e->root, env2, 0, a2), 0);
	assert_run_hides(ps, r);
	/* without either, the server refuses */
	assert_int_not_equal(it_exec(r, e->root, NULL, 0, a1), 0);
	assert_run_hides(ps, r);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_statement_quoting_password_fails_hidden),
		T(test_environ_with_encoded_password_fails_hidden),
		T(test_server_notice_quoting_password_hidden),
		T(test_url_libpq_cannot_parse_is_hidden),
		T(test_secret_slot_lends_the_password),
		T(test_secret_slot_lends_a_password_from_env),
		T(test_password_from_environment),
	};
	int rc;

	rc = cmocka_run_group_tests_name("postgres", tests, pg_group_setup,
	                                 group_teardown);
#ifdef MG_HAVE_MYSQL
	rc |= cmocka_run_group_tests_name("mysql", tests, my_group_setup,
	                                  group_teardown);
#else
	(void)my_group_setup;
#endif
	return rc;
}
