/*
 * Integration tests of issue 8 ("Trust"): TLS that must be TLS, a dry run
 * that must not write whatever its checks say, MariaDB's non-transactional
 * tables, and the run lock's edge cases. The built binary (MG_BIN) runs
 * against SQLite (never skipped), PostgreSQL (MG_TEST_PG_DSN) and
 * MariaDB/MySQL (MG_TEST_MYSQL_DSN), each test in a database of its own,
 * asserting on exit codes, the ledger and the database itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "migrator/driver.h"
#include "migrator/error.h"
#include "support/it.h"

static enum backend backend(const struct it_state *st)
{
	return st->bk;
}

/* migrate -d URL -m DIR ARGS... with a URL other than the test's own */
static int mg_url(struct it_run *r, const struct it_env *e, const char *url,
		  const char *cmd)
{
	const char *args[] = { "-d", url, "-m", e->mig, cmd, NULL };

	return it_exec(r, e->root, NULL, 0, args);
}

/* ---- TLS (MariaDB) ---- */

/*
 * The test server has no TLS: a URL that requires it must be refused
 * after connecting (Connector/C falls back to plaintext otherwise), and
 * golang-migrate's tls=true likewise. Nothing is written.
 */
static void tls_required_is_refused_without_tls(void **state)
{
	IT_BEGIN;
	static const char *const asks[] = { "ssl-mode=REQUIRED",
					    "ssl_mode=required", "tls=true",
					    "tls=skip-verify" };
	size_t i;

	assert_int_equal(it_pair(e, "0001_a", "CREATE TABLE a(x int);\n",
				 "DROP TABLE a;\n"), 0);
	for (i = 0; i < sizeof(asks) / sizeof(*asks); i++) {
		char *url = it_own(st, malloc(strlen(e->url) + 64));

		assert_non_null(url);
		sprintf(url, "%s%s%s", e->url,
			strchr(e->url, '?') ? "&" : "?", asks[i]);
		mg_url(r, e, url, "up");
		assert_exit(r, 1);
		assert_contains(r->err, "TLS");
		assert_not_contains(r->err, "mg_test_pw");
		assert_no_table(e, "a");
		assert_no_table(e, "migrate_ledger");
	}
}

/* PREFERRED may go without TLS; an unknown TLS spelling or parameter is
 * refused by name rather than ignored. */
static void tls_spellings_preferred_works_unknown_refused(void **state)
{
	IT_BEGIN;
	static const char *const bad[] = { "tls=custom", "sslmode=require",
					   "ssl-mode=REQUIRED&tls=true",
					   "ssl-mode=ON" };
	char url[1024];
	size_t i;

	assert_int_equal(it_pair(e, "0001_a", "CREATE TABLE a(x int);\n",
				 "DROP TABLE a;\n"), 0);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(url, sizeof(url), "%s?%s", e->url, bad[i]);
		mg_url(r, e, url, "up");
		assert_exit(r, 2);
		assert_no_table(e, "a");
	}
	snprintf(url, sizeof(url), "%s?tls=preferred", e->url);
	mg_url(r, e, url, "up");
	assert_exit(r, 0);
	assert_table(e, "a");
}

/* Ends the server that tests/support/tls-mariadb.sh started in dir and
 * frees dir: an it_state owned[] free function, run whatever the
 * test's outcome. */
static void tls_server_stop(void *dir)
{
	char cmd[1024];

	if (dir == NULL)
		return;
	snprintf(cmd, sizeof(cmd), "bash '%s/tests/support/tls-mariadb.sh' "
		 "stop '%s'", getenv("MG_SOURCE_DIR"), (char *)dir);
	if (system(cmd) != 0)
		fprintf(stderr, "it_trust: could not stop %s\n", (char *)dir);
	free(dir);
}

/*
 * And against a server that has TLS (a throwaway MariaDB with a
 * self-signed certificate): REQUIRED and skip-verify connect encrypted
 * and run; tls=true verifies, so it refuses the unknown certificate
 * until ssl-ca names it.
 */
static void tls_required_works_with_tls(void **state)
{
	IT_BEGIN;
	char cmd[1024], line[512], dir[400], url[1024];
	const char *src = getenv("MG_SOURCE_DIR");
	int port = 0, rc;
	FILE *p;

	assert_non_null(src);
	snprintf(cmd, sizeof(cmd),
		 "bash '%s/tests/support/tls-mariadb.sh' start", src);
	assert_non_null(p = popen(cmd, "r"));
	line[0] = '\0';
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	rc = pclose(p);
	if (WIFEXITED(rc) && WEXITSTATUS(rc) == 77)
		skip(); /* not root, or no mariadbd or openssl here */
	assert_int_equal(sscanf(line, "%d %399s", &port, dir), 2);
	st->owned[st->nowned].p = strdup(dir);
	st->owned[st->nowned].free = tls_server_stop;
	assert_non_null(st->owned[st->nowned++].p);

	assert_int_equal(it_pair(e, "0001_a", "CREATE TABLE a(x int);\n",
				 "DROP TABLE a;\n"), 0);
	snprintf(url, sizeof(url), "mysql://tls:tls_pw_5e1@127.0.0.1:%d/app"
		 "?tls=true", port);
	mg_url(r, e, url, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "certificate");
	snprintf(url, sizeof(url), "mysql://tls:tls_pw_5e1@127.0.0.1:%d/app"
		 "?ssl-mode=REQUIRED", port);
	mg_url(r, e, url, "up");
	assert_exit(r, 0);
	snprintf(url, sizeof(url), "mysql://tls:tls_pw_5e1@127.0.0.1:%d/app"
		 "?tls=skip-verify", port);
	mg_url(r, e, url, "status");
	assert_exit(r, 0);
	assert_contains(r->err, "1 applied");
	snprintf(url, sizeof(url), "mysql://tls:tls_pw_5e1@127.0.0.1:%d/app"
		 "?tls=true&ssl-ca=%s/cert.pem", port, dir);
	mg_url(r, e, url, "down");
	assert_exit(r, 0);
}

/* ---- a dry run is read-only whatever the files say ---- */

/* victim(id) with three rows, and on the servers wipe(), a function
 * that empties it and returns 1: a check that is a SELECT, and writes. */
static void make_victim(struct it_state *st)
{
	struct it_env *e = &st->e;

	assert_int_equal(it_sql(e, "CREATE TABLE victim(id int)"), 0);
	assert_int_equal(it_sql(e, "INSERT INTO victim VALUES (1), (2), (3)"),
			 0);
	if (backend(st) == BK_POSTGRES)
		assert_int_equal(it_sql(e, "CREATE FUNCTION wipe() RETURNS int "
					   "LANGUAGE sql AS 'DELETE FROM "
					   "victim; SELECT 1'"), 0);
	if (backend(st) == BK_MYSQL)
		assert_int_equal(it_sql(e, "CREATE FUNCTION wipe() RETURNS int "
					   "MODIFIES SQL DATA BEGIN DELETE "
					   "FROM victim; RETURN 1; END"), 0);
}

static void assert_nothing_written(struct it_state *st)
{
	struct it_env *e = &st->e;

	assert_int_equal(it_count(e, "SELECT count(*) FROM victim"), 3);
	assert_no_table(e, "a");
	assert_no_table(e, "pwned");
	assert_no_table(e, "migrate_ledger");
}

/* A check that passes the parse-time rule (it starts with WITH or
 * SELECT) but writes: refused by the read-only session, nothing
 * written, the check reported as not evaluated. (SQLite has no SELECT
 * that writes: sqlite_read_only_connection_refuses_writes.) */
static void dry_run_check_that_writes_changes_nothing(void **state)
{
	IT_BEGIN;
	static const char *const checks[] = {
		/* PostgreSQL: a data-modifying WITH */
		"-- check:pre empty WITH d AS (DELETE FROM victim RETURNING "
		"id) SELECT * FROM d\n",
		/* PostgreSQL, MySQL: a function that writes */
		"-- check:pre true SELECT wipe() = 1\n",
	};
	char up[512];
	size_t i;

	make_victim(st);
	for (i = 0; i < sizeof(checks) / sizeof(*checks); i++) {
		if (i == 0 && backend(st) != BK_POSTGRES)
			continue;
		snprintf(up, sizeof(up), "%sCREATE TABLE a(x int);\n",
			 checks[i]);
		assert_int_equal(it_pair(e, "0001_a", up, "DROP TABLE a;\n"),
				 0);
		MG(r, "up", "--dry-run");
		/* the plan goes to stdout, errors to stderr */
		if (r->code == 0)
			assert_true(contains(r->out, "cannot run") ||
				    contains(r->err, "cannot run"));
		assert_nothing_written(st);
		MG(r, "down", "--dry-run");
		assert_nothing_written(st);
	}
}

/*
 * SQLite has no statement that writes from a SELECT, so this asks the
 * driver itself: a read-only connection refuses a write even after
 * PRAGMA query_only is switched off, and after a writable_schema game.
 */
static void sqlite_read_only_connection_refuses_writes(void **state)
{
	IT_BEGIN;
	const struct mg_driver *drv;
	struct mg_conn *ro = NULL;
	struct mg_error err = { 0 };
	static const char *const writes[] = {
		"DELETE FROM victim",
		"CREATE TABLE pwned(x int)",
		"INSERT INTO victim VALUES (4)",
	};
	size_t i;

	make_victim(st);
	assert_non_null(drv = mg_driver_for_url(e->url, &err));
	assert_int_equal(drv->connect(&ro, e->url, MG_CONNECT_READ_ONLY,
				      &err), 0);
	assert_int_equal(drv->query(NULL, ro, "PRAGMA query_only = 0", NULL,
				    0, 0, &err), 0);
	for (i = 0; i < sizeof(writes) / sizeof(*writes); i++) {
		assert_true(drv->query(NULL, ro, writes[i], NULL, 0, 0,
				       &err) < 0);
		assert_contains(err.msg, "readonly");
	}
	/* and inside the dry run's transaction too */
	assert_int_equal(drv->txn(ro, MG_TXN_BEGIN, &err), 0);
	assert_true(drv->query(NULL, ro, "DELETE FROM victim", NULL, 0, 0,
			       &err) < 0);
	assert_int_equal(drv->txn(ro, MG_TXN_ROLLBACK, &err), 0);
	drv->close(ro);
	assert_nothing_written(st);
}

/* The servers' read-only session refuses the writes a check could
 * smuggle, in autocommit as well as in the dry run's transaction. */
static void read_only_session_refuses_writes(void **state)
{
	IT_BEGIN;
	const struct mg_driver *drv;
	struct mg_conn *ro = NULL;
	struct mg_error err = { 0 };
	bool inside = false;

	make_victim(st);
	assert_non_null(drv = mg_driver_for_url(e->url, &err));
	assert_int_equal(drv->connect(&ro, e->url, MG_CONNECT_READ_ONLY,
				      &err), 0);
	assert_true(drv->query(NULL, ro, "DELETE FROM victim", NULL, 0, 0,
			       &err) < 0);
	assert_true(drv->query(NULL, ro, "CREATE TABLE pwned(x int)", NULL, 0,
			       0, &err) < 0);
	assert_int_equal(drv->txn(ro, MG_TXN_BEGIN, &err), 0);
	assert_true(drv->query(NULL, ro, "SELECT wipe()", NULL, 0, 0, &err) <
		    0);
	assert_int_equal(drv->in_txn(&inside, ro, &err), 0);
	assert_true(inside);
	assert_int_equal(drv->txn(ro, MG_TXN_ROLLBACK, &err), 0);
	assert_int_equal(drv->in_txn(&inside, ro, &err), 0);
	assert_false(inside);
	drv->close(ro);
	assert_nothing_written(st);
}

/* ---- MariaDB: what a failed statement kept ---- */

/*
 * A multi-row INSERT failing on its third row keeps rows 1 and 2 in a
 * MyISAM table: the version is dirty (nothing runs until repair), not
 * failed, which would let the next `up` insert them a second time.
 */
static void myisam_partial_insert_is_dirty_not_failed(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_sql(e, "CREATE TABLE myisam_t (x int PRIMARY "
				   "KEY) ENGINE=MyISAM"), 0);
	assert_int_equal(it_pair(e, "0001_fill",
				 "INSERT INTO myisam_t VALUES (1), (2), (2);\n",
				 "DELETE FROM myisam_t;\n"), 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "Duplicate entry");
	assert_int_equal(it_count(e, "SELECT count(*) FROM myisam_t"), 2);
	assert_state(e, 1, "dirty");
	assert_int_equal(it_ledger_count(e, "version = 1 AND status = "
					    "'failed'"), 0);
	/* no retry: the rows are not inserted twice */
	MG(r, "up");
	assert_exit(r, 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM myisam_t"), 2);
}

/* The same on InnoDB rolls the statement back: failed, and retried. */
static void innodb_failed_insert_is_failed(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_sql(e, "CREATE TABLE inno_t (x int PRIMARY KEY) "
				   "ENGINE=InnoDB"), 0);
	assert_int_equal(it_pair(e, "0001_fill",
				 "INSERT INTO inno_t VALUES (1), (2), (2);\n",
				 "DELETE FROM inno_t;\n"), 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "Duplicate entry");
	assert_int_equal(it_count(e, "SELECT count(*) FROM inno_t"), 0);
	assert_state(e, 1, "failed");
	assert_int_equal(it_write_str(e, "0001_fill.up.sql",
				      "INSERT INTO inno_t VALUES (1), (2);\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM inno_t"), 2);
}

/* ---- the run lock's edge cases ---- */

/* Polls `sql` (a count) until it is positive; false after timeout_ms. */
static bool wait_for(const struct it_env *e, const char *sql, int timeout_ms)
{
	long long deadline = it_now_ms() + timeout_ms;

	while (it_now_ms() < deadline) {
		if (it_count(e, sql) > 0)
			return true;
		it_sleep_ms(50);
	}
	return false;
}

/*
 * A statement_timeout of 1 s (here from the URL's options; a role's or a
 * database's works the same) must not cut the run-lock wait: the waiter
 * waits --lock-timeout and exits 5 naming the holder.
 */
static void pg_statement_timeout_does_not_cut_the_lock_wait(void **state)
{
	IT_BEGIN;
	static const char *const hold[] = { "up", NULL };
	char url[1024];
	long long t0, ms;
	pid_t pid;

	assert_int_equal(it_pair(e, "0001_slow",
				 "CREATE TABLE slow(x int);\n"
				 "SELECT pg_sleep(6);\n",
				 "DROP TABLE slow;\n"), 0);
	pid = it_mg_bg(e, "holder", NULL, hold);
	assert_true(pid > 0);
	assert_true(wait_for(e, "SELECT count(*) FROM pg_locks WHERE "
			     "locktype = 'advisory' AND granted AND database "
			     "= (SELECT oid FROM pg_database WHERE datname = "
			     "current_database())", 10000));
	snprintf(url, sizeof(url), "%s%soptions=-c%%20statement_timeout%%3D1s",
		 e->url, strchr(e->url, '?') ? "&" : "?");
	t0 = it_now_ms();
	{
		const char *args[] = { "-d", url, "-m", e->mig, "up",
				       "--lock-timeout", "3", NULL };

		it_exec(r, e->root, NULL, 0, args);
	}
	ms = it_now_ms() - t0;
	assert_exit(r, 5);
	assert_contains(r->err, "held by");
	assert_not_contains(r->err, "statement timeout");
	assert_true(ms >= 2500);
	assert_int_equal(it_wait(pid, 30000), 0);
	assert_table(e, "slow");
	/* one run of the file, by the holder */
	assert_int_equal(it_ledger_count(e, "version = 1 AND status = 'ok'"),
			 1);
	/* the session's statement_timeout is back once the lock is taken:
	 * a file slower than 1 s fails on it */
	assert_int_equal(it_pair(e, "0002_slower", "SELECT pg_sleep(2);\n",
				 "SELECT 1;\n"), 0);
	{
		const char *args[] = { "-d", url, "-m", e->mig, "up", NULL };

		it_exec(r, e->root, NULL, 0, args);
	}
	assert_exit(r, 1);
	assert_contains(r->err, "statement timeout");
}

/*
 * MariaDB: the lock is GET_LOCK() on a session of its own. KILL that
 * session while the first file runs: the runner notices before the next
 * file and stops with exit 5, instead of going on without the lock.
 */
static void mysql_killed_lock_session_stops_the_run(void **state)
{
	IT_BEGIN;
	static const char *const args[] = { "up", NULL };
	static const char lock_id[] =
		"SELECT IS_USED_LOCK(CONCAT('migrate:', DATABASE(), "
		"'.migrate_ledger'))";
	char *id, sql[64], *err;
	pid_t pid;

	assert_int_equal(it_pair(e, "0001_a",
				 "CREATE TABLE a(x int);\n"
				 "SELECT SLEEP(2);\n",
				 "DROP TABLE a;\n"), 0);
	assert_int_equal(it_pair(e, "0002_b", "CREATE TABLE b(x int);\n",
				 "DROP TABLE b;\n"), 0);
	pid = it_mg_bg(e, "killed", NULL, args);
	assert_true(pid > 0);
	assert_true(wait_for(e, "SELECT count(*) FROM information_schema."
			     "TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
			     "TABLE_NAME = 'a'", 10000));
	id = it_own(st, it_value(e, lock_id));
	assert_non_null(id);
	snprintf(sql, sizeof(sql), "KILL %s", id);
	assert_int_equal(it_sql(e, sql), 0);
	assert_int_equal(it_wait(pid, 30000), 5);
	err = it_own(st, it_bg_output(e, "killed", true));
	assert_contains(err, "lock was lost");
	assert_contains(err, "0002_b");
	assert_table(e, "a");
	assert_no_table(e, "b");
	assert_state(e, 1, "applied");
	assert_state(e, 2, "pending");
}

/* ---- registration ---- */

#define T(body)                                                               \
	cmocka_unit_test_setup_teardown(body, it_setup, it_teardown)

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		T(sqlite_read_only_connection_refuses_writes),
	};
	const struct CMUnitTest postgres_tests[] = {
		T(dry_run_check_that_writes_changes_nothing),
		T(read_only_session_refuses_writes),
		T(pg_statement_timeout_does_not_cut_the_lock_wait),
	};
	const struct CMUnitTest mysql_tests[] = {
		T(dry_run_check_that_writes_changes_nothing),
		T(read_only_session_refuses_writes),
		T(myisam_partial_insert_is_dirty_not_failed),
		T(innodb_failed_insert_is_failed),
		T(mysql_killed_lock_session_stops_the_run),
		T(tls_required_is_refused_without_tls),
		T(tls_spellings_preferred_works_unknown_refused),
		T(tls_required_works_with_tls),
	};
	return IT_RUN_ENGINES("it_trust", sqlite_tests, postgres_tests, mysql_tests);
}
