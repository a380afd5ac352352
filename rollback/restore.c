#include "rollback/restore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "checks/backup.h"
#include "checks/backup_catalog.h"
#include "checks/directive.h"
#include "checks/ident.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/json.h"
#include "migrator/ledger.h"
#include "migrator/plan.h"
#include "migrator/runner.h"
#include "migrator/source.h"


static void free_all(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static void restore_dispose(struct mg_restore *rs)
{
	free(rs->table);
	free(rs->backup_table);
	free(rs->backup_sql);
	free_all(rs->cols, rs->ncols);
	free_all(rs->key, rs->nkey);
	free_all(rs->generated, rs->ngenerated);
	free_all(rs->identity, rs->nidentity);
	free(rs->fingerprint);
	free(rs->fingerprint_after);
	memset(rs, 0, sizeof(*rs));
}

void mg_restores_dispose(struct mg_restores *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		restore_dispose(&rs->v[i]);
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

static bool has(char *const *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return false;
}

static int copy_names(char ***out, size_t *nout, char *const *v, size_t n,
                      struct mg_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = mg_table_info_add(out, nout, v[i], err)) < 0)
			return rc;
	return 0;
}

/* Before anything changes: the backup is there, and so are the table and
 * every column it saved. */
static int prepare_one(struct mg_restore *rs, struct mg_conn *conn,
                       const struct mg_catalog_entry *e, struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_table_info live = { 0 }, bk = { 0 };
	struct mg_buf missing = MG_BUF_INIT, quoted = MG_BUF_INIT;
	size_t i;
	int rc;

	if (e->state == MG_BK_PRUNED)
		return mg_error_set(err, MG_EINVALID,
		                    "the backup of %s (%s) was pruned: it "
		                    "cannot be restored",
		                    e->table, e->backup_table);
	if (!mg_backup_fp_known(conn, e->fp_format))
		return mg_error_set(err, MG_EINVALID,
		                    "the backup of %s has fingerprint format "
		                    "'%s', which this migrate cannot verify",
		                    e->table, e->fp_format ? e->fp_format : "");
	if (e->nkey == 0 || e->ncols == 0)
		return mg_error_set(err, MG_EINVALID,
		                    "the ledger's record of backup %s names no "
		                    "columns or key",
		                    e->backup_table);
	rc = drv->table_info(&bk, conn, e->backup_sql, err);
	if (rc == MG_ENOTFOUND) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "backup table %s no longer exists: it was "
		                  "dropped outside migrate",
		                  e->backup_table);
		goto cleanup;
	}
	if (rc < 0)
		goto cleanup;
	rc = drv->table_info(&live, conn, e->table, err);
	if (rc == MG_ENOTFOUND) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "cannot restore %s: the table no longer "
		                  "exists",
		                  e->table);
		goto cleanup;
	}
	if (rc < 0)
		goto cleanup;
	for (i = 0; i < e->ncols; i++)
		if (!has(live.cols, live.ncols, e->cols[i]))
			mg_buf_addf(&missing, "%s%s", missing.len ? ", " : "",
			            e->cols[i]);
	if ((rc = mg_buf_check(&missing, err)) < 0)
		goto cleanup;
	if (missing.len > 0) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "cannot restore %s: columns the backup saved "
		                  "no longer exist: %s",
		                  e->table, missing.ptr);
		goto cleanup;
	}
	rs->version = e->version;
	rs->rows = e->rows;
	rs->fp_format = strcmp(e->fp_format, MG_BACKUP_FP_FORMAT2) == 0
	                        ? MG_BACKUP_FP_FORMAT2
	                        : MG_BACKUP_FP_FORMAT;
	/* the table in SQL: its quoted parts in the database's own quote,
	 * as the backup read it (on MySQL "t" is the string 't') */
	mg_ident_requote(&quoted, e->table, drv->ident_quote);
	if ((rc = mg_buf_check(&quoted, err)) < 0)
		goto cleanup;
	if ((rs->table = strdup(quoted.ptr)) == NULL ||
	    (rs->backup_table = strdup(e->backup_table)) == NULL ||
	    (rs->backup_sql = strdup(e->backup_sql)) == NULL ||
	    (rs->fingerprint = strdup(e->fingerprint ? e->fingerprint : "")) ==
	            NULL ||
	    (rc = copy_names(&rs->cols, &rs->ncols, e->cols, e->ncols, err)) <
	            0 ||
	    (rc = copy_names(&rs->key, &rs->nkey, e->key, e->nkey, err)) <
	            0 ||
	    (rc = copy_names(&rs->generated, &rs->ngenerated, live.generated,
	                     live.ngenerated, err)) < 0 ||
	    (rc = copy_names(&rs->identity, &rs->nidentity, live.identity,
	                     live.nidentity, err)) < 0)
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
	rs->insert_override = live.insert_override;
cleanup:
	mg_table_info_dispose(&live);
	mg_table_info_dispose(&bk);
	mg_buf_dispose(&missing);
	mg_buf_dispose(&quoted);
	return rc;
}

/* Quoted column names, joined: "a", "b" (prefix each with `alias.`). */
static void add_names(struct mg_buf *b, char *const *v, size_t n,
                      const char *alias, char q)
{
	size_t i;
	const char *s;

	for (i = 0; i < n; i++) {
		if (i > 0)
			mg_buf_add(b, ", ");
		if (alias != NULL)
			mg_buf_addf(b, "%s.", alias);
		mg_buf_addc(b, q);
		for (s = v[i]; *s; s++) {
			if (*s == q)
				mg_buf_addc(b, q);
			mg_buf_addc(b, *s);
		}
		mg_buf_addc(b, q);
	}
}

/* The saved columns an INSERT writes: all but those the table computes. */
static void add_written(struct mg_buf *b, const struct mg_restore *rs,
                        const char *alias, char q)
{
	size_t i, n = 0;

	for (i = 0; i < rs->ncols; i++) {
		if (has(rs->generated, rs->ngenerated, rs->cols[i]))
			continue;
		if (n++ > 0)
			mg_buf_add(b, ", ");
		add_names(b, &rs->cols[i], 1, alias, q);
	}
}

/* mg_t.k = mg_s.k AND ... */
static void add_key_match(struct mg_buf *b, const struct mg_restore *rs,
                          char q)
{
	size_t i;

	for (i = 0; i < rs->nkey; i++) {
		if (i > 0)
			mg_buf_add(b, " AND ");
		add_names(b, &rs->key[i], 1, "mg_t", q);
		mg_buf_add(b, " = ");
		add_names(b, &rs->key[i], 1, "mg_s", q);
	}
}

static int count(int64_t *out, struct mg_conn *conn, const char *sql,
                 struct mg_error *err)
{
	struct mg_rows *r = NULL;
	char *end;
	int rc;

	if ((rc = conn->drv->query(&r, conn, sql, NULL, 0, 0, err)) < 0)
		return rc;
	*out = r->nrows > 0 && mg_rows_get(r, 0, 0)
	               ? strtoll(mg_rows_get(r, 0, 0), &end, 10)
	               : 0;
	mg_rows_free(r);
	return 0;
}

/* How many saved rows have their key in the table (updated) and how many
 * not (inserted). */
static int measure(struct mg_restore *rs, struct mg_conn *conn,
                   struct mg_error *err)
{
	char q = conn->drv->ident_quote;
	struct mg_buf sql = MG_BUF_INIT;
	int64_t total = 0, matched = 0;
	int rc;

	mg_buf_addf(&sql, "SELECT count(*) FROM %s", rs->backup_sql);
	if ((rc = mg_buf_check(&sql, err)) < 0 ||
	    (rc = count(&total, conn, sql.ptr, err)) < 0)
		goto cleanup;
	mg_buf_truncate(&sql, 0);
	/* a join, not EXISTS: the backup table has no index, and SQLite
	 * would scan it once per row of the table; keys are unique on
	 * both sides, so the join yields each saved row at most once */
	mg_buf_addf(&sql,
	            "SELECT count(*) FROM %s AS mg_s JOIN %s AS mg_t ON ",
	            rs->backup_sql, rs->table);
	add_key_match(&sql, rs, q);
	if ((rc = mg_buf_check(&sql, err)) < 0 ||
	    (rc = count(&matched, conn, sql.ptr, err)) < 0)
		goto cleanup;
	rs->rows = total;
	rs->updated = matched;
	rs->inserted = total - matched;
cleanup:
	mg_buf_dispose(&sql);
	return rc;
}

/* A statement that changes rows: in the open transaction, or outside
 * any (no_txn), as exec_script runs a no-transaction file. */
static int change(struct mg_conn *conn, const char *sql, bool no_txn,
                  struct mg_error *err)
{
	struct mg_script_result res = { 0 };

	if (!no_txn)
		return conn->drv->query(NULL, conn, sql, NULL, 0, 0, err);
	return conn->drv->exec_script(conn, sql, strlen(sql), MG_SCRIPT_NO_TXN,
	                              NULL, &res, err);
}

/* Puts the rows back and proves it; rs->ok says whether the proof held. */
static int apply_one(struct mg_restore *rs, struct mg_conn *conn, bool no_txn,
                     struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	char q = drv->ident_quote;
	struct mg_buf sql = MG_BUF_INIT, from = MG_BUF_INIT;
	char **set = NULL, **qkey = NULL;
	size_t nset = 0, nqkey = 0, i;
	int rc;

	if ((rc = measure(rs, conn, err)) < 0)
		goto cleanup;
	/* the saved values back on the rows whose key is still there; the
	 * columns the table computes recompute from them, and an identity
	 * ALWAYS column keeps its value (the proof shows if it differs) */
	for (i = 0; i < rs->ncols; i++) {
		struct mg_buf one = MG_BUF_INIT;
		char **v = has(rs->key, rs->nkey, rs->cols[i]) ? qkey : set;
		size_t *n = v == qkey ? &nqkey : &nset;

		if (v == set && (has(rs->generated, rs->ngenerated,
		                     rs->cols[i]) ||
		                 has(rs->identity, rs->nidentity, rs->cols[i])))
			continue;
		add_names(&one, &rs->cols[i], 1, NULL, q);
		if ((rc = mg_buf_check(&one, err)) < 0 ||
		    (rc = mg_table_info_add(v == qkey ? &qkey : &set, n,
		                            one.ptr, err)) < 0) {
			mg_buf_dispose(&one);
			goto cleanup;
		}
		mg_buf_dispose(&one);
	}
	if (nset > 0 && rs->updated > 0) {
		drv->update_from_sql(&sql, rs->table, rs->backup_sql,
		                     (const char *const *)set, nset,
		                     (const char *const *)qkey, nqkey);
		if ((rc = mg_buf_check(&sql, err)) < 0 ||
		    (rc = change(conn, sql.ptr, no_txn, err)) < 0)
			goto cleanup;
	}
	/* the saved rows whose key is gone */
	if (rs->inserted > 0) {
		mg_buf_truncate(&sql, 0);
		mg_buf_addf(&sql, "INSERT INTO %s (", rs->table);
		add_written(&sql, rs, NULL, q);
		mg_buf_addf(&sql, ")%s%s SELECT ",
		            rs->insert_override ? " " : "",
		            rs->insert_override ? rs->insert_override : "");
		add_written(&sql, rs, "mg_s", q);
		mg_buf_addf(&sql,
		            " FROM %s AS mg_s WHERE NOT EXISTS (SELECT 1 FROM "
		            "%s AS mg_t WHERE ",
		            rs->backup_sql, rs->table);
		add_key_match(&sql, rs, q);
		mg_buf_add(&sql, ")");
		if ((rc = mg_buf_check(&sql, err)) < 0 ||
		    (rc = change(conn, sql.ptr, no_txn, err)) < 0)
			goto cleanup;
	}
	/* the proof: the rows with the saved keys, over the saved columns */
	mg_buf_add(&from, "(SELECT ");
	add_names(&from, rs->cols, rs->ncols, "mg_t", q);
	mg_buf_addf(&from, " FROM %s AS mg_s JOIN %s AS mg_t ON ",
	            rs->backup_sql, rs->table);
	add_key_match(&from, rs, q);
	mg_buf_add(&from, ") AS mg_restored");
	if ((rc = mg_buf_check(&from, err)) < 0 ||
	    (rc = mg_backup_fingerprint(&rs->fingerprint_after, conn,
	                                rs->fp_format, from.ptr, rs->cols,
	                                rs->ncols, err)) < 0)
		goto cleanup;
	rs->ok = rs->fingerprint_after != NULL &&
	         strcmp(rs->fingerprint_after, rs->fingerprint) == 0;
cleanup:
	free_all(set, nset);
	free_all(qkey, nqkey);
	mg_buf_dispose(&sql);
	mg_buf_dispose(&from);
	return rc;
}

static bool same_table(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

int mg_restores_prepare(struct mg_restores *out, struct mg_conn *conn,
                        const char *ledger, int64_t version,
                        const struct mg_directives *dir,
                        struct mg_error *err)
{
	struct mg_catalog cat = { 0 };
	size_t i, j;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (dir->nrestores == 0)
		return 0;
	if (conn->drv->table_info == NULL)
		return mg_error_set(err, MG_EINVALID,
		                    "this database does not support restore");
	if ((out->v = calloc(dir->nrestores, sizeof(*out->v))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	if ((rc = mg_catalog_load(&cat, conn, ledger, err)) < 0)
		return rc;
	for (i = 0; i < dir->nrestores && rc == 0; i++) {
		const struct mg_backup_spec *s = &dir->restores[i];
		const struct mg_catalog_entry *e = NULL;
		struct mg_restore *rs = &out->v[out->n++];

		rs->line = s->line;
		for (j = 0; j < cat.n; j++)
			if (cat.v[j].version == version &&
			    cat.v[j].state != MG_BK_ORPHAN &&
			    same_table(cat.v[j].table, s->table))
				e = &cat.v[j];
		if (e == NULL)
			rc = mg_error_set(err, MG_EINVALID,
			                  "restore: %s: version %" PRId64
			                  " has no backup of it (its up file "
			                  "needs a '-- backup: %s' line)",
			                  s->table, version, s->table);
		else
			rc = prepare_one(rs, conn, e, err);
		if (rc < 0 && err != NULL)
			err->line = s->line;
	}
	mg_catalog_dispose(&cat);
	return rc;
}

int mg_restores_undo(void *ctx, struct mg_conn *conn, struct mg_error *err)
{
	struct mg_undo_restore *u = ctx;
	const struct mg_directives *dir = u->down;
	size_t i, j;
	int rc = 0;

	memset(&u->rs, 0, sizeof(u->rs));
	if (dir == NULL || dir->nrestores == 0)
		return 0;
	if ((u->rs.v = calloc(dir->nrestores, sizeof(*u->rs.v))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	for (i = 0; i < dir->nrestores && rc == 0; i++) {
		const struct mg_backup_spec *s = &dir->restores[i];
		const struct mg_backup *bk = NULL;
		struct mg_restore *rs = &u->rs.v[u->rs.n++];
		struct mg_catalog_entry e = { 0 };

		rs->line = s->line;
		for (j = 0; u->taken != NULL && j < u->taken->n; j++)
			if (u->taken->v[j].taken &&
			    same_table(u->taken->v[j].table, s->table))
				bk = &u->taken->v[j];
		if (bk == NULL) {
			rc = mg_error_set(err, MG_EINVALID,
			                  "restore: %s: the up file took no "
			                  "backup of it",
			                  s->table);
			break;
		}
		/* the backup as its ledger event will record it */
		e.version = u->version;
		e.table = bk->table;
		e.backup_table = bk->backup_table;
		e.backup_sql = bk->backup_sql;
		e.rows = bk->rows;
		e.fingerprint = bk->fingerprint;
		e.fp_format = (char *)bk->fp_format;
		e.cols = bk->cols;
		e.ncols = bk->ncols;
		e.key = bk->key;
		e.nkey = bk->nkey;
		e.state = MG_BK_KEPT;
		rc = prepare_one(rs, conn, &e, err);
	}
	u->rs.no_txn = true;
	if (rc == 0)
		rc = mg_restores_run(&u->rs, conn, err);
	return rc;
}

int mg_restores_run(struct mg_restores *rs, struct mg_conn *conn,
                    struct mg_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < rs->n; i++) {
		struct mg_restore *x = &rs->v[i];

		if ((rc = apply_one(x, conn, rs->no_txn, err)) < 0) {
			if (err != NULL)
				err->line = x->line;
			return rc;
		}
		if (!x->ok) {
			mg_error_set(err, MG_ECHECK,
			             "restore of %s not proven: the restored "
			             "rows' fingerprint %s differs from the "
			             "backup's %s",
			             x->table, x->fingerprint_after,
			             x->fingerprint);
			if (err != NULL)
				err->line = x->line;
			return MG_ECHECK;
		}
	}
	return 0;
}

void mg_restores_json(const void *ctx, struct mg_json *w)
{
	const struct mg_restores *rs = ctx;
	size_t i;

	for (i = 0; rs != NULL && i < rs->n; i++) {
		const struct mg_restore *x = &rs->v[i];

		if (x->backup_table == NULL)
			continue;
		mg_json_object_begin(w, NULL);
		mg_json_string(w, "kind", "restore");
		mg_json_string(w, "table", x->table);
		if (x->line > 0)
			mg_json_int(w, "line", x->line);
		mg_json_string(w, "backup_table", x->backup_table);
		mg_json_int(w, "rows", x->rows);
		mg_json_int(w, "inserted", x->inserted);
		mg_json_int(w, "updated", x->updated);
		mg_json_string(w, "fingerprint", x->fingerprint);
		mg_json_string(w, "fingerprint_format", x->fp_format);
		if (x->dry_run) {
			mg_json_bool(w, "dry_run", true);
		} else {
			mg_json_string(w, "fingerprint_after",
			               x->fingerprint_after);
			mg_json_string(w, "verdict",
			               x->fingerprint_after == NULL ? "pending"
			               : x->ok                      ? "ok"
			                                            : "failed");
		}
		mg_json_end(w);
	}
}

/* The evidence array of a restores list, as text. */
static int evidence(struct mg_buf *out, const struct mg_restores *rs,
                    struct mg_error *err)
{
	struct mg_json w;

	mg_json_init(&w, out);
	mg_json_array_begin(&w, NULL);
	mg_restores_json(rs, &w);
	mg_json_end(&w);
	return mg_json_check(&w, err);
}

static void report(void (*on_report)(void *, const struct mg_backup_report *),
                   void *ctx, const struct mg_restore *x,
                   const struct mg_catalog_entry *e, const char *json,
                   const char *status)
{
	struct mg_backup_report rep = { x, e, json, status };

	if (on_report != NULL)
		on_report(ctx, &rep);
}

/* The error text of a restore event that did not end ok. */
static void error_text(char *out, size_t size, const struct mg_error *e)
{
	snprintf(out, size, "%s%s%s", e->msg, e->detail[0] ? "\n" : "",
	         e->detail);
}

/* Whether e is one of the backups sel names. */
static bool selected(const struct mg_catalog_entry *e,
                     const struct mg_backup_sel *sel)
{
	if (e->state == MG_BK_ORPHAN ||
	    (sel->table != NULL && !same_table(e->table, sel->table)))
		return false;
	if (sel->job == NULL)
		return !e->job && e->version == sel->version;
	return e->job && e->name != NULL && strcmp(e->name, sel->job) == 0 &&
	       e->event == sel->event;
}

/* A job's latest backup event (of `table`, if given), when sel names
 * none; 0 when the job has none. */
static int64_t latest_event(const struct mg_catalog *cat,
                            const struct mg_backup_sel *sel)
{
	int64_t event = 0;
	size_t i;

	for (i = 0; i < cat->n; i++) {
		const struct mg_catalog_entry *e = &cat->v[i];

		if (e->job && e->state != MG_BK_ORPHAN && e->name != NULL &&
		    strcmp(e->name, sel->job) == 0 &&
		    (sel->table == NULL || same_table(e->table, sel->table)) &&
		    e->event > event)
			event = e->event;
	}
	return event;
}

/* "version 3" or "job 'purge' (event 12)", for messages. */
static void sel_text(char *out, size_t size, const struct mg_backup_sel *sel)
{
	if (sel->job == NULL)
		snprintf(out, size, "version %" PRId64, sel->version);
	else if (sel->event > 0)
		snprintf(out, size, "job '%s' (event %" PRId64 ")", sel->job,
		         sel->event);
	else
		snprintf(out, size, "job '%s'", sel->job);
}

int mg_run_restore(struct mg_runner *r, int64_t version, const char *table,
                   bool dry_run,
                   void (*on_report)(void *ctx,
                                     const struct mg_backup_report *rep),
                   void *ctx, struct mg_error *err)
{
	struct mg_backup_sel sel = { version, NULL, 0, table };

	return mg_run_restore_sel(r, &sel, dry_run, on_report, ctx, err);
}

int mg_run_restore_sel(struct mg_runner *r, const struct mg_backup_sel *which,
                       bool dry_run,
                       void (*on_report)(void *ctx,
                                         const struct mg_backup_report *rep),
                       void *ctx, struct mg_error *err)
{
	struct mg_backup_sel sel = *which;
	const char *table = sel.table;
	int64_t version = sel.job != NULL ? 0 : sel.version;
	char what[300];
	struct mg_conn *conn = r->conn;
	bool txn = conn->drv->caps & MG_CAP_TXN_DDL;
	struct mg_catalog cat = { 0 };
	struct mg_restores rs = { 0 };
	struct mg_buf json = MG_BUF_INIT;
	struct mg_error ferr = { 0 };
	const char *name = NULL;
	char text[sizeof(ferr.msg) + sizeof(ferr.detail) + 2];
	bool pruned = false, in_txn = false;
	size_t i, n = 0;
	int rc;

	if (conn->drv->table_info == NULL)
		return mg_error_set(err, MG_EINVALID,
		                    "this database does not support restore");
	if (!dry_run && (rc = mg_runner_begin(r, err)) < 0)
		return rc;
	if (!dry_run && txn) {
		if ((rc = conn->drv->txn(conn, MG_TXN_BEGIN, err)) < 0)
			goto cleanup;
		in_txn = true;
	}
	if ((rc = mg_catalog_load(&cat, conn, r->table, err)) < 0)
		goto cleanup;
	if (sel.job != NULL && sel.event == 0)
		sel.event = latest_event(&cat, &sel);
	sel_text(what, sizeof(what), &sel);
	for (i = 0; i < cat.n; i++) {
		const struct mg_catalog_entry *e = &cat.v[i];

		if (!selected(e, &sel))
			continue;
		n++;
		pruned |= e->state == MG_BK_PRUNED;
	}
	if (n == 0 || pruned) {
		if (n == 0)
			rc = mg_error_set(err, MG_EINVALID,
			                  "%s has no backup%s%s", what,
			                  table ? " of " : "s",
			                  table ? table : "");
		else
			rc = mg_error_set(err, MG_EINVALID,
			                  "%s's backup%s%s was "
			                  "pruned: it cannot be restored",
			                  what, table ? " of " : "",
			                  table ? table : "");
		mg_error_hint(err, "'migrate backups' lists what there is");
		goto cleanup;
	}
	if ((rs.v = calloc(n, sizeof(*rs.v))) == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < cat.n; i++) {
		const struct mg_catalog_entry *e = &cat.v[i];

		if (!selected(e, &sel))
			continue;
		name = e->name;
		rs.v[rs.n].dry_run = dry_run;
		if ((rc = prepare_one(&rs.v[rs.n++], conn, e, err)) < 0)
			goto cleanup;
	}
	if (dry_run) {
		for (i = 0; i < rs.n && rc == 0; i++)
			rc = measure(&rs.v[i], conn, err);
		if (rc == 0 && (rc = evidence(&json, &rs, err)) == 0)
			for (i = 0; i < rs.n; i++)
				report(on_report, ctx, &rs.v[i], NULL,
				       json.ptr, "planned");
		goto cleanup;
	}
	if ((rc = mg_restores_run(&rs, conn, &ferr)) == MG_ENOMEM) {
		*err = ferr;
		goto cleanup;
	}
	if ((rc = evidence(&json, &rs, err)) < 0)
		goto cleanup;
	if (ferr.code == 0) {
		rc = mg_runner_append_event(r, version, name, MG_DIR_RESTORE,
		                            MG_OUTCOME_OK, json.ptr, NULL,
		                            !in_txn, err);
		in_txn = false;
		if (rc == 0)
			for (i = 0; i < rs.n; i++)
				report(on_report, ctx, &rs.v[i], NULL,
				       json.ptr, "ok");
		goto cleanup;
	}
	/* a failed proof, or SQL that failed midway */
	if (in_txn) {
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
		in_txn = false;
	}
	error_text(text, sizeof(text), &ferr);
	mg_conn_scrub(conn, text, sizeof(text));
	rc = mg_runner_append_event(
	        r, version, name, MG_DIR_RESTORE,
	        txn ? (ferr.code == MG_ECHECK ? MG_OUTCOME_ROLLED_BACK
	                                      : MG_OUTCOME_FAILED)
	            : MG_OUTCOME_DIRTY,
	        json.ptr, text, true, err);
	for (i = 0; i < rs.n; i++)
		report(on_report, ctx, &rs.v[i], NULL, json.ptr,
		       txn ? "rolled_back" : "dirty");
	if (rc == 0) {
		*err = ferr;
		rc = txn && ferr.code == MG_ECHECK ? MG_ECHECK : MG_ERR;
		err->code = rc;
		if (txn)
			mg_error_detail(err, "the restore was rolled back: "
			                     "nothing changed");
		else
			mg_error_hint(err,
			              "the rows are partly restored: look at "
			              "the table and the backup table, fix by "
			              "hand and restore %s again",
			              what);
	}
cleanup:
	if (in_txn)
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
	mg_restores_dispose(&rs);
	mg_catalog_dispose(&cat);
	mg_buf_dispose(&json);
	if (!dry_run)
		mg_runner_end(r);
	return rc;
}

/* Drops one backup table, recording what it held. */
static int prune_one(struct mg_runner *r, const struct mg_catalog_entry *e,
                     void (*on_report)(void *, const struct mg_backup_report *),
                     void *ctx, struct mg_error *err)
{
	struct mg_conn *conn = r->conn;
	bool txn = conn->drv->caps & MG_CAP_TXN_DDL;
	struct mg_table_info ti = { 0 };
	struct mg_buf sql = MG_BUF_INIT, json = MG_BUF_INIT;
	struct mg_json w;
	/* what was dropped, in the format its record has (comparable with
	 * it), else the one every database has */
	const char *format = mg_backup_fp_known(conn, e->fp_format)
	                             ? e->fp_format
	                             : MG_BACKUP_FP_FORMAT;
	char *fp = NULL;
	int64_t rows = 0;
	bool in_txn = false;
	int rc;

	if (txn) {
		if ((rc = conn->drv->txn(conn, MG_TXN_BEGIN, err)) < 0)
			return rc;
		in_txn = true;
	}
	rc = conn->drv->table_info(&ti, conn, e->backup_sql, err);
	if (rc == 0) {
		mg_buf_addf(&sql, "SELECT count(*) FROM %s", e->backup_sql);
		if ((rc = mg_buf_check(&sql, err)) < 0 ||
		    (rc = count(&rows, conn, sql.ptr, err)) < 0 ||
		    (rc = mg_backup_fingerprint(&fp, conn, format,
		                                e->backup_sql, ti.cols, ti.ncols,
		                                err)) < 0)
			goto cleanup;
		mg_buf_truncate(&sql, 0);
		mg_buf_addf(&sql, "DROP TABLE %s", e->backup_sql);
		if ((rc = mg_buf_check(&sql, err)) < 0 ||
		    (rc = conn->drv->query(NULL, conn, sql.ptr, NULL, 0, 0,
		                           err)) < 0)
			goto cleanup;
	} else if (rc != MG_ENOTFOUND) {
		goto cleanup;
	}
	/* gone already (dropped by hand): the event still says so */
	mg_json_init(&w, &json);
	mg_json_array_begin(&w, NULL);
	mg_json_object_begin(&w, NULL);
	mg_json_string(&w, "kind", "backup");
	mg_json_string(&w, "table", e->table);
	mg_json_string(&w, "backup_table", e->backup_table);
	mg_json_string(&w, "state", mg_backup_state_name(e->state));
	mg_json_bool(&w, "existed", rc == 0);
	mg_json_int(&w, "rows", rows);
	mg_json_string(&w, "fingerprint", fp);
	mg_json_string(&w, "fingerprint_format", format);
	mg_json_string(&w, "recorded_fingerprint", e->fingerprint);
	mg_json_string(&w, "expires_at", e->expires_at[0] ? e->expires_at
	                                                  : NULL);
	mg_json_end(&w);
	mg_json_end(&w);
	if ((rc = mg_json_check(&w, err)) < 0)
		goto cleanup;
	rc = mg_runner_append_event(r, e->version < 0 ? 0 : e->version,
	                            e->name ? e->name : e->backup_table,
	                            MG_DIR_PRUNE, MG_OUTCOME_OK, json.ptr,
	                            NULL, !in_txn, err);
	in_txn = false;
	if (rc == 0)
		report(on_report, ctx, NULL, e, json.ptr, "ok");
cleanup:
	if (in_txn)
		mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
	free(fp);
	mg_table_info_dispose(&ti);
	mg_buf_dispose(&sql);
	mg_buf_dispose(&json);
	return rc;
}

int mg_run_prune(struct mg_runner *r, int64_t version, bool dry_run,
                 void (*on_report)(void *ctx,
                                   const struct mg_backup_report *rep),
                 void *ctx, size_t *pruned, struct mg_error *err)
{
	return mg_run_prune_job(r, version, NULL, dry_run, on_report, ctx,
	                        pruned, err);
}

int mg_run_prune_job(struct mg_runner *r, int64_t version, const char *job,
                     bool dry_run,
                     void (*on_report)(void *ctx,
                                       const struct mg_backup_report *rep),
                     void *ctx, size_t *pruned, struct mg_error *err)
{
	struct mg_conn *conn = r->conn;
	struct mg_catalog cat = { 0 };
	size_t i;
	int rc;

	*pruned = 0;
	if (conn->drv->table_info == NULL)
		return mg_error_set(err, MG_EINVALID,
		                    "this database does not support backups");
	if (!dry_run && (rc = mg_runner_begin(r, err)) < 0)
		return rc;
	if ((rc = mg_catalog_load(&cat, conn, r->table, err)) < 0)
		goto cleanup;
	for (i = 0; i < cat.n && rc == 0; i++) {
		const struct mg_catalog_entry *e = &cat.v[i];

		if (e->state == MG_BK_PRUNED)
			continue;
		if (job != NULL ? !e->job || e->state == MG_BK_ORPHAN ||
		                          e->name == NULL ||
		                          strcmp(e->name, job) != 0
		    : version >= 0 ? e->job || e->version != version
		                   : !e->expired && e->state != MG_BK_ORPHAN)
			continue;
		if (dry_run)
			report(on_report, ctx, NULL, e, "[]", "planned");
		else
			rc = prune_one(r, e, on_report, ctx, err);
		if (rc == 0)
			(*pruned)++;
	}
cleanup:
	mg_catalog_dispose(&cat);
	if (!dry_run)
		mg_runner_end(r);
	return rc;
}

int mg_table_fingerprint(char **out, struct mg_conn *conn, const char *table,
                         struct mg_error *err)
{
	struct mg_table_info ti = { 0 };
	int rc;

	*out = NULL;
	if (conn->drv->table_info == NULL)
		return mg_error_set(err, MG_ENOTFOUND, "no table info");
	if ((rc = conn->drv->table_info(&ti, conn, table, err)) < 0)
		return rc;
	rc = mg_backup_fingerprint(out, conn, MG_BACKUP_FP_FORMAT, table, ti.cols,
	                           ti.ncols, err);
	mg_table_info_dispose(&ti);
	return rc;
}

/* Whether `table`'s bare name (no schema, no quotes) occurs in text,
 * ignoring case: an earlier file that may create or change it. */
static bool mentions(const char *text, size_t len, const char *table)
{
	const char *dot = strrchr(table, '.'), *name = dot ? dot + 1 : table;
	size_t n = strlen(name), i;

	if (n > 0 && (*name == '"' || *name == '`')) {
		name++;
		n -= n >= 2 ? 2 : 1;
	}
	for (i = 0; n > 0 && i + n <= len; i++)
		if (strncasecmp(text + i, name, n) == 0)
			return true;
	return false;
}

static int key_precheck(struct mg_conn *conn, const struct mg_plan *p,
                        size_t at, struct mg_error *err)
{
	const struct mg_file *f = &p->v[at]->up;
	size_t i, j;
	int rc = 0;

	for (i = 0; i < f->dir.nbackups && rc == 0; i++) {
		const struct mg_backup_spec *b = &f->dir.backups[i];
		struct mg_table_info ti = { 0 };
		struct mg_error ierr = { 0 };
		bool later = false;

		for (j = 0; j < at && !later; j++)
			later = mentions(p->v[j]->up.text, p->v[j]->up.len,
			                 b->table);
		if (later ||
		    conn->drv->table_info(&ti, conn, b->table, &ierr) < 0)
			continue; /* judged when the file's turn comes */
		if (ti.nkey == 0) {
			rc = mg_error_set(err, MG_EINVALID,
			                  "backup: %s has no primary key and no "
			                  "unique key over NOT NULL columns: "
			                  "restore could not match its rows",
			                  b->table);
			mg_error_hint(err, "add a primary key first (in an "
			                   "earlier migration)");
			mg_error_locate(err, f->path, b->line);
		}
		mg_table_info_dispose(&ti);
	}
	return rc;
}

int mg_backup_precheck(struct mg_conn *conn, const char *ledger,
                       const struct mg_plan *p, bool ups, bool downs,
                       struct mg_error *err)
{
	struct mg_catalog cat = { 0 };
	bool loaded = false;
	size_t i, j, k;
	int rc = 0;

	if (conn->drv->table_info == NULL)
		return 0;
	for (i = 0; i < p->n && rc == 0; i++) {
		const struct mg_migration *m = p->v[i];

		if (ups)
			rc = key_precheck(conn, p, i, err);
		for (j = 0; downs && rc == 0 && j < m->down.dir.nrestores;
		     j++) {
			const struct mg_backup_spec *s = &m->down.dir.restores[j];
			const struct mg_catalog_entry *e = NULL;

			if (!loaded && (rc = mg_catalog_load(&cat, conn, ledger,
			                                     err)) < 0)
				break;
			loaded = true;
			for (k = 0; k < cat.n; k++)
				if (cat.v[k].version == m->version &&
				    cat.v[k].state != MG_BK_ORPHAN &&
				    same_table(cat.v[k].table, s->table))
					e = &cat.v[k];
			if (e == NULL)
				rc = mg_error_set(err, MG_EINVALID,
				                  "restore: %s: version %" PRId64
				                  " has no backup of it (its up "
				                  "file needs a '-- backup: %s' "
				                  "line)",
				                  s->table, m->version, s->table);
			else if (e->state == MG_BK_PRUNED)
				rc = mg_error_set(err, MG_EINVALID,
				                  "restore: %s: the backup of "
				                  "version %" PRId64 " (%s) was "
				                  "pruned: it cannot be restored",
				                  s->table, m->version,
				                  e->backup_table);
			if (rc < 0)
				mg_error_locate(err, m->down.path, s->line);
		}
	}
	mg_catalog_dispose(&cat);
	return rc;
}
