/*
 * Unit tests of migrator/runner.h against the fake driver: every way a
 * file's run can end (decide() in runner.c, MIGRATING.md "What happens on
 * failure"), including those no server reaches on demand: a failing
 * commit, a ledger row that cannot be written, an undo that does or does
 * not restore. Each test asserts on the returned code, the error's path
 * and line, the ledger rows the fake committed and the calls it saw.
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
#include <sodium.h>

#include "fake_driver.h"
#include "migrator/error.h"
#include "migrator/ledger.h"
#include "migrator/meet.h"
#include "migrator/preview.h"
#include "migrator/runner.h"
#include "migrator/source.h"
#include "rollback/roundtrip.h"

#define MAX_EVENTS 16

struct world {
	char dir[64];
	struct fake_db *db;
	struct mg_conn *conn;
	struct mg_source *src;
	struct mg_runner r;
	struct mg_error err;
	/* what the database holds: the fake's answers read these */
	long users;        /* count(*) FROM users */
	long users_delta;  /* added to users by each script that runs */
	bool undo_restores; /* a script with "undo" in it resets users */
	char tables[8][16]; /* CREATE TABLE x adds x, DROP TABLE x drops */
	size_t ntables;
	/* the events the runner emitted */
	enum mg_outcome status[MAX_EVENTS];
	enum mg_direction dir_of[MAX_EVENTS];
	char ev_err[MAX_EVENTS][1200];
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

static int answer(void *ctx, const char *sql, struct mg_rows **out,
                  struct mg_error *err)
{
	struct world *w = ctx;
	char v[32];

	if (strstr(sql, "nosuch") != NULL) {
		mg_error_set(err, MG_EDRIVER, "relation nosuch does not exist");
		strcpy(err->sqlstate, "42P01");
		err->bad_sql = true; /* as a driver marks it */
		return MG_EDRIVER;
	}
	if (strcmp(sql, "SCHEMA") == 0) {
		const char *row[3] = { "table", NULL, "" };
		size_t i;

		*out = mg_rows_new(3);
		for (i = 0; i < w->ntables; i++) {
			row[1] = w->tables[i];
			mg_rows_add(*out, row, 3);
		}
		return 0;
	}
	if (strstr(sql, "count(*) FROM users") != NULL) {
		snprintf(v, sizeof(v), "%ld", w->users);
		*out = fake_value(v);
		return 0;
	}
	if (strstr(sql, "current_password") != NULL) { /* a leaky check */
		*out = fake_value("fake-s3cret");
		return 0;
	}
	if (strstr(sql, "SELECT 1 WHERE false") != NULL) { /* empty */
		*out = mg_rows_new(1);
		return 0;
	}
	if (strstr(sql, "SELECT 1") != NULL) { /* one row */
		*out = fake_value("1");
		return 0;
	}
	return 1;
}

static void on_exec(void *ctx, const char *sql)
{
	struct world *w = ctx;
	char name[16];
	size_t i;

	if (sscanf(sql, "CREATE TABLE %15[a-z]", name) == 1 &&
	    w->ntables < 8)
		strcpy(w->tables[w->ntables++], name);
	if (sscanf(sql, "DROP TABLE %15[a-z]", name) == 1)
		for (i = 0; i < w->ntables; i++)
			if (strcmp(w->tables[i], name) == 0)
				memmove(w->tables[i], w->tables[--w->ntables],
				        sizeof(w->tables[i]));

	if (w->undo_restores && strstr(sql, "undo") != NULL)
		w->users -= w->users_delta;
	else
		w->users += w->users_delta;
}

static void on_event(void *ctx, const struct mg_event *ev)
{
	struct world *w = ctx;
	char where[600];

	if (w->nev >= MAX_EVENTS)
		return;
	w->status[w->nev] = ev->status;
	w->dir_of[w->nev] = ev->direction;
	if (ev->err != NULL) {
		mg_error_where(where, sizeof(where), ev->err);
		snprintf(w->ev_err[w->nev], sizeof(w->ev_err[0]), "%s%s",
		         where, ev->err->msg);
	}
	w->nev++;
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	snprintf(w->dir, sizeof(w->dir), "/tmp/mg_runner_XXXXXX");
	if (mkdtemp(w->dir) == NULL || (w->db = fake_db_new()) == NULL)
		return -1;
	w->db->answer = answer;
	w->db->on_exec = on_exec;
	w->db->ctx = w;
	w->users = 10;
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

/* Loads the directory and connects; call after writing the files and
 * setting db->drv.caps. */
static void open_world(struct world *w)
{
	struct mg_problems pr = { 0 };

	assert_int_equal(mg_source_load(&w->src, w->dir, &pr, &w->err), 0);
	mg_problems_dispose(&pr);
	assert_non_null(w->conn = fake_connect(w->db));
	w->r.conn = w->conn;
	w->r.src = w->src;
	w->r.table = "migrate_ledger";
	w->r.os_user = "tester";
	w->r.host = "box";
	w->r.lock_timeout_s = 1;
	w->r.on_event = on_event;
	w->r.ctx = w;
}

static int up(struct world *w)
{
	struct mg_up_opts o = { .to = -1 };

	mg_error_clear(&w->err);
	return mg_run_up(&w->r, &o, false, &w->err);
}

static const char *ledger(struct world *w, size_t i, enum mg_lf f)
{
	return fake_ledger_get(w->db, i, f);
}

/* Like MySQL: DDL commits, so files run statement by statement. */
static void no_txn_ddl(struct world *w)
{
	w->db->drv.caps &= ~MG_CAP_TXN_DDL;
}

static void two_files(struct world *w)
{
	write_file(w, "0001_a.up.sql", "CREATE TABLE a (x int);\n");
	write_file(w, "0001_a.down.sql", "DROP TABLE a;\n");
	write_file(w, "0002_b.up.sql", "CREATE TABLE b (x int);\n");
	write_file(w, "0002_b.down.sql", "DROP TABLE b;\n");
}

static void test_up_applies_each_file_with_its_row(void **state)
{
	struct world *w = *state;

	two_files(w);
	open_world(w);
	assert_int_equal(up(w), 0);
	assert_int_equal(w->r.applied, 2);
	assert_int_equal(fake_ledger_rows(w->db), 2);
	assert_string_equal(ledger(w, 0, MG_LF_VERSION), "1");
	assert_string_equal(ledger(w, 0, MG_LF_STATUS), "ok");
	assert_string_equal(ledger(w, 1, MG_LF_VERSION), "2");
	assert_string_equal(ledger(w, 1, MG_LF_DIRECTION), "up");
	assert_string_equal(ledger(w, 1, MG_LF_PREV_HASH),
	                    ledger(w, 0, MG_LF_ENTRY_HASH));
	assert_string_equal(ledger(w, 1, MG_LF_DB_USER), "fake_user");
	/* each file and its row in one transaction, under the lock; the
	 * ledger's tail read again before the row (a job may have
	 * appended meanwhile, issue 11) */
	assert_non_null(strstr(w->db->log,
	                       "begin\nexec CREATE TABLE a (x int);\n"
	                       "ledger select\n"
	                       "ledger insert 1 up ok\ncommit\n"));
	assert_non_null(strstr(w->db->log, "lock migrate:migrate_ledger"));
	assert_non_null(strstr(w->db->log, "unlock migrate:migrate_ledger"));
	assert_int_equal(w->nev, 2);
	assert_int_equal(w->status[1], MG_OUTCOME_OK);
	/* nothing left to do the second time */
	assert_int_equal(up(w), 0);
	assert_int_equal(fake_ledger_rows(w->db), 2);
}

static void test_sql_error_in_a_transaction_is_failed(void **state)
{
	struct world *w = *state;

	two_files(w);
	w->db->fail_at[FAKE_EXEC] = 2;
	w->db->fail_line = 1;
	strcpy(w->db->fail_sqlstate, "42P07");
	open_world(w);
	assert_int_equal(up(w), MG_EDRIVER);
	assert_string_equal(w->err.sqlstate, "42P07");
	assert_string_equal(w->err.msg, "fake: statement failed");
	assert_non_null(strstr(w->err.path, "0002_b.up.sql"));
	assert_int_equal(w->err.line, 1);
	assert_int_equal(fake_ledger_rows(w->db), 2);
	assert_string_equal(ledger(w, 1, MG_LF_STATUS), "failed");
	/* the ledger's error text says where, as editors read it */
	assert_non_null(strstr(ledger(w, 1, MG_LF_ERROR),
	                       "0002_b.up.sql:1: fake: statement failed"));
	assert_int_equal(w->status[1], MG_OUTCOME_FAILED);
	assert_non_null(strstr(w->ev_err[1], "0002_b.up.sql:1: fake:"));
	/* the file's transaction was rolled back, the row has its own */
	assert_non_null(strstr(w->db->log, "exec CREATE TABLE b (x int);\n"
	                                   "rollback\nbegin\n"
	                                   "ledger select\n"
	                                   "ledger insert 2 up failed\n"
	                                   "commit\n"));
}

static void test_sql_error_after_commits_is_dirty(void **state)
{
	struct world *w = *state;

	no_txn_ddl(w);
	two_files(w);
	w->db->fail_at[FAKE_EXEC] = 1;
	w->db->fail_line = 3;
	w->db->fail_done = 2;
	w->db->fail_committed = 2;
	w->db->fail_total = 5;
	open_world(w);
	assert_int_equal(up(w), MG_EDRIVER);
	/* the dirty marker first, then the outcome */
	assert_int_equal(fake_ledger_rows(w->db), 2);
	assert_string_equal(ledger(w, 0, MG_LF_STATUS), "dirty");
	assert_non_null(strstr(ledger(w, 0, MG_LF_ERROR), "interrupted"));
	assert_string_equal(ledger(w, 1, MG_LF_STATUS), "dirty");
	assert_non_null(strstr(ledger(w, 1, MG_LF_ERROR),
	                       "statements completed: 2 of 5"));
	assert_int_equal(w->status[0], MG_OUTCOME_DIRTY);
	/* a dirty version blocks the next run */
	assert_int_equal(up(w), MG_ERR);
	assert_int_equal(fake_ledger_rows(w->db), 2);
}

static void test_sql_error_before_any_commit_is_failed(void **state)
{
	struct world *w = *state;

	no_txn_ddl(w);
	two_files(w);
	w->db->fail_at[FAKE_EXEC] = 1;
	w->db->fail_total = 3;
	open_world(w);
	assert_int_equal(up(w), MG_EDRIVER);
	assert_string_equal(ledger(w, 1, MG_LF_STATUS), "failed");
	assert_int_equal(w->status[0], MG_OUTCOME_FAILED);
	/* failed is retryable */
	assert_int_equal(up(w), 0);
	assert_int_equal(w->r.applied, 2);
}

static void test_failed_commit_records_failed(void **state)
{
	struct world *w = *state;

	two_files(w);
	/* commits: the ledger's creation, then file 1 with its row */
	w->db->fail_at[FAKE_COMMIT] = 2;
	open_world(w);
	assert_int_equal(up(w), MG_EDRIVER);
	assert_non_null(strstr(w->err.path, "0001_a.up.sql"));
	assert_int_equal(w->err.line, 0);
	assert_int_equal(fake_ledger_rows(w->db), 1);
	assert_string_equal(ledger(w, 0, MG_LF_STATUS), "failed");
	assert_non_null(strstr(ledger(w, 0, MG_LF_ERROR),
	                       "0001_a.up.sql: fake: commit failed"));
	assert_int_equal(w->status[0], MG_OUTCOME_FAILED);
	assert_int_equal(w->r.applied, 0);
}

static void test_unwritten_ok_row_outside_a_transaction_is_dirty(void **s)
{
	struct world *w = *s;

	no_txn_ddl(w);
	two_files(w);
	/* the dirty marker is written, the ok row is not */
	w->db->fail_at[FAKE_LEDGER_WRITE] = 2;
	open_world(w);
	assert_int_equal(up(w), MG_EDRIVER);
	assert_non_null(strstr(w->err.msg, "ran, but its ledger row could "
	                                   "not be written"));
	assert_int_equal(fake_ledger_rows(w->db), 1);
	assert_string_equal(ledger(w, 0, MG_LF_STATUS), "dirty");
	assert_int_equal(w->status[0], MG_OUTCOME_DIRTY);
}

static void test_unwritten_failure_row_keeps_both_errors(void **state)
{
	struct world *w = *state;

	two_files(w);
	w->db->fail_at[FAKE_EXEC] = 1;
	w->db->fail_at[FAKE_LEDGER_WRITE] = 1;
	open_world(w);
	assert_int_equal(up(w), MG_EDRIVER);
	assert_string_equal(w->err.msg, "fake: statement failed");
	assert_non_null(strstr(w->err.detail, "and its ledger row could not "
	                                      "be written: fake: ledger "
	                                      "insert failed"));
	assert_int_equal(fake_ledger_rows(w->db), 0);
}

static void test_failed_pre_check_runs_nothing(void **state)
{
	struct world *w = *state;

	write_file(w, "0001_a.up.sql",
	           "-- check:pre empty SELECT 1\nDELETE FROM users;\n");
	write_file(w, "0001_a.down.sql", "SELECT 1;\n");
	open_world(w);
	assert_int_equal(up(w), MG_ECHECK);
	assert_int_equal(w->err.line, 1);
	assert_non_null(strstr(w->err.msg, "check failed: empty (pre)"));
	assert_null(strstr(w->db->log, "exec"));
	assert_string_equal(ledger(w, 0, MG_LF_STATUS), "rolled_back");
	assert_non_null(strstr(ledger(w, 0, MG_LF_CHECKS), "\"failed\""));
}

static void test_failed_post_check_rolls_back(void **state)
{
	struct world *w = *state;

	write_file(w, "0001_a.up.sql",
	           "-- check: rows users unchanged\nDELETE FROM users;\n");
	write_file(w, "0001_a.down.sql", "SELECT 1;\n");
	w->users_delta = -3;
	open_world(w);
	assert_int_equal(up(w), MG_ECHECK);
	assert_int_equal(w->err.line, 1);
	assert_non_null(strstr(w->err.detail, "rolled back"));
	assert_string_equal(ledger(w, 0, MG_LF_STATUS), "rolled_back");
	assert_non_null(strstr(ledger(w, 0, MG_LF_CHECKS),
	                       "\"before\":\"10\",\"after\":\"7\""));
	assert_int_equal(w->status[0], MG_OUTCOME_ROLLED_BACK);
}

static void undo_case(struct world *w, bool restores, bool down_file)
{
	no_txn_ddl(w);
	write_file(w, "0001_a.up.sql",
	           "-- check: rows users unchanged\nDELETE FROM users;\n");
	if (down_file)
		write_file(w, "0001_a.down.sql", "-- undo\nSELECT 1;\n");
	else
		write_file(w, "0001_a.up.sql",
		           "-- migrate:irreversible\n"
		           "-- check: rows users unchanged\n"
		           "DELETE FROM users;\n");
	w->users_delta = -3;
	w->undo_restores = restores;
	open_world(w);
}

static void test_undo_that_restores_is_rolled_back(void **state)
{
	struct world *w = *state;

	undo_case(w, true, true);
	assert_int_equal(up(w), MG_ECHECK);
	assert_non_null(strstr(w->err.detail, "every before value was "
	                                      "restored (1 checked value "
	                                      "came back; changes to anything "
	                                      "the checks do not cover are "
	                                      "not verified)"));
	assert_non_null(strstr(w->db->log, "exec (no txn) -- undo"));
	assert_string_equal(ledger(w, 1, MG_LF_STATUS), "rolled_back");
	assert_non_null(strstr(ledger(w, 1, MG_LF_CHECKS),
	                       "\"after_undo\":\"10\""));
}

static void test_undo_that_does_not_restore_is_dirty(void **state)
{
	struct world *w = *state;

	undo_case(w, false, true);
	/* not "rolled back, exit 3": a state to repair */
	assert_int_equal(up(w), MG_ERR);
	assert_non_null(strstr(w->err.detail, "the state differs"));
	assert_string_equal(ledger(w, 1, MG_LF_STATUS), "dirty");
	assert_int_equal(w->status[0], MG_OUTCOME_DIRTY);
}

static void test_no_down_file_to_undo_is_dirty(void **state)
{
	struct world *w = *state;

	undo_case(w, true, false);
	assert_int_equal(up(w), MG_ERR);
	assert_non_null(strstr(w->err.detail, "no down file to undo it"));
	assert_string_equal(ledger(w, 1, MG_LF_STATUS), "dirty");
}

static void test_unreadable_after_value(void **state)
{
	struct world *w = *state;

	write_file(w, "0001_a.up.sql",
	           "-- check: rows users unchanged\nDELETE FROM users;\n");
	write_file(w, "0001_a.down.sql", "SELECT 1;\n");
	/* queries: the before count, then the after count, which the
	 * server fails (as a lost connection): no verdict, exit 1 */
	w->db->fail_at[FAKE_QUERY] = 2;
	open_world(w);
	assert_int_equal(up(w), MG_EDRIVER);
	assert_non_null(strstr(w->err.msg, "could not run"));
	assert_string_equal(ledger(w, 0, MG_LF_STATUS), "failed");
	assert_non_null(strstr(ledger(w, 0, MG_LF_CHECKS), "\"error\""));
}

/* Without a transaction the file stays: dirty, not "rolled back". */
static void test_unreadable_after_value_outside_a_transaction(void **s)
{
	struct world *w = *s;

	no_txn_ddl(w);
	write_file(w, "0001_a.up.sql",
	           "-- check: rows users unchanged\nDELETE FROM users;\n");
	write_file(w, "0001_a.down.sql", "SELECT 1;\n");
	w->db->fail_at[FAKE_QUERY] = 2;
	open_world(w);
	assert_int_equal(up(w), MG_EDRIVER);
	assert_string_equal(ledger(w, 1, MG_LF_STATUS), "dirty");
}

/* A failed check undone, but its rolled_back row lost with the
 * connection: the dirty marker is the last word, so no exit 3. */
static void test_undo_whose_row_is_lost_is_dirty(void **state)
{
	struct world *w = *state;

	undo_case(w, true, true);
	/* ledger writes: the ledger's marker, then the outcome */
	w->db->fail_at[FAKE_LEDGER_WRITE] = 2;
	assert_int_equal(up(w), MG_ERR);
	assert_int_equal(fake_ledger_rows(w->db), 1);
	assert_string_equal(ledger(w, 0, MG_LF_STATUS), "dirty");
	assert_int_equal(w->status[0], MG_OUTCOME_DIRTY);
	assert_non_null(strstr(w->err.detail, "ledger row could not be "
	                                      "written"));
}

static void test_check_that_cannot_run_is_the_files_fault(void **state)
{
	struct world *w = *state;

	write_file(w, "0001_a.up.sql",
	           "CREATE TABLE a (x int);\n-- check: rows nosuch unchanged\n");
	write_file(w, "0001_a.down.sql", "DROP TABLE a;\n");
	open_world(w);
	assert_int_equal(up(w), MG_EINVALID);
	assert_non_null(strstr(w->err.msg, "check 'check: rows nosuch "
	                                   "unchanged' cannot run"));
	assert_non_null(strstr(w->err.path, "0001_a.up.sql"));
	assert_int_equal(w->err.line, 2);
	assert_null(strstr(w->db->log, "exec"));
	assert_string_equal(ledger(w, 0, MG_LF_STATUS), "failed");
}

static void test_lock_not_taken_runs_nothing(void **state)
{
	struct world *w = *state;

	two_files(w);
	w->db->fail_at[FAKE_LOCK] = 1;
	open_world(w);
	assert_int_equal(up(w), MG_ELOCKED);
	assert_int_equal(fake_ledger_rows(w->db), 0);
	assert_null(strstr(w->db->log, "exec"));
}

static void test_dry_run_writes_nothing(void **state)
{
	struct world *w = *state;
	struct mg_up_opts o = { .to = -1 };

	two_files(w);
	open_world(w);
	assert_int_equal(mg_run_up(&w->r, &o, true, &w->err), 0);
	assert_int_equal(w->nev, 2);
	assert_int_equal(w->status[0], MG_OUTCOME_PLANNED);
	assert_null(strstr(w->db->log, "exec"));
	assert_null(strstr(w->db->log, "insert"));
	assert_false(w->db->table_exists);
}

static void test_down_one_step_then_up_again(void **state)
{
	struct world *w = *state;
	struct mg_down_opts d = { .to = -1 };

	two_files(w);
	open_world(w);
	assert_int_equal(up(w), 0);
	assert_int_equal(mg_run_down(&w->r, &d, false, &w->err), 0);
	assert_int_equal(fake_ledger_rows(w->db), 3);
	assert_string_equal(ledger(w, 2, MG_LF_VERSION), "2");
	assert_string_equal(ledger(w, 2, MG_LF_DIRECTION), "down");
	assert_non_null(strstr(w->db->log, "exec DROP TABLE b;"));
	assert_int_equal(up(w), 0);
	assert_int_equal(w->r.applied, 1);
}

static void test_changed_down_file_is_refused_unless_allowed(void **state)
{
	struct world *w = *state;
	struct mg_down_opts d = { .to = -1 };

	two_files(w);
	open_world(w);
	assert_int_equal(up(w), 0);
	mg_source_free(w->src);
	w->src = NULL;
	write_file(w, "0002_b.down.sql", "DROP TABLE b; -- and more\n");
	{
		struct mg_problems pr = { 0 };

		assert_int_equal(
		        mg_source_load(&w->src, w->dir, &pr, &w->err), 0);
		mg_problems_dispose(&pr);
		w->r.src = w->src;
	}
	assert_int_equal(mg_run_down(&w->r, &d, false, &w->err),
	                 MG_ECHECKSUM);
	assert_non_null(strstr(w->err.msg, "0002_b.down.sql changed since "
	                                   "2_b was applied"));
	assert_non_null(strstr(w->err.detail, "recorded down checksum"));
	assert_null(strstr(w->db->log, "exec DROP TABLE b"));
	assert_int_equal(fake_ledger_rows(w->db), 2);
	d.allow_changed_down = true;
	assert_int_equal(mg_run_down(&w->r, &d, false, &w->err), 0);
	assert_string_equal(ledger(w, 2, MG_LF_DIRECTION), "down");
	assert_non_null(strstr(ledger(w, 2, MG_LF_REASON),
	                       "--allow-changed-down: "));
	assert_non_null(strstr(ledger(w, 2, MG_LF_REASON), "changed since"));
	assert_null(ledger(w, 1, MG_LF_REASON));
}

/* What the ledger keeps never holds the connection's password, even when
 * a check's value or a reason quotes it. */
static void test_ledger_rows_never_hold_the_password(void **state)
{
	struct world *w = *state;
	size_t i;
	int f;

	write_file(w, "0001_a.up.sql",
	           "-- check:pre true SELECT current_password\nSELECT 1;\n");
	write_file(w, "0001_a.down.sql", "SELECT 1;\n");
	open_world(w);
	w->r.reason = "deployed with fake-s3cret by mistake";
	assert_int_equal(up(w), MG_ECHECK);
	assert_true(fake_ledger_rows(w->db) > 0);
	for (i = 0; i < fake_ledger_rows(w->db); i++)
		for (f = 0; f < MG_LF_COUNT; f++)
			if (ledger(w, i, f) != NULL &&
			    strstr(ledger(w, i, f), "fake-s3cret") != NULL)
				fail_msg("row %zu, %s: %s", i,
				         mg_ledger_field_name(f),
				         ledger(w, i, f));
	assert_non_null(strstr(ledger(w, 0, MG_LF_CHECKS), "\"***\""));
	assert_string_equal(ledger(w, 0, MG_LF_REASON),
	                    "deployed with *** by mistake");
}

static void test_baseline_and_repair(void **state)
{
	struct world *w = *state;

	no_txn_ddl(w);
	two_files(w);
	w->db->fail_at[FAKE_EXEC] = 1;
	w->db->fail_committed = 1;
	open_world(w);
	/* baseline 1 without running it, then 2 goes dirty */
	assert_int_equal(mg_run_baseline(&w->r, 1, "adopted", &w->err), 0);
	assert_string_equal(ledger(w, 0, MG_LF_DIRECTION), "baseline");
	assert_string_equal(ledger(w, 0, MG_LF_REASON), "adopted");
	assert_int_equal(up(w), MG_EDRIVER);
	/* only a failed or dirty version can be repaired */
	assert_int_equal(mg_run_repair(&w->r, 1, "x", false, &w->err),
	                 MG_EINVALID);
	assert_int_equal(mg_run_repair(&w->r, 2, "fixed by hand", true,
	                               &w->err),
	                 0);
	assert_int_equal(fake_ledger_rows(w->db), 5);
	assert_string_equal(ledger(w, 3, MG_LF_DIRECTION), "repair");
	assert_string_equal(ledger(w, 4, MG_LF_DIRECTION), "baseline");
	assert_int_equal(up(w), 0);
	assert_int_equal(w->r.applied, 0);
}

static void test_roundtrip_proves_each_down_file(void **state)
{
	struct world *w = *state;
	struct mg_up_opts o = { .to = -1 };

	two_files(w);
	open_world(w);
	assert_int_equal(mg_roundtrip_run(&w->r, &o, &w->err), 0);
	assert_int_equal(w->r.applied, 2);
	/* up, down, up for each; the round trip's verdict between */
	assert_int_equal(w->nev, 8);
	assert_int_equal(w->dir_of[2], MG_DIR_ROUNDTRIP);
	assert_int_equal(w->status[2], MG_OUTCOME_OK);
	assert_int_equal(fake_ledger_rows(w->db), 6);
	assert_string_equal(ledger(w, 5, MG_LF_DIRECTION), "up");
	assert_int_equal(w->ntables, 2);
}

static void test_roundtrip_names_what_a_down_file_leaves(void **state)
{
	struct world *w = *state;
	struct mg_up_opts o = { .to = -1 };

	two_files(w);
	write_file(w, "0002_b.down.sql", "SELECT 1;\n");
	open_world(w);
	assert_int_equal(mg_roundtrip_run(&w->r, &o, &w->err), MG_ECHECKSUM);
	assert_non_null(strstr(w->err.msg, "0002_b.down.sql does not undo"));
	assert_string_equal(w->err.detail, "+ table b: ");
	assert_non_null(strstr(w->err.hint, "as it was found"));
	assert_int_equal(w->r.applied, 1);
	assert_int_equal(w->status[w->nev - 1], MG_OUTCOME_FAILED);
	/* 1 proven: up, down, up; 2's up and down were rolled back */
	assert_int_equal(fake_ledger_rows(w->db), 3);
	assert_non_null(strstr(w->db->log, "exec SELECT 1;\n"
	                                   "ledger insert 2 down ok\n"
	                                   "query SCHEMA\nrollback\n"));
	/* and the next try starts from a clean state */
	write_file(w, "0002_b.down.sql", "DROP TABLE b;\n");
	mg_source_free(w->src);
	w->src = NULL;
	w->ntables = 1; /* what the rollback undid in a real database */
	{
		struct mg_problems pr = { 0 };

		assert_int_equal(
		        mg_source_load(&w->src, w->dir, &pr, &w->err), 0);
		mg_problems_dispose(&pr);
		w->r.src = w->src;
	}
	assert_int_equal(mg_roundtrip_run(&w->r, &o, &w->err), 0);
	assert_int_equal(fake_ledger_rows(w->db), 6);
}

static void test_roundtrip_without_transactions_marks_dirty(void **state)
{
	struct world *w = *state;
	struct mg_up_opts o = { .to = -1 };

	no_txn_ddl(w);
	two_files(w);
	write_file(w, "0002_b.down.sql", "SELECT 1;\n");
	open_world(w);
	assert_int_equal(mg_roundtrip_run(&w->r, &o, &w->err), MG_ECHECKSUM);
	assert_non_null(strstr(w->err.hint, "dirty until 'migrate repair'"));
	/* 1: 3 files with a marker each; 2: up and down, then the verdict */
	assert_int_equal(fake_ledger_rows(w->db), 11);
	assert_string_equal(ledger(w, 10, MG_LF_VERSION), "2");
	assert_string_equal(ledger(w, 10, MG_LF_STATUS), "dirty");
	assert_non_null(strstr(ledger(w, 10, MG_LF_ERROR),
	                       "migrate test: "));
	assert_non_null(strstr(ledger(w, 10, MG_LF_ERROR), "+ table b"));
	assert_int_equal(up(w), MG_ERR); /* dirty blocks */
}

/* Issue 12: the run lock's holder as a driver names it. */
static int holder_pid(char *who, size_t size, long pid)
{
	snprintf(who, size, "migrate pid=%ld host=box since=x", pid);
	return 1;
}

static int holder_other(struct mg_conn *conn, const char *name, int64_t key,
                        char *who, size_t size)
{
	(void)conn;
	(void)name;
	(void)key;
	return holder_pid(who, size, 4242);
}

static int holder_me(struct mg_conn *conn, const char *name, int64_t key,
                     char *who, size_t size)
{
	(void)conn;
	(void)name;
	(void)key;
	return holder_pid(who, size, (long)getpid());
}

static int holder_none(struct mg_conn *conn, const char *name, int64_t key,
                       char *who, size_t size)
{
	(void)conn;
	(void)name;
	(void)key;
	(void)size;
	who[0] = '\0';
	return 0;
}

/* Issue 12: a ledger insert that another runner's row beat (duplicate id)
 * is "another migrate run is active", exit 5, naming it; the file's
 * transaction is rolled back and no 'failed' row is written. */
static void test_ledger_conflict_is_another_runner(void **state)
{
	struct world *w = *state;

	two_files(w);
	w->db->fail_at[FAKE_LEDGER_WRITE] = 1;
	w->db->fail_by_other = true;
	strcpy(w->db->fail_sqlstate, "23505");
	w->db->drv.lock_holder = holder_other;
	open_world(w);
	assert_int_equal(up(w), MG_ELOCKED);
	assert_non_null(strstr(w->err.msg, "another migrate run is active"));
	assert_non_null(strstr(w->err.detail, "pid=4242"));
	/* the other runner's row only; none of ours */
	assert_int_equal(fake_ledger_rows(w->db), 1);
	assert_string_equal(ledger(w, 0, MG_LF_HOST), "other");
}

/* A duplicate at COMMIT with no row of another runner behind it is the
 * file's own (a deferred unique constraint): failed, exit 1. */
static void test_duplicate_of_the_files_own_is_failed(void **state)
{
	struct world *w = *state;

	two_files(w);
	w->db->fail_at[FAKE_LEDGER_WRITE] = 1;
	strcpy(w->db->fail_sqlstate, "23505");
	open_world(w);
	assert_int_equal(up(w), MG_EDRIVER);
	assert_null(strstr(w->err.msg, "another migrate run"));
	assert_int_equal(fake_ledger_rows(w->db), 1);
	assert_string_equal(ledger(w, 0, MG_LF_STATUS), "failed");
}

/* Outside a transaction (MySQL), where a ledger row is alone in its
 * transaction, a row that lost its id to another run's (a deadlock, as
 * on Galera, where the append lock holds per node: issue 11) is appended
 * again after it: the file's outcome is recorded, nothing left dirty. */
static void test_ledger_deadlock_outside_a_transaction(void **state)
{
	struct world *w = *state;
	char want[64];

	no_txn_ddl(w);
	two_files(w);
	w->db->fail_at[FAKE_LEDGER_WRITE] = 2;
	w->db->fail_by_other = true;
	strcpy(w->db->fail_sqlstate, "40001");
	open_world(w);
	assert_int_equal(up(w), 0);
	/* marker, the other's, then the outcome again; file 2's pair */
	assert_int_equal(fake_ledger_rows(w->db), 5);
	assert_string_equal(ledger(w, 0, MG_LF_STATUS), "dirty");
	snprintf(want, sizeof(want), "by pid %ld on host box", (long)getpid());
	assert_non_null(strstr(ledger(w, 0, MG_LF_ERROR), want));
	assert_string_equal(ledger(w, 1, MG_LF_HOST), "other");
	assert_string_equal(ledger(w, 2, MG_LF_STATUS), "ok");
	assert_string_equal(ledger(w, 2, MG_LF_VERSION), "1");
	assert_string_equal(ledger(w, 4, MG_LF_STATUS), "ok");
	assert_string_equal(ledger(w, 4, MG_LF_VERSION), "2");
}

/* Other failures of a ledger insert stay what they were (exit 1). */
static void test_other_ledger_failure_is_not_a_runner(void **state)
{
	struct world *w = *state;

	two_files(w);
	w->db->fail_at[FAKE_LEDGER_WRITE] = 1;
	strcpy(w->db->fail_sqlstate, "53100"); /* disk full */
	open_world(w);
	assert_int_not_equal(up(w), MG_ELOCKED);
	assert_null(strstr(w->err.msg, "another migrate run"));
}

/* `status`: a dirty marker is "in progress" only while its own runner
 * holds the lock. */
static void test_in_progress_only_while_its_runner_holds(void **state)
{
	struct world *w = *state;
	struct mg_ledger_row row;
	char text[256], out[300];

	open_world(w);
	memset(&row, 0, sizeof(row));
	mg_meet_marker(text, sizeof(text), "box");
	mg_ledger_row_set(&row, MG_LF_STATUS, "dirty");
	mg_ledger_row_set(&row, MG_LF_ERROR, text);
	mg_ledger_row_set(&row, MG_LF_HOST, "box");
	mg_ledger_row_set(&row, MG_LF_STARTED_AT, "2026-01-31T12:00:00Z");
	w->db->drv.lock_holder = holder_me;
	assert_true(mg_meet_in_progress(out, sizeof(out), w->conn,
	                                "migrate_ledger", &row));
	snprintf(text, sizeof(text),
	         "in progress by pid %ld on host box since "
	         "2026-01-31T12:00:00Z",
	         (long)getpid());
	assert_string_equal(out, text);
	w->db->drv.lock_holder = holder_other; /* another runner now */
	assert_false(mg_meet_in_progress(out, sizeof(out), w->conn,
	                                 "migrate_ledger", &row));
	mg_ledger_row_set(&row, MG_LF_HOST, "elsewhere"); /* same pid */
	w->db->drv.lock_holder = holder_me;
	assert_false(mg_meet_in_progress(out, sizeof(out), w->conn,
	                                 "migrate_ledger", &row));
	mg_ledger_row_set(&row, MG_LF_HOST, "box");
	w->db->drv.lock_holder = holder_none; /* nobody: it died */
	assert_false(mg_meet_in_progress(out, sizeof(out), w->conn,
	                                 "migrate_ledger", &row));
	w->db->drv.lock_holder = holder_me; /* a failed row is no marker */
	mg_ledger_row_set(&row, MG_LF_ERROR, "boom");
	assert_false(mg_meet_in_progress(out, sizeof(out), w->conn,
	                                 "migrate_ledger", &row));
	mg_ledger_row_dispose(&row);
}

/* ---- evidence, preview (issue 10) ---- */

struct heard {
	unsigned starts, dones;
};

static void heard_start(void *ctx, unsigned line)
{
	(void)line;
	((struct heard *)ctx)->starts++;
}

static void heard_done(void *ctx, const struct mg_stmt_stat *st)
{
	(void)st;
	((struct heard *)ctx)->dones++;
}

static void test_statements_reach_the_row_and_the_hooks(void **state)
{
	struct world *w = *state;
	struct heard h = { 0 };
	struct mg_script_hooks hooks = { heard_start, heard_done, &h };

	two_files(w);
	open_world(w);
	w->r.hooks = &hooks;
	w->r.plan_hash = "feedc0de";
	w->r.plan_file = "plan.md";
	assert_int_equal(up(w), 0);
	/* the progress hooks hear of every statement too */
	assert_int_equal(h.starts, 2);
	assert_int_equal(h.dones, 2);
	assert_non_null(strstr(ledger(w, 0, MG_LF_CHECKS),
	                       "{\"kind\":\"statement\",\"line\":1,"
	                       "\"tag\":\"FAKE\",\"rows\":null,\"ms\":"));
	assert_non_null(strstr(ledger(w, 1, MG_LF_CHECKS),
	                       "{\"kind\":\"plan\",\"hash\":\"feedc0de\","
	                       "\"file\":\"plan.md\"}"));
}

static void test_preview_rolls_back_and_writes_no_row(void **state)
{
	struct world *w = *state;
	struct mg_up_opts o = { .to = -1 };

	two_files(w);
	open_world(w);
	assert_int_equal(mg_run_preview(&w->r, &o, &w->err), 0);
	assert_int_equal(w->r.applied, 2);
	assert_int_equal(fake_ledger_rows(w->db), 0);
	/* both files in one transaction, rolled back, never committed */
	assert_non_null(strstr(w->db->log,
	                       "begin\nexec CREATE TABLE a (x int);\n"
	                       "exec CREATE TABLE b (x int);\nrollback\n"));
	/* (only the ledger table's creation was committed, before) */
	assert_null(strstr(strstr(w->db->log, "exec CREATE TABLE a"),
	                   "commit"));
	assert_int_equal(w->nev, 2);
}

static void test_preview_refused_where_ddl_commits(void **state)
{
	struct world *w = *state;
	struct mg_up_opts o = { .to = -1 };

	two_files(w);
	no_txn_ddl(w);
	open_world(w);
	assert_int_equal(mg_run_preview(&w->r, &o, &w->err), MG_EINVALID);
	assert_null(strstr(w->db->log, "exec"));
	assert_int_equal(fake_ledger_rows(w->db), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_up_applies_each_file_with_its_row),
		T(test_statements_reach_the_row_and_the_hooks),
		T(test_preview_rolls_back_and_writes_no_row),
		T(test_preview_refused_where_ddl_commits),
		T(test_sql_error_in_a_transaction_is_failed),
		T(test_sql_error_after_commits_is_dirty),
		T(test_sql_error_before_any_commit_is_failed),
		T(test_failed_commit_records_failed),
		T(test_unwritten_ok_row_outside_a_transaction_is_dirty),
		T(test_unwritten_failure_row_keeps_both_errors),
		T(test_failed_pre_check_runs_nothing),
		T(test_failed_post_check_rolls_back),
		T(test_undo_that_restores_is_rolled_back),
		T(test_undo_that_does_not_restore_is_dirty),
		T(test_no_down_file_to_undo_is_dirty),
		T(test_unreadable_after_value),
		T(test_unreadable_after_value_outside_a_transaction),
		T(test_undo_whose_row_is_lost_is_dirty),
		T(test_check_that_cannot_run_is_the_files_fault),
		T(test_lock_not_taken_runs_nothing),
		T(test_dry_run_writes_nothing),
		T(test_down_one_step_then_up_again),
		T(test_changed_down_file_is_refused_unless_allowed),
		T(test_ledger_rows_never_hold_the_password),
		T(test_baseline_and_repair),
		T(test_roundtrip_proves_each_down_file),
		T(test_roundtrip_names_what_a_down_file_leaves),
		T(test_roundtrip_without_transactions_marks_dirty),
		T(test_ledger_conflict_is_another_runner),
		T(test_duplicate_of_the_files_own_is_failed),
		T(test_ledger_deadlock_outside_a_transaction),
		T(test_other_ledger_failure_is_not_a_runner),
		T(test_in_progress_only_while_its_runner_holds),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
