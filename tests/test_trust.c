/*
 * Unit tests of the runner's parts of issue 8 against the fake driver:
 * a dry run's checks run inside a transaction that is rolled back, and a
 * check that ended that transaction (which no real server lets a
 * one-statement check do today, hence the fake) stops the dry run; a run
 * whose lock was lost stops before the next file. The real servers are
 * proven in it_trust.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_driver.h"
#include "migrator/error.h"
#include "migrator/runner.h"
#include "migrator/source.h"

struct world {
	char dir[64];
	struct fake_db *db;
	struct mg_conn *conn;
	struct mg_source *src;
	struct mg_runner r;
	struct mg_error err;
	size_t nev;
};

static void write_file(struct world *w, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* "SELECT 1 AS ends_txn" ends the transaction, as a COMMIT would */
static int answer(void *ctx, const char *sql, struct mg_rows **out,
                  struct mg_error *err)
{
	struct world *w = ctx;

	(void)err;
	if (strstr(sql, "ends_txn") != NULL)
		w->db->in_txn = false;
	*out = fake_value("1");
	return 0;
}

static void on_event(void *ctx, const struct mg_event *ev)
{
	struct world *w = ctx;

	(void)ev;
	w->nev++;
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	snprintf(w->dir, sizeof(w->dir), "/tmp/mg_dryrun_XXXXXX");
	if (mkdtemp(w->dir) == NULL || (w->db = fake_db_new()) == NULL)
		return -1;
	w->db->answer = answer;
	w->db->ctx = w;
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	char cmd[128];

	if (w->conn != NULL)
		w->conn->drv->close(w->conn);
	mg_source_free(w->src);
	fake_db_free(w->db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
	if (system(cmd) != 0)
		return -1;
	free(w);
	return 0;
}

static void open_world(struct world *w)
{
	struct mg_problems pr = { 0 };

	assert_int_equal(mg_source_load(&w->src, w->dir, &pr, &w->err), 0);
	mg_problems_dispose(&pr);
	assert_non_null(w->conn = fake_connect(w->db));
	w->r.conn = w->conn;
	w->r.src = w->src;
	w->r.table = "migrate_ledger";
	w->r.lock_timeout_s = 1;
	w->r.on_event = on_event;
	w->r.ctx = w;
}

static void two_files(struct world *w, const char *first_check)
{
	char up[256];

	snprintf(up, sizeof(up),
	         "-- check:pre true %s\nCREATE TABLE a(x int);\n", first_check);
	write_file(w, "0001_a.up.sql", up);
	write_file(w, "0001_a.down.sql", "DROP TABLE a;\n");
	write_file(w, "0002_b.up.sql",
	           "-- check:pre true SELECT 1\nCREATE TABLE b(x int);\n");
	write_file(w, "0002_b.down.sql", "DROP TABLE b;\n");
}

static void test_dry_run_checks_each_file_in_a_rolled_back_txn(void **state)
{
	struct world *w = *state;
	struct mg_up_opts o = { .to = -1 };
	const char *p;

	two_files(w, "SELECT 1");
	open_world(w);
	assert_int_equal(mg_run_up(&w->r, &o, true, &w->err), 0);
	assert_int_equal(w->nev, 2);
	/* begin, the check, rollback: twice */
	assert_non_null(p = strstr(w->db->log, "begin\nquery SELECT 1\n"
	                                       "rollback\n"));
	assert_non_null(strstr(p + 1, "begin\nquery SELECT 1\nrollback\n"));
	assert_null(strstr(w->db->log, "exec"));
	assert_false(w->db->in_txn);
}

static void test_dry_run_stops_when_a_check_ends_the_txn(void **state)
{
	struct world *w = *state;
	struct mg_up_opts o = { .to = -1 };

	two_files(w, "SELECT 1 AS ends_txn");
	open_world(w);
	assert_int_equal(mg_run_up(&w->r, &o, true, &w->err), MG_ERR);
	assert_non_null(strstr(w->err.msg, "0001_a.up.sql"));
	assert_non_null(strstr(w->err.msg, "ended the dry run's read-only "
	                                   "transaction"));
	/* the next file's checks never ran */
	assert_int_equal(w->nev, 1);
	assert_null(strstr(w->db->log, "query SELECT 1\n"));
	assert_null(strstr(w->db->log, "exec"));
}

/* the lock is confirmed before each file; lost, the run stops there */
/* the check after the one that ended the transaction never runs */
static void test_dry_run_runs_no_check_after_the_txn_ended(void **state)
{
	struct world *w = *state;
	struct mg_up_opts o = { .to = -1 };

	write_file(w, "0001_a.up.sql",
	           "-- check:pre true SELECT 1 AS ends_txn\n"
	           "-- check:pre true SELECT 2 AS next\n"
	           "CREATE TABLE a(x int);\n");
	write_file(w, "0001_a.down.sql", "DROP TABLE a;\n");
	open_world(w);
	assert_int_equal(mg_run_up(&w->r, &o, true, &w->err), MG_ERR);
	assert_non_null(strstr(w->err.msg, "ended the dry run's read-only "
	                                   "transaction"));
	assert_non_null(strstr(w->db->log, "query SELECT 1 AS ends_txn"));
	assert_null(strstr(w->db->log, "SELECT 2 AS next"));
}

static void test_run_stops_before_a_file_when_the_lock_is_lost(void **state)
{
	struct world *w = *state;
	struct mg_up_opts o = { .to = -1 };

	two_files(w, "SELECT 1");
	open_world(w);
	assert_int_equal(mg_run_up(&w->r, &o, true, &w->err), 0);
	assert_null(strstr(w->db->log, "lock held?")); /* a dry run: none */
	o.to = 1;
	assert_int_equal(mg_run_up(&w->r, &o, false, &w->err), 0);
	assert_non_null(strstr(w->db->log, "lock held?"));
	assert_int_equal(fake_ledger_rows(w->db), 1);
	o.to = -1;
	w->db->lock_lost = true;
	assert_int_equal(mg_run_up(&w->r, &o, false, &w->err), MG_ELOCKED);
	assert_non_null(strstr(w->err.hint, "0002_b.up.sql"));
	/* 0002 never ran */
	assert_int_equal(fake_ledger_rows(w->db), 1);
	assert_null(strstr(w->db->log, "exec CREATE TABLE b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		        test_dry_run_checks_each_file_in_a_rolled_back_txn,
		        setup, teardown),
		cmocka_unit_test_setup_teardown(
		        test_dry_run_stops_when_a_check_ends_the_txn, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(
		        test_dry_run_runs_no_check_after_the_txn_ended, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(
		        test_run_stops_before_a_file_when_the_lock_is_lost,
		        setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
