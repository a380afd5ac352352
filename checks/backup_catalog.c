#include "checks/backup_catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/backup.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/json.h"
#include "migrator/ledger.h"

const char *mg_backup_state_name(enum mg_backup_state s)
{
	static const char *const names[] = {
		[MG_BK_KEPT] = "kept",         [MG_BK_EXPIRED] = "expired",
		[MG_BK_RESTORED] = "restored", [MG_BK_PRUNED] = "pruned",
		[MG_BK_ORPHAN] = "orphan",
	};

	return names[s];
}

static void entry_dispose(struct mg_catalog_entry *e)
{
	size_t i;

	free(e->name);
	free(e->table);
	free(e->backup_table);
	free(e->backup_sql);
	free(e->where);
	free(e->fingerprint);
	free(e->fp_format);
	for (i = 0; i < e->ncols; i++)
		free(e->cols[i]);
	free(e->cols);
	for (i = 0; i < e->nkey; i++)
		free(e->key[i]);
	free(e->key);
	memset(e, 0, sizeof(*e));
}

void mg_catalog_dispose(struct mg_catalog *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		entry_dispose(&c->v[i]);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static struct mg_catalog_entry *find(struct mg_catalog *c, const char *bt)
{
	size_t i;

	for (i = c->n; i-- > 0;)
		if (strcmp(c->v[i].backup_table, bt) == 0)
			return &c->v[i];
	return NULL;
}

static struct mg_catalog_entry *add(struct mg_catalog *c)
{
	struct mg_catalog_entry *v = realloc(c->v, (c->n + 1) * sizeof(*v));

	if (v == NULL)
		return NULL;
	c->v = v;
	memset(&v[c->n], 0, sizeof(v[c->n]));
	return &v[c->n++];
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static int names(char ***v, size_t *n, const struct mg_json_value *a,
                 struct mg_error *err)
{
	size_t i;
	int rc;

	for (i = 0; i < mg_json_array_size(a); i++) {
		const char *s = mg_json_string_value(mg_json_array_get(a, i));

		if (s != NULL && (rc = mg_table_info_add(v, n, s, err)) < 0)
			return rc;
	}
	return 0;
}

static bool is(const char *a, const char *b)
{
	return a != NULL && strcmp(a, b) == 0;
}

/* One backup evidence item of an up (or job) event. */
static int add_backup(struct mg_catalog *c, const struct mg_ledger_row *row,
                      const struct mg_json_value *it, const char *schema,
                      char q, struct mg_error *err)
{
	const char *bt = mg_json_object_string(it, "backup_table");
	const char *exp = mg_json_object_string(it, "expires_at");
	struct mg_catalog_entry *e;
	int64_t rows = -1;

	if ((e = find(c, bt)) != NULL)
		entry_dispose(e); /* taken again (reused): the latest counts */
	else if ((e = add(c)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	mg_json_object_int(it, "rows", &rows);
	e->version = row->version;
	e->job = is(row->f[MG_LF_DIRECTION], "job");
	if (!mg_json_object_int(it, "event", &e->event) || !e->job)
		e->event = row->id;
	e->rows = rows;
	e->name = dup_or_null(row->f[MG_LF_NAME]);
	e->table = dup_or_null(mg_json_object_string(it, "table"));
	e->backup_table = strdup(bt);
	e->backup_sql = mg_backup_quote(schema, bt, q);
	e->where = dup_or_null(mg_json_object_string(it, "where"));
	e->fingerprint = dup_or_null(mg_json_object_string(it, "fingerprint"));
	e->fp_format =
	        dup_or_null(mg_json_object_string(it, "fingerprint_format"));
	snprintf(e->created_at, sizeof(e->created_at), "%s",
	         row->f[MG_LF_STARTED_AT] ? row->f[MG_LF_STARTED_AT] : "");
	snprintf(e->expires_at, sizeof(e->expires_at), "%s", exp ? exp : "");
	if (e->backup_table == NULL || e->backup_sql == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	return names(&e->cols, &e->ncols, mg_json_object_get(it, "columns"),
	             err) < 0 ||
	                       names(&e->key, &e->nkey,
	                             mg_json_object_get(it, "key"), err) < 0
	               ? MG_ENOMEM
	               : 0;
}

/* The evidence of one ledger row, applied to the catalogue. */
static int read_row(struct mg_catalog *c, const struct mg_ledger_row *row,
                    const char *schema, char q, struct mg_error *err)
{
	const char *dir = row->f[MG_LF_DIRECTION];
	const char *status = row->f[MG_LF_STATUS];
	struct mg_json_value *v = NULL;
	size_t i;
	int rc = 0;

	if (row->f[MG_LF_CHECKS] == NULL ||
	    strstr(row->f[MG_LF_CHECKS], "\"backup_table\"") == NULL ||
	    mg_json_parse(&v, row->f[MG_LF_CHECKS], NULL) < 0)
		return 0;
	for (i = 0; i < mg_json_array_size(v) && rc == 0; i++) {
		const struct mg_json_value *it = mg_json_array_get(v, i);
		const char *kind = mg_json_object_string(it, "kind");
		const char *bt = mg_json_object_string(it, "backup_table");
		bool in_txn = mg_json_is_true(mg_json_object_get(it, "in_txn"));
		bool dry = mg_json_is_true(mg_json_object_get(it, "dry_run"));
		struct mg_catalog_entry *e;

		if (bt == NULL)
			continue;
		if ((is(dir, "up") || is(dir, "job")) && is(kind, "backup")) {
			/* rolled back with the file's transaction: gone */
			bool committed = !dry && (is(status, "ok") || !in_txn);

			if (committed)
				rc = add_backup(c, row, it, schema, q, err);
		} else if (is(dir, "restore") && is(kind, "restore") &&
		           is(status, "ok") && (e = find(c, bt)) != NULL) {
			e->restored = true;
		} else if (is(dir, "prune") && is(status, "ok") &&
		           (e = find(c, bt)) != NULL) {
			e->state = MG_BK_PRUNED;
		}
	}
	mg_json_value_free(v);
	return rc;
}

/* Tables named like backups ("<ledger>_bk_") that no event recorded. */
static int orphans(struct mg_catalog *c, struct mg_conn *conn,
                   const char *ledger, const char *schema,
                   struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_buf sql = MG_BUF_INIT;
	struct mg_rows *r = NULL;
	const char *dot = strrchr(ledger, '.');
	char prefix[300];
	size_t i, n;
	int rc;

	(void)dot;
	mg_backup_prefix(prefix, sizeof(prefix), ledger);
	n = strlen(prefix);
	drv->schema_sql(&sql);
	if ((rc = mg_buf_check(&sql, err)) < 0 ||
	    (rc = drv->query(&r, conn, sql.ptr, NULL, 0, 0, err)) < 0)
		goto cleanup;
	for (i = 0; i < r->nrows; i++) {
		const char *kind = mg_rows_get(r, i, 0);
		const char *full = mg_rows_get(r, i, 1), *name = full;
		const char *dot2 = full ? strrchr(full, '.') : NULL;
		struct mg_catalog_entry *e;
		char *end;

		if (kind == NULL || full == NULL ||
		    (strcmp(kind, "table") != 0 &&
		     strcmp(kind, "relation") != 0))
			continue;
		if (dot2 != NULL) {
			/* PostgreSQL: schema.table, ours only */
			if (schema == NULL ||
			    strncmp(full, schema, (size_t)(dot2 - full)) != 0 ||
			    strlen(schema) != (size_t)(dot2 - full))
				continue;
			name = dot2 + 1;
		}
		if (strncmp(name, prefix, n) != 0)
			continue;
		if ((e = find(c, name)) != NULL && e->state != MG_BK_PRUNED)
			continue;
		if (e == NULL && (e = add(c)) == NULL) {
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
			goto cleanup;
		}
		entry_dispose(e);
		e->state = MG_BK_ORPHAN;
		e->rows = -1;
		e->version = -1;
		if (name[n] == 'v')
			e->version = strtoll(name + n + 1, &end, 10);
		/* a job's (mg_backup_job_name): j<event>_ */
		if (name[n] == 'j') {
			e->job = true;
			e->version = 0;
			e->event = strtoll(name + n + 1, &end, 10);
		}
		e->backup_table = strdup(name);
		e->backup_sql = mg_backup_quote(schema, name, drv->ident_quote);
		if (e->backup_table == NULL || e->backup_sql == NULL) {
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
cleanup:
	mg_rows_free(r);
	mg_buf_dispose(&sql);
	return rc;
}

int mg_catalog_load(struct mg_catalog *out, struct mg_conn *conn,
                    const char *ledger, struct mg_error *err)
{
	struct mg_catalog c = { 0 };
	struct mg_ledger *l = NULL;
	char schema_buf[256], now[32];
	const char *schema;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	schema = mg_backup_schema(schema_buf, sizeof(schema_buf), conn,
	                          ledger);
	if ((rc = mg_ledger_load(&l, conn, ledger, true, err)) < 0)
		return rc;
	for (i = 0; i < l->n && rc == 0; i++)
		rc = read_row(&c, &l->rows[i], schema, conn->drv->ident_quote,
		              err);
	if (rc == 0)
		rc = orphans(&c, conn, ledger, schema, err);
	mg_ledger_free(l);
	if (rc < 0) {
		mg_catalog_dispose(&c);
		return rc;
	}
	mg_ledger_now(now, NULL);
	for (i = 0; i < c.n; i++) {
		struct mg_catalog_entry *e = &c.v[i];

		if (e->state == MG_BK_PRUNED || e->state == MG_BK_ORPHAN)
			continue;
		e->expired = e->expires_at[0] && strcmp(e->expires_at, now) < 0;
		e->state = e->restored  ? MG_BK_RESTORED
		           : e->expired ? MG_BK_EXPIRED
		                        : MG_BK_KEPT;
		c.kept++;
		if (e->expired)
			c.expired++;
	}
	*out = c;
	return 0;
}
