#include "migrator/runner.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks/backup.h"
#include "checks/check.h"
#include "checks/evidence.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/json.h"
#include "migrator/ledger.h"
#include "migrator/meet.h"
#include "migrator/safety.h"
#include "migrator/source.h"
#include "rollback/restore.h"
#include "rollback/undo.h"

/* The runner's lock name, and the 64-bit key derived from it: the ledger
 * table qualified with the session's schema (which may be NULL). */
static void lock_name(char out[128], int64_t *key, const char *schema,
                      const char *table)
{
	unsigned char h[8];
	char full[512];
	uint64_t k = 0;
	int i;

	/* lock names and keys are the server's, not one database's or
	 * schema's: the ledger's schema is part of them */
	if (schema != NULL && strchr(table, '.') == NULL)
		snprintf(full, sizeof(full), "%s.%s", schema, table);
	else
		snprintf(full, sizeof(full), "%s", table);
	crypto_generichash(h, sizeof(h), (const unsigned char *)full,
	                   strlen(full), NULL, 0);
	for (i = 0; i < 8; i++)
		k = k << 8 | h[i];
	*key = (int64_t)k;
	/* short enough for any database's lock names (the shortest limit,
	 * MySQL's, is 64 characters); a longer one is its key in hex */
	if (strlen(full) <= 48)
		snprintf(out, 128, "migrate:%.48s", full);
	else
		snprintf(out, 128, "migrate:%016" PRIx64, k);
}

void mg_runner_lock_name(char out[128], int64_t *key, struct mg_conn *conn,
                         const char *table)
{
	lock_name(out, key, conn->drv->schema(conn), table);
}

int mg_runner_begin(struct mg_runner *r, struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	char name[128];
	int64_t key;
	int rc;

	lock_name(name, &key, drv->schema(r->conn), r->table);
	if ((rc = drv->lock(r->conn, name, key, r->lock_timeout_s, err)) < 0)
		return rc;
	if ((rc = mg_safety_begin(r, err)) < 0 ||
	    (rc = mg_ledger_load(&r->ledger, r->conn, r->table, false, err)) <
	            0)
		goto fail;
	/* created in a transaction: on SQLite that is the lock */
	if (!r->ledger->exists &&
	    ((rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0 ||
	     (rc = mg_ledger_ensure(r->ledger, r->conn, err)) < 0 ||
	     (rc = mg_runner_txn_end(r, MG_TXN_COMMIT, err)) < 0)) {
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		goto fail;
	}
	return 0;
fail:
	mg_runner_end(r);
	return rc;
}

void mg_runner_end(struct mg_runner *r)
{
	char name[128];
	int64_t key;

	lock_name(name, &key, r->conn->drv->schema(r->conn),
	                    r->table);
	r->conn->drv->unlock(r->conn, name, key);
	mg_ledger_free(r->ledger);
	r->ledger = NULL;
}

int mg_runner_txn_end(struct mg_runner *r, enum mg_txn op,
                      struct mg_error *err)
{
	int rc = r->conn->drv->txn(r->conn, op, err);

	if (r->ledger != NULL)
		mg_ledger_txn_end(r->ledger, op == MG_TXN_COMMIT && rc == 0);
	return rc;
}

void mg_runner_emit(struct mg_runner *r, const struct mg_event *ev)
{
	if (r->on_event != NULL)
		r->on_event(r->ctx, ev);
}

/* The file a direction runs: a job's file is its `up` (issue 11). */
static const struct mg_file *file_of(const struct mg_migration *m,
                                     enum mg_direction dir)
{
	return dir == MG_DIR_DOWN ? &m->down : &m->up;
}

/* The file that undoes it (a job has none: down.path is NULL). */
static const struct mg_file *opposite_of(const struct mg_migration *m,
                                         enum mg_direction dir)
{
	return dir == MG_DIR_DOWN ? &m->up : &m->down;
}

static bool outside_txn(const struct mg_runner *r, const struct mg_file *f)
{
	return f->dir.no_transaction || !(r->conn->drv->caps & MG_CAP_TXN_DDL);
}

/*
 * One file's way through apply(): run it, decide its status, record its
 * ledger row, emit its event. `stop` says where the run stopped; decide()
 * turns it into the status that MIGRATING.md ("What happens on failure")
 * promises.
 */
enum stop {
	STOP_NONE,          /* it ran and every check held */
	STOP_CHECK_INVALID, /* a check's query cannot run: the file is wrong */
	STOP_PRE_FAILED,    /* a check:pre said no: nothing ran */
	STOP_SQL,           /* a statement failed */
	STOP_AFTER_ERROR,   /* the after values could not be read */
	STOP_POST_FAILED,   /* a check failed after the file ran */
	STOP_COMMIT,        /* the commit with the ok row failed */
	STOP_UNRECORDED,    /* ran outside a transaction; ok row not written */
};

struct outcome {
	enum stop stop;
	bool no_txn;   /* the file ran outside a transaction */
	bool restored; /* STOP_POST_FAILED, no_txn: the undo proved itself */
	bool unrecorded; /* no_txn: the outcome's row could not be written,
	                    so the dirty marker stays the version's last word */
	struct mg_script_result res;
	struct mg_evidence ev; /* each statement (issue 10) */
	struct mg_checks cs;
	struct mg_backups bk;   /* backups: an up file's backup: lines */
	struct mg_restores rs;  /* backups: a down file's restore: lines */
	struct mg_error err; /* why it stopped, with path and line */
	char started[32], finished[32];
	int64_t t0, t1;
	int64_t marker_id; /* no_txn: the id of its 'dirty' marker event */
};

static enum mg_outcome decide(const struct outcome *o)
{
	if (o->unrecorded)
		return MG_OUTCOME_DIRTY;
	switch (o->stop) {
	case STOP_NONE:
		return MG_OUTCOME_OK;
	case STOP_PRE_FAILED:
		return MG_OUTCOME_ROLLED_BACK;
	case STOP_SQL: /* statements committed one by one: half-applied */
		return o->res.committed > 0 ? MG_OUTCOME_DIRTY
		                            : MG_OUTCOME_FAILED;
	case STOP_AFTER_ERROR:
		return o->no_txn ? MG_OUTCOME_DIRTY : MG_OUTCOME_FAILED;
	case STOP_POST_FAILED:
		return !o->no_txn || o->restored ? MG_OUTCOME_ROLLED_BACK
		                                 : MG_OUTCOME_DIRTY;
	case STOP_UNRECORDED: /* the dirty row stays its last word */
		return MG_OUTCOME_DIRTY;
	case STOP_CHECK_INVALID:
	case STOP_COMMIT:
		break;
	}
	return MG_OUTCOME_FAILED;
}

/* The code apply() returns: a failed check that was not undone is no
 * longer "rolled back, exit 3" but a state to repair. */
static int outcome_code(const struct outcome *o)
{
	if (o->stop == STOP_NONE)
		return 0;
	if (o->err.code == MG_ECHECK && decide(o) == MG_OUTCOME_DIRTY)
		return MG_ERR;
	return o->err.code;
}

/* The first failed check as the error: "check failed: rows users: ..." */
static void check_error(struct mg_error *e, const struct mg_checks *cs,
                        const char *path)
{
	const struct mg_check *c = &cs->dir->checks[cs->failed];
	struct mg_buf b = MG_BUF_INIT;

	mg_checks_describe(cs, cs->failed, &b);
	mg_error_set(e, MG_ECHECK, "check failed: %s", mg_buf_cstr(&b));
	mg_error_locate(e, path, c->line);
	mg_buf_dispose(&b);
}

/*
 * jobs (issue 11): a job's backups are named from the job and the id of
 * the batch's ledger event (MIGRATING.md, "Jobs"). Outside a transaction
 * (MySQL, no-transaction files), the batch's first event: its 'dirty'
 * marker, written before the copy; the event with its outcome follows
 * and records the backup. In a transaction, the batch's one event, whose
 * id is known only when the ledger's append lock is held: the copy gets
 * a provisional name (event 0), and name_job_backups() renames it in the
 * same transaction just before that event is appended, so that the lock
 * is not held while the batch runs (an `up` appending meanwhile would
 * wait for it).
 */
static int job_backup_ctx(const struct mg_migration *m,
                          const struct outcome *o, struct mg_backup_ctx *ctx)
{
	ctx->owner = "j";
	ctx->job = m->name;
	ctx->number = o->no_txn ? o->marker_id : 0;
	return 0;
}

/* A batch's backups taken in its transaction get their names from the
 * id its event will have: the append lock is taken now, and held until
 * that event commits with them. */
static int name_job_backups(struct mg_runner *r, const struct mg_migration *m,
                            struct outcome *o)
{
	int64_t id;
	size_t i;
	int rc;

	if (o->bk.n == 0)
		return 0;
	if ((rc = mg_ledger_reserve(r->ledger, r->conn, &id, &o->err)) < 0)
		return rc;
	for (i = 0; i < o->bk.n; i++)
		if ((rc = mg_backup_rename(&o->bk.v[i], r->conn, r->table,
		                           m->name, id, &o->err)) < 0)
			return rc;
	return 0;
}

/*
 * backups: before an up file's SQL, its backup: lines (the copies, inside
 * the file's transaction where it has one); before a down file's, the
 * refusal of a restore: that cannot work. Their evidence joins the
 * checks'. Fills o->stop and o->err on failure.
 */
static int backups_before(struct mg_runner *r, const struct mg_migration *m,
                          enum mg_direction dir, struct outcome *o)
{
	const struct mg_file *f = file_of(m, dir);
	struct mg_backup_ctx ctx = { r->table, r->ledger->table, "v",
		                     m->version, o->started, !o->no_txn,
		                     NULL };
	size_t i;
	int rc;

	if (f->dir.nbackups == 0 && f->dir.nrestores == 0)
		return 0;
	if (dir == MG_DIR_JOB && (rc = job_backup_ctx(m, o, &ctx)) < 0) {
		o->stop = STOP_SQL;
		mg_error_locate(&o->err, f->path, f->dir.backups[0].line);
		return rc;
	}
	if (dir == MG_DIR_UP || dir == MG_DIR_JOB) {
		rc = mg_backups_take(&o->bk, r->conn, &ctx, &f->dir, false,
		                     &o->err);
		o->cs.more_json = mg_backups_json;
		o->cs.more_ctx = &o->bk;
		for (i = 0; rc == 0 && i < o->bk.n; i++)
			mg_checks_set_backup_rows(&o->cs, o->bk.v[i].table,
			                          o->bk.v[i].rows);
	} else {
		rc = mg_restores_prepare(&o->rs, r->conn, r->table, m->version,
		                         &f->dir, &o->err);
		o->cs.more_json = mg_restores_json;
		o->cs.more_ctx = &o->rs;
	}
	if (rc < 0) {
		o->stop = rc == MG_EINVALID ? STOP_CHECK_INVALID : STOP_SQL;
		mg_error_locate(&o->err, f->path, o->err.line);
	}
	return rc;
}

/* backups: after a down file's SQL, its restore: lines, proven; a proof
 * that fails is a failed check (rolled back, or dirty). */
static int restores_after(struct mg_runner *r, enum mg_direction dir,
                          struct outcome *o)
{
	const char *path = NULL;
	size_t i;
	int rc;

	if (dir != MG_DIR_DOWN || o->rs.n == 0)
		return 0;
	if ((rc = mg_restores_run(&o->rs, r->conn, &o->err)) == 0) {
		for (i = 0; i < o->rs.n; i++)
			mg_checks_set_backup_rows(&o->cs, o->rs.v[i].table,
			                          o->rs.v[i].rows);
		return 0;
	}
	for (i = 0; i < r->src->n && path == NULL; i++)
		if (r->src->v[i].version == o->rs.v[0].version)
			path = r->src->v[i].down.path;
	o->stop = rc == MG_ECHECK ? STOP_POST_FAILED : STOP_SQL;
	mg_error_locate(&o->err, path, o->err.line);
	if (rc == MG_ECHECK && !o->no_txn)
		mg_error_detail(&o->err, "the transaction was rolled back: "
		                         "nothing changed");
	return rc;
}

/* The evidence of an up file whose undo restored its backups. */
static void backups_and_restores_json(const void *ctx, struct mg_json *w)
{
	const struct outcome *o = ctx;

	mg_backups_json(&o->bk, w);
	mg_restores_json(&o->rs, w);
}

/* The undo of a file whose check failed outside a transaction: the
 * opposite file, and for an up file with backups, its down file's
 * restore: lines from them (backups). */
static bool undo(struct mg_runner *r, const struct mg_migration *m,
                 enum mg_direction dir, struct outcome *o)
{
	const struct mg_file *opp = opposite_of(m, dir);
	struct mg_undo_restore u = { &opp->dir, &o->bk, m->version, { 0 } };
	bool with = dir == MG_DIR_UP && o->bk.n > 0 && opp->dir.nrestores > 0;
	bool ok;

	ok = mg_undo_run_then(r->conn, opp, &o->cs, &o->err,
	                      with ? mg_restores_undo : NULL, &u);
	if (u.rs.n > 0 && o->rs.n == 0) {
		/* the event keeps the undo's restore evidence too */
		o->rs = u.rs;
		o->cs.more_json = backups_and_restores_json;
		o->cs.more_ctx = o;
	} else {
		mg_restores_dispose(&u.rs);
	}
	return ok;
}

/*
 * Runs the file between its checks; fills o->stop and o->err. Returns
 * MG_ENOMEM only: every other failure is an outcome to record.
 */
static int run_file(struct mg_runner *r, const struct mg_migration *m,
                    enum mg_direction dir, struct outcome *o)
{
	const struct mg_driver *drv = r->conn->drv;
	const struct mg_file *f = file_of(m, dir);
	int rc;

	mg_evidence_init(&o->ev, r->hooks);
	rc = mg_checks_before(&o->cs, r->conn, &f->dir, &o->err);
	o->cs.in_txn = !o->no_txn;
	if (rc == MG_ENOMEM)
		return rc;
	if (rc < 0) {
		o->stop = STOP_CHECK_INVALID;
		mg_error_locate(&o->err, f->path, o->err.line);
	} else if (o->cs.any_failed) {
		o->stop = STOP_PRE_FAILED;
		check_error(&o->err, &o->cs, f->path);
	} else if ((rc = backups_before(r, m, dir, o)) < 0) {
		if (rc == MG_ENOMEM)
			return rc;
	} else if (drv->exec_script(r->conn, f->text, f->len,
	                            o->no_txn ? MG_SCRIPT_NO_TXN : 0,
	                            &o->ev.hooks, &o->res, &o->err) < 0) {
		o->stop = STOP_SQL;
		mg_error_locate(&o->err, f->path, o->res.line);
	} else if ((rc = restores_after(r, dir, o)) < 0) {
		if (rc == MG_ENOMEM)
			return rc;
	} else if (mg_checks_after(&o->cs, r->conn, &o->err) < 0) {
		o->stop = STOP_AFTER_ERROR;
	} else if (o->cs.any_failed) {
		o->stop = STOP_POST_FAILED;
		check_error(&o->err, &o->cs, f->path);
		if (o->no_txn)
			o->restored = undo(r, m, dir, o);
		else
			mg_error_detail(&o->err, "the transaction was rolled "
			                         "back: nothing changed");
	}
	return 0;
}

/* Fills the fields every ledger row carries (who, where, which tool). */
static void row_init(struct mg_ledger_row *row, struct mg_runner *r,
                     const struct mg_migration *m, int64_t version,
                     const char *name, enum mg_direction dir,
                     enum mg_outcome status)
{
	char num[32];

	memset(row, 0, sizeof(*row));
	row->version = version;
	snprintf(num, sizeof(num), "%" PRId64, version);
	mg_ledger_row_set(row, MG_LF_VERSION, num);
	mg_ledger_row_set(row, MG_LF_NAME, name);
	mg_ledger_row_set(row, MG_LF_DIRECTION, mg_direction_name(dir));
	mg_ledger_row_set(row, MG_LF_STATUS, mg_outcome_name(status));
	if (m != NULL) {
		mg_ledger_row_set(row, MG_LF_UP_CHECKSUM, m->up.checksum);
		if (m->down.path != NULL)
			mg_ledger_row_set(row, MG_LF_DOWN_CHECKSUM,
			                  m->down.checksum);
	}
	mg_ledger_row_set(row, MG_LF_DB_USER, r->conn->drv->user(r->conn));
	mg_ledger_row_set(row, MG_LF_OS_USER, r->os_user);
	mg_ledger_row_set(row, MG_LF_HOST, r->host);
	mg_ledger_row_set(row, MG_LF_TOOL_VERSION, "migrate " MG_VERSION);
	mg_ledger_row_set(row, MG_LF_CHECKS, "[]");
}

static void row_times(struct mg_ledger_row *row, const char *started,
                      const char *finished, int64_t ms)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, ms);
	mg_ledger_row_set(row, MG_LF_STARTED_AT, started);
	mg_ledger_row_set(row, MG_LF_FINISHED_AT, finished);
	mg_ledger_row_set(row, MG_LF_DURATION_MS, num);
}

/* What a row keeps for good never holds the password: a server message
 * in its error, a check's value, a reason. */
static void scrub_row(struct mg_runner *r, struct mg_ledger_row *row)
{
	static const enum mg_lf fields[] = { MG_LF_ERROR, MG_LF_CHECKS,
		                             MG_LF_REASON };
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (row->f[fields[i]] != NULL)
			mg_conn_scrub(r->conn, row->f[fields[i]],
			              strlen(row->f[fields[i]]) + 1);
}

/*
 * Issue 12: whether a ledger write that failed (err, after the rollback)
 * met another runner: a duplicate id, a deadlock or a serialization
 * failure (mg_meet_conflict), and the ledger moved on meanwhile. The
 * second test keeps a file's own deferred unique constraint, failing at
 * the same COMMIT, what it is: the file's failure.
 */
static bool met_runner(struct mg_runner *r, const struct mg_error *err)
{
	struct mg_error e2 = { 0 };
	int64_t before;

	if (err == NULL || !mg_meet_conflict(err) || r->ledger == NULL)
		return false;
	before = r->ledger->last_id;
	return mg_ledger_refresh(r->ledger, r->conn, &e2) == 0 &&
	       r->ledger->last_id > before;
}

/* How often a row alone in its transaction is appended again after
 * another run took its id (append_alone). */
#define APPEND_TRIES 6

/* Whether another run committed a row with this id since we read the
 * tail: the ledger's tail, read again, is at or past it. */
static bool id_taken(struct mg_runner *r, int64_t id)
{
	struct mg_error e2 = { 0 };

	return id > 0 && mg_ledger_refresh(r->ledger, r->conn, &e2) == 0 &&
	       r->ledger->last_id >= id;
}

/* A short, growing pause with jitter, so that two appenders that met do
 * not meet again at once. */
static void append_pause(int attempt)
{
	uint32_t ms = 20u * (uint32_t)attempt;
	struct timespec ts;

	ms += randombytes_uniform(ms);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ms * 1000000L;
	nanosleep(&ts, NULL);
}

/*
 * Appends a row in a transaction of its own. The append lock holds on
 * one node of a Galera cluster only (GET_LOCK), so a job on one node and
 * `up` on another may both take the next id: the id is the ledger's
 * primary key, the cluster lets one of them commit (the chain never
 * forks), and the other fails with a conflict, or on the run lock's
 * lease guard that its transaction also wrote. Alone in its transaction,
 * the row is then appended again on the new tail (issue 11): nothing
 * else is redone, and a run whose lease is really gone is refused again
 * by the guard, then stops with MG_ELOCKED as before.
 */
static int append_alone(struct mg_runner *r, struct mg_ledger_row *row,
                        struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	bool taken = false;
	int attempt, rc;

	for (attempt = 1;; attempt++) {
		if ((rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0)
			return rc;
		row->id = 0;
		if ((rc = mg_ledger_append(r->ledger, r->conn, row,
		                           r->sign_key, MG_Q_COMMIT, err)) == 0)
			return 0;
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		if (rc == MG_ENOMEM || rc == MG_EINVALID ||
		    !(taken = id_taken(r, row->id)) || attempt == APPEND_TRIES)
			break;
		append_pause(attempt);
	}
	if (rc != MG_ELOCKED && (taken || met_runner(r, err)))
		rc = mg_meet_report(err, r->conn, r->table);
	return rc;
}

/* Outside a transaction a crash would leave a half-applied file and no
 * trace: record "dirty" first, and the outcome after it. */
static int mark_started(struct mg_runner *r, const struct mg_migration *m,
                        enum mg_direction dir, const char *started,
                        struct mg_error *err)
{
	struct mg_ledger_row row;
	char text[256];
	int rc;

	row_init(&row, r, m, m->version, m->name, dir, MG_OUTCOME_DIRTY);
	row_times(&row, started, started, 0);
	/* who, so that `status` can tell a run in progress from one that
	 * was interrupted (issue 12) */
	mg_meet_marker(text, sizeof(text), r->host);
	mg_ledger_row_set(&row, MG_LF_ERROR, text);
	rc = append_alone(r, &row, err);
	mg_ledger_row_dispose(&row);
	return rc;
}

/* The ledger row's error text: where, the message, the server's detail,
 * and how far a file run statement by statement got. */
static void error_text(struct mg_ledger_row *row, const struct outcome *o)
{
	struct mg_buf b = MG_BUF_INIT;
	char where[sizeof(o->err.path) + 16];

	mg_error_where(where, sizeof(where), &o->err);
	mg_buf_addf(&b, "%s%s", where, o->err.msg);
	if (o->err.detail[0])
		mg_buf_addf(&b, "\n%s", o->err.detail);
	if (o->no_txn && o->res.total > 0)
		mg_buf_addf(&b, "\nstatements completed: %zu of %zu",
		            o->res.done, o->res.total);
	if (b.failed)
		row->failed = true;
	else
		mg_ledger_row_set(row, MG_LF_ERROR, mg_buf_cstr(&b));
	mg_buf_dispose(&b);
}

/* The row's evidence (issue 10): the checks' items, then each
 * statement's, then the approved plan that let it run. */
static void evidence_json(struct mg_buf *out, const struct mg_runner *r,
                          const struct outcome *o)
{
	struct mg_json w;

	mg_json_init(&w, out);
	mg_json_array_begin(&w, NULL);
	mg_checks_json_items(&o->cs, &w);
	mg_evidence_json(&o->ev, &w);
	/* jobs (issue 11): the batch's number and the rows its statements
	 * affected, summed, in an item of kind statement without a line;
	 * `job list` reads it back */
	if (r->job_batch > 0) {
		mg_json_object_begin(&w, NULL);
		mg_json_string(&w, "kind", "statement");
		mg_json_int(&w, "batch", (int64_t)r->job_batch);
		mg_json_int(&w, "statements", (int64_t)o->res.done);
		mg_json_int(&w, "rows", o->res.rows);
		mg_json_int(&w, "last_rows", o->res.last_rows);
		mg_json_end(&w);
	}
	if (r->plan_hash != NULL) {
		mg_json_object_begin(&w, NULL);
		mg_json_string(&w, "kind", "plan");
		mg_json_string(&w, "hash", r->plan_hash);
		mg_json_string(&w, "file", r->plan_file);
		mg_json_end(&w);
	}
	mg_json_end(&w);
}

/*
 * Writes the outcome's row. An ok row commits with the file (unless
 * MG_APPLY_NO_COMMIT: then the caller ends the transaction); a failure,
 * or a file run outside ours, gets a transaction of its own after the
 * rollback. A row that cannot be written changes the outcome (o->stop,
 * o->err) rather than failing the call: MG_ENOMEM only.
 */
static int record(struct mg_runner *r, const struct mg_migration *m,
                  enum mg_direction dir, struct outcome *o, unsigned flags,
                  const char *reason, struct mg_error *err)
{
	const char *path = file_of(m, dir)->path;
	struct mg_ledger_row row;
	struct mg_buf json = MG_BUF_INIT;
	struct mg_error werr = { 0 };
	int rc;

	/* jobs: the batch's backups get their names now; a rename that
	 * fails fails the batch (rolled back with them) */
	if (dir == MG_DIR_JOB && o->stop == STOP_NONE && !o->no_txn &&
	    (rc = name_job_backups(r, m, o)) < 0) {
		if (rc == MG_ENOMEM) {
			*err = o->err;
			mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
			return rc;
		}
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		o->stop = STOP_COMMIT;
		mg_error_locate(&o->err, path, 0);
	}
	row_init(&row, r, m, m->version, m->name, dir, decide(o));
	row_times(&row, o->started, o->finished, o->t1 - o->t0);
	mg_ledger_row_set(&row, MG_LF_REASON,
	                  reason != NULL && *reason ? reason : NULL);
	evidence_json(&json, r, o);
	mg_safety_evidence(r, &json, o->stop != STOP_NONE ? &o->err : NULL);
	if (json.failed)
		row.failed = true;
	else
		mg_ledger_row_set(&row, MG_LF_CHECKS, mg_buf_cstr(&json));
	if (o->stop != STOP_NONE)
		error_text(&row, o);
	scrub_row(r, &row);
	if ((rc = mg_ledger_row_check(&row, err)) < 0) {
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		goto cleanup;
	}
	if (o->stop == STOP_NONE && !o->no_txn) {
		if (mg_ledger_append(r->ledger, r->conn, &row, r->sign_key,
		                     flags & MG_APPLY_NO_COMMIT ? 0 : MG_Q_COMMIT,
		                     &o->err) == 0)
			goto cleanup;
		/* the commit failed (a deferred constraint): the file
		 * failed after all */
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		/* another runner wrote the ledger meanwhile: it is
		 * active, and this run stops, nothing of the file kept
		 * (issue 12) */
		if (o->err.code == MG_ELOCKED || met_runner(r, &o->err)) {
			*err = o->err;
			if (err->code != MG_ELOCKED)
				mg_meet_report(err, r->conn, r->table);
			rc = MG_ELOCKED;
			goto cleanup;
		}
		mg_error_locate(&o->err, path, 0);
		o->stop = STOP_COMMIT;
		mg_ledger_row_set(&row, MG_LF_STATUS,
		                  mg_outcome_name(decide(o)));
		error_text(&row, o);
		scrub_row(r, &row);
		if ((rc = mg_ledger_row_check(&row, err)) < 0)
			goto cleanup;
	}
	if (append_alone(r, &row, &werr) == 0)
		goto cleanup;
	if (werr.code == MG_ELOCKED) { /* met another runner: exit 5 */
		char before[sizeof(o->err.msg)];

		snprintf(before, sizeof(before), "%s", o->err.msg);
		o->unrecorded = o->no_txn;
		if (o->stop == STOP_NONE)
			o->stop = STOP_UNRECORDED;
		o->err = werr;
		if (before[0])
			mg_error_detail(&o->err, "%s\n(this run: %s)",
			                werr.detail, before);
		goto cleanup;
	}
	if (o->stop == STOP_NONE) {
		mg_error_set(&o->err, werr.code,
		             "%s ran, but its ledger row could not be "
		             "written: %s",
		             path, werr.msg);
		o->stop = STOP_UNRECORDED;
	} else { /* the file's own failure matters more; keep both */
		char before[sizeof(o->err.detail)];

		o->unrecorded = o->no_txn;
		memcpy(before, o->err.detail, sizeof(before));
		mg_error_detail(&o->err,
		                "%s%sand its ledger row could not be "
		                "written: %s",
		                before, before[0] ? "\n" : "", werr.msg);
	}
cleanup:
	mg_buf_dispose(&json);
	mg_ledger_row_dispose(&row);
	return rc;
}

static void emit_outcome(struct mg_runner *r, const struct mg_migration *m,
                         enum mg_direction dir, const struct outcome *o,
                         bool preview)
{
	const struct mg_file *f = file_of(m, dir);
	struct mg_buf json = MG_BUF_INIT;
	struct mg_event ev = { 0 };

	evidence_json(&json, r, o);
	mg_safety_evidence(r, &json, o->stop != STOP_NONE ? &o->err : NULL);
	ev.evidence = &o->ev;
	ev.m = m;
	ev.direction = dir;
	ev.status = decide(o);
	ev.file = f->path;
	ev.checksum = f->checksum;
	ev.duration_ms = o->t1 - o->t0;
	ev.checks = o->cs.dir != NULL ? &o->cs : NULL;
	ev.checks_json = mg_buf_cstr(&json);
	ev.err = o->stop != STOP_NONE ? &o->err : NULL;
	ev.done = o->res.done;
	ev.total = o->res.total;
	ev.no_transaction = o->no_txn;
	ev.batch = dir == MG_DIR_JOB ? r->job_batch : 0;
	ev.rows = o->res.rows;
	ev.last_rows = o->res.last_rows;
	ev.preview = preview;
	mg_runner_emit(r, &ev);
	mg_buf_dispose(&json);
}

/*
 * Runs one file with its checks: run, decide, record, emit. flags:
 * MG_APPLY_*; with MG_APPLY_IN_TXN the caller already opened the
 * transaction (the lock, on databases without a run lock).
 */
static int apply(struct mg_runner *r, const struct mg_migration *m,
                 enum mg_direction dir, unsigned flags, const char *reason,
                 struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	struct outcome o = { 0 };
	bool in_txn = flags & MG_APPLY_IN_TXN;
	int rc;

	o.no_txn = outside_txn(r, file_of(m, dir));
	mg_ledger_now(o.started, &o.t0);
	if (o.no_txn && in_txn &&
	    (rc = mg_runner_txn_end(r, MG_TXN_ROLLBACK, err)) < 0)
		return rc;
	if (!o.no_txn && !in_txn &&
	    (rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0)
		return rc;
	if (o.no_txn && (rc = mark_started(r, m, dir, o.started, err)) < 0)
		return rc;
	if (o.no_txn)
		o.marker_id = r->ledger->last_id;
	if ((rc = mg_safety_file(r, dir == MG_DIR_UP ? &m->up : &m->down,
	                         err)) < 0) {
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		return rc;
	}
	rc = run_file(r, m, dir, &o);
	mg_safety_file_end(r, rc == 0 && o.stop != STOP_NONE ? &o.err : NULL);
	if (rc < 0) {
		*err = o.err;
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		goto cleanup;
	}
	mg_ledger_now(o.finished, &o.t1);
	/* also outside our transaction: the file may have left one of its
	 * own open and aborted, where the outcome row could not be written */
	if (o.stop != STOP_NONE)
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
	if ((rc = record(r, m, dir, &o, flags, reason, err)) < 0)
		goto cleanup;
	mg_safety_outcome(r, o.stop != STOP_NONE ? &o.err : NULL,
	                  decide(&o) == MG_OUTCOME_FAILED);
	emit_outcome(r, m, dir, &o, false);
	if ((rc = outcome_code(&o)) < 0) {
		*err = o.err;
		err->code = rc;
		goto cleanup;
	}
	r->applied++;
cleanup:
	mg_checks_dispose(&o.cs);
	mg_backups_dispose(&o.bk);
	mg_restores_dispose(&o.rs);
	return rc;
}

int mg_runner_rehearse(struct mg_runner *r, const struct mg_migration *m,
                       struct mg_error *err)
{
	return mg_runner_rehearse_dir(r, m, MG_DIR_UP, err);
}

int mg_runner_rehearse_dir(struct mg_runner *r, const struct mg_migration *m,
                           enum mg_direction dir, struct mg_error *err)
{
	struct outcome o = { 0 };
	int rc;

	mg_ledger_now(o.started, &o.t0);
	if ((rc = run_file(r, m, dir, &o)) < 0) {
		*err = o.err;
		goto cleanup;
	}
	mg_ledger_now(o.finished, &o.t1);
	emit_outcome(r, m, dir, &o, true);
	if ((rc = outcome_code(&o)) < 0) {
		*err = o.err;
		err->code = rc;
	}
cleanup:
	mg_checks_dispose(&o.cs);
	mg_backups_dispose(&o.bk);
	mg_restores_dispose(&o.rs);
	return rc;
}

int mg_runner_apply(struct mg_runner *r, const struct mg_migration *m,
                    enum mg_direction dir, unsigned flags,
                    struct mg_error *err)
{
	/* `migrate test` takes no --reason; a job's batches keep theirs */
	return apply(r, m, dir, flags, r->reason, err);
}

/* A dry run reads the live "before" values through conn, and changes
 * nothing. */
static void dry_run_event(struct mg_runner *r, struct mg_conn *conn,
                          const struct mg_migration *m, enum mg_direction dir)
{
	const struct mg_file *file = file_of(m, dir);
	struct mg_checks cs = { 0 };
	struct mg_backups bk = { 0 };
	struct mg_buf json = MG_BUF_INIT;
	struct mg_error cerr = { 0 };
	struct mg_event ev = { 0 };

	ev.m = m;
	ev.direction = dir;
	ev.status = MG_OUTCOME_PLANNED;
	ev.file = file->path;
	ev.checksum = file->checksum;
	/* an earlier file of the plan may create what a check reads */
	if (mg_checks_before(&cs, conn, &file->dir, &cerr) < 0)
		ev.err = &cerr;
	else
		ev.checks = &cs;
	/* backups: how many rows each backup: would save */
	if ((dir == MG_DIR_UP || dir == MG_DIR_JOB) && ev.err == NULL &&
	    file->dir.nbackups > 0) {
		char now[32];
		struct mg_backup_ctx ctx = { r->table, r->ledger->table, "v",
			                     m->version, now, !ev.no_transaction,
			                     NULL };

		mg_ledger_now(now, NULL);
		size_t i;

		/* a job's: named as its next event would be, for the count */
		if (dir == MG_DIR_JOB) {
			ctx.owner = "j";
			ctx.job = m->name;
			ctx.number = r->ledger->last_id + 1;
		}

		if (mg_backups_take(&bk, conn, &ctx, &file->dir, true, &cerr) <
		    0)
			ev.err = &cerr;
		for (i = 0; ev.err == NULL && i < bk.n; i++)
			mg_checks_set_backup_rows(&cs, bk.v[i].table,
			                          bk.v[i].rows);
		cs.more_json = mg_backups_json;
		cs.more_ctx = &bk;
	}
	mg_checks_json(&cs, &json);
	ev.checks_json = mg_buf_cstr(&json);
	ev.no_transaction = outside_txn(r, file);
	ev.dry_run = true;
	mg_runner_emit(r, &ev);
	mg_checks_dispose(&cs);
	mg_backups_dispose(&bk);
	mg_buf_dispose(&json);
}

/*
 * The connection a dry run's checks see: the real one, but each query
 * first confirms that the dry run's read-only transaction is still open,
 * so that no check runs after one that ended it. (The checks' queries
 * are all that go through it: query() is the only slot they call that
 * takes the connection.)
 */
struct dry_conn {
	struct mg_conn base; /* first: base.drv is `drv` below */
	struct mg_conn *real;
	struct mg_driver drv; /* the real driver's, with query() guarded */
};

static int dry_query(struct mg_rows **out, struct mg_conn *conn,
                     const char *sql, const char *const *params, size_t nparams,
                     unsigned flags, struct mg_error *err)
{
	struct mg_conn *real = ((struct dry_conn *)conn)->real;
	bool inside = true;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (real->drv->in_txn != NULL &&
	    (rc = real->drv->in_txn(&inside, real, err)) < 0)
		return rc;
	if (!inside)
		return mg_error_set(err, MG_ERR,
		                    "the dry run's read-only transaction "
		                    "ended: no further check runs");
	return real->drv->query(out, real, sql, params, nparams, flags, err);
}

/*
 * One file of a dry run: its checks inside a transaction that is always
 * rolled back, read-only as the session is (MG_CONNECT_READ_ONLY). One
 * per file, so that a check failing on PostgreSQL does not abort the
 * next file's. A check that ended the transaction stops the dry run: the
 * next check is refused (dry_query), and the file with it.
 */
int mg_runner_dry_run(struct mg_runner *r, const struct mg_migration *m,
                      enum mg_direction dir, struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	struct dry_conn guard = { .base = *r->conn, .real = r->conn };
	bool inside = true;
	int rc, rrc;

	guard.drv = *drv;
	guard.drv.query = dry_query;
	guard.base.drv = &guard.drv;
	if ((rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0)
		return rc;
	dry_run_event(r, &guard.base, m, dir);
	if (drv->in_txn != NULL &&
	    (rc = drv->in_txn(&inside, r->conn, err)) == 0 && !inside)
		rc = mg_error_set(err, MG_ERR,
		                  "a check of '%s' ended the dry run's "
		                  "read-only transaction: stopped",
		                  file_of(m, dir)->path);
	rrc = drv->txn(r->conn, MG_TXN_ROLLBACK, rc < 0 ? NULL : err);
	return rc < 0 ? rc : rrc;
}

struct run_spec {
	bool up;
	bool both; /* migrate test runs the down files too */
	const struct mg_up_opts *up_opts;
	struct mg_down_opts down_opts; /* steps count down as files run */
};

/* The driver's static check of one file. */
static int check_file(struct mg_runner *r, const struct mg_file *f,
                      struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	unsigned flags = outside_txn(r, f) ? MG_SCRIPT_NO_TXN : 0;
	unsigned line = 0;
	int rc;

	if (f->path == NULL || drv->check_script == NULL)
		return 0;
	rc = drv->check_script(f->text, f->len, flags, &line, err);
	if (rc == MG_EINVALID) {
		err->detail[0] = '\0';
		mg_error_locate(err, f->path, line);
	}
	return rc;
}

int mg_runner_check_file(struct mg_runner *r, const struct mg_file *f,
                         struct mg_error *err)
{
	return check_file(r, f, err);
}

/* Plans, then checks every file of the plan before any of them runs. */
static int plan(struct mg_plan *out, struct mg_runner *r, struct run_spec *s,
                struct mg_error *err)
{
	struct mg_status st;
	size_t i;
	int rc;

	if ((rc = mg_status_build(&st, r->src, r->ledger, err)) < 0)
		return rc;
	if (s->up)
		rc = mg_plan_up(out, &st, s->up_opts, err);
	else
		rc = mg_rollback_plan(out, &st, &s->down_opts, err);
	mg_status_dispose(&st);
	for (i = 0; rc == 0 && i < out->n; i++) {
		const struct mg_migration *m = out->v[i];

		if ((s->up || s->both) && (rc = check_file(r, &m->up, err)) < 0)
			break;
		if ((!s->up || s->both) &&
		    (rc = check_file(r, &m->down, err)) < 0)
			break;
	}
	/* backups: what cannot work is refused before any file runs (in
	 * migrate test, a restore: needs the backup its own up takes) */
	if (rc == 0)
		rc = mg_backup_precheck(r->conn, r->table, out,
		                        s->up || s->both, !s->up && !s->both,
		                        err);
	if (rc < 0)
		mg_plan_dispose(out);
	return rc;
}

int mg_runner_plan_up(struct mg_plan *out, struct mg_runner *r,
                      const struct mg_up_opts *opts, bool with_down,
                      struct mg_error *err)
{
	struct run_spec s = { .up = true, .both = with_down, .up_opts = opts };

	return plan(out, r, &s, err);
}

/*
 * The reason a file's row records: the run's --reason, and for a down
 * file that changed since the up ran (run because --allow-changed-down
 * let it; the plan refuses it else), that it did. Empty: none.
 */
static int row_reason(struct mg_buf *out, const struct mg_runner *r,
                      const struct run_spec *s, const struct mg_migration *m,
                      struct mg_error *err)
{
	const char *was = NULL;
	size_t i;

	mg_buf_truncate(out, 0);
	if (r->reason != NULL)
		mg_buf_add(out, r->reason);
	if (s->up || !s->down_opts.allow_changed_down)
		return mg_buf_check(out, err);
	for (i = r->ledger->n; i-- > 0;) {
		const struct mg_ledger_row *row = &r->ledger->rows[i];

		if (row->version == m->version && row->f[MG_LF_STATUS] &&
		    mg_direction_sets_state(row->f[MG_LF_DIRECTION]) &&
		    strcmp(row->f[MG_LF_STATUS],
		           mg_outcome_name(MG_OUTCOME_OK)) == 0) {
			was = row->f[MG_LF_DOWN_CHECKSUM];
			break;
		}
	}
	if (was == NULL || strcmp(was, m->down.checksum) != 0)
		mg_buf_addf(out,
		            "%s--allow-changed-down: %s changed since the up "
		            "ran (recorded %s, now %s)",
		            out->len > 0 ? "; " : "", m->down.path,
		            was ? was : "none", m->down.checksum);
	return mg_buf_check(out, err);
}

/* A run lock still held before the next file; MG_ELOCKED if it was lost
 * (MySQL's lock session killed, say). */
static int still_locked(struct mg_runner *r, const char *path,
                        struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	char name[128];
	int64_t key;
	int rc;

	if (!(drv->caps & MG_CAP_RUN_LOCK) || drv->lock_held == NULL)
		return 0;
	lock_name(name, &key, drv->schema(r->conn), r->table);
	if ((rc = drv->lock_held(r->conn, name, key, err)) < 0)
		mg_error_hint(err,
		              "stopped before %s; run again once no other "
		              "runner is active",
		              path);
	return rc;
}

/* Reads what was appended since the ledger was last read (issue 7: a
 * full re-read in each file's transaction made a run quadratic). */
static int reload(struct mg_runner *r, struct mg_error *err)
{
	return mg_ledger_refresh(r->ledger, r->conn, err);
}

/* The caller's on_plan hears of the run's first plan (a header for
 * people, issue 10); a plan made again after another runner's rows is
 * not news. */
static void tell_plan(struct mg_runner *r, const struct mg_plan *p, bool *told)
{
	if (!*told && r->on_plan != NULL)
		r->on_plan(r->ctx, p);
	*told = true;
}

/*
 * With a run lock the ledger cannot change under us: plan once. Without
 * one (SQLite) each file's transaction is the lock, so read the ledger's
 * new rows inside it, and plan again if they are not all ours: a racing
 * runner may have applied the next file already, and then we must not run
 * it twice.
 */
static int run(struct mg_runner *r, struct run_spec *s, bool dry_run,
               struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	bool replan = !(drv->caps & MG_CAP_RUN_LOCK) && !dry_run;
	struct mg_plan p = { 0 };
	struct mg_buf reason = MG_BUF_INIT;
	size_t i = 0;
	int64_t seen;
	const char *path;
	bool told = false;
	int rc;

	r->applied = 0;
	r->attempt = 1;
	if (dry_run) {
		/* its checks wait for locks no longer than a real run's */
		if ((rc = mg_safety_begin(r, err)) == 0 &&
		    (rc = mg_ledger_load(&r->ledger, r->conn, r->table, false,
		                         err)) == 0 &&
		    (rc = plan(&p, r, s, err)) == 0)
			for (i = 0; i < p.n && rc == 0; i++)
				rc = mg_runner_dry_run(
				        r, p.v[i], s->up ? MG_DIR_UP : MG_DIR_DOWN,
				        err);
		mg_plan_dispose(&p);
		mg_ledger_free(r->ledger);
		r->ledger = NULL;
		return rc;
	}
	if ((rc = mg_runner_begin(r, err)) < 0)
		return rc;
	if (!replan && (rc = plan(&p, r, s, err)) < 0)
		goto cleanup;
	if (!replan)
		tell_plan(r, &p, &told);
	for (;;) {
		bool in_txn = false;

		if (replan) {
			if (!s->up && s->down_opts.to < 0 &&
			    !s->down_opts.all && s->down_opts.steps == 0)
				break;
			if ((rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0)
				goto cleanup;
			in_txn = true;
			seen = r->ledger->last_id;
			/* Only our own rows since the last plan: the rest of
			 * it stands. Another runner's moved the tail: plan
			 * afresh. */
			if ((rc = reload(r, err)) == 0 &&
			    (p.v == NULL || r->ledger->last_id != seen)) {
				mg_plan_dispose(&p);
				i = 0;
				if ((rc = plan(&p, r, s, err)) == 0)
					tell_plan(r, &p, &told);
			}
			if (rc < 0) {
				mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
				goto cleanup;
			}
		}
		if (i >= p.n) {
			if (in_txn)
				mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
			break;
		}
		r->retryable = false;
		path = s->up ? p.v[i]->up.path : p.v[i]->down.path;
		if ((rc = mg_safety_stopped(r, path, err)) < 0 ||
		    (rc = still_locked(r, path, err)) < 0 ||
		    (rc = row_reason(&reason, r, s, p.v[i], err)) < 0 ||
		    (rc = apply(r, p.v[i], s->up ? MG_DIR_UP : MG_DIR_DOWN,
		                in_txn ? MG_APPLY_IN_TXN : 0,
		                mg_buf_cstr(&reason), err)) < 0) {
			/* a lock wait that timed out: the same file again */
			if (mg_safety_retry(r, path, err))
				continue;
			goto cleanup;
		}
		i++;
		r->attempt = 1;
		if (!s->up)
			s->down_opts.steps--;
	}
cleanup:
	mg_buf_dispose(&reason);
	mg_plan_dispose(&p);
	mg_runner_end(r);
	return rc;
}

int mg_run_up(struct mg_runner *r, const struct mg_up_opts *opts, bool dry_run,
              struct mg_error *err)
{
	struct run_spec s = { .up = true, .up_opts = opts };

	return run(r, &s, dry_run, err);
}

int mg_run_down(struct mg_runner *r, const struct mg_down_opts *opts,
                bool dry_run, struct mg_error *err)
{
	struct run_spec s = { .up = false, .down_opts = *opts };

	/* the planner reads "no option" as one step */
	if (s.down_opts.to < 0 && !s.down_opts.all && s.down_opts.steps < 1)
		s.down_opts.steps = 1;
	return run(r, &s, dry_run, err);
}

/* Appends one bookkeeping row (baseline, repair) with no file run. */
static int mark(struct mg_runner *r, const struct mg_status_entry *e,
                enum mg_direction dir, const char *reason, unsigned flags,
                struct mg_error *err)
{
	struct mg_ledger_row row;
	char now[32];
	int rc;

	mg_ledger_now(now, NULL);
	row_init(&row, r, e->m, e->version, e->name, dir, MG_OUTCOME_OK);
	row_times(&row, now, now, 0);
	mg_ledger_row_set(&row, MG_LF_REASON, reason);
	rc = mg_ledger_append(r->ledger, r->conn, &row, r->sign_key, flags,
	                      err);
	if (rc < 0 && rc != MG_ELOCKED && mg_meet_conflict(err)) {
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		if (met_runner(r, err))
			rc = mg_meet_report(err, r->conn, r->table);
	}
	mg_ledger_row_dispose(&row);
	return rc;
}

int mg_runner_record(struct mg_runner *r, const struct mg_migration *m,
                     enum mg_direction dir, enum mg_outcome status,
                     const char *error, struct mg_error *err)
{
	struct mg_ledger_row row;
	char now[32];
	int rc;

	mg_ledger_now(now, NULL);
	row_init(&row, r, m, m->version, m->name, dir, status);
	row_times(&row, now, now, 0);
	mg_ledger_row_set(&row, MG_LF_ERROR, error);
	scrub_row(r, &row);
	rc = append_alone(r, &row, err);
	mg_ledger_row_dispose(&row);
	return rc;
}

int mg_runner_append_event(struct mg_runner *r, int64_t version,
                           const char *name, enum mg_direction dir,
                           enum mg_outcome status, const char *checks_json,
                           const char *error, bool alone,
                           struct mg_error *err)
{
	const struct mg_migration *m = NULL;
	struct mg_ledger_row row;
	char now[32];
	size_t i;
	int rc;

	for (i = 0; r->src != NULL && i < r->src->n; i++)
		if (r->src->v[i].version == version)
			m = &r->src->v[i];
	mg_ledger_now(now, NULL);
	row_init(&row, r, m, version, name ? name : m ? m->name : "", dir,
	         status);
	row_times(&row, now, now, 0);
	mg_ledger_row_set(&row, MG_LF_CHECKS, checks_json ? checks_json : "[]");
	mg_ledger_row_set(&row, MG_LF_ERROR, error);
	mg_ledger_row_set(&row, MG_LF_REASON,
	                  r->reason != NULL && *r->reason ? r->reason : NULL);
	scrub_row(r, &row);
	if ((rc = mg_ledger_row_check(&row, err)) < 0)
		goto cleanup;
	if (alone && (rc = r->conn->drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0)
		goto cleanup;
	/* without a run lock (SQLite) the transaction is the lock: read
	 * the tail inside it */
	if ((rc = reload(r, err)) < 0 ||
	    (rc = mg_ledger_append(r->ledger, r->conn, &row, r->sign_key,
	                           MG_Q_COMMIT, err)) < 0)
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
cleanup:
	if (rc < 0 && !alone)
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
	mg_ledger_row_dispose(&row);
	return rc;
}

/* Lock, then a transaction in which the ledger is read afresh. */
static int begin_marking(struct mg_runner *r, struct mg_status *st,
                         struct mg_error *err)
{
	int rc;

	r->applied = 0;
	if ((rc = mg_runner_begin(r, err)) < 0)
		return rc;
	if ((rc = r->conn->drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0 ||
	    (rc = reload(r, err)) < 0 ||
	    (rc = mg_status_build(st, r->src, r->ledger, err)) < 0) {
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		mg_runner_end(r);
	}
	return rc;
}

int mg_run_baseline(struct mg_runner *r, int64_t version, const char *reason,
                    struct mg_error *err)
{
	struct mg_status st;
	size_t i, last = SIZE_MAX;
	int rc;

	if ((rc = begin_marking(r, &st, err)) < 0)
		return rc;
	for (i = 0; i < st.n; i++) {
		if (st.v[i].state == MG_STATE_DIRTY) {
			rc = mg_error_set(err, MG_ERR,
			                  "%lld_%s is dirty: "
			                  "repair it first",
			                  (long long)st.v[i].version,
			                  st.v[i].name);
			goto cleanup;
		}
		if (st.v[i].version <= version && !st.v[i].applied &&
		    st.v[i].m != NULL)
			last = i;
	}
	for (i = 0; last != SIZE_MAX && i <= last; i++) {
		if (st.v[i].version > version || st.v[i].applied ||
		    st.v[i].m == NULL)
			continue;
		if ((rc = mark(r, &st.v[i], MG_DIR_BASELINE, reason,
		               i == last ? MG_Q_COMMIT : 0, err)) < 0)
			goto cleanup;
		r->applied++;
	}
cleanup:
	if (rc < 0 || last == SIZE_MAX)
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
	mg_status_dispose(&st);
	mg_runner_end(r);
	return rc;
}

int mg_run_repair(struct mg_runner *r, int64_t version, const char *reason,
                  bool applied, struct mg_error *err)
{
	const struct mg_status_entry *e = NULL;
	struct mg_status st;
	size_t i;
	int rc;

	if ((rc = begin_marking(r, &st, err)) < 0)
		return rc;
	for (i = 0; i < st.n; i++)
		if (st.v[i].version == version)
			e = &st.v[i];
	if (e == NULL) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "no migration with version "
		                  "%lld",
		                  (long long)version);
	} else if (e->state != MG_STATE_DIRTY && e->state != MG_STATE_FAILED) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "%lld_%s is %s: repair "
		                  "clears only a failed or dirty state",
		                  (long long)version, e->name,
		                  mg_state_name(e->state));
	} else if (applied && e->m == NULL) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "%lld_%s has no files to "
		                  "record as applied",
		                  (long long)version, e->name);
	} else {
		/* "repair" clears the state; with --applied a baseline row
		 * then records the version as applied, so that "applied"
		 * keeps one meaning: the latest ok event is up or baseline */
		rc = mark(r, e, MG_DIR_REPAIR, reason, applied ? 0 : MG_Q_COMMIT,
		          err);
		if (rc == 0 && applied)
			rc = mark(r, e, MG_DIR_BASELINE, reason, MG_Q_COMMIT, err);
		if (rc == 0)
			r->applied++;
	}
	if (rc < 0)
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
	mg_status_dispose(&st);
	mg_runner_end(r);
	return rc;
}
