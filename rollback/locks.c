#include "rollback/locks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/drivers/split.h"
#include "migrator/error.h"
#include "migrator/plan.h"
#include "migrator/runner.h"
#include "migrator/source.h"

struct rehearsal {
	const struct mg_file *f;
	void (*on_report)(void *ctx, const struct mg_lock_report *rep);
	void *ctx;
	size_t violations;
	/* the first statement that took a lock blocking reads: later ones
	 * of the file run while every reader of that table waits */
	unsigned exclusive_line;
	char exclusive_table[128];
	char hint[512];
	/* "table mode" of every lock reported so far: the transaction keeps
	 * them, and each statement reports only those it took itself */
	struct mg_buf held;
	bool failed; /* out of memory on the way */
};

/* Whether table/mode is new to the rehearsal; remembers it. */
static bool first_time(struct rehearsal *rh, const char *table,
                       const char *mode)
{
	struct mg_buf key = MG_BUF_INIT;
	bool seen;

	mg_buf_addf(&key, "\n%s %s\n", table, mode);
	if (key.failed) {
		rh->failed = true;
		return true;
	}
	seen = rh->held.len > 0 && strstr(rh->held.ptr, key.ptr) != NULL;
	if (!seen) /* kept as "\nA m\nB m\n" */
		mg_buf_add(&rh->held, key.ptr + (rh->held.len > 0 ? 1 : 0));
	mg_buf_dispose(&key);
	return !seen;
}

/* Whether the file acknowledges a lock on `table` ("public.users" also
 * matches "users", and the other way round). */
static bool allowed(const struct mg_file *f, const char *table)
{
	const char *dot = strrchr(table, '.');
	size_t i;

	for (i = 0; i < f->dir.nallow_lock; i++) {
		const char *a = f->dir.allow_lock[i], *adot = strrchr(a, '.');

		if (strcmp(a, table) == 0 ||
		    (dot != NULL && strcmp(a, dot + 1) == 0) ||
		    (adot != NULL && strcmp(adot + 1, table) == 0))
			return true;
	}
	return false;
}

static void after(void *arg, const struct mg_lock_step *step)
{
	struct rehearsal *rh = arg;
	struct mg_lock_report rep = { 0 };
	struct mg_lock_entry *e = NULL;
	char stmt[160];
	size_t i, k, skip, n = step->locks != NULL ? step->locks->nrows : 0;
	const char *nl;

	if (n > 0 && (e = calloc(n, sizeof(*e))) == NULL)
		n = 0;
	for (i = k = 0; i < n; i++) {
		const char *bytes = mg_rows_get(step->locks, i, 3);
		const char *table = mg_rows_get(step->locks, i, 0);
		const char *mode = mg_rows_get(step->locks, i, 1);

		if (table == NULL || mode == NULL ||
		    !first_time(rh, table, mode))
			continue;
		e[k].table = table;
		e[k].mode = mode;
		e[k].blocks = mg_rows_get(step->locks, i, 2);
		e[k].bytes = bytes != NULL ? strtoll(bytes, NULL, 10) : 0;
		e[k].blocking =
		        e[k].blocks != NULL && strcmp(e[k].blocks, "DDL") != 0;
		e[k].allowed = allowed(rh->f, e[k].table);
		if (e[k].blocking && !e[k].allowed)
			rh->violations++;
		k++;
	}
	n = k;
	/* the statement as one short line */
	skip = mg_stmt_skip_comments(step->stmt, step->stmt_len);
	snprintf(stmt, sizeof(stmt), "%.*s",
	         (int)(step->stmt_len - skip < sizeof(stmt) - 1
	                       ? step->stmt_len - skip
	                       : sizeof(stmt) - 1),
	         step->stmt + skip);
	if ((nl = strchr(stmt, '\n')) != NULL)
		stmt[nl - stmt] = '\0';
	rep.file = rh->f->path;
	rep.line = step->line;
	rep.stmt = stmt;
	rep.hint = step->hint;
	if (rep.hint == NULL && rh->exclusive_line > 0) {
		snprintf(rh->hint, sizeof(rh->hint),
		         "runs while the lock that blocks reads and writes of "
		         "%s (line %u) is held: every query of %s waits for "
		         "it too; move it before that statement or into a "
		         "migration of its own",
		         rh->exclusive_table, rh->exclusive_line,
		         rh->exclusive_table);
		rep.hint = rh->hint;
	}
	rep.locks = e;
	rep.nlocks = n;
	rh->on_report(rh->ctx, &rep);
	for (i = 0; i < n && rh->exclusive_line == 0; i++)
		if (strcmp(e[i].blocks, "reads and writes") == 0) {
			rh->exclusive_line = step->line;
			snprintf(rh->exclusive_table,
			         sizeof(rh->exclusive_table), "%s", e[i].table);
		}
	free(e);
}

/* A report about a whole file: why it is not rehearsed. */
static void note(struct rehearsal *rh, const char *why)
{
	struct mg_lock_report rep = { 0 };

	rep.file = rh->f->path;
	rep.note = why;
	rh->on_report(rh->ctx, &rep);
}

int mg_locks_run(struct mg_runner *r, const struct mg_up_opts *opts,
                 void (*on_report)(void *ctx, const struct mg_lock_report *rep),
                 void *ctx, size_t *violations, struct mg_error *err)
{
	const struct mg_driver *drv = r->conn->drv;
	struct rehearsal rh = { .on_report = on_report, .ctx = ctx };
	struct mg_plan p = { 0 };
	size_t i;
	int rc;

	*violations = 0;
	if ((rc = mg_runner_begin(r, err)) < 0)
		return rc;
	if ((rc = mg_runner_plan_up(&p, r, opts, false, err)) < 0)
		goto cleanup;
	if (drv->lock_rehearse == NULL) {
		for (i = 0; i < p.n; i++) {
			rh.f = &p.v[i]->up;
			note(&rh,
			     drv->lock_report_none
			             ? drv->lock_report_none
			             : "this database cannot report locks");
		}
		goto cleanup;
	}
	/* one transaction for all, as the files build on each other, and
	 * always rolled back */
	if ((rc = drv->txn(r->conn, MG_TXN_BEGIN, err)) < 0)
		goto cleanup;
	for (i = 0; i < p.n && rc == 0; i++) {
		rh.f = &p.v[i]->up;
		rh.exclusive_line = 0;
		if (rh.f->dir.no_transaction) {
			note(&rh, "not rehearsed: it runs outside a "
			          "transaction (-- migrate:no-transaction), "
			          "and the files after it see the schema "
			          "without it");
			continue;
		}
		if ((rc = drv->lock_rehearse(r->conn, rh.f->text, rh.f->len,
		                             after, &rh, err)) < 0)
			mg_error_locate(err, rh.f->path,
			                err != NULL ? err->line : 0);
	}
	mg_runner_txn_end(r, MG_TXN_ROLLBACK, NULL);
	*violations = rh.violations;
	if (rc == 0 && rh.failed)
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
cleanup:
	mg_buf_dispose(&rh.held);
	mg_plan_dispose(&p);
	mg_runner_end(r);
	return rc;
}
