/*
 * Unit tests of migrator/driver.h: the table's init/end, and how each
 * driver classifies a server's error (err->bad_sql: the statement is
 * wrong, as opposed to a privilege, a constraint or the server). SQLite
 * runs in memory; the PostgreSQL and MySQL cases need the servers of
 * MG_TEST_PG_DSN and MG_TEST_MYSQL_DSN and skip() without them (fail,
 * where MG_TEST_REQUIRE_SERVERS says the servers must be there).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "migrator/driver.h"
#include "migrator/drivers/postgres.h"
#include "migrator/error.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct class_case {
	const char *sql;
	int want_rc;
	bool want_bad;
	const char *want_state; /* NULL: any */
};

static struct mg_conn *connect_url(const char *url)
{
	struct mg_error err = { 0 };
	const struct mg_driver *drv = mg_driver_for_url(url, &err);
	struct mg_conn *conn = NULL;

	if (drv == NULL || drv->connect(&conn, url, 0, &err) < 0) {
		print_error("cannot connect: %s %s\n", err.msg, err.detail);
		return NULL;
	}
	return conn;
}

/* Whether a server's cases must be skipped: no DSN given. Where the
 * servers are required (CI, scripts/test.sh), that fails instead. */
static bool no_server(const char *dsn)
{
	if (dsn != NULL && *dsn != '\0')
		return false;
	if (getenv("MG_TEST_REQUIRE_SERVERS") != NULL)
		fail_msg("MG_TEST_REQUIRE_SERVERS is set, but no DSN");
	return true;
}

static void run_cases(struct mg_conn *conn, const struct class_case *cases,
                      size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct mg_error err = { 0 };
		int rc = conn->drv->query(NULL, conn, cases[i].sql, NULL, 0, 0,
		                          &err);

		if (rc != cases[i].want_rc || err.bad_sql != cases[i].want_bad)
			print_error("'%s': rc %d, bad_sql %d: %s (%s)\n",
			            cases[i].sql, rc, err.bad_sql, err.msg,
			            err.sqlstate);
		assert_int_equal(rc, cases[i].want_rc);
		assert_int_equal(err.bad_sql, cases[i].want_bad);
		if (cases[i].want_state != NULL)
			assert_string_equal(err.sqlstate, cases[i].want_state);
	}
}

/* ---- the table ---- */

static void test_drivers_init_and_end(void **state)
{
	(void)state;
	assert_int_equal(mg_drivers_init(), 0);
	mg_drivers_end();
}

/*
 * The pooled PostgreSQL table (behind pgbouncer) differs from the plain one
 * in the slots below, on purpose, and in nothing else: two full tables once
 * drifted apart at a merge (.ledger_lock went missing from one).
 */
static void test_postgres_pooled_differs_only_where_meant(void **state)
{
	const struct mg_driver *pg = &mg_driver_postgres;
	const struct mg_driver *pooled = mg_pg_pooled_driver();
	struct mg_driver a, b;

	(void)state;
	assert_non_null(pooled);
	assert_ptr_not_equal(pooled, pg);
	assert_ptr_equal(mg_pg_pooled_driver(), pooled); /* built once */

	/* the differences: the run lock per transaction */
	assert_true(pg->caps & MG_CAP_RUN_LOCK);
	assert_int_equal(pooled->caps, pg->caps & ~MG_CAP_RUN_LOCK);
	assert_non_null(pooled->check_script);
	assert_ptr_not_equal(pooled->check_script, pg->check_script);
	assert_non_null(pooled->txn);
	assert_ptr_not_equal(pooled->txn, pg->txn);
	assert_non_null(pooled->lock);
	assert_ptr_not_equal(pooled->lock, pg->lock);
	assert_non_null(pooled->unlock);
	assert_ptr_not_equal(pooled->unlock, pg->unlock);
	/* ... and what needs a session or the server's pid, off there */
	assert_non_null(pg->lock_held);
	assert_null(pooled->lock_held);
	assert_non_null(pg->set_bounds);
	assert_null(pooled->set_bounds);
	assert_non_null(pg->session_id);
	assert_null(pooled->session_id);
	assert_non_null(pg->blockers);
	assert_null(pooled->blockers);
	assert_non_null(pg->cancel);
	assert_null(pooled->cancel);
	assert_non_null(pg->ping);
	assert_null(pooled->ping);
	assert_non_null(pg->abort);
	assert_null(pooled->abort);
	assert_non_null(pg->lock_rehearse);
	assert_null(pooled->lock_rehearse);
	assert_null(pg->lock_report_none);
	assert_non_null(strstr(pooled->lock_report_none, "pooler"));

	/* every other slot, those added later included, equal: copies with
	 * the slots above blanked compare equal byte for byte (the tables
	 * are static, so their padding is zero) */
	memcpy(&a, pg, sizeof(a));
	memcpy(&b, pooled, sizeof(b));
	a.caps = b.caps = 0;
	a.check_script = b.check_script = NULL;
	a.txn = b.txn = NULL;
	a.lock = b.lock = NULL;
	a.unlock = b.unlock = NULL;
	a.lock_held = NULL;
	a.set_bounds = NULL;
	a.session_id = NULL;
	a.blockers = NULL;
	a.cancel = NULL;
	a.ping = NULL;
	a.abort = NULL;
	a.lock_rehearse = NULL;
	b.lock_report_none = NULL;
	assert_memory_equal(&a, &b, sizeof(a));
	/* among them the one that was lost */
	assert_non_null(pooled->ledger_lock);
	assert_ptr_equal(pooled->ledger_lock, pg->ledger_lock);
}

static void test_error_set_clears_bad_sql(void **state)
{
	struct mg_error err = { 0 };

	(void)state;
	err.bad_sql = true;
	assert_int_equal(mg_error_set(&err, MG_ERR, "x"), MG_ERR);
	assert_false(err.bad_sql);
}

/* ---- SQLite ---- */

static const struct class_case sqlite_cases[] = {
	{ "SELECT * FROM nope", MG_ENOTFOUND, true, NULL },
	{ "SELECT b FROM t", MG_EDRIVER, true, NULL },
	{ "SELEC 1", MG_EDRIVER, true, NULL },
	{ "SELECT nope(1)", MG_EDRIVER, true, NULL },
	{ "SELECT 1 FROM t ORDER BY a COLLATE nope", MG_EDRIVER, true, NULL },
	{ "SELECT a FROM t", 0, false, NULL },
	/* SQLITE_CONSTRAINT, though the message says "no such" */
	{ "INSERT INTO t VALUES (1)", MG_EDRIVER, false, NULL },
	{ "INSERT INTO t VALUES (NULL)", MG_EDRIVER, false, NULL },
	/* SQLITE_ERROR, but about a value, not the statement */
	{ "SELECT abs(-9223372036854775807 - 1)", MG_EDRIVER, false, NULL },
};

static void test_sqlite_classifies_errors(void **state)
{
	struct mg_conn *conn = connect_url("sqlite::memory:");

	(void)state;
	assert_non_null(conn);
	assert_int_equal(conn->drv->query(NULL, conn,
	                                  "CREATE TABLE t (a INTEGER NOT NULL)",
	                                  NULL, 0, 0, NULL),
	                 0);
	assert_int_equal(conn->drv->query(NULL, conn,
	                                  "CREATE TRIGGER no_ones BEFORE "
	                                  "INSERT ON t WHEN new.a = 1 BEGIN "
	                                  "SELECT RAISE(ABORT, 'no such "
	                                  "thing'); END",
	                                  NULL, 0, 0, NULL),
	                 0);
	run_cases(conn, sqlite_cases, N(sqlite_cases));
	conn->drv->close(conn);
}

/* ---- PostgreSQL (MG_TEST_PG_DSN) ---- */

static const struct class_case pg_cases[] = {
	{ "SELECT * FROM mg_nope", MG_ENOTFOUND, true, "42P01" },
	{ "SELECT nope FROM pg_class", MG_EDRIVER, true, "42703" },
	{ "SELEC 1", MG_EDRIVER, true, "42601" },
	{ "SELECT nope(1)", MG_EDRIVER, true, "42883" },
	{ "SELECT 1/0", MG_EDRIVER, false, "22012" },
};

static void test_postgres_classifies_errors(void **state)
{
	const char *dsn = getenv("MG_TEST_PG_DSN");
	struct mg_conn *conn;
	struct mg_error err = { 0 };
	char role[64], sql[128];

	(void)state;
	if (no_server(dsn))
		skip();
	conn = connect_url(dsn);
	assert_non_null(conn);
	run_cases(conn, pg_cases, N(pg_cases));

	/* 42501 insufficient_privilege is class 42 too, but the server's
	 * word: a role of our own, in a transaction that leaves nothing */
	snprintf(role, sizeof(role), "mg_test_driver_%ld", (long)getpid());
	assert_int_equal(conn->drv->txn(conn, MG_TXN_BEGIN, NULL), 0);
	snprintf(sql, sizeof(sql), "CREATE ROLE %s", role);
	assert_int_equal(conn->drv->query(NULL, conn, sql, NULL, 0, 0, NULL),
	                 0);
	snprintf(sql, sizeof(sql), "SET LOCAL ROLE %s", role);
	assert_int_equal(conn->drv->query(NULL, conn, sql, NULL, 0, 0, NULL),
	                 0);
	assert_int_equal(conn->drv->query(NULL, conn,
	                                  "SELECT rolname FROM pg_authid", NULL,
	                                  0, 0, &err),
	                 MG_EDRIVER);
	assert_string_equal(err.sqlstate, "42501");
	assert_false(err.bad_sql);
	assert_int_equal(conn->drv->txn(conn, MG_TXN_ROLLBACK, NULL), 0);
	conn->drv->close(conn);
}

/* ---- MySQL (MG_TEST_MYSQL_DSN) ---- */

static const struct class_case mysql_cases[] = {
	{ "SELECT * FROM mg_nope", MG_ENOTFOUND, true, "42S02" },
	{ "SELECT nope FROM user", MG_EDRIVER, true, "42S22" },
	{ "SELEC 1", MG_EDRIVER, true, "42000" },
	/* 1044 ER_DBACCESS_DENIED_ERROR: 42000 as well, but a privilege
	 * that even an account with ALL PRIVILEGES lacks */
	{ "DELETE FROM information_schema.TABLES", MG_EDRIVER, false, "42000" },
	/* 1242 ER_SUBQUERY_NO_1_ROW */
	{ "SELECT (SELECT 1 UNION SELECT 2)", MG_EDRIVER, false, "21000" },
};

static void test_mysql_classifies_errors(void **state)
{
	const char *dsn = getenv("MG_TEST_MYSQL_DSN");
	struct mg_conn *conn;

	(void)state;
#ifndef MG_HAVE_MYSQL
	skip(); /* this build has no MySQL driver */
#endif
	if (no_server(dsn))
		skip();
	assert_int_equal(mg_drivers_init(), 0);
	conn = connect_url(dsn);
	assert_non_null(conn);
	run_cases(conn, mysql_cases, N(mysql_cases));
	conn->drv->close(conn);
	mg_drivers_end();
}

/* ---- MG_CAP_INDEX_IF_NOT_EXISTS ---- */

/* Each driver that claims it runs the ledger's form of the statement
 * twice, inside a transaction it rolls back. */
static void test_index_if_not_exists_claims_hold(void **state)
{
	const char *urls[] = { "sqlite::memory:", getenv("MG_TEST_PG_DSN") };
	const char *sql[] = {
		"CREATE TEMPORARY TABLE mg_test_t (a INTEGER)",
		"CREATE INDEX IF NOT EXISTS mg_test_idx ON mg_test_t (a)",
		"CREATE INDEX IF NOT EXISTS mg_test_idx ON mg_test_t (a)",
	};
	struct mg_conn *conn;
	size_t i, j;

	(void)state;
	for (i = 0; i < N(urls); i++) {
		if (urls[i] == NULL || *urls[i] == '\0')
			continue;
		conn = connect_url(urls[i]);
		assert_non_null(conn);
		assert_true(conn->drv->caps & MG_CAP_INDEX_IF_NOT_EXISTS);
		assert_int_equal(conn->drv->txn(conn, MG_TXN_BEGIN, NULL), 0);
		for (j = 0; j < N(sql); j++)
			assert_int_equal(conn->drv->query(NULL, conn, sql[j],
			                                  NULL, 0, 0, NULL),
			                 0);
		assert_int_equal(conn->drv->txn(conn, MG_TXN_ROLLBACK, NULL),
		                 0);
		conn->drv->close(conn);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drivers_init_and_end),
		cmocka_unit_test(test_postgres_pooled_differs_only_where_meant),
		cmocka_unit_test(test_error_set_clears_bad_sql),
		cmocka_unit_test(test_sqlite_classifies_errors),
		cmocka_unit_test(test_postgres_classifies_errors),
		cmocka_unit_test(test_mysql_classifies_errors),
		cmocka_unit_test(test_index_if_not_exists_claims_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
