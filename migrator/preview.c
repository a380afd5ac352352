#include "migrator/preview.h"

#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/plan.h"
#include "migrator/runner.h"
#include "migrator/source.h"

/* A no-transaction file cannot be rolled back: listed, not run. */
static void not_rehearsed(struct mg_runner *r, const struct mg_migration *m)
{
	struct mg_event ev = { 0 };

	ev.m = m;
	ev.direction = MG_DIR_UP;
	ev.status = MG_OUTCOME_PLANNED;
	ev.file = m->up.path;
	ev.checksum = m->up.checksum;
	ev.checks_json = "[]";
	ev.no_transaction = true;
	ev.preview = true;
	ev.not_rehearsed = true;
	mg_runner_emit(r, &ev);
}

int mg_run_preview(struct mg_runner *r, const struct mg_up_opts *opts,
                   struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	struct mg_plan p = { 0 };
	size_t i;
	int rc, rrc;

	if (!(drv->caps & MG_CAP_TXN_DDL))
		return mg_error_set(err, MG_EINVALID,
		                    "--preview needs a database whose DDL "
		                    "rolls back (PostgreSQL, SQLite): here DDL "
		                    "commits implicitly, so a rehearsal would "
		                    "apply the files for good");
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
			not_rehearsed(r, p.v[i]);
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
