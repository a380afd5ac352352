/*
 * The in-process half of the fault campaign (issue 9; tests/faults/ is
 * the half against real servers): with the fake driver, fail the Nth
 * exec, query, ledger write, commit, begin or lock, in every position a
 * run reaches, with and without transactional DDL, and check after each
 * the invariants that do not trust migrate's own word:
 *
 *  - the ledger's committed rows form an unbroken hash chain;
 *  - each file's effect is committed at most once, and where DDL rolls
 *    back, exactly when the ledger says the version is applied; without
 *    it, an effect the ledger does not call applied is marked dirty;
 *  - the code returned is one the contract knows, and 0 only when every
 *    version is applied;
 *  - a rerun without the fault (after repair where a version is dirty)
 *    ends with every version applied exactly once, and the chain intact.
 *
 * What came since, swept the same way: the run lock's lease lost (the
 * Nth lock_held() failing; with the Galera guard, every later COMMIT
 * failing as mysql.c's does) and a COMMIT that finds the lease taken
 * over (exit 5, nothing kept, no ledger row after the loss); the ledger's
 * append lock and a job's lock failing; a backup's copy statement and
 * everything around it failing (a backup exists, where DDL rolls back,
 * exactly when its version is applied, and its version's event names
 * it); a job's batches failing in every position (each committed batch's
 * rows are in exactly one ok event); a retry after a lock wait that
 * timed out failing in turn, and no retry once something committed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "fake_driver.h"
#include "migrator/error.h"
#include "migrator/job.h"
#include "migrator/ledger.h"
#include "migrator/plan.h"
#include "migrator/runner.h"
#include "migrator/source.h"
#include "rollback/roundtrip.h"

#define NFILES 3

struct world {
	char dir[64];
	struct fake_db *db;
	struct mg_conn *conn;
	struct mg_source *src;
	struct mg_runner r;
	/* how often each file's effect ran: pending in the open
	 * transaction, and committed */
	int pending[NFILES + 1], committed[NFILES + 1];
	/* file 2's backup table (a world with a backup), the same way */
	int bk_pending, bk_committed;
	/* a world with a job: rows its batches marked done */
	struct mg_jobs *jobs;
	long long job_pending, job_committed;
};

#define JOB_ROWS 5
#define JOB_BATCH 2
#define BK_TABLE "migrate_ledger_bk_v2_items"

static int answer(void *ctx, const char *sql, struct mg_rows **out,
                  struct mg_error *err)
{
	struct world *w = ctx;
	int v;

	(void)err;
	if (strcmp(sql, "SCHEMA") == 0) { /* a table per effect present */
		*out = mg_rows_new(3);
		for (v = 1; v <= NFILES; v++) {
			char name[8];
			const char *row[3] = { "table", name, "" };

			snprintf(name, sizeof(name), "t%d", v);
			if (w->committed[v] + w->pending[v] > 0)
				mg_rows_add(*out, row, 3);
		}
		return 0;
	}
	if (strstr(sql, "count(*) FROM") != NULL) {
		*out = fake_value("5");
		return 0;
	}
	/* a backup's copy: in the open transaction, or committed at once
	 * (MySQL's CREATE TABLE ... SELECT) */
	if (strncmp(sql, "CREATE TABLE", 12) == 0 &&
	    strstr(sql, BK_TABLE) != NULL) {
		if (w->db->in_txn)
			w->bk_pending++;
		else
			w->bk_committed++;
		return 0;
	}
	if (strncmp(sql, "FINGERPRINT", 11) == 0) {
		*out = fake_value("f1");
		return 0;
	}
	return 1;
}

static int table_info(void *ctx, struct mg_table_info *out, const char *table,
                      struct mg_error *err)
{
	struct world *w = ctx;

	if (strstr(table, BK_TABLE) != NULL &&
	    w->bk_committed + w->bk_pending == 0)
		return mg_error_set(err, MG_ENOTFOUND, "no table %s", table);
	if (mg_table_info_add(&out->cols, &out->ncols, "id", err) < 0 ||
	    mg_table_info_add(&out->cols, &out->ncols, "x", err) < 0 ||
	    mg_table_info_add(&out->key, &out->nkey, "id", err) < 0)
		return MG_ENOMEM;
	return 0;
}

/* A job batch marks up to JOB_BATCH of the rows not done yet. */
static long long exec_rows(void *ctx, const char *sql)
{
	struct world *w = ctx;
	long long n = JOB_ROWS - w->job_committed - w->job_pending;

	if (strncmp(sql, "-- job", 6) != 0)
		return -1;
	n = n < JOB_BATCH ? n : JOB_BATCH;
	if (w->db->in_txn)
		w->job_pending += n;
	else
		w->job_committed += n;
	return n;
}

static void on_exec(void *ctx, const char *sql)
{
	struct world *w = ctx;
	int v;

	int d = 1;

	/* a down file undoes its up, as a correct one does: the undo
	 * after a failed check relies on that */
	if (sscanf(sql, "-- undo v%d", &v) == 1)
		d = -1;
	else if (sscanf(sql, "-- v%d", &v) != 1)
		return;
	if (v < 1 || v > NFILES)
		return;
	if (w->db->in_txn)
		w->pending[v] += d;
	else
		w->committed[v] += d; /* outside a transaction: for good */
}

static void on_end(void *ctx, bool committed)
{
	struct world *w = ctx;
	int v;

	for (v = 1; v <= NFILES; v++) {
		if (committed)
			w->committed[v] += w->pending[v];
		w->pending[v] = 0;
	}
	if (committed) {
		w->bk_committed += w->bk_pending;
		w->job_committed += w->job_pending;
	}
	w->bk_pending = 0;
	w->job_pending = 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* What a world holds beside the three files. */
enum extra { PLAIN, BACKUP, JOB };

static struct world *world_new_x(bool txn_ddl, enum extra x)
{
	struct world *w = calloc(1, sizeof(*w));
	struct mg_problems pr = { 0 };
	struct mg_error err = { 0 };
	char jobs[96];

	assert_non_null(w);
	snprintf(w->dir, sizeof(w->dir), "/tmp/mg_faults_XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	write_file(w->dir, "0001_a.up.sql", "-- v1\nCREATE TABLE a (x int);\n");
	write_file(w->dir, "0001_a.down.sql", "-- undo v1\nDROP TABLE a;\n");
	if (x == BACKUP)
		write_file(w->dir, "0002_b.up.sql",
		           "-- v2\n-- backup: items keep 1d where x = 1\n"
		           "DELETE FROM items WHERE x = 1;\n");
	else
		write_file(w->dir, "0002_b.up.sql",
		           "-- v2\n-- check: rows users unchanged\n"
		           "UPDATE users SET x = 1;\n");
	write_file(w->dir, "0002_b.down.sql", "-- undo v2\nSELECT 1;\n");
	write_file(w->dir, "0003_c.up.sql", "-- v3\nCREATE TABLE c (x int);\n");
	write_file(w->dir, "0003_c.down.sql", "-- undo v3\nDROP TABLE c;\n");
	assert_int_equal(mg_source_load(&w->src, w->dir, &pr, &err), 0);
	mg_problems_dispose(&pr);
	if (x == JOB) {
		snprintf(jobs, sizeof(jobs), "%s/jobs", w->dir);
		assert_int_equal(mkdir(jobs, 0700), 0);
		write_file(jobs, "mark.sql",
		           "-- job:batch\n-- job batch\n"
		           "UPDATE items SET done = 1 LIMIT 2;\n");
		assert_int_equal(mg_jobs_load(&w->jobs, jobs, &pr, &err), 0);
		mg_problems_dispose(&pr);
	}
	assert_non_null(w->db = fake_db_new());
	if (!txn_ddl)
		w->db->drv.caps &= ~MG_CAP_TXN_DDL;
	w->db->answer = answer;
	w->db->on_exec = on_exec;
	w->db->on_end = on_end;
	w->db->exec_rows = exec_rows;
	w->db->table_info = table_info;
	w->db->ctx = w;
	/* the slots that came since the sweep was written */
	w->db->drv.ledger_lock = fake_ledger_lock;
	w->db->drv.job_lock = fake_job_lock;
	w->db->drv.job_unlock = fake_job_unlock;
	if (x == BACKUP)
		w->db->drv.table_info = fake_slot_table_info;
	assert_non_null(w->conn = fake_connect(w->db));
	w->r.conn = w->conn;
	w->r.src = w->src;
	w->r.table = "migrate_ledger";
	return w;
}

static struct world *world_new(bool txn_ddl)
{
	return world_new_x(txn_ddl, PLAIN);
}

static void world_free(struct world *w)
{
	char cmd[128];

	w->conn->drv->close(w->conn);
	mg_jobs_free(w->jobs);
	mg_source_free(w->src);
	fake_db_free(w->db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
	assert_int_equal(system(cmd), 0);
	free(w);
}

/* The chain, recomputed from the committed rows alone. */
static void assert_chain(const struct world *w, const char *what)
{
	char prev[MG_HASH_HEX_LEN], hash[MG_HASH_HEX_LEN], id[32];
	size_t i, n = fake_ledger_rows(w->db);

	memcpy(prev, mg_ledger_genesis, sizeof(prev));
	for (i = 0; i < n; i++) {
		struct mg_ledger_row row = { 0 };
		int f;

		for (f = 0; f < MG_LF_COUNT; f++)
			mg_ledger_row_set(&row, f,
			                  fake_ledger_get(w->db, i, f));
		snprintf(id, sizeof(id), "%zu", i + 1);
		mg_ledger_entry_hash(hash, &row);
		if (strcmp(row.f[MG_LF_ID], id) != 0 ||
		    strcmp(row.f[MG_LF_PREV_HASH], prev) != 0 ||
		    strcmp(row.f[MG_LF_ENTRY_HASH], hash) != 0)
			fail_msg("%s: the chain breaks at row %zu", what,
			         i + 1);
		memcpy(prev, hash, sizeof(prev));
		mg_ledger_row_dispose(&row);
	}
}

/* The committed ok event of version 2 whose evidence names its backup. */
static bool backup_recorded(const struct world *w)
{
	size_t i, n = fake_ledger_rows(w->db);

	for (i = 0; i < n; i++) {
		const char *v = fake_ledger_get(w->db, i, MG_LF_VERSION);
		const char *d = fake_ledger_get(w->db, i, MG_LF_DIRECTION);
		const char *st = fake_ledger_get(w->db, i, MG_LF_STATUS);
		const char *c = fake_ledger_get(w->db, i, MG_LF_CHECKS);

		if (v != NULL && strcmp(v, "2") == 0 && d != NULL &&
		    strcmp(d, "up") == 0 && st != NULL &&
		    strcmp(st, "ok") == 0 && c != NULL &&
		    strstr(c, "\"kind\":\"backup\"") != NULL &&
		    strstr(c, BK_TABLE) != NULL)
			return true;
	}
	return false;
}

/* Whether version 2's latest ok up, repair or baseline row is an up:
 * applied by a run, not completed by hand ('repair --applied'). */
static bool applied_by_up(const struct world *w)
{
	size_t i, n = fake_ledger_rows(w->db);
	bool up = false;

	for (i = 0; i < n; i++) {
		const char *v = fake_ledger_get(w->db, i, MG_LF_VERSION);
		const char *d = fake_ledger_get(w->db, i, MG_LF_DIRECTION);
		const char *st = fake_ledger_get(w->db, i, MG_LF_STATUS);

		if (v != NULL && strcmp(v, "2") == 0 && st != NULL &&
		    strcmp(st, "ok") == 0 && d != NULL &&
		    (strcmp(d, "up") == 0 || strcmp(d, "repair") == 0 ||
		     strcmp(d, "baseline") == 0))
			up = strcmp(d, "up") == 0;
	}
	return up;
}

/* File 2's backup: there at most once; where DDL rolls back, exactly
 * when version 2 is applied; wherever a run applied version 2, there
 * and named by its event (an operator's 'repair --applied' of a dirty
 * version leaves MySQL's copy an orphan, for 'prune'). */
static void assert_backup(const struct world *w, bool applied2, bool txn_ddl,
                          const char *what)
{
	if (w->bk_committed < 0 || w->bk_committed > 1)
		fail_msg("%s: the backup was taken %d times", what,
		         w->bk_committed);
	if (txn_ddl && (w->bk_committed == 1) != applied2)
		fail_msg("%s: backup %d, version 2 applied %d", what,
		         w->bk_committed, applied2);
	if (applied2 && applied_by_up(w) &&
	    (w->bk_committed != 1 || !backup_recorded(w)))
		fail_msg("%s: version 2 applied, backup %d, recorded %d", what,
		         w->bk_committed, backup_recorded(w));
}

/* What the ledger says of each version: applied, dirty, or neither. */
static void states(struct world *w, bool applied[NFILES + 1],
                   bool dirty[NFILES + 1])
{
	struct mg_ledger *l = NULL;
	struct mg_status st;
	struct mg_error err = { 0 };
	size_t i;

	memset(applied, 0, (NFILES + 1) * sizeof(*applied));
	memset(dirty, 0, (NFILES + 1) * sizeof(*dirty));
	if (!w->db->table_exists)
		return;
	assert_int_equal(
	        mg_ledger_load(&l, w->conn, "migrate_ledger", true, &err), 0);
	assert_int_equal(mg_status_build(&st, w->src, l, &err), 0);
	for (i = 0; i < st.n; i++) {
		applied[st.v[i].version] = st.v[i].applied;
		dirty[st.v[i].version] = st.v[i].state == MG_STATE_DIRTY;
	}
	mg_status_dispose(&st);
	mg_ledger_free(l);
}

static void assert_invariants(struct world *w, int rc, bool txn_ddl,
                              const char *what)
{
	bool applied[NFILES + 1], dirty[NFILES + 1];
	int v;

	if (rc != 0 && rc != MG_ERR && rc != MG_EDRIVER && rc != MG_ECHECK &&
	    rc != MG_ELOCKED && rc != MG_ENOMEM)
		fail_msg("%s: unexpected code %d", what, rc);
	assert_chain(w, what);
	states(w, applied, dirty);
	for (v = 1; v <= NFILES; v++) {
		if (w->committed[v] > 1 || w->committed[v] < 0)
			fail_msg("%s: file %d's effect is there %d times", what,
			         v, w->committed[v]);
		if (txn_ddl && (w->committed[v] == 1) != applied[v])
			fail_msg("%s: file %d committed %d, applied %d", what,
			         v, w->committed[v], applied[v]);
		if (!txn_ddl && w->committed[v] == 1 && !applied[v] &&
		    !dirty[v])
			fail_msg("%s: file %d ran but is neither applied nor "
			         "dirty",
			         what, v);
		if (rc == 0 && !applied[v])
			fail_msg("%s: exit 0 but file %d is not applied", what,
			         v);
	}
	/* the run lock (a Galera lease) lost: the run stops with exit 5
	 * and writes nothing more to the ledger (another runner owns it) */
	if (w->db->lock_lost) {
		if (rc != MG_ELOCKED)
			fail_msg("%s: the lock was lost, and the run gave %d",
			         what, rc);
		if (fake_ledger_rows(w->db) != w->db->rows_at_loss)
			fail_msg("%s: %zu ledger rows written after the lock "
			         "was lost",
			         what,
			         fake_ledger_rows(w->db) - w->db->rows_at_loss);
	}
	if (w->db->drv.table_info != NULL)
		assert_backup(w, applied[2], txn_ddl, what);
}

/* Without the fault, repair what is dirty (as an operator would, from
 * what the database holds) and run again: all applied, once. */
static void assert_converges(struct world *w, bool txn_ddl, const char *what)
{
	struct mg_up_opts o = { .to = -1 };
	struct mg_error err = { 0 };
	bool applied[NFILES + 1], dirty[NFILES + 1];
	int v, rc;

	memset(w->db->fail_at, 0, sizeof(w->db->fail_at));
	memset(w->db->fail_after, 0, sizeof(w->db->fail_after));
	/* another runner (holding the lease now) runs again */
	w->db->lock_lost = false;
	w->db->fail_code = 0;
	w->db->fail_lock_wait = false;
	w->db->fail_committed = 0;
	states(w, applied, dirty);
	/* MySQL's copy committed before its file failed, with no event
	 * that took it: the orphan 'migrate prune' drops (after the repair
	 * below, as the campaign does) */
	if (w->bk_committed == 1 && !backup_recorded(w))
		w->bk_committed = 0;
	for (v = 1; v <= NFILES; v++)
		if (dirty[v])
			assert_int_equal(mg_run_repair(&w->r, v, "sweep",
			                               w->committed[v] == 1,
			                               &err),
			                 0);
	rc = mg_run_up(&w->r, &o, false, &err);
	if (rc != 0)
		fail_msg("%s: rerun gave %d: %s", what, rc, err.msg);
	assert_invariants(w, rc, txn_ddl, what);
	for (v = 1; v <= NFILES; v++)
		if (w->committed[v] != 1)
			fail_msg("%s: after the rerun file %d ran %d times",
			         what, v, w->committed[v]);
}

static const char *const op_names[FAKE_OP_COUNT] = {
	"exec", "query",     "ledger write", "commit",   "begin",
	"lock", "lock held", "ledger lock",  "job lock",
};

/* The commands swept: up, and migrate test's up-down-up proofs. */
static int run(struct world *w, bool roundtrip, struct mg_error *err)
{
	struct mg_up_opts o = { .to = -1 };

	return roundtrip ? mg_roundtrip_run(&w->r, &o, err)
	                 : mg_run_up(&w->r, &o, false, err);
}

/* How a sweep fails its calls. */
struct how {
	bool txn_ddl, roundtrip;
	enum extra x;
	bool lease_guard; /* Galera: commits fail once the lease is lost */
	int fail_code;    /* what a failed call says; 0: MG_EDRIVER */
	int only_op;      /* sweep this kind alone; -1: every kind */
};

static const char *how_name(const struct how *h, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s%s%s",
	         h->x == JOB    ? "job run"
	         : h->roundtrip ? "test"
	                        : "up",
	         h->txn_ddl ? " transactional" : " no transaction",
	         h->x == BACKUP ? ", backup" : "",
	         h->lease_guard ? ", lease guard" : "",
	         h->fail_code == MG_ELOCKED ? ", lease lost" : "");
	return out;
}

static void sweep_how(const struct how *h)
{
	char what[160], name[96];
	int op, n, positions = 0;

	how_name(h, name, sizeof(name));
	for (op = 0; op < FAKE_OP_COUNT; op++) {
		if (h->only_op >= 0 && op != h->only_op)
			continue;
		for (n = 1;; n++) {
			struct world *w = world_new_x(h->txn_ddl, h->x);
			struct mg_error err = { 0 };
			int rc;

			w->db->lease_guard = h->lease_guard;
			w->db->fail_code = h->fail_code;
			w->db->fail_at[op] = (unsigned)n;
			rc = run(w, h->roundtrip, &err);
			/* past the last call of this kind: nothing failed */
			if (w->db->calls[op] < (unsigned)n) {
				assert_int_equal(rc, 0);
				world_free(w);
				break;
			}
			snprintf(what, sizeof(what), "%s, %s #%d", name,
			         op_names[op], n);
			if (h->fail_code == MG_ELOCKED && rc != MG_ELOCKED)
				fail_msg("%s: gave %d, not exit 5", what, rc);
			assert_invariants(w, rc, h->txn_ddl, what);
			assert_converges(w, h->txn_ddl, what);
			world_free(w);
			positions++;
		}
	}
	/* every kind was reached somewhere (lock once, the rest more) */
	if (h->only_op < 0)
		assert_true(positions >= FAKE_OP_COUNT + 6);
	else
		assert_true(positions >= 2);
	print_message("%s: %d failure positions swept\n", name, positions);
}

static void sweep(bool txn_ddl, bool roundtrip)
{
	struct how h = { txn_ddl, roundtrip, PLAIN, false, 0, -1 };

	sweep_how(&h);
}

static void test_up_transactional(void **state)
{
	(void)state;
	sweep(true, false);
}

static void test_up_without_transactions(void **state)
{
	(void)state;
	sweep(false, false);
}

static void test_roundtrip_transactional(void **state)
{
	(void)state;
	sweep(true, true);
}

static void test_roundtrip_without_transactions(void **state)
{
	(void)state;
	sweep(false, true);
}

/* Galera (mysql_lease.c): the lease found lost before a file (the Nth
 * lock_held()), with the guard that fails every later COMMIT; and a
 * COMMIT that finds the lease taken over (meet.c: exit 5), the file's
 * work and its ledger row rolled back. */
static void test_lease_lost(void **state)
{
	static const bool txn[] = { true, false };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct how held = { txn[i], false, PLAIN,
			            true,   0,     FAKE_LOCK_HELD };
		struct how commit = { txn[i], false,      PLAIN,
			              true,   MG_ELOCKED, FAKE_COMMIT };

		sweep_how(&held);
		sweep_how(&commit);
	}
}

/* A backup's copy (CREATE TABLE ... AS), its count and fingerprint, and
 * everything else around a file with a backup, failing in turn. */
static void test_backup(void **state)
{
	struct how txn = { true, false, BACKUP, false, 0, -1 };
	struct how notxn = { false, false, BACKUP, false, 0, -1 };

	(void)state;
	sweep_how(&txn);
	sweep_how(&notxn);
}

/* ---- jobs ---- */

/* The ok job events' rows (their statement item's last_rows), and the
 * 'dirty' markers with no outcome after them. */
static void job_events(const struct world *w, long long *rows, int *unresolved)
{
	size_t i, n = fake_ledger_rows(w->db);
	bool pending = false;

	*rows = 0;
	*unresolved = 0;
	for (i = 0; i < n; i++) {
		const char *d = fake_ledger_get(w->db, i, MG_LF_DIRECTION);
		const char *v = fake_ledger_get(w->db, i, MG_LF_VERSION);
		const char *st = fake_ledger_get(w->db, i, MG_LF_STATUS);
		const char *c = fake_ledger_get(w->db, i, MG_LF_CHECKS);
		const char *lr;

		if (d == NULL || strcmp(d, "job") != 0)
			continue;
		assert_string_equal(v, "0");
		lr = c != NULL ? strstr(c, "\"last_rows\":") : NULL;
		if (lr == NULL || strstr(c, "\"batch\":") == NULL) {
			/* a marker before a batch outside a transaction */
			*unresolved += pending;
			pending = true;
			continue;
		}
		pending = false;
		if (strcmp(st, "ok") == 0)
			*rows += atoll(lr + strlen("\"last_rows\":"));
	}
	*unresolved += pending;
}

/* Each committed batch's rows are in exactly one ok event: with no
 * marker left without its outcome, the ok events' rows are the rows
 * done; a marker left alone may stand for one batch committed. */
static void assert_job(const struct world *w, int rc, bool txn_ddl,
                       size_t rows_before, const char *what)
{
	long long rows;
	int unresolved;

	if (rc != 0 && rc != MG_ERR && rc != MG_EDRIVER && rc != MG_ECHECK &&
	    rc != MG_ELOCKED && rc != MG_ENOMEM)
		fail_msg("%s: unexpected code %d", what, rc);
	assert_chain(w, what);
	job_events(w, &rows, &unresolved);
	if (txn_ddl && unresolved > 0)
		fail_msg("%s: %d job markers without an outcome", what,
		         unresolved);
	if (w->job_committed < rows ||
	    w->job_committed > rows + (long long)unresolved * JOB_BATCH)
		fail_msg("%s: %lld rows done, the ok events say %lld (%d "
		         "markers alone)",
		         what, w->job_committed, rows, unresolved);
	if (rc == 0 && w->job_committed != JOB_ROWS)
		fail_msg("%s: exit 0 with %lld of %d rows done", what,
		         w->job_committed, JOB_ROWS);
	/* the job's lock not taken: nothing written */
	if (w->db->fail_at[FAKE_JOB_LOCK] != 0 &&
	    w->db->calls[FAKE_JOB_LOCK] >= w->db->fail_at[FAKE_JOB_LOCK] &&
	    (rc != MG_ELOCKED || fake_ledger_rows(w->db) != rows_before))
		fail_msg("%s: the job's lock failed: gave %d, wrote %zu rows",
		         what, rc, fake_ledger_rows(w->db) - rows_before);
}

static int run_job(struct world *w, struct mg_error *err)
{
	struct mg_job_report rep;

	return mg_job_run(&rep, &w->r, &w->jobs->v[0], 0, 0, err);
}

static void sweep_job(bool txn_ddl)
{
	char what[160];
	int op, n, positions = 0;

	for (op = 0; op < FAKE_OP_COUNT; op++) {
		for (n = 1;; n++) {
			struct world *w = world_new_x(txn_ddl, JOB);
			struct mg_error err = { 0 };
			int rc;

			w->db->fail_at[op] = (unsigned)n;
			rc = run_job(w, &err);
			if (w->db->calls[op] < (unsigned)n) {
				assert_int_equal(rc, 0);
				world_free(w);
				break;
			}
			snprintf(what, sizeof(what), "job run %s, %s #%d",
			         txn_ddl ? "transactional" : "no transaction",
			         op_names[op], n);
			assert_job(w, rc, txn_ddl, 0, what);
			/* a rerun without the fault finishes the work */
			memset(w->db->fail_at, 0, sizeof(w->db->fail_at));
			rc = run_job(w, &err);
			if (rc != 0)
				fail_msg("%s: rerun gave %d: %s", what, rc,
				         err.msg);
			assert_job(w, rc, txn_ddl, 0, what);
			world_free(w);
			positions++;
		}
	}
	assert_true(positions >= 10);
	print_message("job run %s: %d failure positions swept\n",
	              txn_ddl ? "transactional" : "no transaction", positions);
}

static void test_job(void **state)
{
	(void)state;
	sweep_job(true);
	sweep_job(false);
}

/* ---- production safety's retries ---- */

/* How many times file v's script was started (the fake's log). */
static int execs_of(const struct world *w, int v)
{
	char mark[16];
	const char *p = w->db->log;
	int n = 0;

	snprintf(mark, sizeof(mark), "-- v%d\n", v);
	while ((p = strstr(p, mark)) != NULL) {
		n++;
		p += strlen(mark);
	}
	return n;
}

/*
 * File 2's first attempt waits for a lock and times out, with nothing
 * committed: the run retries it (after a backoff of about a second),
 * and that attempt fails in turn at the next exec, ledger write or
 * commit. The same invariants; 0 only when all is applied once.
 */
static void test_retry(void **state)
{
	static const int ops[] = { FAKE_EXEC, FAKE_LEDGER_WRITE, FAKE_COMMIT };
	static const bool txn[] = { true, false };
	char what[160];
	size_t i, k;
	unsigned j;

	(void)state;
	for (i = 0; i < 2; i++)
		for (k = 0; k < 3; k++)
			for (j = 1; j <= 2; j++) {
				struct world *w = world_new(txn[i]);
				struct mg_error err = { 0 };
				int rc;

				w->r.retries = 1;
				w->db->fail_lock_wait = true;
				snprintf(w->db->fail_sqlstate,
				         sizeof(w->db->fail_sqlstate), "55P03");
				w->db->fail_at[FAKE_EXEC] = 2;
				/* the next calls of the kind: the first
				 * attempt's outcome, then the retry's */
				w->db->fail_after[ops[k]] = j;
				rc = mg_run_up(&w->r,
				               &(struct mg_up_opts){ .to = -1 },
				               false, &err);
				snprintf(what, sizeof(what),
				         "retry %s, then %s #%u",
				         txn[i] ? "transactional"
				                : "no transaction",
				         op_names[ops[k]], j);
				assert_invariants(w, rc, txn[i], what);
				/* nothing committed by the timed-out attempt:
				 * it was tried again */
				if (ops[k] == FAKE_EXEC && execs_of(w, 2) != 2)
					fail_msg("%s: file 2 started %d times",
					         what, execs_of(w, 2));
				assert_converges(w, txn[i], what);
				world_free(w);
			}
}

/* No retry once a statement committed: the file is dirty, not run
 * again (MySQL, a no-transaction file). */
static void test_no_retry_after_commit(void **state)
{
	struct world *w = world_new(false);
	struct mg_error err = { 0 };
	bool applied[NFILES + 1], dirty[NFILES + 1];
	int rc;

	(void)state;
	w->r.retries = 3;
	w->db->fail_lock_wait = true;
	snprintf(w->db->fail_sqlstate, sizeof(w->db->fail_sqlstate), "HY000");
	w->db->fail_at[FAKE_EXEC] = 2;
	w->db->fail_done = 1;
	w->db->fail_committed = 1;
	w->db->fail_total = 2;
	rc = mg_run_up(&w->r, &(struct mg_up_opts){ .to = -1 }, false, &err);
	assert_int_not_equal(rc, 0);
	assert_int_equal(execs_of(w, 2), 1);
	states(w, applied, dirty);
	assert_true(dirty[2]);
	assert_false(applied[3]);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_up_transactional),
		cmocka_unit_test(test_up_without_transactions),
		cmocka_unit_test(test_roundtrip_transactional),
		cmocka_unit_test(test_roundtrip_without_transactions),
		cmocka_unit_test(test_lease_lost),
		cmocka_unit_test(test_backup),
		cmocka_unit_test(test_job),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_no_retry_after_commit),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
