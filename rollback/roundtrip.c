#include "rollback/roundtrip.h"

#include <string.h>

#include "migrator/buf.h"
#include "migrator/error.h"
#include "migrator/ledger.h"
#include "migrator/plan.h"
#include "migrator/runner.h"
#include "migrator/source.h"
#include "rollback/schema.h"

/* A round trip's verdict, as an event of its own. */
static void roundtrip_event(struct mg_runner *r, const struct mg_migration *m,
                            enum mg_outcome status, const char *schema,
                            const struct mg_error *err)
{
	struct mg_event ev = { 0 };

	ev.m = m;
	ev.direction = MG_DIR_ROUNDTRIP;
	ev.status = status;
	ev.file = m->down.path ? m->down.path : m->up.path;
	ev.checksum = schema;
	ev.checks_json = "[]";
	ev.err = err;
	mg_runner_emit(r, &ev);
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
		roundtrip_event(r, m, MG_OUTCOME_SKIPPED, NULL, NULL);
		return mg_runner_apply(r, m, MG_DIR_UP, err);
	}
	if ((rc = mg_schema_read(&before, r->conn, err)) < 0 ||
	    (rc = mg_runner_apply(r, m, MG_DIR_UP, err)) < 0 ||
	    (rc = mg_runner_apply(r, m, MG_DIR_DOWN, err)) < 0 ||
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
		roundtrip_event(r, m, MG_OUTCOME_FAILED, after.hash, err);
		rc = MG_ECHECKSUM;
		goto cleanup;
	}
	roundtrip_event(r, m, MG_OUTCOME_OK, after.hash, NULL);
	rc = mg_runner_apply(r, m, MG_DIR_UP, err);
cleanup:
	mg_buf_dispose(&diff);
	mg_schema_dispose(&before);
	mg_schema_dispose(&after);
	return rc;
}

int mg_roundtrip_run(struct mg_runner *r, const struct mg_up_opts *opts,
                     struct mg_error *err)
{
	struct mg_plan p = { 0 };
	size_t i, proven = 0;
	int rc;

	if ((rc = mg_runner_begin(r, err)) < 0)
		return rc;
	if ((rc = mg_runner_plan_up(&p, r, opts, true, err)) < 0)
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
