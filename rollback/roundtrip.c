#include "rollback/roundtrip.h"

#include <stdlib.h>
#include <string.h>

#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/ledger.h"
#include "migrator/plan.h"
#include "migrator/runner.h"
#include "migrator/source.h"
#include "rollback/restore.h"
#include "rollback/schema.h"
#include "checks/backup.h"

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

/* Whether the proof can run in one transaction that a failed comparison
 * rolls back: DDL that rolls back, and both files inside the runner's
 * transaction. */
static bool provable_in_txn(const struct mg_runner *r,
                            const struct mg_migration *m)
{
	return (r->conn->drv->caps & MG_CAP_TXN_DDL) &&
	       !m->up.dir.no_transaction && !m->down.dir.no_transaction;
}

/* The comparison failed: say what differs, and leave the database as it
 * was found where the transaction allows, else the version dirty. */
static int disproved(struct mg_runner *r, const struct mg_migration *m,
                     bool txn, const struct mg_schema *before,
                     const struct mg_schema *after, struct mg_error *err)
{
	struct mg_buf diff = MG_BUF_INIT, why = MG_BUF_INIT;
	struct mg_error rerr = { 0 };

	mg_schema_diff(&diff, before, after);
	mg_error_set(err, MG_ECHECKSUM,
	             "%s does not undo %s: the schema differs from before "
	             "the up",
	             m->down.path, m->up.path);
	mg_error_detail(err, "%s", mg_buf_cstr(&diff));
	if (txn) {
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		mg_error_hint(err, "'-' is what the down file dropped too much "
		                   "or did not restore, '+' what it left "
		                   "behind; the up and the down were rolled "
		                   "back: the database is as it was found");
	} else {
		mg_buf_addf(&why,
		            "migrate test: %s ran, but the schema differs from "
		            "before the up: %s",
		            m->down.path, mg_buf_cstr(&diff));
		if (mg_runner_record(r, m, MG_DIR_DOWN, MG_OUTCOME_DIRTY,
		                     mg_buf_cstr(&why), &rerr) < 0)
			mg_error_hint(err, "the version could not be marked "
			                   "dirty: %s",
			                   rerr.msg);
		else
			mg_error_hint(err, "'-' is what the down file dropped "
			                   "too much or did not restore, '+' "
			                   "what it left behind; its DDL could "
			                   "not be rolled back, so the version "
			                   "is dirty until 'migrate repair'");
	}
	roundtrip_event(r, m, MG_OUTCOME_FAILED, after->hash, err);
	mg_buf_dispose(&diff);
	mg_buf_dispose(&why);
	return MG_ECHECKSUM;
}

/*
 * backups: the fingerprint of every table that the down file restores
 * (-- restore:), over all its columns, one "table: fingerprint" line
 * each: after up and down, each must be what it was before the up.
 */
static int data_read(struct mg_buf *out, struct mg_runner *r,
                     const struct mg_migration *m, struct mg_error *err)
{
	size_t i;
	int rc;

	mg_buf_truncate(out, 0);
	for (i = 0; m->down.path != NULL && i < m->down.dir.nrestores; i++) {
		const char *table = m->down.dir.restores[i].table;
		char *fp = NULL;

		rc = mg_table_fingerprint(&fp, r->conn, table, err);
		if (rc == MG_ENOTFOUND)
			continue; /* the up creates it */
		if (rc < 0)
			return rc;
		mg_buf_addf(out, "%s%s: %s", out->len ? "; " : "", table, fp);
		free(fp);
	}
	return mg_buf_check(out, err);
}

static int data_disproved(struct mg_runner *r, const struct mg_migration *m,
                          bool txn, const struct mg_buf *before,
                          const struct mg_buf *after, struct mg_error *err)
{
	mg_error_set(err, MG_ECHECKSUM,
	             "%s does not bring back the data %s removed: a "
	             "restored table's fingerprint differs from before the up",
	             m->down.path, m->up.path);
	mg_error_detail(err, "before the up: %s; after the down: %s",
	                mg_buf_cstr(before), mg_buf_cstr(after));
	if (txn) {
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		mg_error_hint(err, "the up and the down were rolled back: the "
		                   "database is as it was found");
	} else if (mg_runner_record(r, m, MG_DIR_DOWN, MG_OUTCOME_DIRTY,
	                            err->msg, NULL) == 0) {
		mg_error_hint(err, "the version is dirty until 'migrate "
		                   "repair'; 'migrate restore' puts the rows "
		                   "back");
	}
	roundtrip_event(r, m, MG_OUTCOME_FAILED, NULL, err);
	return MG_ECHECKSUM;
}

/*
 * One pending migration's proof: up (with its checks), down, the schema
 * must be what it was before the up, then up again for good. Where DDL
 * rolls back, up and down run in one transaction, committed only once
 * the comparison holds.
 */
static int roundtrip(struct mg_runner *r, const struct mg_migration *m,
                     struct mg_error *err)
{
	struct mg_schema before = { 0 }, after = { 0 };
	struct mg_buf data_before = MG_BUF_INIT, data_after = MG_BUF_INIT;
	char prefix[300];
	bool txn = provable_in_txn(r, m);
	unsigned flags = txn ? MG_APPLY_IN_TXN | MG_APPLY_NO_COMMIT : 0;
	int rc;

	if (m->up.dir.irreversible) { /* nothing to prove */
		roundtrip_event(r, m, MG_OUTCOME_SKIPPED, NULL, NULL);
		return mg_runner_apply(r, m, MG_DIR_UP, 0, err);
	}
	if (txn && (rc = r->conn->drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0)
		return rc;
	if ((rc = mg_schema_read(&before, r->conn, err)) < 0 ||
	    (rc = data_read(&data_before, r, m, err)) < 0) {
		if (txn)
			mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		goto cleanup;
	}
	/* a failing file rolls the whole proof back itself */
	if ((rc = mg_runner_apply(r, m, MG_DIR_UP, flags, err)) < 0 ||
	    (rc = mg_runner_apply(r, m, MG_DIR_DOWN, flags, err)) < 0)
		goto cleanup;
	if ((rc = mg_schema_read(&after, r->conn, err)) < 0 ||
	    (rc = data_read(&data_after, r, m, err)) < 0) {
		if (txn)
			mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		goto cleanup;
	}
	/* backups: the tables migrate keeps are not "left behind" */
	mg_backup_prefix(prefix, sizeof(prefix), r->table);
	mg_schema_forget(&before, prefix);
	mg_schema_forget(&after, prefix);
	if (strcmp(before.hash, after.hash) != 0) {
		rc = disproved(r, m, txn, &before, &after, err);
		goto cleanup;
	}
	if (strcmp(mg_buf_cstr(&data_before), mg_buf_cstr(&data_after)) != 0) {
		rc = data_disproved(r, m, txn, &data_before, &data_after, err);
		goto cleanup;
	}
	if (txn && (rc = mg_runner_txn_end(r, MG_TXN_COMMIT, err)) < 0)
		goto cleanup;
	roundtrip_event(r, m, MG_OUTCOME_OK, after.hash, NULL);
	rc = mg_runner_apply(r, m, MG_DIR_UP, 0, err);
cleanup:
	mg_schema_dispose(&before);
	mg_schema_dispose(&after);
	mg_buf_dispose(&data_before);
	mg_buf_dispose(&data_after);
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
