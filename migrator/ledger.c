#include "migrator/ledger.h"

#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"

const char mg_ledger_genesis[MG_HASH_HEX_LEN] =
        "0000000000000000000000000000000000000000000000000000000000000000";

static const char *const field_names[MG_LF_COUNT] = {
	"id",          "version",      "name",          "direction",
	"status",      "up_checksum",  "down_checksum", "started_at",
	"finished_at", "duration_ms",  "db_user",       "os_user",
	"host",        "tool_version", "checks",        "error",
	"reason",      "prev_hash",    "entry_hash",    "signature",
};

const char *mg_ledger_field_name(enum mg_lf f)
{
	return field_names[f];
}

const char *mg_outcome_name(enum mg_outcome o)
{
	static const char *const names[] = {
		[MG_OUTCOME_OK] = "ok",
		[MG_OUTCOME_FAILED] = "failed",
		[MG_OUTCOME_DIRTY] = "dirty",
		[MG_OUTCOME_ROLLED_BACK] = "rolled_back",
		[MG_OUTCOME_PLANNED] = "planned",
		[MG_OUTCOME_SKIPPED] = "skipped",
	};

	return names[o];
}

const char *mg_direction_name(enum mg_direction d)
{
	static const char *const names[] = {
		[MG_DIR_UP] = "up",
		[MG_DIR_DOWN] = "down",
		[MG_DIR_BASELINE] = "baseline",
		[MG_DIR_REPAIR] = "repair",
		[MG_DIR_ROUNDTRIP] = "roundtrip",
		[MG_DIR_JOB] = "job",
		[MG_DIR_RESTORE] = "restore",
		[MG_DIR_PRUNE] = "prune",
	};

	return names[d];
}

bool mg_direction_sets_state(const char *direction)
{
	static const char *const sets[] = { "up", "down", "baseline",
		                            "repair" };
	size_t i;

	for (i = 0; direction != NULL && i < sizeof(sets) / sizeof(sets[0]);
	     i++)
		if (strcmp(direction, sets[i]) == 0)
			return true;
	return false;
}

/* mg_direction_sets_state() in SQL */
#define STATE_DIRECTIONS "direction IN ('up', 'down', 'baseline', 'repair')"

static bool is_ts(int f)
{
	return f == MG_LF_STARTED_AT || f == MG_LF_FINISHED_AT;
}

static void add_quoted(struct mg_buf *b, const char *s, size_t n, char q)
{
	size_t i;

	mg_buf_addc(b, q);
	for (i = 0; i < n; i++) {
		if (s[i] == q)
			mg_buf_addc(b, q);
		mg_buf_addc(b, s[i]);
	}
	mg_buf_addc(b, q);
}

/* "schema.table" names a table in a schema (PostgreSQL) or database; a
 * bare name is qualified with the session's own, where there is one. */
static void add_table(struct mg_buf *b, const char *name, const char *schema,
                      char q)
{
	const char *dot = strchr(name, '.');

	if (dot != NULL) {
		add_quoted(b, name, (size_t)(dot - name), q);
		mg_buf_addc(b, '.');
		name = dot + 1;
	} else if (schema != NULL) {
		add_quoted(b, schema, strlen(schema), q);
		mg_buf_addc(b, '.');
	}
	add_quoted(b, name, strlen(name), q);
}

static void add_columns(struct mg_buf *b, const struct mg_driver *drv)
{
	int f;

	for (f = 0; f < MG_LF_COUNT; f++) {
		if (f > 0)
			mg_buf_add(b, ", ");
		if (is_ts(f)) {
			/* ts_text wraps the column name where it says %s */
			const char *at = strstr(drv->ts_text, "%s");

			mg_buf_addn(b, drv->ts_text,
			            (size_t)(at - drv->ts_text));
			mg_buf_add(b, field_names[f]);
			mg_buf_add(b, at + 2);
		} else {
			mg_buf_add(b, field_names[f]);
		}
	}
}

static int parse_i64(int64_t *out, const char *s)
{
	char *e;

	if (s == NULL)
		return -1;
	*out = strtoll(s, &e, 10);
	return *e == '\0' && e != s ? 0 : -1;
}

static int read_rows(struct mg_ledger *l, const struct mg_rows *r,
                     struct mg_error *err)
{
	size_t i;
	int f;

	struct mg_ledger_row *rows;

	/* appends: mg_ledger_refresh() adds to what was read before */
	rows = realloc(l->rows, (l->n + r->nrows + 1) * sizeof(*rows));
	if (rows == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	l->rows = rows;
	memset(&rows[l->n], 0, (r->nrows + 1) * sizeof(*rows));
	for (i = 0; i < r->nrows; i++) {
		struct mg_ledger_row *row = &l->rows[l->n++];

		for (f = 0; f < MG_LF_COUNT; f++)
			if (mg_ledger_row_set(row, f, mg_rows_get(r, i, f)) < 0)
				return mg_error_set(err, MG_ENOMEM,
				                    "out of memory");
		/* migrate writes numbers there: anything else is tampering */
		if (parse_i64(&row->id, row->f[MG_LF_ID]) < 0 ||
		    parse_i64(&row->version, row->f[MG_LF_VERSION]) < 0)
			return mg_error_set(err, MG_ECHECKSUM,
			                    "ledger row %zu has a bad id or "
			                    "version: the ledger was tampered "
			                    "with",
			                    i + 1);
	}
	if (r->nrows > 0) {
		const struct mg_ledger_row *tail = &l->rows[l->n - 1];

		l->last_id = tail->id;
		snprintf(l->last_hash, sizeof(l->last_hash), "%s",
		         tail->f[MG_LF_ENTRY_HASH] ? tail->f[MG_LF_ENTRY_HASH]
		                                   : "");
	}
	return 0;
}

/*
 * The ledger's name goes into SQL as a quoted identifier and into the run
 * lock's name (and another tool's history table into SQL): accept what
 * needs no escaping anywhere (letters, digits,
 * '_', '$', '-', non-ASCII), with at most one '.' between two parts.
 */
int mg_ledger_check_name(const char *name, struct mg_error *err)
{
	const char *p, *dot = strchr(name, '.');

	for (p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c >= 0x80 || isalnum(c) || c == '_' || c == '$' ||
		    c == '-' || (c == '.' && p == dot))
			continue;
		mg_error_set(err, MG_EINVALID,
		             "the table name has a character it may not have "
		             "(byte %u at position %zu)",
		             (unsigned)c, (size_t)(p - name) + 1);
		mg_error_hint(err, "use letters, digits, '_', '$' or '-', and "
		                   "one '.' between a schema and a table");
		return MG_EINVALID;
	}
	if (*name == '\0' || name == dot || (dot != NULL && dot[1] == '\0'))
		return mg_error_set(err, MG_EINVALID,
		                    "a table name needs a table, and a schema "
		                    "before any '.'");
	return 0;
}

int mg_ledger_load(struct mg_ledger **out, struct mg_conn *conn,
                   const char *table, bool full, struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_buf tq = MG_BUF_INIT, sql = MG_BUF_INIT;
	struct mg_ledger *l = NULL;
	struct mg_rows *r = NULL;
	const char *t;
	int rc;

	*out = NULL;
	if ((rc = mg_ledger_check_name(table, err)) < 0)
		return rc;
	add_table(&tq, table, drv->schema(conn), drv->ident_quote);
	t = mg_buf_cstr(&tq);
	mg_buf_add(&sql, "SELECT ");
	add_columns(&sql, drv);
	mg_buf_addf(&sql, " FROM %s", t);
	/* a version's latest event says failed/dirty, its latest 'ok' one
	 * whether it is applied, counting only the directions that change
	 * a version's state (restore and prune events do not); the row with
	 * the highest id is read too: refresh goes on from it */
	if (!full)
		mg_buf_addf(&sql,
		            " WHERE id IN (SELECT max(id) FROM %s WHERE %s "
		            "GROUP BY version) OR id IN (SELECT max(id) FROM "
		            "%s WHERE status = 'ok' AND %s GROUP BY version) "
		            "OR id = (SELECT max(id) FROM %s)",
		            t, MG_LEDGER_STATE_DIRECTIONS, t,
		            MG_LEDGER_STATE_DIRECTIONS, t);
	mg_buf_add(&sql, " ORDER BY id");
	if ((rc = mg_buf_check(&tq, err)) < 0 ||
	    (rc = mg_buf_check(&sql, err)) < 0)
		goto cleanup;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	l->table = mg_buf_detach(&tq);
	if (l->table == NULL || (l->name = strdup(table)) == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	memcpy(l->last_hash, mg_ledger_genesis, sizeof(l->last_hash));
	rc = drv->query(&r, conn, mg_buf_cstr(&sql), NULL, 0, 0, err);
	if (rc == MG_ENOTFOUND) {
		rc = 0; /* first use: created by mg_ledger_ensure() */
	} else if (rc < 0) {
		goto cleanup;
	} else {
		l->exists = true;
		if (r->ncols != MG_LF_COUNT) {
			rc = mg_error_set(err, MG_ERR,
			                  "ledger query returned "
			                  "%zu columns",
			                  r->ncols);
			goto cleanup;
		}
		if ((rc = read_rows(l, r, err)) < 0)
			goto cleanup;
	}
	mg_ledger_txn_end(l, true); /* what was read is committed */
	*out = l;
	l = NULL;
cleanup:
	mg_rows_free(r);
	mg_buf_dispose(&tq);
	mg_buf_dispose(&sql);
	mg_ledger_free(l);
	return rc;
}

int mg_ledger_refresh(struct mg_ledger *l, struct mg_conn *conn,
                      struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_buf sql = MG_BUF_INIT;
	struct mg_rows *r = NULL;
	int64_t seen = l->n > 0 ? l->rows[l->n - 1].id : 0;
	int rc;

	/* rows are kept in id order, and the last one read is the highest
	 * id the table had then (a load keeps it, see mg_ledger_load): what
	 * is new has a higher id, whoever wrote it, us included */
	mg_buf_add(&sql, "SELECT ");
	add_columns(&sql, drv);
	mg_buf_addf(&sql, " FROM %s WHERE id > %" PRId64 " ORDER BY id",
	            l->table, seen);
	if ((rc = mg_buf_check(&sql, err)) < 0)
		goto cleanup;
	rc = drv->query(&r, conn, mg_buf_cstr(&sql), NULL, 0, 0, err);
	if (rc == MG_ENOTFOUND && !l->exists) {
		rc = 0; /* still not created */
		goto cleanup;
	}
	if (rc < 0)
		goto cleanup;
	l->exists = true;
	if (r->ncols != MG_LF_COUNT) {
		rc = mg_error_set(err, MG_ERR,
		                  "ledger query returned %zu columns",
		                  r->ncols);
		goto cleanup;
	}
	if ((rc = read_rows(l, r, err)) == 0)
		mg_ledger_txn_end(l, true); /* what was read is committed */
cleanup:
	mg_rows_free(r);
	mg_buf_dispose(&sql);
	return rc;
}

int mg_ledger_ensure(struct mg_ledger *l, struct mg_conn *conn,
                     struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_buf sql = MG_BUF_INIT, idx = MG_BUF_INIT, iname = MG_BUF_INIT;
	bool inline_idx = !(drv->caps & MG_CAP_INDEX_IF_NOT_EXISTS);
	const char *base;
	int rc;

	if (l->exists)
		return 0;
	/* the index takes the table's bare name: it lives in its schema */
	base = strrchr(l->name, '.');
	base = base ? base + 1 : l->name;
	/* MySQL stops identifiers at 64 characters */
	if (strlen(base) <= 48) {
		mg_buf_add(&iname, base);
	} else {
		char h[MG_HASH_HEX_LEN];

		mg_hash_hex(h, base, strlen(base));
		mg_buf_addf(&iname, "migrate_%.16s", h);
	}
	mg_buf_add(&iname, "_version_idx");
	/* Everything is TEXT but the numbers and the two timestamps, so
	 * that each value reads back byte for byte as it was hashed. */
	mg_buf_addf(&sql,
	            "CREATE TABLE IF NOT EXISTS %s (id BIGINT PRIMARY "
	            "KEY, version BIGINT NOT NULL, name TEXT NOT NULL, "
	            "direction TEXT NOT NULL, status TEXT NOT NULL, "
	            "up_checksum TEXT, down_checksum TEXT, "
	            "started_at %s NOT NULL, finished_at %s NOT NULL, "
	            "duration_ms BIGINT NOT NULL, db_user TEXT, "
	            "os_user TEXT, host TEXT, tool_version TEXT NOT "
	            "NULL, checks TEXT, error TEXT, reason TEXT, "
	            "prev_hash TEXT NOT NULL, entry_hash TEXT NOT "
	            "NULL, signature TEXT",
	            l->table, drv->ts_type, drv->ts_type);
	/*
	 * Racing first runs must never fail (issue 12: on a Galera cluster,
	 * or wherever two runners get past the lock): where the database
	 * has no CREATE INDEX IF NOT EXISTS (MySQL), the index is part of
	 * the CREATE TABLE IF NOT EXISTS, so that the one statement either
	 * makes both or finds both.
	 */
	if (inline_idx) {
		mg_buf_add(&sql, ", INDEX ");
		add_quoted(&sql, mg_buf_cstr(&iname), iname.len,
		           drv->ident_quote);
		mg_buf_add(&sql, " (version, id)");
	}
	mg_buf_addf(&sql, ")%s", drv->table_options);
	mg_buf_add(&idx, "CREATE INDEX IF NOT EXISTS ");
	add_quoted(&idx, mg_buf_cstr(&iname), iname.len, drv->ident_quote);
	mg_buf_addf(&idx, " ON %s (version, id)", l->table);
	if ((rc = mg_buf_check(&iname, err)) < 0)
		goto cleanup;
	if ((rc = mg_buf_check(&sql, err)) < 0 ||
	    (rc = mg_buf_check(&idx, err)) < 0)
		goto cleanup;
	/* First runs racing each other hold locks of their own (a job's
	 * beside up's run lock), and PostgreSQL's CREATE TABLE IF NOT
	 * EXISTS fails against a concurrent one ("duplicate key value
	 * violates unique constraint pg_type_typname_nsp_index", seed
	 * 20262204 of the fault campaign): the creators take the ledger's
	 * append lock first (the caller's transaction ends it), so that
	 * the second waits for the first's COMMIT and finds the table. */
	if (drv->ledger_lock != NULL &&
	    (rc = drv->ledger_lock(conn, l->table, err)) < 0)
		goto cleanup;
	if ((rc = drv->query(NULL, conn, sql.ptr, NULL, 0, 0, err)) < 0 ||
	    (!inline_idx &&
	     (rc = drv->query(NULL, conn, idx.ptr, NULL, 0, 0, err)) < 0))
		goto cleanup;
	l->exists = true;
cleanup:
	mg_buf_dispose(&sql);
	mg_buf_dispose(&idx);
	mg_buf_dispose(&iname);
	return rc;
}

void mg_ledger_free(struct mg_ledger *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		mg_ledger_row_dispose(&l->rows[i]);
	free(l->rows);
	free(l->table);
	free(l->name);
	free(l);
}

/*
 * The canonical form: prev_hash, then id .. reason in table order, each
 * as "<byte length>:<bytes>\n", or "-\n" for NULL. Length prefixes make it
 * unambiguous whatever the values hold.
 */
void mg_ledger_entry_hash(char out[MG_HASH_HEX_LEN],
                          const struct mg_ledger_row *row)
{
	crypto_generichash_state st;
	unsigned char h[crypto_generichash_BYTES];
	char len[32];
	int order[MG_LF_COUNT], n = 0, f, i;

	order[n++] = MG_LF_PREV_HASH;
	for (f = MG_LF_ID; f <= MG_LF_REASON; f++)
		order[n++] = f;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	for (i = 0; i < n; i++) {
		const char *v = row->f[order[i]];

		if (v == NULL) {
			crypto_generichash_update(
			        &st, (const unsigned char *)"-\n", 2);
			continue;
		}
		snprintf(len, sizeof(len), "%zu:", strlen(v));
		crypto_generichash_update(&st, (const unsigned char *)len,
		                          strlen(len));
		crypto_generichash_update(&st, (const unsigned char *)v,
		                          strlen(v));
		crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
	}
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, MG_HASH_HEX_LEN, h, sizeof(h));
}

/* Waits for every other appender's transaction and reads what they
 * appended (mg_ledger_append). */
static int lock_tail(struct mg_ledger *l, struct mg_conn *conn,
                     struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	int rc;

	if (drv->ledger_lock != NULL &&
	    (rc = drv->ledger_lock(conn, l->table, err)) < 0)
		return rc;
	return mg_ledger_refresh(l, conn, err);
}

int mg_ledger_reserve(struct mg_ledger *l, struct mg_conn *conn, int64_t *id,
                      struct mg_error *err)
{
	int rc;

	/* as mg_ledger_append() does: its own append then finds the lock
	 * held and the same tail */
	if (l->last_id == l->committed_id && (rc = lock_tail(l, conn, err)) < 0)
		return rc;
	*id = l->last_id + 1;
	return 0;
}

int mg_ledger_append(struct mg_ledger *l, struct mg_conn *conn,
                     struct mg_ledger_row *row, const unsigned char *sign_key,
                     unsigned flags, struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_buf sql = MG_BUF_INIT;
	const char *params[MG_LF_COUNT];
	char num[32], hash[MG_HASH_HEX_LEN];
	int rc, f;

	/* jobs (issue 11) append without the run lock: whoever appends
	 * first in a transaction waits for the others' and reads the
	 * tail again, so that the chain never forks. Later appends of
	 * the same transaction hold that lock already. */
	if (l->last_id == l->committed_id && (rc = lock_tail(l, conn, err)) < 0)
		return rc;
	row->id = l->last_id + 1;
	snprintf(num, sizeof(num), "%" PRId64, row->id);
	mg_ledger_row_set(row, MG_LF_ID, num);
	mg_ledger_row_set(row, MG_LF_PREV_HASH, l->last_hash);
	if ((rc = mg_ledger_row_check(row, err)) < 0)
		return rc;
	mg_ledger_entry_hash(hash, row);
	if ((rc = mg_ledger_row_set(row, MG_LF_ENTRY_HASH, hash)) < 0)
		return mg_error_set(err, rc, "out of memory");
	if (sign_key != NULL) {
		unsigned char sig[crypto_sign_BYTES];
		char hex[crypto_sign_BYTES * 2 + 1];

		/* over the hex text of entry_hash, as the table shows it */
		crypto_sign_detached(sig, NULL, (const unsigned char *)hash,
		                     strlen(hash), sign_key);
		sodium_bin2hex(hex, sizeof(hex), sig, sizeof(sig));
		if ((rc = mg_ledger_row_set(row, MG_LF_SIGNATURE, hex)) < 0)
			return mg_error_set(err, rc, "out of memory");
	}
	mg_buf_addf(&sql, "INSERT INTO %s (", l->table);
	for (f = 0; f < MG_LF_COUNT; f++)
		mg_buf_addf(&sql, "%s%s", f ? ", " : "", field_names[f]);
	mg_buf_add(&sql, ") VALUES (");
	for (f = 0; f < MG_LF_COUNT; f++) {
		mg_buf_add(&sql, f ? ", " : "");
		mg_buf_add(&sql, is_ts(f) ? drv->ts_param : "?");
		params[f] = row->f[f];
	}
	mg_buf_add(&sql, ")");
	if ((rc = mg_buf_check(&sql, err)) < 0)
		goto cleanup;
	if ((rc = drv->query(NULL, conn, sql.ptr, params, MG_LF_COUNT, flags,
	                     err)) < 0)
		goto cleanup;
	l->last_id = row->id;
	memcpy(l->last_hash, hash, sizeof(hash));
	if (flags & MG_Q_COMMIT)
		mg_ledger_txn_end(l, true);
cleanup:
	mg_buf_dispose(&sql);
	return rc;
}

void mg_ledger_txn_end(struct mg_ledger *l, bool committed)
{
	if (committed) {
		l->committed_id = l->last_id;
		memcpy(l->committed_hash, l->last_hash, sizeof(l->last_hash));
	} else {
		l->last_id = l->committed_id;
		memcpy(l->last_hash, l->committed_hash, sizeof(l->last_hash));
	}
}

int mg_ledger_row_set(struct mg_ledger_row *row, enum mg_lf field,
                      const char *value)
{
	char *copy = NULL;

	if (value != NULL && (copy = strdup(value)) == NULL) {
		row->failed = true;
		return MG_ENOMEM;
	}
	free(row->f[field]);
	row->f[field] = copy;
	return 0;
}

int mg_ledger_row_check(const struct mg_ledger_row *row, struct mg_error *err)
{
	if (row->failed)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	return 0;
}

void mg_ledger_row_dispose(struct mg_ledger_row *row)
{
	int f;

	for (f = 0; f < MG_LF_COUNT; f++)
		free(row->f[f]);
	memset(row, 0, sizeof(*row));
}

void mg_ledger_now(char out[32], int64_t *ms)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%06dZ", (int)(ts.tv_nsec / 1000) % 1000000);
	if (ms != NULL)
		*ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One problem: the message formatted here, lent to the callback. */
struct verifier {
	void (*fn)(void *ctx, enum mg_ledger_problem kind, int64_t id,
	           int64_t version, const char *msg);
	void *ctx;
	size_t n;
};

static void problem(struct verifier *v, enum mg_ledger_problem kind,
                    const struct mg_ledger_row *row, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "ledger row %lld: %s", (long long)row->id,
	         what);
	v->n++;
	v->fn(v->ctx, kind, row->id, row->version, msg);
}

/* A version as migrate writes it: digits only ("+3", " 3" or "3x" are not)
 * and within int64_t. */
static bool is_version(const char *s)
{
	static const char max[] = "9223372036854775807";
	size_t n;

	if (s == NULL || (n = strspn(s, "0123456789")) == 0 || s[n] != '\0')
		return false;
	return n < sizeof(max) - 1 ||
	       (n == sizeof(max) - 1 && strcmp(s, max) <= 0);
}

static bool signed_by(const char *sig, const char *eh, const unsigned char *pk)
{
	unsigned char s[crypto_sign_BYTES];
	size_t got = 0;

	return sig != NULL &&
	       sodium_hex2bin(s, sizeof(s), sig, strlen(sig), NULL, &got,
	                      NULL) == 0 &&
	       got == sizeof(s) &&
	       crypto_sign_verify_detached(
	               s, (const unsigned char *)(eh ? eh : ""),
	               eh ? strlen(eh) : 0, pk) == 0;
}

size_t mg_ledger_verify(
        const struct mg_ledger *l, const unsigned char *public_key,
        void (*on_problem)(void *ctx, enum mg_ledger_problem kind, int64_t id,
                           int64_t version, const char *msg),
        void *ctx)
{
	struct verifier v = { on_problem, ctx, 0 };
	const char *prev = mg_ledger_genesis;
	char hash[MG_HASH_HEX_LEN];
	int64_t expect_id = 1;
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct mg_ledger_row *row = &l->rows[i];
		const char *eh = row->f[MG_LF_ENTRY_HASH];
		const char *sig = row->f[MG_LF_SIGNATURE];

		if (row->id != expect_id) {
			char what[96];

			snprintf(what, sizeof(what),
			         "expected id %lld: rows were deleted or "
			         "inserted",
			         (long long)expect_id);
			problem(&v, MG_LP_ID, row, what);
		}
		expect_id = row->id + 1;
		if (!is_version(row->f[MG_LF_VERSION]))
			problem(&v, MG_LP_VERSION, row,
			        "version is not a number: the row was "
			        "changed");
		if (row->f[MG_LF_PREV_HASH] == NULL ||
		    strcmp(row->f[MG_LF_PREV_HASH], prev) != 0)
			problem(&v, MG_LP_PREV_HASH, row,
			        "prev_hash does not match the entry_hash of "
			        "the row before it");
		mg_ledger_entry_hash(hash, row);
		if (eh == NULL || strcmp(eh, hash) != 0)
			problem(&v, MG_LP_ENTRY_HASH, row,
			        "entry_hash does not match its contents: the "
			        "row was changed");
		if (public_key != NULL && !signed_by(sig, eh, public_key))
			problem(&v,
			        sig ? MG_LP_BAD_SIGNATURE : MG_LP_NOT_SIGNED,
			        row, sig ? "bad signature" : "not signed");
		prev = eh ? eh : "";
	}
	return v.n;
}

int mg_ledger_job_rows(struct mg_ledger_row **out, size_t *n,
                       struct mg_conn *conn, const char *table,
                       const char *name, size_t max, struct mg_error *err)
{
	const struct mg_driver *drv = conn->drv;
	struct mg_ledger l = { 0 };
	struct mg_buf tq = MG_BUF_INIT, sql = MG_BUF_INIT;
	struct mg_rows *r = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = mg_ledger_check_name(table, err)) < 0)
		return rc;
	add_table(&tq, table, drv->schema(conn), drv->ident_quote);
	mg_buf_add(&sql, "SELECT ");
	add_columns(&sql, drv);
	/* version 0 first: the (version, id) index finds them */
	mg_buf_addf(&sql,
	            " FROM %s WHERE version = 0 AND direction = 'job' AND "
	            "name = ? ORDER BY id DESC LIMIT %zu",
	            mg_buf_cstr(&tq), max);
	if ((rc = mg_buf_check(&tq, err)) < 0 ||
	    (rc = mg_buf_check(&sql, err)) < 0)
		goto cleanup;
	rc = drv->query(&r, conn, sql.ptr, &name, 1, 0, err);
	if (rc == MG_ENOTFOUND) {
		rc = 0; /* no ledger yet: no job ever ran */
		goto cleanup;
	}
	if (rc < 0)
		goto cleanup;
	if (r->ncols != MG_LF_COUNT) {
		rc = mg_error_set(err, MG_ERR,
		                  "ledger query returned %zu columns",
		                  r->ncols);
		goto cleanup;
	}
	if ((rc = read_rows(&l, r, err)) < 0)
		goto cleanup;
	*out = l.rows;
	*n = l.n;
	l.rows = NULL;
	l.n = 0;
cleanup:
	while (l.n > 0)
		mg_ledger_row_dispose(&l.rows[--l.n]);
	free(l.rows);
	mg_rows_free(r);
	mg_buf_dispose(&tq);
	mg_buf_dispose(&sql);
	return rc;
}

bool mg_ledger_row_changes_state(const struct mg_ledger_row *row)
{
	static const char *const dirs[] = { "up", "down", "baseline",
		                            "repair" };
	const char *d = row->f[MG_LF_DIRECTION];
	size_t i;

	for (i = 0; d != NULL && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (strcmp(d, dirs[i]) == 0)
			return true;
	return false;
}
