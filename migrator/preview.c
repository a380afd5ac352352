#include "migrator/preview.h"

#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/plan.h"
#include "migrator/runner.h"
#include "migrator/source.h"

/* A no-transaction file cannot be rolled back: listed, not run. */
static void not_rehearsed(struct mg_runner *r, const struct mg_migration *m,
                          enum mg_direction dir)
{
	struct mg_event ev = { 0 };

	ev.m = m;
	ev.direction = dir;
	ev.status = MG_OUTCOME_PLANNED;
	ev.file = m->up.path;
	ev.checksum = m->up.checksum;
	ev.checks_json = "[]";
	ev.no_transaction = true;
	ev.preview = true;
	ev.not_rehearsed = true;
	mg_runner_emit(r, &ev);
}

int mg_preview_possible(const struct mg_runner *r, struct mg_error *err)
{
	if (r->conn->drv->caps & MG_CAP_TXN_DDL)
		return 0;
	return mg_error_set(err, MG_EINVALID,
	                    "--preview needs a database whose DDL rolls back "
	                    "(PostgreSQL, SQLite): here DDL commits "
	                    "implicitly, so a rehearsal would apply the files "
	                    "for good");
}

int mg_preview_job(struct mg_runner *r, const struct mg_migration *job,
                   struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	int rc, rrc;

	if ((rc = mg_preview_possible(r, err)) < 0)
		return rc;
	if (job->up.dir.no_transaction) {
		not_rehearsed(r, job, MG_DIR_JOB);
		return 0;
	}
	if ((rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0)
		return rc;
	/* the first batch, as a real run's batch 1 */
	r->job_batch = 1;
	rc = mg_runner_rehearse_dir(r, job, MG_DIR_JOB, err);
	r->job_batch = 0;
	/* always: a rehearsal leaves nothing behind (its backups and the
	 * append lock they took go with it) */
	rrc = mg_runner_txn_end(r, MG_TXN_ROLLBACK, rc < 0 ? NULL : err);
	return rc < 0 ? rc : rrc;
}

int mg_run_preview(struct mg_runner *r, const struct mg_up_opts *opts,
                   struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	struct mg_plan p = { 0 };
	size_t i;
	int rc, rrc;

	if ((rc = mg_preview_possible(r, err)) < 0)
		return rc;
	r->applied = 0;
	if ((rc = mg_runner_begin(r, err)) < 0)
		return rc;
	if ((rc = mg_runner_plan_up(&p, r, opts, false, err)) < 0)
		goto cleanup;
	if (r->on_plan != NULL)
		r->on_plan(r->ctx, &p);
	if ((rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0)
		goto cleanup;
	for (i = 0; i < p.n && rc == 0; i++) {
		if (p.v[i]->up.dir.no_transaction) {
			not_rehearsed(r, p.v[i], MG_DIR_UP);
			continue;
		}
		if ((rc = mg_runner_rehearse(r, p.v[i], err)) == 0)
			r->applied++;
	}
	/* always: a rehearsal leaves nothing behind */
	rrc = mg_runner_txn_end(r, MG_TXN_ROLLBACK, rc < 0 ? NULL : err);
	if (rc == 0)
		rc = rrc;
cleanup:
	mg_plan_dispose(&p);
	mg_runner_end(r);
	return rc;
}
