/* Unit tests of migrator/drivers/url.h: schemes, redaction, mysql:// parsing. */
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
#include "migrator/error.h"
#include "migrator/drivers/url.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- mg_driver_for_url: the drivers' schemes ---- */

struct driver_case {
	const char *url;
	const char *want; /* NULL: unknown */
};

static const struct driver_case driver_cases[] = {
	{ "postgres://alice@db/app", "postgres" },
	{ "postgresql://db/app", "postgres" },
	{ "POSTGRES://db/app", "postgres" },
	{ "PostgreSQL://db/app", "postgres" },
	{ "mysql://root:pw@localhost:3306/shop", "mysql" },
	{ "MySQL://localhost/shop", "mysql" },
	{ "mariadb://localhost/shop", "mysql" },
	{ "mysql://localhost/shop?ssl-mode=REQUIRED", "mysql" },
	{ "sqlite:app.db", "sqlite" },
	{ "SQLite:app.db", "sqlite" },
	{ "sqlite3:app.db", "sqlite" },
	{ "sqlite:///var/lib/app.db", "sqlite" },
	{ "sqlite://app.db", "sqlite" },
	/* a scheme wins over a keyword string */
	{ "sqlite:a=b.db", "sqlite" },
	{ "host=db dbname=app", "postgres" },
	{ "dbname=app", "postgres" },
	{ "password=a://b host=x", "postgres" },
	{ "oracle://db/app", NULL },
	{ "oracle://db/app?user=x", NULL },
	{ "mysqlx://localhost/shop", NULL },
	{ "postgres:/db/app", NULL },
	{ "postgresx://db/app", NULL },
	{ "sqlitex:app.db", NULL },
	{ "app.db", NULL },
	{ "", NULL },
};

/* Compares by name, which only a test may do: the core tests caps. */
static void test_driver_for_each_scheme(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(driver_cases); i++) {
		const struct driver_case *c = &driver_cases[i];
		struct mg_error err = { 0 };
		const struct mg_driver *got = mg_driver_for_url(c->url, &err);
		bool left_out = false;

#ifndef MG_HAVE_MYSQL
		left_out = c->want != NULL && strcmp(c->want, "mysql") == 0;
#endif
		if (c->want == NULL || left_out) {
			if (got != NULL)
				print_error("'%s' gave %s\n", c->url,
				            got->name);
			assert_null(got);
			assert_int_equal(err.code, MG_EINVALID);
			if (left_out) {
				assert_string_equal(
				        err.msg,
				        "this build has no mysql driver");
				continue;
			}
			assert_string_equal(err.msg,
			                    "unknown database URL scheme");
			assert_string_equal(err.hint,
			                    "use postgres://, "
			                    "mysql://user:pass@host/db or "
			                    "sqlite:PATH");
		} else {
			if (got == NULL)
				print_error("'%s' gave NULL: %s\n", c->url,
				            err.msg);
			assert_non_null(got);
			assert_string_equal(got->name, c->want);
		}
	}
}

/* Every built driver declares its schemes; each one leads to it. */
static void test_driver_schemes_lead_back(void **state)
{
	static const char *const urls[] = {
		"postgres://h/d",
		"sqlite:x.db",
#ifdef MG_HAVE_MYSQL
		"mysql://h/d",
#endif
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(urls); i++) {
		const struct mg_driver *d = mg_driver_for_url(urls[i], NULL);
		const char *const *s;

		assert_non_null(d);
		assert_non_null(d->schemes);
		assert_non_null(d->schemes[0]);
		for (s = d->schemes; *s != NULL; s++)
			assert_ptr_equal(mg_driver_for_url(*s, NULL), d);
	}
}

static void test_has_scheme_ignores_case(void **state)
{
	(void)state;
	assert_true(mg_url_has_scheme("SQLite3:x.db", "sqlite3:"));
	assert_true(mg_url_has_scheme("postgres://", "postgres://"));
	assert_false(mg_url_has_scheme("postgres:/h", "postgres://"));
	assert_false(mg_url_has_scheme("", "sqlite:"));
	assert_true(mg_url_is_keywords("host=db dbname=app"));
	assert_false(mg_url_is_keywords("mysql://h/d?a=b"));
	assert_false(mg_url_is_keywords("app.db"));
}

/* ---- mg_url_redact ---- */

struct redact_case {
	const char *url;
	const char *want;
};

static const struct redact_case redact_cases[] = {
	{ "postgres://alice:secret@db.example.com:5432/app",
	  "postgres://alice:***@db.example.com:5432/app" },
	/* '@' and ':' inside the password: the last '@' ends userinfo */
	{ "mysql://root:p@ss:w0rd@localhost/shop",
	  "mysql://root:***@localhost/shop" },
	{ "mysql://root:p%40ss%3Aw%2F0rd@localhost:3306/shop",
	  "mysql://root:***@localhost:3306/shop" },
	{ "mysql://u:secret@h/db?socket=/tmp/mysql.sock",
	  "mysql://u:***@h/db?socket=/tmp/mysql.sock" },
	/* no password: unchanged */
	{ "postgres://alice@db/app", "postgres://alice@db/app" },
	{ "postgres://db/app?sslmode=require",
	  "postgres://db/app?sslmode=require" },
	{ "mysql://localhost/shop", "mysql://localhost/shop" },
	{ "sqlite:/tmp/app.db", "sqlite:/tmp/app.db" },
	{ "", "" },
	/* password= in a query string */
	{ "postgres://db/app?password=secret",
	  "postgres://db/app?password=***" },
	{ "postgres://db/app?sslmode=require&password=secret&"
	  "application_name=x",
	  "postgres://db/app?sslmode=require&password=***&"
	  "application_name=x" },
	{ "postgres://alice:one@db/app?password=two",
	  "postgres://alice:***@db/app?password=***" },
	/* libpq keyword strings */
	{ "host=x password=secret dbname=app",
	  "host=x password=*** dbname=app" },
	{ "password=secret host=x", "password=*** host=x" },
	{ "host=x user=alice PASSWORD=secret",
	  "host=x user=alice PASSWORD=***" },
	/* other keys that merely end in "password" are left alone */
	{ "host=x mypassword=visible", "host=x mypassword=visible" },
	/* rebuilt from the parts: a password equal to the scheme or the
	 * user leaves them alone (issue 8) */
	{ "postgres://postgres:postgres@db:5432/postgres",
	  "postgres://postgres:***@db:5432/postgres" },
	{ "postgres://u:p@db/app?sslmode=require",
	  "postgres://u:***@db/app?sslmode=require" },
	/* libpq's userinfo runs to the first '@' before any '/': a '?' or
	 * '#' in it is the user's or the password's (refused, but hidden) */
	{ "postgres://u:1?PW@host/db?x=1", "postgres://u:***@host/db?x=1" },
	{ "postgres://u?x:PW@host/db", "postgres://u?x:***@host/db" },
	{ "postgres://u:a#PW@host/db", "postgres://u:***@host/db" },
	{ "postgres://u:pa/ss?x@h/db", "postgres://u:***@h/db" },
	/* libpq ends a query value at '&' only */
	{ "postgres://h/db?password=a#PW&x=1",
	  "postgres://h/db?password=***&x=1" },
	{ "postgres://h/db?pass%77ord=PW", "postgres://h/db?pass%77ord=***" },
	{ "postgres://h/db?sslpassword=PW", "postgres://h/db?sslpassword=***" },
	/* any blank libpq takes (isspace) around '=' and between pairs */
	{ "host=x\fpassword=PW dbname=app", "host=x password=*** dbname=app" },
	{ "host=x password\f=\vPW\rdbname=app",
	  "host=x password=*** dbname=app" },
	{ "password='a b\\' c'user=u", "password=*** user=u" },
	{ "host=x password=P\\ W user=u", "host=x password=*** user=u" },
	/* where libpq stops reading, nothing more is shown */
	{ "host=x password='PW", "host=x ..." },
	{ "host=x password PW", "host=x ..." },
	/* the rest of a userinfo that libpq reads as host and query */
	{ "postgres://u?x:51/PW@[::1]:1/db?a=b",
	  "postgres://u?x:***@[::1]:1/db?a=b" },
	{ "postgres://u%40x:6?pa/ss@", "postgres://u%40x:***@" },
	{ "postgres://u?x:9/p=w@h/db", "postgres://u?x:***@h/db" },
	/* a '?' inside an IPv6 host's brackets starts no query */
	{ "postgres://a:b@[::?1]:1?password=PW",
	  "postgres://a:***@[::?1]:1?password=***" },
	/* a keyword string whose value holds "://" is no URL */
	{ "password=l1://g+exT port=1", "password=*** port=1" },
	{ "host=h password=a@b://c:d@e", "host=h password=***" },
};

static void test_redact_case_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(redact_cases); i++) {
		char *got = mg_url_redact(redact_cases[i].url);

		assert_non_null(got);
		if (strcmp(got, redact_cases[i].want) != 0)
			print_error("'%s' gave '%s'\n", redact_cases[i].url,
				    got);
		assert_string_equal(got, redact_cases[i].want);
		free(got);
	}
}

/*
 * Connection strings that libpq accepts (quoted values, spaces around
 * '='): whatever the output looks like, the secret must not be in it.
 */
struct leak_case {
	const char *url;
	const char *secret;
	const char *kept; /* must survive redaction */
};

static const struct leak_case leak_cases[] = {
	/* reachable today: -d with a raw space in a query value reaches
	 * "cannot connect to <redacted URL>" */
	{ "postgres://db/app?password=top secret&sslmode=require", "secret",
	  "sslmode=require" },
	{ "host=x password='top secret' dbname=app", "secret", "dbname=app" },
	{ "host=x password='ab\\' cd12' user=alice", "cd12", "user=alice" },
	{ "host=x password = hunter2 user=alice", "hunter2", "user=alice" },
	{ "host=x password= hunter2 user=alice", "hunter2", "user=alice" },
};

static void test_redact_libpq_quoted_and_spaced_values(void **state)
{
	size_t i, leaks = 0;

	(void)state;
	for (i = 0; i < N(leak_cases); i++) {
		char *got = mg_url_redact(leak_cases[i].url);
		bool kept;

		assert_non_null(got);
		if (strstr(got, leak_cases[i].secret) != NULL) {
			print_error("'%s' gave '%s': the password leaks\n",
				    leak_cases[i].url, got);
			leaks++;
		}
		kept = strstr(got, leak_cases[i].kept) != NULL;
		free(got);
		assert_true(kept);
	}
	assert_int_equal(leaks, 0);
}

static void test_redact_keeps_user_and_host(void **state)
{
	char *got;

	(void)state;
	got = mg_url_redact("postgresql://deploy:s3cr3t@10.0.0.5:6432/prod");
	assert_non_null(got);
	assert_null(strstr(got, "s3cr3t"));
	assert_non_null(strstr(got, "deploy"));
	assert_non_null(strstr(got, "10.0.0.5:6432/prod"));
	free(got);
}

static void assert_err_hides(const struct mg_error *err, const char *secret);

/* ---- mg_url_parse ---- */

struct parse_state {
	struct mg_url u;
	struct mg_error err;
};

static int setup(void **state)
{
	struct parse_state *s = calloc(1, sizeof(*s));

	*state = s;
	return s == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	struct parse_state *s = *state;

	mg_url_dispose(&s->u);
	free(s);
	return 0;
}

static void assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL) {
		assert_null(got);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

static void test_parse_full_url(void **state)
{
	struct parse_state *s = *state;

	assert_int_equal(mg_url_parse(&s->u, "mysql://app:s%40cret%3A1@"
					     "db.example.com:3307/shop?"
					     "socket=/tmp/my.sock&"
					     "ssl-mode=REQUIRED", &s->err), 0);
	assert_str_or_null(s->u.user, "app");
	assert_str_or_null(s->u.password, "s@cret:1");
	assert_str_or_null(s->u.host, "db.example.com");
	assert_int_equal(s->u.port, 3307);
	assert_str_or_null(s->u.db, "shop");
	assert_str_or_null(s->u.socket, "/tmp/my.sock");
	assert_int_equal(s->u.nparams, 2);
	assert_string_equal(s->u.keys[0], "socket");
	assert_string_equal(s->u.values[0], "/tmp/my.sock");
	assert_string_equal(s->u.keys[1], "ssl-mode");
	assert_string_equal(s->u.values[1], "REQUIRED");
}

static void test_parse_password_with_raw_at_and_colon(void **state)
{
	struct parse_state *s = *state;

	/* a raw '@' makes the URL ambiguous (libpq splits at the first):
	 * refused, with a hint and without the password; ':' is fine */
	assert_int_equal(mg_url_parse(&s->u, "mysql://root:p@ss:w@localhost/db",
				      &s->err), MG_EINVALID);
	assert_non_null(strstr(s->err.msg, "percent-encode"));
	assert_null(strstr(s->err.msg, "ss:w"));
	assert_int_equal(mg_url_parse(&s->u, "mysql://root:p%40ss:w@localhost/db",
				      &s->err), 0);
	assert_str_or_null(s->u.user, "root");
	assert_str_or_null(s->u.password, "p@ss:w");
	assert_str_or_null(s->u.host, "localhost");
}

static void test_parse_password_with_raw_slash(void **state)
{
	struct parse_state *s = *state;
	char *red;

	/* a raw '/' in the password is refused as ambiguous, without a
	 * "bad port" message that would show "hunter2"; redaction still
	 * hides everything up to the last '@' */
	assert_int_equal(mg_url_parse(&s->u, "mysql://u:hunter2/x@localhost/db",
				      &s->err), MG_EINVALID);
	assert_null(strstr(s->err.msg, "hunter2"));
	red = mg_url_redact("mysql://u:hunter2/x@localhost/db");
	assert_non_null(red);
	assert_string_equal(red, "mysql://u:***@localhost/db");
	free(red);
	assert_true(mg_url_userinfo_ambiguous("mysql://u:hunter2/x@h/db"));
	assert_true(mg_url_userinfo_ambiguous("postgres://u:p@ss@h/db"));
	assert_false(mg_url_userinfo_ambiguous("mysql://u:p%2Fw@h/db"));
	assert_false(mg_url_userinfo_ambiguous("mysql://h/db"));
	assert_false(mg_url_userinfo_ambiguous("mysql://h/db?a=b@c"));
}

/* ---- mg_scrub: whole occurrences only ---- */

struct scrub_case {
	const char *text, *secret, *want;
};

static const struct scrub_case scrub_cases[] = {
	{ "could not connect as s3cret to s3cret-host", "s3cret",
	  "could not connect as *** to ***-host" },
	/* part of a longer word: left alone */
	{ "s3crets and xs3cret", "s3cret", "s3crets and xs3cret" },
	{ "connection to server at \"h\", port 1 failed", "p",
	  "connection to server at \"h\", port 1 failed" },
	{ "p, (p) p", "p", "*, (*) *" },
	{ "near 'ab' at line 1", "ab", "near '**' at line 1" },
	/* the scheme and the user of a URL are not its password */
	{ "cannot connect to postgres://postgres:***@db/postgres", "postgres",
	  "cannot connect to postgres://postgres:***@db/***" },
	{ "database \"postgres\" does not exist", "postgres",
	  "database \"***\" does not exist" },
	/* percent-encoded, as a URL holds it, in either case */
	{ "in URI: \"mysql://u:p%40ss@h\"", "p@ss",
	  "in URI: \"mysql://u:***@h\"" },
	{ "DATABASE_URL=mysql://u:P%2fw%2Fx@h/db", "P/w/x",
	  "DATABASE_URL=mysql://u:***@h/db" },
	/* punctuation at an end needs no boundary there */
	{ "x!pw!x", "!pw!", "x***x" },
	{ "nothing here", "absent", "nothing here" },
	{ "", "pw", "" },
};

static void test_scrub_case_table(void **state)
{
	char text[256];
	size_t i;

	(void)state;
	for (i = 0; i < N(scrub_cases); i++) {
		snprintf(text, sizeof(text), "%s", scrub_cases[i].text);
		mg_scrub(text, sizeof(text), scrub_cases[i].secret);
		if (strcmp(text, scrub_cases[i].want) != 0)
			print_error("'%s' gave '%s'\n", scrub_cases[i].text,
			            text);
		assert_string_equal(text, scrub_cases[i].want);
	}
}

static void test_scrub_null_empty_and_cut_text(void **state)
{
	char text[] = "as s3cret";
	char cut[16] = "0123456789 hunt"; /* fills it: maybe cut */
	char roomy[32] = "0123456789 hunt";

	(void)state;
	mg_scrub(text, sizeof(text), NULL);
	mg_scrub(text, sizeof(text), "");
	mg_scrub(NULL, 10, "x");
	assert_string_equal(text, "as s3cret");
	mg_scrub(cut, sizeof(cut), "hunter2");
	assert_string_equal(cut, "0123456789 ***");
	mg_scrub(roomy, sizeof(roomy), "hunter2");
	assert_string_equal(roomy, "0123456789 hunt");
}

/* What libpq says of a URL it cannot parse quotes the URL. */
static void test_url_scrub_finds_the_passwords(void **state)
{
	char text[256];

	(void)state;
	snprintf(text, sizeof(text), "%s",
	         "missing \"]\" in URI: \"postgres://u:p%41w@[::1/db\"");
	mg_url_scrub(text, sizeof(text), "postgres://u:p%41w@[::1/db");
	assert_string_equal(text, "missing \"]\" in URI: "
	                          "\"postgres://u:***@[::1/db\"");
	snprintf(text, sizeof(text), "%s", "bad: \"pAw\" and \"x%3d1\"");
	mg_url_scrub(text, sizeof(text),
	             "postgres://u:p%41w@h/db?a=1&password=x%3d1");
	assert_string_equal(text, "bad: \"***\" and \"***\"");
	snprintf(text, sizeof(text), "%s", "got 'a b' and a\\ b");
	mg_url_scrub(text, sizeof(text), "host=x password = 'a b'");
	assert_string_equal(text, "got '***' and a\\ b");
	snprintf(text, sizeof(text), "%s", "unchanged 1?PW");
	mg_url_scrub(text, sizeof(text), "postgres://h/db");
	assert_string_equal(text, "unchanged 1?PW");
}

static void test_ambiguous_userinfo_as_libpq_splits_it(void **state)
{
	(void)state;
	assert_true(mg_url_userinfo_ambiguous("postgres://u:1?PW@h/db?x=1"));
	assert_true(mg_url_userinfo_ambiguous("postgres://u?x:PW@h/db"));
	assert_true(mg_url_userinfo_ambiguous("postgres://u:a#b@h/db"));
	assert_true(mg_url_userinfo_ambiguous("postgres://u:pa/ss?x@h"));
	assert_true(mg_url_userinfo_ambiguous("postgres://u:pa/ss"));
	assert_false(mg_url_userinfo_ambiguous("postgres://u:p@h/db?o=a@b"));
	assert_false(mg_url_userinfo_ambiguous("postgres://h:1,h2:2/db"));
	assert_false(mg_url_userinfo_ambiguous("postgres://[::1]:5432/db"));
	assert_false(mg_url_userinfo_ambiguous("postgres://[::1/db"));
	assert_false(mg_url_userinfo_ambiguous("postgres://h/d#x?y=@"));
	assert_false(mg_url_userinfo_ambiguous("host=x password=a@b/c"));
}

struct check_case {
	const char *url;
	bool ok;
};

static const struct check_case check_cases[] = {
	{ "postgres://u:p%40ss@h:5432/db?sslmode=require", true },
	{ "postgres://u:p:w@h/db?application_name=me@host", true },
	{ "postgres:///db?host=/var/run/postgresql", true },
	{ "postgresql://u@h1:5432,h2:5433/db?target_session_attrs=any", true },
	{ "postgres://[::1]:5432/db?options=-c%20a%3Db", true },
	{ "postgres://h:5432/db?application_name=a:b", true },
	{ "postgres://h/db?password=x&sslmode=disable", true },
	{ "host=x password= dbname=y", true },
	{ "postgres://u:1?PW@h/db", false },
	{ "postgres://u?x:pa/ss@h/db", false },
	{ "postgres://u?x=1:pa/ss@h/db", false },
	{ "postgres://h/db?x", false },
	{ "postgres://h/db?x:pa@h", false },
	{ "postgres://h/db?options=-c%20a=b", false },
	{ "postgres://h/db?password=&PW&x=1", false },
	{ "postgres://h/db?=x", false },
	{ "postgres://[::1%eth0]:5432/db", true },
	{ "postgres://[::1:1?password=&pa/ss]x", false },
	{ "postgres://[::1/db?password=x", false },
};

static void test_url_check_case_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(check_cases); i++) {
		struct mg_error err = { 0 };
		int rc = mg_url_check(check_cases[i].url, &err);

		if ((rc == 0) != check_cases[i].ok)
			print_error("'%s' gave %d: %s\n", check_cases[i].url,
			            rc, err.msg);
		assert_int_equal(rc, check_cases[i].ok ? 0 : MG_EINVALID);
		assert_null(strstr(err.msg, "pa/ss"));
		assert_null(strstr(err.msg, "PW"));
	}
}

/* Connecting refuses or hides: nothing listens on port 1. */
struct connect_case {
	const char *url, *secret;
};

static const struct connect_case connect_cases[] = {
	/* libpq cannot parse it and quotes it whole (issue 8) */
	{ "postgres://u:Hid3me@[::1/db", "Hid3me" },
	{ "postgres://u:Hid%33me@[::1/db", "Hid3me" },
	{ "postgres://u:Hid3me@127.0.0.1:1/db?x=1", "Hid3me" },
	{ "postgres://u:Hid3me@127.0.0.1:1/db?password=Oth3r", "Oth3r" },
	{ "postgres://u:Hid3me%zz@127.0.0.1:1/db", "Hid3me" },
	{ "host=127.0.0.1 port=1 password=Hid3me\fdbname=x", "Hid3me" },
	{ "host=127.0.0.1 port=1 password='Hid3me", "Hid3me" },
	{ "POSTGRES://u:Hid3me@127.0.0.1:1/db", "Hid3me" },
	{ "postgres://u:1?Hid3me@127.0.0.1:1/db?x=1", "Hid3me" },
	{ "postgres://u:Hid3me@127.0.0.1:1/db?host=p%zz", "Hid3me" },
};

static void test_pg_connect_never_shows_the_password(void **state)
{
	const struct mg_driver *pg = mg_driver_for_url("postgres://", NULL);
	size_t i;

	(void)state;
	assert_non_null(pg);
	for (i = 0; i < N(connect_cases); i++) {
		struct mg_error err = { 0 };
		struct mg_conn *conn = NULL;
		int rc = pg->connect(&conn, connect_cases[i].url, 0, &err);

		if (rc == 0)
			pg->close(conn);
		assert_int_not_equal(rc, 0);
		assert_true(err.msg[0] != '\0');
		assert_err_hides(&err, connect_cases[i].secret);
	}
}

static void test_parse_without_userinfo_or_port(void **state)
{
	struct parse_state *s = *state;

	assert_int_equal(mg_url_parse(&s->u, "mysql://localhost/shop",
				      &s->err), 0);
	assert_null(s->u.user);
	assert_null(s->u.password);
	assert_str_or_null(s->u.host, "localhost");
	assert_int_equal(s->u.port, 0);
	assert_str_or_null(s->u.db, "shop");
	assert_null(s->u.socket);
	assert_int_equal(s->u.nparams, 0);
}

static void test_parse_user_without_password(void **state)
{
	struct parse_state *s = *state;

	assert_int_equal(mg_url_parse(&s->u, "mysql://app@localhost:3306/db",
				      &s->err), 0);
	assert_str_or_null(s->u.user, "app");
	assert_null(s->u.password);
	assert_int_equal(s->u.port, 3306);
}

static void test_parse_ipv6_host_with_port(void **state)
{
	struct parse_state *s = *state;

	assert_int_equal(mg_url_parse(&s->u, "mysql://u:p@[::1]:3306/db",
				      &s->err), 0);
	assert_str_or_null(s->u.host, "::1");
	assert_int_equal(s->u.port, 3306);
	assert_str_or_null(s->u.db, "db");
}

static void test_parse_ipv6_host_without_port(void **state)
{
	struct parse_state *s = *state;

	assert_int_equal(mg_url_parse(&s->u, "mysql://[fe80::1]/db",
				      &s->err), 0);
	assert_str_or_null(s->u.host, "fe80::1");
	assert_int_equal(s->u.port, 0);
}

static void test_parse_without_database(void **state)
{
	struct parse_state *s = *state;

	assert_int_equal(mg_url_parse(&s->u, "mysql://localhost", &s->err),
			 0);
	assert_null(s->u.db);
	mg_url_dispose(&s->u);
	assert_int_equal(mg_url_parse(&s->u, "mysql://localhost/", &s->err),
			 0);
	assert_null(s->u.db);
}

static void test_parse_percent_decoded_socket(void **state)
{
	struct parse_state *s = *state;

	assert_int_equal(mg_url_parse(&s->u, "mysql://u@localhost/db?socket="
					     "%2Fvar%2Frun%2Fmysqld.sock",
				      &s->err), 0);
	assert_str_or_null(s->u.socket, "/var/run/mysqld.sock");
}

static void test_parse_socket_without_host(void **state)
{
	struct parse_state *s = *state;

	assert_int_equal(mg_url_parse(&s->u, "mysql://u:p@/db?socket=/tmp/s",
				      &s->err), 0);
	assert_str_or_null(s->u.user, "u");
	assert_str_or_null(s->u.socket, "/tmp/s");
	assert_str_or_null(s->u.db, "db");
	/* url.h: "each string owned and NULL when absent" */
	assert_null(s->u.host);
}

/* Every text of err, where a password must never appear. */
static void assert_err_hides(const struct mg_error *err, const char *secret)
{
	if (strstr(err->msg, secret) || strstr(err->detail, secret) ||
	    strstr(err->hint, secret))
		print_error("error shows the password: '%s' / '%s' / '%s'\n",
			    err->msg, err->detail, err->hint);
	assert_null(strstr(err->msg, secret));
	assert_null(strstr(err->detail, secret));
	assert_null(strstr(err->hint, secret));
}

struct bad_case {
	const char *url;
	const char *secret;
};

static const struct bad_case bad_cases[] = {
	{ "mysql://u:secret@h:abc/db", "secret" },
	{ "mysql://u:secret@h:0/db", "secret" },
	{ "mysql://u:secret@h:65536/db", "secret" },
	{ "mysql://u:secret@h:/db", "secret" },
	{ "mysql://u:secret@h:99999999999999999999/db", "secret" },
	{ "mysql://u:secret@h:33o6/db", "secret" },
	{ "mysql://u:secret@[::1:3306/db", "secret" },
	{ "mysql://u:se%zzcret@h/db", "cret" },
	{ "mysql://u:secret@h/db?novalue", "secret" },
	{ "mysql://u:secret@h/db?socket=%zz", "secret" },
	{ "localhost:3306", "3306x" },
};

static void test_parse_bad_urls_fail_without_showing_password(void **state)
{
	struct parse_state *s = *state;
	size_t i;

	for (i = 0; i < N(bad_cases); i++) {
		int rc;

		memset(&s->err, 0, sizeof(s->err));
		rc = mg_url_parse(&s->u, bad_cases[i].url, &s->err);
		if (rc != MG_EINVALID)
			print_error("'%s' gave %d\n", bad_cases[i].url, rc);
		assert_int_equal(rc, MG_EINVALID);
		assert_int_equal(s->err.code, MG_EINVALID);
		assert_true(s->err.msg[0] != '\0');
		if (strstr(s->err.msg, bad_cases[i].secret))
			print_error("URL '%s'\n", bad_cases[i].url);
		assert_err_hides(&s->err, bad_cases[i].secret);
		/* nothing handed out on failure */
		assert_null(s->u.user);
		assert_null(s->u.password);
		assert_null(s->u.host);
		assert_int_equal(s->u.nparams, 0);
	}
}

static void test_parse_bad_port_names_the_port(void **state)
{
	struct parse_state *s = *state;

	assert_int_equal(mg_url_parse(&s->u, "mysql://u:pw@h:70000/db",
				      &s->err), MG_EINVALID);
	assert_non_null(strstr(s->err.msg, "port"));
	assert_err_hides(&s->err, "pw@");
}

/* ---- mg_url_sqlite_path ---- */

struct sqlite_case {
	const char *url;
	const char *want;
};

static const struct sqlite_case sqlite_cases[] = {
	{ "sqlite:a.db", "a.db" },
	{ "sqlite:///abs.db", "/abs.db" },
	{ "sqlite://rel.db", "rel.db" },
	{ "sqlite:/abs/x.db", "/abs/x.db" },
	{ "sqlite:../data/x.db", "../data/x.db" },
	{ "SQLITE:a.db", "a.db" },
	{ "sqlite3:a.db", "a.db" },
};

static void test_sqlite_path_case_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(sqlite_cases); i++) {
		const char *url = sqlite_cases[i].url;
		const char *got = mg_url_sqlite_path(url);

		assert_non_null(got);
		assert_string_equal(got, sqlite_cases[i].want);
		/* lends into url */
		assert_true(got >= url && got <= url + strlen(url));
	}
}

/* ---- tests/fuzz_url.c, bounded: libpq's parse is the oracle ---- */

#define MG_FUZZ_NO_MAIN
#include "fuzz_url.c"

/* A few thousand URLs, under a second; MG_FUZZ_SEED picks others (the
 * seed is printed with any failure, to replay it with fuzz_url). */
static void test_fuzz_urls_are_refused_or_hidden(void **state)
{
	const char *env = getenv("MG_FUZZ_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 10) : 20261128;
	struct fz_stats st;

	(void)state;
	fz_run(seed, 3000, stderr, &st);
	if (st.failures > 0)
		print_error("fuzz_url: seed %llu: %lu of %lu URLs leaked\n",
		            (unsigned long long)seed, st.failures, st.urls);
	assert_int_equal(st.failures, 0);
	/* the generator still reaches every path */
	assert_int_equal(st.urls, 3000);
	assert_true(st.refused > 0);
	assert_true(st.unparsed > 0);
	assert_true(st.connects > 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* golang-migrate's URL forms: tcp(host:port), and its x- parameters. */
static void test_golang_migrate_urls(void **state)
{
	static const struct {
		const char *in, *out, *table;
		int rc;
	} cases[] = {
		{ "mysql://u:p@tcp(db:3306)/app", "mysql://u:p@db:3306/app",
		  NULL, 0 },
		{ "mysql://u:p@tcp(db:3306)/app?x-migrations-table=hist&"
		  "ssl-mode=REQUIRED",
		  "mysql://u:p@db:3306/app?ssl-mode=REQUIRED", "hist", 0 },
		{ "postgres://u:p@db/app?sslmode=disable&x-multi-statement=true",
		  "postgres://u:p@db/app?sslmode=disable", NULL, 0 },
		{ "postgres://u:p@db/app?x-migrations-table=a.b",
		  "postgres://u:p@db/app", "a.b", 0 },
		{ "postgres://u:p@db/app?sslmode=disable", NULL, NULL, 0 },
		{ "sqlite:x.db", NULL, NULL, 0 },
		{ "mysql://u:p@db/app?x-no-lock=true", NULL, NULL,
		  MG_EINVALID },
		{ "postgres://u:p@db/app?x-statement-timeout=5", NULL, NULL,
		  MG_EINVALID },
		{ "mysql://u:p@tcp(db:3306/app", NULL, NULL, MG_EINVALID },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mg_error err = { 0 };
		char *out = NULL, *table = NULL;
		int rc = mg_url_from_golang_migrate(&out, &table, cases[i].in,
		                                    &err);

		if (rc != cases[i].rc)
			print_error("'%s': %d %s\n", cases[i].in, rc, err.msg);
		assert_int_equal(rc, cases[i].rc);
		if (cases[i].out == NULL)
			assert_null(out);
		else
			assert_string_equal(out, cases[i].out);
		if (cases[i].table == NULL)
			assert_null(table);
		else
			assert_string_equal(table, cases[i].table);
		/* a refusal names the key, never a value */
		if (rc < 0)
			assert_null(strstr(err.msg, "=true"));
		free(out);
		free(table);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_for_each_scheme),
		cmocka_unit_test(test_driver_schemes_lead_back),
		cmocka_unit_test(test_has_scheme_ignores_case),
		cmocka_unit_test(test_redact_case_table),
		cmocka_unit_test(test_redact_libpq_quoted_and_spaced_values),
		cmocka_unit_test(test_redact_keeps_user_and_host),
		T(test_parse_full_url),
		T(test_parse_password_with_raw_at_and_colon),
		T(test_parse_password_with_raw_slash),
		cmocka_unit_test(test_scrub_case_table),
		cmocka_unit_test(test_scrub_null_empty_and_cut_text),
		cmocka_unit_test(test_url_scrub_finds_the_passwords),
		cmocka_unit_test(test_ambiguous_userinfo_as_libpq_splits_it),
		cmocka_unit_test(test_url_check_case_table),
		cmocka_unit_test(test_pg_connect_never_shows_the_password),
		cmocka_unit_test(test_fuzz_urls_are_refused_or_hidden),
		T(test_parse_without_userinfo_or_port),
		T(test_parse_user_without_password),
		T(test_parse_ipv6_host_with_port),
		T(test_parse_ipv6_host_without_port),
		T(test_parse_without_database),
		T(test_parse_percent_decoded_socket),
		T(test_parse_socket_without_host),
		T(test_parse_bad_urls_fail_without_showing_password),
		T(test_parse_bad_port_names_the_port),
		cmocka_unit_test(test_sqlite_path_case_table),
		cmocka_unit_test(test_golang_migrate_urls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
