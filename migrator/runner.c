#include "migrator/runner.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/ledger.h"
#include "migrator/source.h"
#include "rollback/schema.h"

void mg_runner_lock_name(char out[128], int64_t *key, const char *schema,
                         const char *table)
{
	unsigned char h[8];
	char full[512];
	uint64_t k = 0;
	int i;

	/* MySQL's lock names are server-wide: the database must be in it */
	if (schema != NULL && strchr(table, '.') == NULL)
		snprintf(full, sizeof(full), "%s.%s", schema, table);
	else
		snprintf(full, sizeof(full), "%s", table);
	crypto_generichash(h, sizeof(h), (const unsigned char *)full,
	                   strlen(full), NULL, 0);
	for (i = 0; i < 8; i++)
		k = k << 8 | h[i];
	*key = (int64_t)k;
	/* and they stop at 64 characters */
	if (strlen(full) <= 48)
		snprintf(out, 128, "migrate:%.48s", full);
	else
		snprintf(out, 128, "migrate:%016" PRIx64, k);
}

int mg_runner_begin(struct mg_runner *r, struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	char name[128];
	int64_t key;
	int rc;

	mg_runner_lock_name(name, &key, drv->schema(r->conn), r->table);
	if ((rc = drv->lock(r->conn, name, key, r->lock_timeout_s, err)) < 0)
		return rc;
	if ((rc = mg_ledger_load(&r->ledger, r->conn, r->table, false, err)) <
	    0)
		goto fail;
	/* created in a transaction: on SQLite that is the lock */
	if (!r->ledger->exists &&
	    ((rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0 ||
	     (rc = mg_ledger_ensure(r->ledger, r->conn, err)) < 0 ||
	     (rc = drv->txn(r->conn, MG_TXN_COMMIT, err)) < 0)) {
		drv->txn(r->conn, MG_TXN_ROLLBACK, NULL);
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

	mg_runner_lock_name(name, &key, r->conn->drv->schema(r->conn),
	                    r->table);
	r->conn->drv->unlock(r->conn, name, key);
	mg_ledger_free(r->ledger);
	r->ledger = NULL;
}

int mg_runner__row_init(struct mg_runner *r, struct mg_ledger_row *row,
                        const struct mg_migration *m, int64_t version,
                        const char *name, const char *direction,
                        const char *status)
{
	char num[32];
	int rc = 0;

	memset(row, 0, sizeof(*row));
	row->version = version;
	snprintf(num, sizeof(num), "%" PRId64, version);
	rc |= mg_ledger_row_set(row, MG_LF_VERSION, num);
	rc |= mg_ledger_row_set(row, MG_LF_NAME, name);
	rc |= mg_ledger_row_set(row, MG_LF_DIRECTION, direction);
	rc |= mg_ledger_row_set(row, MG_LF_STATUS, status);
	if (m != NULL) {
		rc |= mg_ledger_row_set(row, MG_LF_UP_CHECKSUM, m->up.checksum);
		if (m->down.path != NULL)
			rc |= mg_ledger_row_set(row, MG_LF_DOWN_CHECKSUM,
			                        m->down.checksum);
	}
	rc |= mg_ledger_row_set(row, MG_LF_DB_USER,
	                        r->conn->drv->user(r->conn));
	rc |= mg_ledger_row_set(row, MG_LF_OS_USER, r->os_user);
	rc |= mg_ledger_row_set(row, MG_LF_HOST, r->host);
	rc |= mg_ledger_row_set(row, MG_LF_TOOL_VERSION, "migrate " MG_VERSION);
	rc |= mg_ledger_row_set(row, MG_LF_CHECKS, "[]");
	return rc < 0 ? MG_ENOMEM : 0;
}

static void emit(struct mg_runner *r, struct mg_event *ev)
{
	if (r->on_event != NULL)
		r->on_event(r->ctx, ev);
}

/* "FILE:LINE: message", the form editors jump to */
static void locate(struct mg_error *err, const char *path, unsigned line)
{
	struct mg_buf b = MG_BUF_INIT;

	if (line > 0)
		mg_buf_addf(&b, "%s:%u: %s", path, line, err->msg);
	else
		mg_buf_addf(&b, "%s: %s", path, err->msg);
	/* cut to fit: the server's message is also in the ledger row */
	snprintf(err->msg, sizeof(err->msg), "%s", mg_buf_cstr(&b));
	mg_buf_dispose(&b);
}

/* The ledger row's error text: the message, the server's detail, and how
 * far a file run statement by statement got. */
static void error_text(struct mg_buf *b, const struct mg_error *e,
                       const struct mg_script_result *res, bool no_txn)
{
	mg_buf_add(b, e->msg);
	if (e->detail[0])
		mg_buf_addf(b, "\n%s", e->detail);
	if (no_txn && res->total > 0)
		mg_buf_addf(b, "\nstatements completed: %zu of %zu", res->done,
		            res->total);
}

/*
 * Where DDL cannot roll back, a failed check is answered by running the
 * opposite file and measuring again: the state is restored only if every
 * "before" value comes back. Returns the status to record.
 */
static const char *undo(struct mg_runner *r, const struct mg_migration *m,
                        bool up, struct mg_checks *cs, struct mg_error *xerr)
{
	const struct mg_file *f = up ? &m->down : &m->up;
	struct mg_script_result res = { 0 };
	struct mg_error uerr = { 0 };
	char *differs = NULL;
	bool same = false;

	if (f->path == NULL) {
		mg_error_detail(xerr, "no down file to undo it: the changes "
		                      "stay");
		return "dirty";
	}
	if (r->conn->drv->exec_script(r->conn, f->text, f->len,
	                              MG_SCRIPT_NO_TXN, &res, &uerr) < 0) {
		mg_error_detail(xerr, "undoing with %s failed at line %u: %s",
		                f->path, res.line, uerr.msg);
		return "dirty";
	}
	if (mg_checks_restored(cs, r->conn, &same, &differs, &uerr) < 0) {
		mg_error_detail(xerr,
		                "ran %s, but could not measure the "
		                "result: %s",
		                f->path, uerr.msg);
		return "dirty";
	}
	if (same)
		mg_error_detail(xerr,
		                "ran %s to undo it; every before value "
		                "was restored",
		                f->path);
	else
		mg_error_detail(xerr,
		                "ran %s to undo it, but the state differs: "
		                "%s",
		                f->path, differs);
	free(differs);
	return same ? "rolled_back" : "dirty";
}

static int mark_started(struct mg_runner *r, const struct mg_migration *m,
                        bool up, const char *started, struct mg_error *err)
{
	struct mg_ledger_row row;
	int rc;

	rc = mg_runner__row_init(r, &row, m, m->version, m->name,
	                         up ? "up" : "down", "dirty");
	if (rc == 0)
		rc = mg_ledger_row_set(&row, MG_LF_STARTED_AT, started) |
		     mg_ledger_row_set(&row, MG_LF_FINISHED_AT, started) |
		     mg_ledger_row_set(&row, MG_LF_DURATION_MS, "0") |
		     mg_ledger_row_set(&row, MG_LF_ERROR,
		                       "started outside a transaction; if no "
		                       "later event follows, the run was "
		                       "interrupted and the file may be "
		                       "half-applied");
	if (rc < 0)
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
	else if ((rc = r->conn->drv->txn(r->conn, MG_TXN_BEGIN, err)) == 0 &&
	         (rc = mg_ledger_append(r->ledger, r->conn, &row, r->sign_key,
	                                MG_Q_COMMIT, err)) < 0)
		r->conn->drv->txn(r->conn, MG_TXN_ROLLBACK, NULL);
	mg_ledger_row_dispose(&row);
	return rc;
}

/* Turns the first failed check into the error: "FILE:LINE: check ...". */
static void check_error(struct mg_error *e, const struct mg_checks *cs,
                        const char *path)
{
	const struct mg_check *c = &cs->dir->checks[cs->failed];
	struct mg_buf b = MG_BUF_INIT;

	mg_checks_describe(cs, cs->failed, &b);
	mg_error_set(e, MG_ECHECK, "%s:%u: check failed: %s", path, c->line,
	             mg_buf_cstr(&b));
	mg_buf_dispose(&b);
}

/*
 * Runs one file with its checks. in_txn: the caller already opened its
 * transaction (the lock, on databases without a run lock). Each outcome
 * gets its ledger row: an ok row commits with the file; a failure is
 * recorded after the rollback, in a transaction of its own.
 */
static int apply(struct mg_runner *r, const struct mg_migration *m, bool up,
                 bool in_txn, struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	const struct mg_file *file = up ? &m->up : &m->down;
	bool no_txn = file->dir.no_transaction || !(drv->caps & MG_CAP_TXN_DDL);
	struct mg_ledger_row row = { 0 };
	struct mg_script_result res = { 0 };
	struct mg_checks cs = { 0 };
	struct mg_event ev = { 0 };
	struct mg_buf text = MG_BUF_INIT, json = MG_BUF_INIT;
	struct mg_error xerr = { 0 };
	const char *status = "ok";
	char started[32], finished[32], num[32];
	int64_t t0, t1;
	int rc, xrc;

	mg_ledger_now(started, &t0);
	if (no_txn && in_txn &&
	    (rc = drv->txn(r->conn, MG_TXN_ROLLBACK, err)) < 0)
		return rc;
	if (!no_txn && !in_txn &&
	    (rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0)
		return rc;
	/* Outside a transaction a crash would leave a half-applied file and
	 * no trace: record "dirty" first, and the outcome after it. */
	if (no_txn && (rc = mark_started(r, m, up, started, err)) < 0)
		return rc;
	xrc = mg_checks_before(&cs, r->conn, &file->dir, &xerr);
	if (xrc == MG_ENOMEM) {
		*err = xerr;
		drv->txn(r->conn, MG_TXN_ROLLBACK, NULL);
		return xrc;
	}
	if (xrc < 0) { /* a check that cannot run: the file is wrong */
		status = "failed";
		res.line = xerr.line;
		locate(&xerr, file->path, res.line);
	} else if (cs.any_failed) { /* a check:pre said no: nothing ran */
		status = "rolled_back";
		check_error(&xerr, &cs, file->path);
		xrc = MG_ECHECK;
	} else if ((xrc = drv->exec_script(r->conn, file->text, file->len,
	                                   no_txn ? MG_SCRIPT_NO_TXN : 0, &res,
	                                   &xerr)) < 0) {
		/* after statements committed one by one, the file is
		 * half-applied: dirty until an operator repairs it */
		status = res.committed > 0 ? "dirty" : "failed";
		locate(&xerr, file->path, res.line);
	} else if ((xrc = mg_checks_after(&cs, r->conn, &xerr)) < 0) {
		status = no_txn ? "dirty" : "failed";
	} else if (cs.any_failed) {
		check_error(&xerr, &cs, file->path);
		xrc = MG_ECHECK;
		status = no_txn ? undo(r, m, up, &cs, &xerr) : "rolled_back";
		if (!no_txn)
			mg_error_detail(&xerr, "the transaction was rolled "
			                       "back: nothing changed");
	}
	mg_ledger_now(finished, &t1);
	/* also outside our transaction: the file may have left one of its
	 * own open and aborted, where the outcome row could not be written */
	if (xrc < 0)
		drv->txn(r->conn, MG_TXN_ROLLBACK, NULL);
	if ((rc = mg_runner__row_init(r, &row, m, m->version, m->name,
	                              up ? "up" : "down", status)) < 0) {
		mg_error_set(err, rc, "out of memory");
		goto cleanup;
	}
	snprintf(num, sizeof(num), "%" PRId64, t1 - t0);
	mg_checks_json(&cs, &json);
	rc = mg_ledger_row_set(&row, MG_LF_STARTED_AT, started) |
	     mg_ledger_row_set(&row, MG_LF_FINISHED_AT, finished) |
	     mg_ledger_row_set(&row, MG_LF_DURATION_MS, num) |
	     mg_ledger_row_set(&row, MG_LF_CHECKS, mg_buf_cstr(&json));
	if (rc < 0 || mg_buf_check(&json, NULL) < 0) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	/* An ok row commits with the file. If that commit fails (a
	 * deferred constraint), the file failed after all: record that. */
	if (xrc == 0 && !no_txn &&
	    mg_ledger_append(r->ledger, r->conn, &row, r->sign_key, MG_Q_COMMIT,
	                     &xerr) < 0) {
		drv->txn(r->conn, MG_TXN_ROLLBACK, NULL);
		locate(&xerr, file->path, 0);
		xrc = xerr.code;
		status = "failed";
		if (mg_ledger_row_set(&row, MG_LF_STATUS, status) < 0) {
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
			goto cleanup;
		}
	} else if (xrc == 0 && !no_txn) {
		goto recorded;
	}
	if (xrc < 0)
		error_text(&text, &xerr, &res, no_txn);
	if (mg_ledger_row_set(&row, MG_LF_ERROR,
	                      xrc < 0 ? mg_buf_cstr(&text) : NULL) < 0 ||
	    mg_buf_check(&text, NULL) < 0) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	/* failures, and files run outside ours: a transaction of its own */
	if ((rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) == 0 &&
	    (rc = mg_ledger_append(r->ledger, r->conn, &row, r->sign_key,
	                           MG_Q_COMMIT, err)) < 0)
		drv->txn(r->conn, MG_TXN_ROLLBACK, NULL);
	if (rc < 0 && xrc == 0) {
		/* the file ran outside a transaction, but its ok row was not
		 * written: the dirty row stays its last word, and says so */
		mg_error_set(&xerr, err->code,
		             "%s ran, but its ledger row could not be "
		             "written: %s",
		             file->path, err->msg);
		xrc = xerr.code;
		status = "dirty";
	} else if (rc < 0) {
		/* the file's own failure matters more; keep both */
		char before[sizeof(xerr.detail)];

		memcpy(before, xerr.detail, sizeof(before));
		mg_error_detail(&xerr,
		                "%s%sand its ledger row could not be "
		                "written: %s",
		                before, before[0] ? "\n" : "", err->msg);
	}
recorded:
	/* a check failed, but the undo did not restore: not "rolled back" */
	if (xrc == MG_ECHECK && strcmp(status, "dirty") == 0)
		xerr.code = xrc = MG_ERR;
	ev.m = m;
	ev.direction = row.f[MG_LF_DIRECTION];
	ev.status = status;
	ev.file = file->path;
	ev.checksum = file->checksum;
	ev.duration_ms = t1 - t0;
	ev.checks = cs.dir != NULL ? &cs : NULL;
	ev.checks_json = row.f[MG_LF_CHECKS];
	ev.err = xrc < 0 ? &xerr : NULL;
	ev.done = res.done;
	ev.total = res.total;
	ev.no_transaction = no_txn;
	emit(r, &ev);
	if (xrc < 0) {
		*err = xerr;
		rc = xrc;
		goto cleanup;
	}
	r->applied++;
cleanup:
	mg_checks_dispose(&cs);
	mg_buf_dispose(&text);
	mg_buf_dispose(&json);
	mg_ledger_row_dispose(&row);
	return rc;
}

/* A dry run reads the live "before" values, and changes nothing. */
static void dry_run_event(struct mg_runner *r, const struct mg_migration *m,
                          bool up)
{
	const struct mg_file *file = up ? &m->up : &m->down;
	struct mg_checks cs = { 0 };
	struct mg_buf json = MG_BUF_INIT;
	struct mg_error cerr = { 0 };
	struct mg_event ev = { 0 };

	ev.m = m;
	ev.direction = up ? "up" : "down";
	ev.status = "planned";
	ev.file = file->path;
	ev.checksum = file->checksum;
	/* an earlier file of the plan may create what a check reads */
	if (mg_checks_before(&cs, r->conn, &file->dir, &cerr) < 0)
		ev.err = &cerr;
	else
		ev.checks = &cs;
	mg_checks_json(&cs, &json);
	ev.checks_json = mg_buf_cstr(&json);
	ev.no_transaction = file->dir.no_transaction ||
	                    !(r->conn->drv->caps & MG_CAP_TXN_DDL);
	ev.dry_run = true;
	emit(r, &ev);
	mg_checks_dispose(&cs);
	mg_buf_dispose(&json);
}

struct run_spec {
	bool up;
	bool both; /* migrate test runs the down files too */
	const struct mg_up_opts *up_opts;
	struct mg_down_opts down_opts; /* steps count down as files run */
};

/* The driver's static check of one file, as "FILE:LINE: message". */
static int check_file(struct mg_runner *r, const struct mg_file *f,
                      struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	unsigned flags = f->dir.no_transaction || !(drv->caps & MG_CAP_TXN_DDL)
	                         ? MG_SCRIPT_NO_TXN
	                         : 0;
	unsigned line = 0;
	int rc;

	if (f->path == NULL || drv->check_script == NULL)
		return 0;
	rc = drv->check_script(f->text, f->len, flags, &line, err);
	if (rc == MG_EINVALID) {
		err->detail[0] = '\0';
		locate(err, f->path, line);
	}
	return rc;
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
	if (rc < 0)
		mg_plan_dispose(out);
	return rc;
}

/* Reads what was appended since the ledger was last read (issue 7: a
 * full re-read in each file's transaction made a run quadratic). */
static int reload(struct mg_runner *r, struct mg_error *err)
{
	return mg_ledger_refresh(r->ledger, r->conn, err);
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
	size_t i = 0;
	int64_t seen;
	int rc;

	if (dry_run) {
		if ((rc = mg_ledger_load(&r->ledger, r->conn, r->table, false,
		                         err)) == 0 &&
		    (rc = plan(&p, r, s, err)) == 0)
			for (i = 0; i < p.n; i++)
				dry_run_event(r, p.v[i], s->up);
		mg_plan_dispose(&p);
		mg_ledger_free(r->ledger);
		r->ledger = NULL;
		return rc;
	}
	if ((rc = mg_runner_begin(r, err)) < 0)
		return rc;
	if (!replan && (rc = plan(&p, r, s, err)) < 0)
		goto cleanup;
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
				rc = plan(&p, r, s, err);
			}
			if (rc < 0) {
				drv->txn(r->conn, MG_TXN_ROLLBACK, NULL);
				goto cleanup;
			}
		}
		if (i >= p.n) {
			if (in_txn)
				drv->txn(r->conn, MG_TXN_ROLLBACK, NULL);
			break;
		}
		if ((rc = apply(r, p.v[i++], s->up, in_txn, err)) < 0)
			goto cleanup;
		if (!s->up)
			s->down_opts.steps--;
	}
cleanup:
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
                const char *direction, const char *reason, unsigned flags,
                struct mg_error *err)
{
	struct mg_ledger_row row;
	char now[32];
	int rc;

	mg_ledger_now(now, NULL);
	rc = mg_runner__row_init(r, &row, e->m, e->version, e->name, direction,
	                         "ok");
	if (rc == 0)
		rc = mg_ledger_row_set(&row, MG_LF_STARTED_AT, now) |
		     mg_ledger_row_set(&row, MG_LF_FINISHED_AT, now) |
		     mg_ledger_row_set(&row, MG_LF_DURATION_MS, "0") |
		     mg_ledger_row_set(&row, MG_LF_REASON, reason);
	if (rc < 0)
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
	else
		rc = mg_ledger_append(r->ledger, r->conn, &row, r->sign_key,
		                      flags, err);
	mg_ledger_row_dispose(&row);
	return rc;
}

/* Lock, then a transaction in which the ledger is read afresh. */
static int begin_marking(struct mg_runner *r, struct mg_status *st,
                         struct mg_error *err)
{
	int rc;

	if ((rc = mg_runner_begin(r, err)) < 0)
		return rc;
	if ((rc = r->conn->drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0 ||
	    (rc = reload(r, err)) < 0 ||
	    (rc = mg_status_build(st, r->src, r->ledger, err)) < 0) {
		r->conn->drv->txn(r->conn, MG_TXN_ROLLBACK, NULL);
		mg_runner_end(r);
	}
	return rc;
}

int mg_run_baseline(struct mg_runner *r, int64_t version, const char *reason,
                    struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
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
		if ((rc = mark(r, &st.v[i], "baseline", reason,
		               i == last ? MG_Q_COMMIT : 0, err)) < 0)
			goto cleanup;
		r->applied++;
	}
cleanup:
	if (rc < 0 || last == SIZE_MAX)
		drv->txn(r->conn, MG_TXN_ROLLBACK, NULL);
	mg_status_dispose(&st);
	mg_runner_end(r);
	return rc;
}

int mg_run_repair(struct mg_runner *r, int64_t version, const char *reason,
                  bool applied, struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
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
		rc = mark(r, e, "repair", reason, applied ? 0 : MG_Q_COMMIT,
		          err);
		if (rc == 0 && applied)
			rc = mark(r, e, "baseline", reason, MG_Q_COMMIT, err);
		if (rc == 0)
			r->applied++;
	}
	if (rc < 0)
		drv->txn(r->conn, MG_TXN_ROLLBACK, NULL);
	mg_status_dispose(&st);
	mg_runner_end(r);
	return rc;
}

/* A round trip's verdict, as an event of its own. */
static void roundtrip_event(struct mg_runner *r, const struct mg_migration *m,
                            const char *status, const char *schema,
                            const struct mg_error *err)
{
	struct mg_event ev = { 0 };

	ev.m = m;
	ev.direction = "roundtrip";
	ev.status = status;
	ev.file = m->down.path ? m->down.path : m->up.path;
	ev.checksum = schema;
	ev.checks_json = "[]";
	ev.err = err;
	emit(r, &ev);
}

/*
 * One pending migration's proof: up (with its checks), down, the schema
 * must be what it was before the up, then up again for good.
 */
static int roundtrip(struct mg_runner *r, const struct mg_migration *m,
                     struct mg_error *err)
{
	struct mg_schema before = { 0 }, after = { 0 };
	struct mg_buf diff = MG_BUF_INIT;
	int rc;

	if (m->up.dir.irreversible) { /* nothing to prove */
		roundtrip_event(r, m, "skipped", NULL, NULL);
		return apply(r, m, true, false, err);
	}
	if ((rc = mg_schema_read(&before, r->conn, err)) < 0 ||
	    (rc = apply(r, m, true, false, err)) < 0 ||
	    (rc = apply(r, m, false, false, err)) < 0 ||
	    (rc = mg_schema_read(&after, r->conn, err)) < 0)
		goto cleanup;
	if (strcmp(before.hash, after.hash) != 0) {
		mg_schema_diff(&diff, &before, &after);
		mg_error_set(err, MG_ECHECKSUM,
		             "%s does not undo %s: the "
		             "schema differs from before the up",
		             m->down.path, m->up.path);
		mg_error_detail(err, "%s", mg_buf_cstr(&diff));
		mg_error_hint(err,
		              "'-' is what the down file dropped too "
		              "much or did not restore, '+' what it left "
		              "behind; the down file has run, so the version "
		              "counts as not applied");
		roundtrip_event(r, m, "failed", after.hash, err);
		rc = MG_ECHECKSUM;
		goto cleanup;
	}
	roundtrip_event(r, m, "ok", after.hash, NULL);
	rc = apply(r, m, true, false, err);
cleanup:
	mg_buf_dispose(&diff);
	mg_schema_dispose(&before);
	mg_schema_dispose(&after);
	return rc;
}

int mg_run_test(struct mg_runner *r, const struct mg_up_opts *opts,
                struct mg_error *err)
{
	struct run_spec s = { .up = true, .both = true, .up_opts = opts };
	struct mg_plan p = { 0 };
	size_t i, proven = 0;
	int rc;

	if ((rc = mg_runner_begin(r, err)) < 0)
		return rc;
	if ((rc = plan(&p, r, &s, err)) < 0)
		goto cleanup;
	for (i = 0; i < p.n && rc == 0; i++)
		if ((rc = roundtrip(r, p.v[i], err)) == 0)
			proven++;
	r->applied = proven; /* migrations, not the up-down-up events */
cleanup:
	mg_plan_dispose(&p);
	mg_runner_end(r);
	return rc;
}
