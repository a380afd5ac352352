#include "migrator/adopt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/ledger.h"

enum kind { GOLANG_MIGRATE, DBMATE, FLYWAY };

static const struct mg_adopt_tool tools[] = {
	[GOLANG_MIGRATE] = { "golang-migrate", "schema_migrations" },
	[DBMATE] = { "dbmate", "schema_migrations" },
	[FLYWAY] = { "flyway", "flyway_schema_history" },
};

const struct mg_adopt_tool *mg_adopt_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	return NULL;
}

const char *mg_adopt_names(void)
{
	return "golang-migrate, dbmate, flyway";
}

/* A version as the tools write it: decimal digits only, as ours are. */
static int parse_version(int64_t *out, const char *v)
{
	char *end;

	if (v == NULL || *v < '0' || *v > '9' || strlen(v) > 18)
		return -1;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

static bool is_true(const char *v)
{
	return v != NULL && (strcasecmp(v, "t") == 0 ||
	                     strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* "schema"."table", each part quoted as the driver quotes. */
static void add_table(struct mg_buf *b, const char *name, char q)
{
	const char *p;

	mg_buf_addc(b, q);
	for (p = name; *p; p++) {
		if (*p == '.') {
			mg_buf_addc(b, q);
			mg_buf_addc(b, '.');
			mg_buf_addc(b, q);
			continue;
		}
		mg_buf_addc(b, *p);
	}
	mg_buf_addc(b, q);
}

/* The largest version of the rows; MG_ERR for a state to fix first. */
static int last_version(int64_t *out, const struct mg_rows *r,
                        enum kind kind, const char *table,
                        struct mg_error *err)
{
	size_t i;
	int64_t v;

	*out = -1;
	if (kind == GOLANG_MIGRATE && r->nrows > 1)
		return mg_error_set(err, MG_ERR,
		                    "%s holds %zu rows: golang-migrate keeps "
		                    "one",
		                    table, r->nrows);
	for (i = 0; i < r->nrows; i++) {
		const char *ver = mg_rows_get(r, i, 0);

		if (kind == FLYWAY && ver == NULL)
			continue; /* a repeatable migration: no version */
		if (parse_version(&v, ver) < 0)
			return mg_error_set(err, MG_ERR,
			                    "%s records version '%s', which "
			                    "is not a whole number as migrate's "
			                    "versions are",
			                    table, ver ? ver : "NULL");
		if (kind == GOLANG_MIGRATE && is_true(mg_rows_get(r, i, 1)))
			return mg_error_set(err, MG_ERR,
			                    "golang-migrate left version %" PRId64
			                    " dirty: fix it with golang-migrate "
			                    "('migrate force') first",
			                    v);
		if (kind == FLYWAY && !is_true(mg_rows_get(r, i, 1)))
			return mg_error_set(err, MG_ERR,
			                    "flyway recorded version %" PRId64
			                    " as failed: repair it with flyway "
			                    "first",
			                    v);
		if (v > *out)
			*out = v;
	}
	if (*out < 0)
		return mg_error_set(err, MG_ENOTFOUND, "%s records no version",
		                    table);
	return 0;
}

int mg_adopt_read(int64_t *version, char *what, size_t what_size,
                  struct mg_conn *conn, const struct mg_adopt_tool *tool,
                  const char *table, struct mg_error *err)
{
	enum kind kind = (enum kind)(tool - tools);
	struct mg_buf sql = MG_BUF_INIT;
	struct mg_rows *r = NULL;
	int rc;

	if (table == NULL)
		table = tool->table;
	if ((rc = mg_ledger_check_name(table, err)) < 0)
		return rc;
	mg_buf_add(&sql, kind == DBMATE ? "SELECT version FROM "
	                 : kind == FLYWAY ? "SELECT version, success FROM "
	                                  : "SELECT version, dirty FROM ");
	add_table(&sql, table, conn->drv->ident_quote);
	if ((rc = mg_buf_check(&sql, err)) < 0)
		goto cleanup;
	rc = conn->drv->query(&r, conn, sql.ptr, NULL, 0, 0, err);
	if (rc == MG_ENOTFOUND) {
		mg_error_set(err, MG_ENOTFOUND,
		             "no %s history table '%s' in this database",
		             tool->name, table);
		mg_error_hint(err, "name it with --table NAME");
		goto cleanup;
	}
	if (rc < 0 || (rc = last_version(version, r, kind, table, err)) < 0)
		goto cleanup;
	if (what != NULL)
		snprintf(what, what_size, "%s %s: version %" PRId64, tool->name,
		         table, *version);
cleanup:
	mg_rows_free(r);
	mg_buf_dispose(&sql);
	return rc;
}
