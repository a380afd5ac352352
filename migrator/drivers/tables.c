#include "migrator/drivers/tables.h"

#include <stdlib.h>
#include <string.h>

#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"

/* One part of a written name: quoted ("", ``) or bare; *p moves past it. */
static int ident_part(char **out, const char **p, struct mg_error *err)
{
	struct mg_buf b = MG_BUF_INIT;
	const char *s = *p;

	if (*s == '"' || *s == '`') {
		char q = *s++;

		for (;;) {
			if (*s == '\0') {
				mg_buf_dispose(&b);
				return mg_error_set(err, MG_EINVALID,
				                    "unterminated quoted name");
			}
			if (*s == q && s[1] == q) {
				mg_buf_addc(&b, q);
				s += 2;
			} else if (*s == q) {
				s++;
				break;
			} else {
				mg_buf_addc(&b, *s++);
			}
		}
	} else {
		while (*s != '\0' && *s != '.')
			mg_buf_addc(&b, *s++);
	}
	*p = s;
	if (mg_buf_check(&b, err) < 0)
		return MG_ENOMEM;
	*out = mg_buf_detach(&b);
	if (*out == NULL && (*out = strdup("")) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	return 0;
}

int mg_ident_split(char **schema, char **name, const char *written,
                   struct mg_error *err)
{
	const char *p = written;
	char *first = NULL;
	int rc;

	*schema = *name = NULL;
	if ((rc = ident_part(&first, &p, err)) < 0)
		return rc;
	if (*p != '.') {
		*name = first;
		return 0;
	}
	p++;
	if ((rc = ident_part(name, &p, err)) < 0) {
		free(first);
		return rc;
	}
	*schema = first;
	return 0;
}

/*
 * Picks the key from rows of (index, column, nullable "1"/"0", primary
 * "1"/"0") ordered by index and position: the primary key, else the
 * unique index with the fewest columns, all of them NOT NULL.
 */
static int pick_key(struct mg_table_info *t, const struct mg_rows *r,
                    struct mg_error *err)
{
	size_t i, best = SIZE_MAX, best_n = 0;
	bool best_primary = false;
	int rc;

	for (i = 0; i < r->nrows;) {
		const char *idx = mg_rows_get(r, i, 0);
		size_t j = i, n = 0;
		bool ok = true, primary = false;

		while (j < r->nrows && strcmp(mg_rows_get(r, j, 0), idx) == 0) {
			const char *nullable = mg_rows_get(r, j, 2);
			const char *prim = mg_rows_get(r, j, 3);

			if (nullable != NULL && strcmp(nullable, "1") == 0)
				ok = false;
			if (prim != NULL && strcmp(prim, "1") == 0)
				primary = true;
			n++;
			j++;
		}
		if (ok && (best == SIZE_MAX || (primary && !best_primary) ||
		           (primary == best_primary && n < best_n))) {
			best = i;
			best_n = n;
			best_primary = primary;
		}
		i = j;
	}
	for (i = 0; best != SIZE_MAX && i < best_n; i++)
		if ((rc = mg_table_info_add(&t->key, &t->nkey,
		                            mg_rows_get(r, best + i, 1), err)) < 0)
			return rc;
	return 0;
}

static bool is_one(const struct mg_rows *r, size_t row, size_t col)
{
	const char *v = col < r->ncols ? mg_rows_get(r, row, col) : NULL;

	return v != NULL && strcmp(v, "1") == 0;
}

/* Rows of (name, generated "1"/"0", identity ALWAYS "1"/"0"); the last
 * two may be missing. */
static int add_cols(struct mg_table_info *t, const struct mg_rows *r,
                    struct mg_error *err)
{
	const char *name;
	size_t i;
	int rc;

	for (i = 0; i < r->nrows; i++) {
		name = mg_rows_get(r, i, 0);
		if ((rc = mg_table_info_add(&t->cols, &t->ncols, name, err)) <
		            0 ||
		    (is_one(r, i, 1) &&
		     (rc = mg_table_info_add(&t->generated, &t->ngenerated,
		                             name, err)) < 0) ||
		    (is_one(r, i, 2) &&
		     (rc = mg_table_info_add(&t->identity, &t->nidentity, name,
		                             err)) < 0))
			return rc;
	}
	return 0;
}

/* Runs the columns query, then the key query, with the same params. */
static int info(struct mg_table_info *out, struct mg_conn *conn,
                const char *table, const char *cols_sql, const char *key_sql,
                const char *fast_sql, const char *const *params,
                size_t nparams, struct mg_error *err)
{
	struct mg_table_info t = { 0 };
	struct mg_rows *r = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = conn->drv->query(&r, conn, cols_sql, params, nparams, 0,
	                           err)) < 0)
		goto cleanup;
	if (r->nrows == 0) {
		rc = mg_error_set(err, MG_ENOTFOUND, "no table %s", table);
		goto cleanup;
	}
	if ((rc = add_cols(&t, r, err)) < 0)
		goto cleanup;
	mg_rows_free(r);
	r = NULL;
	if ((rc = conn->drv->query(&r, conn, key_sql, params, nparams, 0,
	                           err)) < 0 ||
	    (rc = pick_key(&t, r, err)) < 0)
		goto cleanup;
	if (fast_sql != NULL) {
		mg_rows_free(r);
		r = NULL;
		if ((rc = conn->drv->query(&r, conn, fast_sql, params, nparams,
		                           0, err)) < 0)
			goto cleanup;
		t.fast_fp = r->nrows == 1 && mg_rows_get(r, 0, 0) != NULL &&
		            strcmp(mg_rows_get(r, 0, 0), "t") == 0;
	}
	*out = t;
	memset(&t, 0, sizeof(t));
cleanup:
	mg_rows_free(r);
	mg_table_info_dispose(&t);
	return rc;
}

int mg_pg_table_info(struct mg_table_info *out, struct mg_conn *conn,
                     const char *table, struct mg_error *err)
{
	const char *params[] = { table };
	int rc;

	/* to_regclass() resolves the name as SQL would (search_path,
	 * quotes, case) and gives NULL, not an error, when there is none */
	rc = info(out, conn, table,
	            "SELECT a.attname, CASE WHEN a.attgenerated <> '' THEN '1' "
	            "ELSE '0' END, CASE WHEN a.attidentity = 'a' THEN '1' ELSE "
	            "'0' END FROM pg_attribute a WHERE a.attrelid = "
	            "to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped "
	            "ORDER BY a.attnum",
	            "SELECT c.relname, a.attname, "
	            "CASE WHEN a.attnotnull THEN '0' ELSE '1' END, "
	            "CASE WHEN i.indisprimary THEN '1' ELSE '0' END "
	            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
	            "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH "
	            "ORDINALITY AS u(n, o) JOIN pg_attribute a ON a.attrelid = "
	            "i.indrelid AND a.attnum = u.n WHERE i.indrelid = "
	            "to_regclass(?) AND i.indisunique AND i.indpred IS NULL "
	            "AND i.indexprs IS NULL AND u.o <= i.indnkeyatts "
	            "ORDER BY c.relname, u.o",
	            /* fp2: the base types whose extended hash functions
	             * hash_record_extended() finds (no json, no domains) */
	            "SELECT bool_and(t.typtype = 'b' AND t.typname IN ('int2', "
	            "'int4', 'int8', 'text', 'varchar', 'bpchar', 'bool', "
	            "'date', 'timestamp', 'timestamptz', 'uuid', 'numeric', "
	            "'bytea', 'time', 'interval', 'float4', 'float8', 'jsonb', "
	            "'name', 'oid', 'char')) FROM pg_attribute a JOIN pg_type t "
	            "ON t.oid = a.atttypid WHERE a.attrelid = to_regclass(?) "
	            "AND a.attnum > 0 AND NOT a.attisdropped",
	            params, 1, err);
	/* an identity ALWAYS column takes a value only when told to */
	if (rc == 0 && out->nidentity > 0)
		out->insert_override = "OVERRIDING SYSTEM VALUE";
	return rc;
}

int mg_my_table_info(struct mg_table_info *out, struct mg_conn *conn,
                     const char *table, struct mg_error *err)
{
	/* no schema: the session's database */
	static const char where[] = "TABLE_SCHEMA = COALESCE(?, DATABASE()) "
	                            "AND TABLE_NAME = ?";
	struct mg_buf cols = MG_BUF_INIT, key = MG_BUF_INIT;
	struct mg_rows *r = NULL;
	char *schema = NULL, *name = NULL;
	const char *params[2];
	int rc;

	if ((rc = mg_ident_split(&schema, &name, table, err)) < 0)
		return rc;
	params[0] = schema;
	params[1] = name;
	/* EXTRA says "VIRTUAL GENERATED" or "STORED GENERATED" (MariaDB
	 * also "PERSISTENT GENERATED"); MySQL 8's "DEFAULT_GENERATED" is a
	 * default, which an INSERT may override */
	mg_buf_addf(&cols,
	            "SELECT COLUMN_NAME, IF(EXTRA LIKE '%%VIRTUAL%%' OR EXTRA "
	            "LIKE '%%STORED%%' OR EXTRA LIKE '%%PERSISTENT%%', '1', "
	            "'0'), '0' FROM information_schema.COLUMNS WHERE %s ORDER "
	            "BY ORDINAL_POSITION",
	            where);
	mg_buf_addf(&key,
	            "SELECT INDEX_NAME, COLUMN_NAME, IF(NULLABLE = 'YES', '1', "
	            "'0'), IF(INDEX_NAME = 'PRIMARY', '1', '0') FROM "
	            "information_schema.STATISTICS WHERE %s AND NON_UNIQUE = 0 "
	            "AND SUB_PART IS NULL AND COLUMN_NAME IS NOT NULL "
	            "ORDER BY INDEX_NAME, SEQ_IN_INDEX",
	            where);
	if ((rc = mg_buf_check(&cols, err)) < 0 ||
	    (rc = mg_buf_check(&key, err)) < 0)
		goto cleanup;
	if ((rc = info(out, conn, table, cols.ptr, key.ptr, NULL, params, 2,
	               err)) < 0)
		goto cleanup;
	/* fp2 needs CRC32C(): MariaDB 10.8 and later, not MySQL. Asked on
	 * its own, as it takes none of the table's parameters. */
	if ((rc = conn->drv->query(
	             &r, conn,
	             "SELECT IF(VERSION() LIKE '%MariaDB%' AND CAST("
	             "SUBSTRING_INDEX(VERSION(), '.', 1) AS UNSIGNED) * 1000 + "
	             "CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(VERSION(), '.', 2), "
	             "'.', -1) AS UNSIGNED) >= 10008, 't', 'f')",
	             NULL, 0, 0, err)) < 0) {
		mg_table_info_dispose(out);
		goto cleanup;
	}
	out->fast_fp = r->nrows == 1 && mg_rows_get(r, 0, 0) != NULL &&
	               strcmp(mg_rows_get(r, 0, 0), "t") == 0;
cleanup:
	mg_rows_free(r);
	mg_buf_dispose(&cols);
	mg_buf_dispose(&key);
	free(schema);
	free(name);
	return rc;
}

int mg_sq_table_info(struct mg_table_info *out, struct mg_conn *conn,
                     const char *table, struct mg_error *err)
{
	char *schema = NULL, *name = NULL;
	const char *params[2];
	int rc;

	if ((rc = mg_ident_split(&schema, &name, table, err)) < 0)
		return rc;
	params[0] = name;
	params[1] = schema ? schema : "main";
	/* the primary key first, as pseudo-index ' pk' (no index name
	 * starts with a space), then the unique indexes */
	rc = info(out, conn, table,
	          /* table_xinfo, not table_info, lists generated columns
	           * too (hidden 2: virtual, 3: stored), as SELECT * has
	           * them */
	          "SELECT name, CASE WHEN hidden IN (2, 3) THEN '1' ELSE '0' "
	          "END, '0' FROM pragma_table_xinfo(?, ?) WHERE hidden <> 1 "
	          "ORDER BY cid",
	          "SELECT ' pk', t.name, '0', '1', t.pk FROM "
	          "pragma_table_info(?1, ?2) t WHERE t.pk > 0 UNION ALL "
	          "SELECT l.name, t.name, CASE WHEN t.\"notnull\" THEN '0' "
	          "ELSE '1' END, '0', x.seqno + 1 FROM pragma_index_list(?1, "
	          "?2) l JOIN pragma_index_info(l.name, ?2) x JOIN "
	          "pragma_table_info(?1, ?2) t ON t.name = x.name WHERE "
	          "l.\"unique\" AND NOT l.partial AND l.origin <> 'pk' "
	          "ORDER BY 1, 5",
	          NULL, params, 2, err);
	out->fast_fp = true; /* mg_fingerprint2 takes every value */
	free(schema);
	free(name);
	return rc;
}

static void set_list(struct mg_buf *out, const char *prefix,
                     const char *const *set, size_t nset)
{
	size_t i;

	for (i = 0; i < nset; i++)
		mg_buf_addf(out, "%s%s%s = mg_s.%s", i ? ", " : "", prefix,
		            set[i], set[i]);
}

static void key_match(struct mg_buf *out, const char *const *key,
                      size_t nkey)
{
	size_t i;

	for (i = 0; i < nkey; i++)
		mg_buf_addf(out, "%smg_t.%s = mg_s.%s", i ? " AND " : "",
		            key[i], key[i]);
}

void mg_update_from_sql(struct mg_buf *out, const char *target,
                        const char *source, const char *const *set,
                        size_t nset, const char *const *key, size_t nkey)
{
	mg_buf_addf(out, "UPDATE %s AS mg_t SET ", target);
	set_list(out, "", set, nset);
	mg_buf_addf(out, " FROM %s AS mg_s WHERE ", source);
	key_match(out, key, nkey);
}

void mg_my_update_join_sql(struct mg_buf *out, const char *target,
                           const char *source, const char *const *set,
                           size_t nset, const char *const *key, size_t nkey)
{
	mg_buf_addf(out, "UPDATE %s AS mg_t JOIN %s AS mg_s ON ", target,
	            source);
	key_match(out, key, nkey);
	mg_buf_add(out, " SET ");
	set_list(out, "mg_t.", set, nset);
}

void mg_pg_fingerprint2_sql(struct mg_buf *out, const char *table,
                            const char *const *cols, size_t ncols)
{
	size_t i, k;

	/* hash_record_extended() hashes each column with its type's own
	 * hash (int4 and int8 agree on the same values, text and varchar
	 * too) and skips formatting rows as text: about half the cost */
	mg_buf_add(out, "SELECT count(*)");
	for (k = 0; k < 2; k++) {
		mg_buf_add(out, " || ':' || coalesce(sum(hash_record_extended("
		                "ROW(");
		for (i = 0; i < ncols; i++)
			mg_buf_addf(out, "%s%s", i ? ", " : "", cols[i]);
		mg_buf_addf(out, "), %zu)), 0)", k);
	}
	mg_buf_addf(out, " FROM %s", table);
}

void mg_pg_row_bytes_sql(struct mg_buf *out, const char *alias,
                         const char *const *cols, size_t ncols)
{
	(void)cols;
	(void)ncols;
	/* the row as the heap stores it: its values (compressed where
	 * TOASTed) plus the tuple's header */
	mg_buf_addf(out, "pg_column_size(%s.*)", alias);
}

void mg_my_row_bytes_sql(struct mg_buf *out, const char *alias,
                         const char *const *cols, size_t ncols)
{
	size_t i;

	/* LENGTH() counts bytes: exact for strings and blobs; a number or a
	 * date counts as its text */
	for (i = 0; i < ncols; i++)
		mg_buf_addf(out, "%sCOALESCE(LENGTH(%s.%s), 0)", i ? " + " : "",
		            alias, cols[i]);
	if (ncols == 0)
		mg_buf_add(out, "0");
}

void mg_sq_row_bytes_sql(struct mg_buf *out, const char *alias,
                         const char *const *cols, size_t ncols)
{
	size_t i;

	/* each value by its storage class: text and blobs their bytes,
	 * numbers 8 (SQLite stores small integers in fewer) */
	for (i = 0; i < ncols; i++)
		mg_buf_addf(out,
		            "%sCASE typeof(%s.%s) WHEN 'null' THEN 0 WHEN "
		            "'integer' THEN 8 WHEN 'real' THEN 8 ELSE "
		            "length(CAST(%s.%s AS BLOB)) END",
		            i ? " + " : "", alias, cols[i], alias, cols[i]);
	if (ncols == 0)
		mg_buf_add(out, "0");
}

void mg_my_fingerprint2_sql(struct mg_buf *out, const char *table,
                            const char *const *cols, size_t ncols)
{
	size_t i, k;

	/* each row as fp1 writes it (QUOTE() tells NULL from 'NULL' and
	 * keeps separators apart; an int and a bigint read alike), hashed
	 * with CRC-32 and CRC-32C, two independent 32-bit checks, summed
	 * exactly: about a third of MD5's cost, which dominated fp1 */
	mg_buf_add(out, "SELECT CONCAT(COUNT(*)");
	for (k = 0; k < 2; k++) {
		mg_buf_addf(out, ", ':', COALESCE(SUM(%s(CONCAT_WS(',', ",
		            k == 0 ? "CRC32" : "CRC32C");
		for (i = 0; i < ncols; i++)
			mg_buf_addf(out, "%sQUOTE(%s)", i ? ", " : "",
			            cols[i]);
		mg_buf_add(out, "))), 0)");
	}
	mg_buf_addf(out, ") FROM %s", table);
}
