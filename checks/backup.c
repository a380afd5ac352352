#include "checks/backup.h"

#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checks/directive.h"
#include "checks/ident.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/drivers/tables.h"
#include "migrator/error.h"
#include "migrator/json.h"

/* The table's last part, without its schema (quotes stay: spell()
 * drops them). */
static const char *last_part(const char *table)
{
	const char *p, *dot = NULL;

	for (p = table; *p; p++)
		if (*p == '.')
			dot = p;
	return dot != NULL ? dot + 1 : table;
}

/* full, spelled as a backup table's name: lower case, '_' for what is
 * not a letter or digit, quotes dropped, at most 63 characters (the
 * first 54, '_' and 8 hex digits of a hash of the whole). */
static void spell(char out[64], char *full)
{
	unsigned char h[4];
	char *p;
	size_t n;

	for (p = full; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '`') {
			memmove(p, p + 1, strlen(p));
			p--;
		} else if (isalnum(c) || c == '_') {
			*p = (char)tolower(c);
		} else {
			*p = '_';
		}
	}
	n = strlen(full);
	if (n <= 63) {
		memcpy(out, full, n + 1);
		return;
	}
	crypto_generichash(h, sizeof(h), (const unsigned char *)full, n, NULL,
	                   0);
	snprintf(out, 64, "%.54s_%02x%02x%02x%02x", full, h[0], h[1], h[2],
	         h[3]);
}

/* The ledger table's own name, without its schema. */
static const char *ledger_name(const char *ledger)
{
	const char *dot = strrchr(ledger, '.');

	return dot != NULL ? dot + 1 : ledger;
}

void mg_backup_name(char out[64], const char *ledger, const char *owner,
                    int64_t number, const char *table)
{
	char full[1024];

	snprintf(full, sizeof(full), "%s_bk_%s%" PRId64 "_%s",
	         ledger_name(ledger), owner, number, last_part(table));
	spell(out, full);
}

void mg_backup_job_name(char out[64], const char *ledger, const char *job,
                        int64_t event, const char *table)
{
	char full[1024];

	snprintf(full, sizeof(full), "%s_bk_j%" PRId64 "_%s_%s",
	         ledger_name(ledger), event, job, last_part(table));
	spell(out, full);
}

void mg_backup_prefix(char *out, size_t size, const char *ledger)
{
	char *p;

	snprintf(out, size, "%s_bk_", ledger_name(ledger));
	/* as mg_backup_name() spells it */
	for (p = out; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			*p = '_';
		else
			*p = (char)tolower((unsigned char)*p);
}

char *mg_backup_quote(const char *schema, const char *name, char q)
{
	struct mg_buf b = MG_BUF_INIT;
	const char *parts[2] = { schema, name };
	const char *s;
	int i;

	for (i = 0; i < 2; i++) {
		if (parts[i] == NULL)
			continue;
		if (i == 1 && parts[0] != NULL)
			mg_buf_addc(&b, '.');
		mg_buf_addc(&b, q);
		for (s = parts[i]; *s; s++) {
			if (*s == q)
				mg_buf_addc(&b, q);
			mg_buf_addc(&b, *s);
		}
		mg_buf_addc(&b, q);
	}
	if (b.failed) {
		mg_buf_dispose(&b);
		return NULL;
	}
	return mg_buf_detach(&b);
}

const char *mg_backup_schema(char *buf, size_t size, struct mg_conn *conn,
                             const char *ledger)
{
	const char *dot = strchr(ledger, '.');

	if (dot != NULL) {
		snprintf(buf, size, "%.*s", (int)(dot - ledger), ledger);
		return buf;
	}
	return conn->drv->schema(conn);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm):
 * timegm() is not POSIX. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

/* started (2026-01-31T12:00:00.000000Z) plus days, in the same form */
static void add_days(char out[32], const char *started, int days)
{
	int y, hh, mi, ss;
	unsigned mo, d;
	long us;
	char text[128];
	size_t n;

	if (sscanf(started, "%d-%u-%uT%d:%d:%d.%ldZ", &y, &mo, &d, &hh, &mi,
	           &ss, &us) != 7) {
		out[0] = '\0';
		return;
	}

	civil_from_days(days_from_civil(y, mo, d) + days, &y, &mo, &d);
	/* through a buffer wide enough for any int, so that the compiler
	 * sees no truncation; a well-formed time fits in 32 */
	snprintf(text, sizeof(text), "%04d-%02u-%02uT%02d:%02d:%02d.%06ldZ", y,
	         mo, d, hh, mi, ss, us);
	n = strlen(text);
	if (n >= 32)
		n = 0;
	memcpy(out, text, n);
	out[n] = '\0';
}

/* One value of ours; *out owned (NULL: SQL NULL). */
static int one_value(char **out, struct mg_conn *conn, const char *sql,
                     const char *const *params, size_t nparams,
                     struct mg_error *err)
{
	struct mg_rows *r = NULL;
	int rc;

	*out = NULL;
	if ((rc = conn->drv->query(&r, conn, sql, params, nparams, 0, err)) <
	    0)
		return rc;
	if (r->nrows >= 1 && r->ncols >= 1 && mg_rows_get(r, 0, 0) != NULL &&
	    (*out = strdup(mg_rows_get(r, 0, 0))) == NULL)
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
	mg_rows_free(r);
	return rc;
}

/* The columns, quoted, as an array of fresh strings. */
static char **quote_all(char *const *names, size_t n, char q)
{
	char **v = calloc(n + 1, sizeof(*v));
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		if ((v[i] = mg_backup_quote(NULL, names[i], q)) == NULL) {
			while (i-- > 0)
				free(v[i]);
			free(v);
			return NULL;
		}
	return v;
}

static void free_all(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

bool mg_backup_fp_known(const struct mg_conn *conn, const char *format)
{
	return format != NULL &&
	       (strcmp(format, MG_BACKUP_FP_FORMAT) == 0 ||
	        (strcmp(format, MG_BACKUP_FP_FORMAT2) == 0 &&
	         conn->drv->fingerprint2_sql != NULL));
}

int mg_backup_fingerprint(char **out, struct mg_conn *conn, const char *format,
                          const char *from, char *const *cols, size_t ncols,
                          struct mg_error *err)
{
	struct mg_buf sql = MG_BUF_INIT;
	char **q;
	int rc;

	*out = NULL;
	if (!mg_backup_fp_known(conn, format))
		return mg_error_set(err, MG_EINVALID,
		                    "fingerprint format '%s' is unknown here",
		                    format ? format : "");
	if ((q = quote_all(cols, ncols, conn->drv->ident_quote)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	if (strcmp(format, MG_BACKUP_FP_FORMAT2) == 0)
		conn->drv->fingerprint2_sql(&sql, from, (const char *const *)q,
		                            ncols);
	else
		conn->drv->fingerprint_sql(&sql, from, (const char *const *)q,
		                           ncols);
	if ((rc = mg_buf_check(&sql, err)) == 0)
		rc = one_value(out, conn, sql.ptr, NULL, 0, err);
	free_all(q, ncols);
	mg_buf_dispose(&sql);
	return rc;
}

/* "SELECT * FROM t WHERE (pred)": what the backup copies. The table as
 * the directive wrote it, its quoted parts in the database's own quote
 * (on MySQL "t" is the string 't'). */
static void add_selection(struct mg_buf *b, const struct mg_backup *bk,
                          char quote)
{
	mg_buf_add(b, "SELECT * FROM ");
	mg_ident_requote(b, bk->table, quote);
	if (bk->where != NULL)
		mg_buf_addf(b, " WHERE (%s)", bk->where);
}

/* A server error in SQL the directive wrote (the predicate, the table):
 * the file is wrong, exit 2. */
static int blame_file(int rc, struct mg_error *err, const struct mg_backup *bk)
{
	char server[sizeof(err->msg)];

	if (rc == MG_ENOMEM || err == NULL)
		return rc;
	if (rc == MG_ENOTFOUND || err->bad_sql)
		rc = MG_EINVALID;
	snprintf(server, sizeof(server), "%s", err->msg);
	mg_error_set(err, rc, "backup: %s cannot be taken: %s", bk->table,
	             server);
	err->line = bk->line;
	return rc;
}

/*
 * The backup table exists already (a run again after `repair`, an up
 * after a down): reuse it only when it holds what the ledger recorded
 * for it and what the predicate selects now. Never overwrite it.
 */
static bool same_cols(const struct mg_table_info *t,
                      const struct mg_backup *bk)
{
	size_t i;

	if (t->ncols != bk->ncols)
		return false;
	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], bk->cols[i]) != 0)
			return false;
	return true;
}

static int reuse(struct mg_backup *bk, const struct mg_table_info *exists,
                 struct mg_conn *conn, const struct mg_backup_ctx *ctx,
                 struct mg_error *err)
{
	struct mg_buf sql = MG_BUF_INIT, sel = MG_BUF_INIT;
	struct mg_json_value *v = NULL;
	struct mg_rows *r = NULL;
	char *now = NULL, *live = NULL, *count = NULL, *end;
	const char *recorded = NULL, *format = NULL;
	size_t i, j;
	int rc;

	/* the name is letters, digits and '_' only (mg_backup_name), so it
	 * goes into the SQL as text: MySQL's query() returns rows only for
	 * statements without parameters */
	mg_buf_addf(&sql,
	            "SELECT checks FROM %s WHERE direction = 'up' AND checks "
	            "LIKE '%%\"backup_table\":\"%s\"%%' ORDER BY id DESC",
	            ctx->ledger_sql, bk->backup_table);
	if ((rc = mg_buf_check(&sql, err)) < 0)
		goto cleanup;
	if ((rc = conn->drv->query(&r, conn, sql.ptr, NULL, 0, 0, err)) < 0)
		goto cleanup;
	for (i = 0; i < r->nrows && recorded == NULL; i++) {
		if (mg_rows_get(r, i, 0) == NULL ||
		    mg_json_parse(&v, mg_rows_get(r, i, 0), NULL) < 0)
			continue;
		for (j = 0; j < mg_json_array_size(v) && recorded == NULL;
		     j++) {
			const struct mg_json_value *it =
			        mg_json_array_get(v, j);
			const char *t = mg_json_object_string(it,
			                                      "backup_table");

			if (t != NULL && strcmp(t, bk->backup_table) == 0) {
				recorded = mg_json_object_string(
				        it, "fingerprint");
				format = mg_json_object_string(
				        it, "fingerprint_format");
			}
		}
		if (recorded == NULL) {
			mg_json_value_free(v);
			v = NULL;
		}
	}
	/* no record, or other columns: not ours to fingerprint */
	if (recorded == NULL || !same_cols(exists, bk) ||
	    !mg_backup_fp_known(conn, format))
		goto refuse;
	bk->fp_format = strcmp(format, MG_BACKUP_FP_FORMAT2) == 0
	                        ? MG_BACKUP_FP_FORMAT2
	                        : MG_BACKUP_FP_FORMAT;
	add_selection(&sel, bk, conn->drv->ident_quote);
	mg_buf_add(&sel, ") AS mg_sel");
	mg_buf_truncate(&sql, 0);
	mg_buf_addf(&sql, "(%s", mg_buf_cstr(&sel));
	if ((rc = mg_buf_check(&sql, err)) < 0 ||
	    (rc = mg_backup_fingerprint(&now, conn, bk->fp_format,
	                                bk->backup_sql, bk->cols, bk->ncols,
	                                err)) < 0)
		goto cleanup;
	if ((rc = mg_backup_fingerprint(&live, conn, bk->fp_format, sql.ptr,
	                                bk->cols, bk->ncols, err)) < 0) {
		rc = blame_file(rc, err, bk);
		goto cleanup;
	}
	if (now == NULL || live == NULL || strcmp(recorded, now) != 0 ||
	    strcmp(now, live) != 0) {
refuse:
		rc = mg_error_set(err, MG_ERR,
		                  "backup table %s exists already and %s: "
		                  "migrate never overwrites a backup",
		                  bk->backup_table,
		                  recorded == NULL
		                          ? "no ledger event recorded it"
		                  : !same_cols(exists, bk)
		                          ? "has other columns than the table"
		                  : strcmp(recorded, now ? now : "") != 0
		                          ? "no longer holds what the ledger "
		                            "recorded"
		                          : "holds other rows than the "
		                            "backup would save now");
		err->line = bk->line;
		mg_error_hint(err,
		              "see 'migrate backups'; restore from it if it "
		              "holds rows you need, then drop it with 'migrate "
		              "prune --version %" PRId64 "' (an orphan: 'migrate "
		              "prune') and run again",
		              ctx->number);
		goto cleanup;
	}
	mg_buf_truncate(&sql, 0);
	mg_buf_addf(&sql, "SELECT count(*) FROM %s", bk->backup_sql);
	if ((rc = mg_buf_check(&sql, err)) < 0 ||
	    (rc = one_value(&count, conn, sql.ptr, NULL, 0, err)) < 0)
		goto cleanup;
	bk->rows = strtoll(count ? count : "0", &end, 10);
	bk->fingerprint = now;
	now = NULL;
	bk->reused = true;
cleanup:
	free(now);
	free(live);
	free(count);
	mg_json_value_free(v);
	mg_rows_free(r);
	mg_buf_dispose(&sql);
	mg_buf_dispose(&sel);
	return rc;
}

static int no_key(struct mg_error *err, const char *table, unsigned line)
{
	int rc = mg_error_set(err, MG_EINVALID,
	                      "backup: %s has no primary key and no unique "
	                      "key over NOT NULL columns: restore could not "
	                      "match its rows",
	                      table);

	if (err != NULL)
		err->line = line;
	mg_error_hint(err, "add a primary key first (in an earlier "
	                   "migration)");
	return rc;
}

/* A table without a key, refused; other failures are left to take_one,
 * which names them. */
static int check_key(struct mg_conn *conn, const struct mg_backup_spec *s,
                     struct mg_error *err)
{
	struct mg_table_info ti = { 0 };
	struct mg_error ierr = { 0 };
	int rc = 0;

	if (conn->drv->table_info == NULL ||
	    conn->drv->table_info(&ti, conn, s->table, &ierr) < 0)
		return 0;
	if (ti.nkey == 0)
		rc = no_key(err, s->table, s->line);
	mg_table_info_dispose(&ti);
	return rc;
}

/*
 * A dry run: how many rows the backup would save, and their size as the
 * database measures it (row_bytes_sql), in one pass over the selection
 * that sends no row to the client.
 */
static int measure(struct mg_backup *bk, struct mg_conn *conn,
                   struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_buf sql = MG_BUF_INIT;
	struct mg_rows *r = NULL;
	char **q = NULL, *end;
	const char *v;
	int rc;

	bk->bytes = -1;
	mg_buf_add(&sql, "SELECT count(*)");
	if (drv->row_bytes_sql != NULL) {
		if ((q = quote_all(bk->cols, bk->ncols, drv->ident_quote)) ==
		    NULL)
			return mg_error_set(err, MG_ENOMEM, "out of memory");
		mg_buf_add(&sql, ", coalesce(sum(");
		drv->row_bytes_sql(&sql, "mg_sel", (const char *const *)q,
		                   bk->ncols);
		mg_buf_add(&sql, "), 0)");
	}
	mg_buf_add(&sql, " FROM (");
	add_selection(&sql, bk, conn->drv->ident_quote);
	mg_buf_add(&sql, ") AS mg_sel");
	if ((rc = mg_buf_check(&sql, err)) < 0)
		goto cleanup;
	if ((rc = drv->query(&r, conn, sql.ptr, NULL, 0, 0, err)) < 0) {
		rc = blame_file(rc, err, bk);
		goto cleanup;
	}
	v = r->nrows > 0 ? mg_rows_get(r, 0, 0) : NULL;
	bk->rows = strtoll(v ? v : "0", &end, 10);
	v = r->nrows > 0 && r->ncols > 1 ? mg_rows_get(r, 0, 1) : NULL;
	if (v != NULL) /* a sum may come as "123.0" or "123" */
		bk->bytes = (int64_t)strtod(v, &end);
cleanup:
	free_all(q, bk->ncols);
	mg_rows_free(r);
	mg_buf_dispose(&sql);
	return rc;
}

static int take_one(struct mg_backup *bk, struct mg_conn *conn,
                    const struct mg_backup_ctx *ctx, bool dry_run,
                    struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_table_info ti = { 0 }, exists = { 0 };
	struct mg_buf sql = MG_BUF_INIT;
	char name[64], schema_buf[256], *count = NULL, *end;
	const char *schema;
	int rc;

	if (drv->table_info == NULL)
		return mg_error_set(err, MG_EINVALID,
		                    "this database does not support backups");
	if ((rc = drv->table_info(&ti, conn, bk->table, err)) < 0) {
		rc = blame_file(rc, err, bk);
		goto cleanup;
	}
	if (ti.nkey == 0) {
		rc = no_key(err, bk->table, bk->line);
		goto cleanup;
	}
	bk->fp_format = drv->fingerprint2_sql != NULL && ti.fast_fp
	                        ? MG_BACKUP_FP_FORMAT2
	                        : MG_BACKUP_FP_FORMAT;
	bk->cols = ti.cols;
	bk->ncols = ti.ncols;
	bk->key = ti.key;
	bk->nkey = ti.nkey;
	ti.cols = ti.key = NULL; /* bk owns them now */
	ti.ncols = ti.nkey = 0;
	if (ctx->job != NULL)
		mg_backup_job_name(name, ctx->ledger, ctx->job, ctx->number,
		                   bk->table);
	else
		mg_backup_name(name, ctx->ledger, ctx->owner, ctx->number,
		               bk->table);
	schema = mg_backup_schema(schema_buf, sizeof(schema_buf), conn,
	                          ctx->ledger);
	if ((bk->backup_table = strdup(name)) == NULL ||
	    (bk->backup_sql = mg_backup_quote(schema, name, drv->ident_quote)) ==
	            NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (dry_run) {
		rc = measure(bk, conn, err);
		bk->taken = rc == 0;
		goto cleanup;
	}
	/* a job's batch with nothing to save (the last batch of a batched
	 * job, every time) keeps no empty table */
	if (ctx->job != NULL) {
		mg_buf_add(&sql, "SELECT count(*) FROM (");
		add_selection(&sql, bk, conn->drv->ident_quote);
		mg_buf_add(&sql, ") AS mg_sel");
		if ((rc = mg_buf_check(&sql, err)) < 0)
			goto cleanup;
		if ((rc = one_value(&count, conn, sql.ptr, NULL, 0, err)) < 0) {
			rc = blame_file(rc, err, bk);
			goto cleanup;
		}
		bk->rows = strtoll(count ? count : "0", &end, 10);
		if ((bk->empty = bk->rows == 0))
			goto cleanup;
		free(count);
		count = NULL;
		mg_buf_truncate(&sql, 0);
	}
	rc = drv->table_info(&exists, conn, bk->backup_sql, err);
	if (rc == 0) {
		rc = reuse(bk, &exists, conn, ctx, err);
		bk->taken = rc == 0;
		goto cleanup;
	}
	if (rc != MG_ENOTFOUND)
		goto cleanup;
	mg_buf_addf(&sql, "CREATE TABLE %s AS ", bk->backup_sql);
	add_selection(&sql, bk, conn->drv->ident_quote);
	if ((rc = mg_buf_check(&sql, err)) < 0)
		goto cleanup;
	if ((rc = drv->query(NULL, conn, sql.ptr, NULL, 0, 0, err)) < 0) {
		rc = blame_file(rc, err, bk);
		goto cleanup;
	}
	mg_buf_truncate(&sql, 0);
	mg_buf_addf(&sql, "SELECT count(*) FROM %s", bk->backup_sql);
	if ((rc = mg_buf_check(&sql, err)) < 0 ||
	    (rc = one_value(&count, conn, sql.ptr, NULL, 0, err)) < 0 ||
	    (rc = mg_backup_fingerprint(&bk->fingerprint, conn, bk->fp_format,
	                                bk->backup_sql, bk->cols, bk->ncols,
	                                err)) < 0)
		goto cleanup;
	bk->rows = strtoll(count ? count : "0", &end, 10);
	bk->taken = true;
cleanup:
	free(count);
	mg_table_info_dispose(&ti);
	mg_table_info_dispose(&exists);
	mg_buf_dispose(&sql);
	return rc;
}

int mg_backups_take(struct mg_backups *out, struct mg_conn *conn,
                    const struct mg_backup_ctx *ctx,
                    const struct mg_directives *dir, bool dry_run,
                    struct mg_error *err)
{
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->dry_run = dry_run;
	if (dir->nbackups == 0)
		return 0;
	if ((out->v = calloc(dir->nbackups, sizeof(*out->v))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	/* every table's key first: on MySQL each copy commits at once, so
	 * a table refused after another's copy would leave that copy */
	for (i = 0; i < dir->nbackups && rc == 0; i++)
		rc = check_key(conn, &dir->backups[i], err);
	for (i = 0; i < dir->nbackups && rc == 0; i++) {
		const struct mg_backup_spec *s = &dir->backups[i];
		struct mg_backup *bk = &out->v[out->n++];

		bk->line = s->line;
		bk->keep_days = s->keep_days;
		bk->in_txn = ctx->in_txn;
		bk->event = ctx->job != NULL ? ctx->number : 0;
		if ((bk->table = strdup(s->table)) == NULL ||
		    (s->where != NULL &&
		     (bk->where = strdup(s->where)) == NULL))
			return mg_error_set(err, MG_ENOMEM, "out of memory");
		if (s->keep_days >= 0 && ctx->started != NULL)
			add_days(bk->expires_at, ctx->started, s->keep_days);
		rc = take_one(bk, conn, ctx, dry_run, err);
	}
	return rc;
}

int mg_backup_rename(struct mg_backup *bk, struct mg_conn *conn,
                     const char *ledger, const char *job, int64_t event,
                     struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_buf sql = MG_BUF_INIT;
	char name[64], schema_buf[256], *bare = NULL, *full = NULL;
	const char *schema;
	int rc;

	bk->event = event;
	if (!bk->taken || bk->empty)
		return 0;
	mg_backup_job_name(name, ledger, job, event, bk->table);
	schema = mg_backup_schema(schema_buf, sizeof(schema_buf), conn, ledger);
	/* the new name without its schema: RENAME TO keeps the table's */
	if ((bare = mg_backup_quote(NULL, name, drv->ident_quote)) == NULL ||
	    (full = mg_backup_quote(schema, name, drv->ident_quote)) == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	mg_buf_addf(&sql, "ALTER TABLE %s RENAME TO %s", bk->backup_sql, bare);
	if ((rc = mg_buf_check(&sql, err)) < 0 ||
	    (rc = drv->query(NULL, conn, sql.ptr, NULL, 0, 0, err)) < 0)
		goto cleanup;
	free(bk->backup_table);
	free(bk->backup_sql);
	bk->backup_table = NULL;
	bk->backup_sql = full;
	full = NULL;
	if ((bk->backup_table = strdup(name)) == NULL)
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
cleanup:
	free(bare);
	free(full);
	mg_buf_dispose(&sql);
	return rc;
}

static void string_array(struct mg_json *w, const char *key, char *const *v,
                         size_t n)
{
	size_t i;

	mg_json_array_begin(w, key);
	for (i = 0; i < n; i++)
		mg_json_string(w, NULL, v[i]);
	mg_json_end(w);
}

void mg_backups_json(const void *ctx, struct mg_json *w)
{
	const struct mg_backups *b = ctx;
	size_t i;

	for (i = 0; b != NULL && i < b->n; i++) {
		const struct mg_backup *bk = &b->v[i];

		if (bk->empty) { /* a job's: no rows, no table */
			mg_json_object_begin(w, NULL);
			mg_json_string(w, "kind", "backup");
			mg_json_string(w, "table", bk->table);
			mg_json_int(w, "line", bk->line);
			mg_json_null(w, "backup_table");
			mg_json_string(w, "where", bk->where);
			mg_json_int(w, "rows", 0);
			mg_json_bool(w, "empty", true);
			mg_json_end(w);
			continue;
		}
		if (!bk->taken)
			continue; /* refused, or its copy failed */
		mg_json_object_begin(w, NULL);
		mg_json_string(w, "kind", "backup");
		mg_json_string(w, "table", bk->table);
		mg_json_int(w, "line", bk->line);
		mg_json_string(w, "backup_table", bk->backup_table);
		mg_json_string(w, "where", bk->where);
		mg_json_int(w, "rows", bk->rows);
		if (b->dry_run && bk->bytes >= 0)
			mg_json_int(w, "bytes", bk->bytes);
		else if (b->dry_run)
			mg_json_null(w, "bytes");
		if (!b->dry_run) {
			mg_json_string(w, "fingerprint", bk->fingerprint);
			mg_json_string(w, "fingerprint_format",
			               bk->fp_format);
		}
		string_array(w, "columns", bk->cols, bk->ncols);
		string_array(w, "key", bk->key, bk->nkey);
		if (bk->keep_days >= 0)
			mg_json_int(w, "keep_days", bk->keep_days);
		else
			mg_json_null(w, "keep_days");
		mg_json_string(w, "expires_at",
		               bk->expires_at[0] ? bk->expires_at : NULL);
		mg_json_bool(w, "in_txn", bk->in_txn);
		/* a job's (issue 11): the event its name carries */
		if (bk->event > 0 && !b->dry_run)
			mg_json_int(w, "event", bk->event);
		if (bk->reused)
			mg_json_bool(w, "reused", true);
		if (b->dry_run)
			mg_json_bool(w, "dry_run", true);
		mg_json_end(w);
	}
}

void mg_backups_dispose(struct mg_backups *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct mg_backup *bk = &b->v[i];

		free(bk->table);
		free(bk->where);
		free(bk->backup_table);
		free(bk->backup_sql);
		free_all(bk->cols, bk->ncols);
		free_all(bk->key, bk->nkey);
		free(bk->fingerprint);
	}
	free(b->v);
	memset(b, 0, sizeof(*b));
}
