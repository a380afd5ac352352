#include "checks/check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "checks/directive.h"
#include "checks/evidence.h"
#include "checks/ident.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/json.h"

static const char *const verdict_names[] = { "pending", "ok", "failed",
	                                     "error" };

/* Runs a query of ours that yields one value; *out owned (NULL: NULL). */
static int one_value(char **out, struct mg_conn *conn, const char *sql,
                     struct mg_error *err)
{
	struct mg_rows *r = NULL;
	int rc;

	*out = NULL;
	if ((rc = conn->drv->query(&r, conn, sql, NULL, 0, 0, err)) < 0)
		return rc;
	if (r->nrows != 1 || r->ncols != 1)
		rc = mg_error_set(err, MG_ERR,
		                  "expected one value, got %zu "
		                  "rows of %zu columns",
		                  r->nrows, r->ncols);
	else if (mg_rows_get(r, 0, 0) != NULL &&
	         (*out = strdup(mg_rows_get(r, 0, 0))) == NULL)
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
	mg_rows_free(r);
	return rc;
}

/* The count or fingerprint that a rows or data check compares. */
static int measure(char **out, struct mg_conn *conn, const struct mg_check *c,
                   struct mg_error *err)
{
	struct mg_buf sql = MG_BUF_INIT, table = MG_BUF_INIT;
	struct mg_buf *cols = NULL;
	const char **colv = NULL;
	char q = conn->drv->ident_quote;
	size_t i;
	int rc;

	/* the names in the database's own quote (checks/ident.h) */
	mg_ident_requote(&table, c->table, q);
	if (c->ncols > 0 &&
	    ((cols = calloc(c->ncols, sizeof(*cols))) == NULL ||
	     (colv = calloc(c->ncols, sizeof(*colv))) == NULL)) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < c->ncols; i++) {
		mg_ident_requote(&cols[i], c->cols[i], q);
		if ((rc = mg_buf_check(&cols[i], err)) < 0)
			goto cleanup;
		colv[i] = mg_buf_cstr(&cols[i]);
	}
	if ((rc = mg_buf_check(&table, err)) < 0)
		goto cleanup;
	if (c->kind == MG_CHECK_DATA_UNCHANGED)
		conn->drv->fingerprint_sql(&sql, mg_buf_cstr(&table), colv,
		                           c->ncols);
	else
		mg_buf_addf(&sql, "SELECT count(*) FROM %s",
		            mg_buf_cstr(&table));
	if ((rc = mg_buf_check(&sql, err)) == 0)
		rc = one_value(out, conn, sql.ptr, err);
cleanup:
	for (i = 0; cols != NULL && i < c->ncols; i++)
		mg_buf_dispose(&cols[i]);
	free(cols);
	free(colv);
	mg_buf_dispose(&table);
	mg_buf_dispose(&sql);
	return rc;
}

static bool is_true(const char *v)
{
	return v != NULL && (strcasecmp(v, "t") == 0 ||
	                     strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static bool is_boolean(const char *v)
{
	return v != NULL &&
	       (is_true(v) || strcasecmp(v, "f") == 0 ||
	        strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0);
}

/*
 * An empty or true query. Its value goes into `after` (or `before` for a
 * check:pre): for empty the number of rows, for true the value.
 */
static int ask(struct mg_check_result *res, struct mg_conn *conn,
               const struct mg_check *c, struct mg_error *err)
{
	struct mg_rows *r = NULL;
	char **slot = c->pre ? &res->before : &res->after;
	char count[32];
	int rc;

	if ((rc = conn->drv->query(&r, conn, c->query, NULL, 0, 0, err)) < 0)
		return rc;
	res->verdict = MG_VERDICT_OK;
	if (r->ncols == 0) { /* an UPDATE or DELETE, say */
		*slot = strdup("no result set");
		res->verdict = MG_VERDICT_FAILED;
		res->note = strdup("the query must be a SELECT");
	} else if (c->kind == MG_CHECK_EMPTY) {
		snprintf(count, sizeof(count), "%zu row%s", r->nrows,
		         r->nrows == 1 ? "" : "s");
		*slot = strdup(count);
		if (r->nrows > 0) {
			res->verdict = MG_VERDICT_FAILED;
			free(res->rows);
			res->rows = NULL;
			if ((rc = mg_evidence_rows_json(
			             &res->rows, r, MG_EVIDENCE_SAMPLE_ROWS,
			             MG_EVIDENCE_RECORD_BYTES, err)) < 0) {
				mg_rows_free(r);
				return rc;
			}
		}
	} else if (r->nrows != 1 || r->ncols != 1) {
		snprintf(count, sizeof(count), "%zu rows", r->nrows);
		*slot = strdup(count);
		res->verdict = MG_VERDICT_FAILED;
		res->note = strdup(
		        r->nrows == 1
		                ? "the query must return a single column"
		                : "the query must return exactly one row");
	} else {
		const char *v = mg_rows_get(r, 0, 0);

		*slot = strdup(v ? v : "NULL");
		if (!is_boolean(v)) {
			res->verdict = MG_VERDICT_FAILED;
			res->note = strdup("the query must return a boolean");
		} else if (!is_true(v)) {
			res->verdict = MG_VERDICT_FAILED;
		}
	}
	mg_rows_free(r);
	if (*slot == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	return 0;
}

/* A record: query's rows into before (after: false) or after. */
static int take_record(struct mg_check_result *res, struct mg_conn *conn,
                       const struct mg_check *c, bool after,
                       struct mg_error *err)
{
	struct mg_rows *r = NULL;
	char **slot = after ? &res->after : &res->before;
	int rc;

	if ((rc = conn->drv->query(&r, conn, c->query, NULL, 0, 0, err)) < 0)
		return rc;
	free(*slot);
	*slot = NULL;
	res->nrows[after] = r->nrows;
	rc = mg_evidence_rows_json(slot, r, MG_EVIDENCE_RECORD_ROWS,
	                           MG_EVIDENCE_RECORD_BYTES, err);
	res->verdict = MG_VERDICT_OK;
	mg_rows_free(r);
	return rc;
}

/*
 * After the file: a record whose query fails now (the file dropped what
 * it read) keeps a note and fails nothing. Inside the file's transaction
 * it runs in a savepoint, which PostgreSQL needs to go on after an
 * error (SQLite and InnoDB take the same statements).
 */
static int record_after(struct mg_check_result *res, struct mg_conn *conn,
                        const struct mg_check *c, bool in_txn,
                        struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_error qerr = { 0 };
	int rc;

	if (in_txn && (rc = drv->query(NULL, conn, "SAVEPOINT mg_record", NULL,
	                               0, 0, err)) < 0)
		return rc;
	rc = take_record(res, conn, c, true, &qerr);
	if (rc == MG_ENOMEM)
		return mg_error_set(err, rc, "out of memory");
	if (rc < 0) {
		free(res->note);
		res->note = strdup(qerr.msg);
		res->verdict = MG_VERDICT_OK;
		if (in_txn && (rc = drv->query(NULL, conn,
		                               "ROLLBACK TO SAVEPOINT mg_record",
		                               NULL, 0, 0, err)) < 0)
			return rc;
	}
	if (in_txn)
		return drv->query(NULL, conn, "RELEASE SAVEPOINT mg_record", NULL,
		                  0, 0, err);
	return 0;
}

/*
 * Whether a check's query failed because the file is wrong: a table or
 * column that does not exist, a syntax error, as the driver classified
 * the server's error (not a missing privilege). Anything else (a lost
 * connection, a timeout) is the server's failure.
 */
static bool file_is_wrong(int rc, const struct mg_error *err)
{
	return rc == MG_ENOTFOUND || err->bad_sql;
}

/* backups: a delta's expected change; -(<query>) counts now, before the
 * file runs, and -backup waits for mg_checks_set_backup_rows(). */
static int expected_delta(struct mg_check_result *res, struct mg_conn *conn,
                          const struct mg_check *c, struct mg_error *err)
{
	char *v = NULL, *end;
	int rc;

	if (c->delta_from == MG_DELTA_NUMBER) {
		res->delta = c->delta;
		res->delta_known = true;
		return 0;
	}
	if (c->delta_from == MG_DELTA_BACKUP)
		return 0;
	/* the query gives the number itself: -(SELECT count(*) FROM ...) */
	if ((rc = one_value(&v, conn, c->query, err)) == 0) {
		long long n = strtoll(v ? v : "", &end, 10);

		if (v == NULL || end == v || *end != '\0')
			rc = mg_error_set(err, MG_EINVALID,
			                  "the delta's query must return one "
			                  "integer, not %s",
			                  v ? v : "NULL");
		res->delta = c->delta * n;
		res->delta_known = rc == 0;
	}
	free(v);
	return rc;
}

void mg_checks_set_backup_rows(struct mg_checks *cs, const char *table,
                               int64_t rows)
{
	size_t i;

	for (i = 0; cs->dir != NULL && i < cs->dir->nchecks; i++) {
		const struct mg_check *c = &cs->dir->checks[i];

		if (c->kind == MG_CHECK_ROWS_DELTA &&
		    c->delta_from == MG_DELTA_BACKUP &&
		    strcasecmp(c->table, table) == 0) {
			cs->r[i].delta = c->delta * rows;
			cs->r[i].delta_known = true;
		}
	}
}

static void fail(struct mg_checks *cs, size_t i, enum mg_verdict v)
{
	cs->r[i].verdict = v;
	if (!cs->any_failed) {
		cs->any_failed = true;
		cs->failed = i;
	}
}

int mg_checks_before(struct mg_checks *out, struct mg_conn *conn,
                     const struct mg_directives *dir, struct mg_error *err)
{
	struct mg_checks cs = { 0 };
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	cs.dir = dir;
	if (dir->nchecks == 0) {
		*out = cs;
		return 0;
	}
	if ((cs.r = calloc(dir->nchecks, sizeof(*cs.r))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	for (i = 0; i < dir->nchecks && rc == 0; i++) {
		const struct mg_check *c = &dir->checks[i];
		char server[sizeof(err->msg)] = "";

		if (c->kind == MG_CHECK_RECORD) {
			rc = take_record(&cs.r[i], conn, c, false, err);
		} else if (c->kind == MG_CHECK_EMPTY ||
		           c->kind == MG_CHECK_TRUE) {
			if (!c->pre)
				continue;
			rc = ask(&cs.r[i], conn, c, err);
			if (rc == 0 && cs.r[i].verdict != MG_VERDICT_OK)
				fail(&cs, i, cs.r[i].verdict);
		} else {
			rc = measure(&cs.r[i].before, conn, c, err);
			if (rc == 0 && c->kind == MG_CHECK_ROWS_DELTA)
				rc = expected_delta(&cs.r[i], conn, c, err);
		}
		/* a table or column that does not exist, a syntax error:
		 * the file is wrong, exit 2. A lost connection stays a
		 * runtime error. */
		if (rc < 0 && rc != MG_ENOMEM && err != NULL) {
			int code = file_is_wrong(rc, err) ? MG_EINVALID : rc;

			snprintf(server, sizeof(server), "%s", err->msg);
			mg_error_set(err, code, "check '%s' cannot run: %s",
			             c->text, server);
			err->line = c->line;
			rc = code;
		}
	}
	if (rc < 0) {
		mg_checks_dispose(&cs);
		return rc;
	}
	*out = cs;
	return 0;
}

static bool same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

int mg_checks_after(struct mg_checks *cs, struct mg_conn *conn,
                    struct mg_error *err)
{
	size_t i;
	int rc;

	for (i = 0; cs->dir != NULL && i < cs->dir->nchecks; i++) {
		const struct mg_check *c = &cs->dir->checks[i];
		struct mg_check_result *res = &cs->r[i];
		struct mg_error qerr = { 0 };
		int64_t before, after;
		char *end;

		if (c->pre)
			continue;
		if (c->kind == MG_CHECK_RECORD) {
			if ((rc = record_after(res, conn, c, cs->in_txn, err)) <
			    0)
				return rc;
			continue;
		}
		if (c->kind == MG_CHECK_EMPTY || c->kind == MG_CHECK_TRUE)
			rc = ask(res, conn, c, &qerr);
		else
			rc = measure(&res->after, conn, c, &qerr);
		if (rc == MG_ENOMEM)
			return mg_error_set(err, rc, "out of memory");
		if (rc < 0) {
			/* in PostgreSQL the transaction is now aborted and
			 * every later query would fail too: stop here */
			res->note = strdup(qerr.msg);
			fail(cs, i, MG_VERDICT_ERROR);
			/* a query the file's change broke is a broken
			 * promise; a lost connection is no verdict at all */
			if (!file_is_wrong(rc, &qerr)) {
				mg_error_set(err, rc,
				             "check '%s' could not run: %s",
				             c->text, qerr.msg);
				if (err != NULL)
					memcpy(err->sqlstate, qerr.sqlstate,
					       sizeof(err->sqlstate));
				return rc;
			}
			break;
		}
		switch (c->kind) {
		case MG_CHECK_ROWS_UNCHANGED:
		case MG_CHECK_DATA_UNCHANGED:
			res->verdict = same(res->before, res->after)
			                       ? MG_VERDICT_OK
			                       : MG_VERDICT_FAILED;
			break;
		case MG_CHECK_ROWS_DELTA:
			before = strtoll(res->before ? res->before : "", &end,
			                 10);
			after = strtoll(res->after ? res->after : "", &end, 10);
			res->verdict = res->delta_known &&
			                               after == before + res->delta
			                       ? MG_VERDICT_OK
			                       : MG_VERDICT_FAILED;
			if (!res->delta_known && res->note == NULL)
				res->note = strdup("the backup it counts on "
				                   "was not taken");
			break;
		default:
			break; /* ask() gave the verdict */
		}
		if (res->verdict != MG_VERDICT_OK)
			fail(cs, i, res->verdict);
	}
	return 0;
}

int mg_checks_restored(struct mg_checks *cs, struct mg_conn *conn, bool *ok,
                       char **differs, struct mg_error *err)
{
	struct mg_buf b = MG_BUF_INIT;
	size_t i;
	int rc = 0;

	*ok = true;
	*differs = NULL;
	for (i = 0; cs->dir != NULL && i < cs->dir->nchecks; i++) {
		const struct mg_check *c = &cs->dir->checks[i];
		struct mg_check_result *res = &cs->r[i];
		struct mg_error qerr = { 0 };
		char *now = NULL;

		if (res->before == NULL || c->pre ||
		    c->kind == MG_CHECK_RECORD)
			continue;
		if ((rc = measure(&now, conn, c, &qerr)) == MG_ENOMEM)
			break;
		if (rc < 0 || !same(now, res->before)) {
			*ok = false;
			mg_buf_addf(&b, "%s%s: before %s, after the undo %s",
			            b.len ? "; " : "", c->text, res->before,
			            rc < 0 ? qerr.msg
			            : now  ? now
			                   : "NULL");
		}
		rc = 0;
		free(res->after_undo);
		res->after_undo = now;
	}
	if (rc == 0 && (rc = mg_buf_check(&b, err)) == 0)
		*differs = mg_buf_detach(&b);
	if (rc == MG_ENOMEM)
		mg_error_set(err, rc, "out of memory");
	mg_buf_dispose(&b);
	return rc;
}

void mg_checks_describe(const struct mg_checks *cs, size_t i,
                        struct mg_buf *out)
{
	const struct mg_check *c = &cs->dir->checks[i];
	const struct mg_check_result *res = &cs->r[i];
	const char *subject = c->table ? c->table : c->query;

	mg_buf_addf(out, "%s%s %s: ", mg_check_kind_name(c->kind),
	            c->pre ? " (pre)" : "", subject);
	if (c->kind == MG_CHECK_RECORD) {
		mg_buf_addf(out, "%zu row%s", res->nrows[0],
		            res->nrows[0] == 1 ? "" : "s");
		if (res->after != NULL)
			mg_buf_addf(out, " -> %zu row%s", res->nrows[1],
			            res->nrows[1] == 1 ? "" : "s");
		mg_buf_add(out, " recorded");
		if (res->note != NULL)
			mg_buf_addf(out, " (after: %s)", res->note);
		return;
	}
	if (c->kind == MG_CHECK_EMPTY || c->kind == MG_CHECK_TRUE)
		mg_buf_add(out, (c->pre ? res->before : res->after)
		                        ? (c->pre ? res->before : res->after)
		                        : "-");
	else
		mg_buf_addf(out, "%s -> %s", res->before ? res->before : "-",
		            res->after ? res->after : "-");
	if (c->kind == MG_CHECK_ROWS_DELTA && res->delta_known)
		mg_buf_addf(out, " (expected %+" PRId64 ")", res->delta);
	mg_buf_addf(out, " %s", verdict_names[res->verdict]);
	if (res->after_undo != NULL)
		mg_buf_addf(out, " (after the undo: %s)", res->after_undo);
	if (res->note != NULL)
		mg_buf_addf(out, " (%s)", res->note);
}

void mg_checks_json(const struct mg_checks *cs, struct mg_buf *out)
{
	struct mg_json w;

	mg_json_init(&w, out);
	mg_json_array_begin(&w, NULL);
	mg_checks_json_items(cs, &w);
	mg_json_end(&w);
}

void mg_checks_json_items(const struct mg_checks *cs, struct mg_json *w)
{
	size_t i;

	for (i = 0; cs->dir != NULL && i < cs->dir->nchecks; i++) {
		const struct mg_check *c = &cs->dir->checks[i];
		const struct mg_check_result *res = &cs->r[i];

		mg_json_object_begin(w, NULL);
		mg_json_string(w, "kind", mg_check_kind_name(c->kind));
		mg_json_string(w, "check", c->text);
		mg_json_int(w, "line", c->line);
		if (c->kind == MG_CHECK_RECORD) {
			mg_json_string(w, "query", c->query);
			mg_json_int(w, "rows_before", (int64_t)res->nrows[0]);
			mg_json_array_or_string(w, "before", res->before);
			if (res->after != NULL)
				mg_json_int(w, "rows_after",
				            (int64_t)res->nrows[1]);
			mg_json_array_or_string(w, "after", res->after);
		} else {
			mg_json_bool(w, "pre", c->pre);
			mg_json_string(w, "before", res->before);
			mg_json_string(w, "after", res->after);
		}
		if (res->after_undo != NULL)
			mg_json_string(w, "after_undo", res->after_undo);
		mg_json_string(w, "verdict", verdict_names[res->verdict]);
		if (res->note != NULL)
			mg_json_string(w, "note", res->note);
		if (res->rows != NULL)
			mg_json_array_or_string(w, "rows", res->rows);
		if (c->kind == MG_CHECK_ROWS_DELTA && res->delta_known)
			mg_json_int(w, "expected_delta", res->delta);
		mg_json_end(w);
	}
	if (cs->more_json != NULL) /* backups */
		cs->more_json(cs->more_ctx, w);
}

void mg_checks_dispose(struct mg_checks *cs)
{
	size_t i;

	for (i = 0; cs->r != NULL && i < cs->dir->nchecks; i++) {
		free(cs->r[i].before);
		free(cs->r[i].after);
		free(cs->r[i].after_undo);
		free(cs->r[i].note);
		free(cs->r[i].rows);
	}
	free(cs->r);
	memset(cs, 0, sizeof(*cs));
}
