/*
 * SQLite: the embedded default. DDL is transactional. The runner's lock is
 * a POSIX lock on a file beside the database (DB-migrate.lock), held for
 * the whole run, plus the write lock of a BEGIN IMMEDIATE transaction,
 * both waited for up to --lock-timeout. The file lock is what keeps a
 * second migrate out while a no-transaction file runs statement by
 * statement (each committing, so the write lock comes and goes). Each
 * file still commits on its own, and after every COMMIT or ROLLBACK the
 * driver takes the write lock again at once; a writer that is not migrate
 * could get in then, so the driver does not claim MG_CAP_RUN_LOCK, and
 * the runner reads the ledger's new rows in each transaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "migrator/bounds.h"
#include "migrator/buf.h"

#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/drivers/tables.h"
#include "migrator/drivers/split.h"
#include "migrator/drivers/url.h"

struct sq_conn {
	struct mg_conn base; /* first: the core sees only this */
	sqlite3 *db;
	bool locked;    /* between lock() and unlock(): hold a write lock */
	int lock_fd;    /* the run's lock file, locked; -1: none */
	int job_fd;     /* a job's lock file, locked; -1: none (issue 11) */
	bool read_only; /* opened SQLITE_OPEN_READONLY */
	/* production safety: busy_timeout is one setting per connection,
	 * shared by the run lock's BEGIN IMMEDIATE (lock_ms, --lock-timeout)
	 * and every other statement (ddl_ms, --ddl-lock-timeout): switched
	 * around each BEGIN IMMEDIATE. -1: not set (DEFAULT_BUSY_MS). */
	int lock_ms, ddl_ms;
	/* set by cancel() from the monitor's thread: a SIGINT or SIGTERM
	 * stops the file (issue 14); kept for the connection's life, the
	 * run ends after it */
	atomic_bool cancelled;
};

/* BEGIN IMMEDIATE with the run lock's wait, then the statements' own. */
static int begin_immediate(struct sq_conn *c)
{
	int rc;

	if (c->lock_ms >= 0)
		sqlite3_busy_timeout(c->db, c->lock_ms);
	rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (c->ddl_ms >= 0)
		sqlite3_busy_timeout(c->db, c->ddl_ms);
	return rc;
}

/* Takes the write lock again after a transaction ended, while the run
 * holds it. Best effort: if another runner got in, the next BEGIN waits
 * for it (and says so). */
static void relock(struct sq_conn *c)
{
	if (c->locked && sqlite3_get_autocommit(c->db))
		begin_immediate(c);
}

extern const struct mg_driver mg_driver_sqlite;

/* Readers wait this long for a writer by default; lock() sets its own. */
#define DEFAULT_BUSY_MS 10000

static int sq_error(struct mg_error *err, sqlite3 *db, const char *what)
{
	int code = MG_EDRIVER;
	const char *msg = sqlite3_errmsg(db);

	if (strncmp(msg, "no such table", 13) == 0)
		code = MG_ENOTFOUND;
	if (sqlite3_errcode(db) == SQLITE_NOTADB) /* which file is not */
		mg_error_set(err, code, "'%s': %s",
		             sqlite3_db_filename(db, "main"), msg);
	else
		mg_error_set(err, code, "%s", msg);
	if (what != NULL)
		mg_error_detail(err, "%s", what);
	/* the double-quoted string misfeature is off (sq_connect) */
	if (strncmp(msg, "no such column", 14) == 0)
		mg_error_hint(err, "\"...\" names a column: write a string "
		                   "in single quotes ('...')");
	/* busy_timeout ran out: a lock wait that timed out (issue 14) */
	if (err != NULL)
		err->lock_wait = sqlite3_errcode(db) == SQLITE_BUSY;
	/* No SQLSTATE: SQLITE_ERROR covers much, and its message says
	 * which ("no such column: x", "near \"x\": syntax error"). */
	if (err != NULL && sqlite3_errcode(db) == SQLITE_ERROR &&
	    (strncmp(msg, "no such ", 8) == 0 ||
	     strstr(msg, "syntax error") != NULL))
		err->bad_sql = true;
	return code;
}

/*
 * mg_fingerprint(col, ...): SQLite has no hash function, so the driver
 * registers an aggregate. Each row's values, in their text form with NULL
 * marked apart, are hashed with BLAKE2b-128; the two 64-bit halves are
 * summed (mod 2^64) over all rows, which makes the result independent of
 * row order and lets duplicate rows count.
 */
struct fp_state {
	int64_t rows;
	uint64_t sum[2];
};

static void fp_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct fp_state *st = sqlite3_aggregate_context(ctx, sizeof(*st));
	crypto_generichash_state h;
	unsigned char out[16];
	char len[24];
	uint64_t half;
	int i, k;

	if (st == NULL)
		return;
	crypto_generichash_init(&h, NULL, 0, sizeof(out));
	for (i = 0; i < argc; i++) {
		const unsigned char *t;
		int n;

		if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
			crypto_generichash_update(
			        &h, (const unsigned char *)"N", 1);
			continue;
		}
		t = sqlite3_value_text(argv[i]);
		n = sqlite3_value_bytes(argv[i]);
		snprintf(len, sizeof(len), "V%d:", n);
		crypto_generichash_update(&h, (const unsigned char *)len,
		                          strlen(len));
		crypto_generichash_update(&h, t ? t : (const unsigned char *)"",
		                          (unsigned long long)n);
	}
	crypto_generichash_final(&h, out, sizeof(out));
	for (k = 0; k < 2; k++) {
		half = 0;
		for (i = 0; i < 8; i++)
			half = half << 8 | out[k * 8 + i];
		st->sum[k] += half;
	}
	st->rows++;
}

static void fp_final(sqlite3_context *ctx)
{
	struct fp_state *st = sqlite3_aggregate_context(ctx, 0);
	char text[64];

	snprintf(text, sizeof(text), "%lld:%016llx%016llx",
	         st ? (long long)st->rows : 0LL,
	         st ? (unsigned long long)st->sum[0] : 0ULL,
	         st ? (unsigned long long)st->sum[1] : 0ULL);
	sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
}

/*
 * backups: mg_fingerprint2(col, ...), format "fp2": each value hashed by
 * its storage class (an integer or a real as its 8 bytes, text and blobs
 * with their length, NULL as a mark) with SipHash-2-4 under two keys,
 * rather than its text form with BLAKE2b: no number is formatted, and
 * no hash state is set up per row. Summed as mg_fingerprint is.
 */
static void fp2_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	static const unsigned char keys[2][crypto_shorthash_KEYBYTES] = {
		"migrate fp2 k0!", "migrate fp2 k1!"
	};
	struct fp_state *st = sqlite3_aggregate_context(ctx, sizeof(*st));
	unsigned char small[512], *buf = small, h[crypto_shorthash_BYTES];
	size_t cap = sizeof(small), n = 0, need;
	uint64_t half;
	int i, k, len;

	if (st == NULL)
		return;
	for (i = 0; i < argc; i++) {
		int type = sqlite3_value_type(argv[i]);
		const void *bytes = NULL;
		sqlite3_int64 iv;
		double dv;

		len = type == SQLITE_TEXT || type == SQLITE_BLOB
		              ? sqlite3_value_bytes(argv[i])
		              : 8;
		need = n + 1 + 4 + (size_t)len;
		if (need > cap) {
			unsigned char *grown;

			cap = need * 2;
			grown = buf == small ? malloc(cap) : realloc(buf, cap);
			if (grown == NULL) {
				if (buf != small)
					free(buf);
				sqlite3_result_error_nomem(ctx);
				return;
			}
			if (buf == small)
				memcpy(grown, small, n);
			buf = grown;
		}
		switch (type) {
		case SQLITE_NULL:
			buf[n++] = 'N';
			continue;
		case SQLITE_INTEGER:
			iv = sqlite3_value_int64(argv[i]);
			buf[n++] = 'I';
			memcpy(buf + n, &iv, 8);
			n += 8;
			continue;
		case SQLITE_FLOAT:
			dv = sqlite3_value_double(argv[i]);
			buf[n++] = 'R';
			memcpy(buf + n, &dv, 8);
			n += 8;
			continue;
		case SQLITE_TEXT:
			bytes = sqlite3_value_text(argv[i]);
			buf[n++] = 'T';
			break;
		default:
			bytes = sqlite3_value_blob(argv[i]);
			buf[n++] = 'B';
			break;
		}
		memcpy(buf + n, &len, 4);
		n += 4;
		if (len > 0 && bytes != NULL)
			memcpy(buf + n, bytes, (size_t)len);
		n += (size_t)len;
	}
	for (k = 0; k < 2; k++) {
		crypto_shorthash(h, buf, n, keys[k]);
		memcpy(&half, h, 8);
		st->sum[k] += half;
	}
	st->rows++;
	if (buf != small)
		free(buf);
}

static void sq_fingerprint2_sql(struct mg_buf *out, const char *table,
                                const char *const *cols, size_t ncols)
{
	size_t i;

	mg_buf_add(out, "SELECT mg_fingerprint2(");
	for (i = 0; i < ncols; i++)
		mg_buf_addf(out, "%s%s", i ? ", " : "", cols[i]);
	mg_buf_addf(out, ") FROM %s", table);
}

static void sq_fingerprint_sql(struct mg_buf *out, const char *table,
                               const char *const *cols, size_t ncols)
{
	size_t i;

	mg_buf_add(out, "SELECT mg_fingerprint(");
	for (i = 0; i < ncols; i++)
		mg_buf_addf(out, "%s%s", i ? ", " : "", cols[i]);
	mg_buf_addf(out, ") FROM %s", table);
}

/* SQLite keeps every object's CREATE statement: that is its schema. */
static void sq_schema_sql(struct mg_buf *out)
{
	mg_buf_add(out, "SELECT type, name, coalesce(sql, '') FROM "
	                "sqlite_master WHERE name NOT LIKE 'sqlite_%'");
}

static int sq_connect(struct mg_conn **out, const char *url, unsigned flags,
                      struct mg_error *err)
{
	const char *path = mg_url_sqlite_path(url);
	struct sq_conn *c;
	int rc;

	*out = NULL;
	if (*path == '\0')
		return mg_error_set(err, MG_EINVALID,
		                    "sqlite URL without a "
		                    "path: expected sqlite:PATH");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	c->base.drv = &mg_driver_sqlite;
	c->lock_fd = -1;
	c->job_fd = -1;
	c->lock_ms = c->ddl_ms = -1;
	c->read_only = flags & MG_CONNECT_READ_ONLY;
	/* read-only by the open flags, not PRAGMA query_only, which any
	 * query could switch off again */
	rc = sqlite3_open_v2(path, &c->db,
	                     c->read_only ? SQLITE_OPEN_READONLY
	                                  : SQLITE_OPEN_READWRITE |
	                                            SQLITE_OPEN_CREATE,
	                     NULL);
	/* a database that does not exist yet reads as an empty one: the
	 * first `up --dry-run` shows every file, and no file is created */
	if (rc == SQLITE_CANTOPEN && (flags & MG_CONNECT_READ_ONLY) &&
	    access(path, F_OK) != 0) {
		sqlite3_close(c->db);
		c->db = NULL;
		rc = sqlite3_open_v2(":memory:", &c->db, SQLITE_OPEN_READWRITE,
		                     NULL);
	}
	if (rc != SQLITE_OK) {
		mg_error_set(err, MG_EDRIVER,
		             "cannot open sqlite database "
		             "'%s': %s",
		             path,
		             c->db ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close(c->db);
		free(c);
		return MG_EDRIVER;
	}
	sqlite3_busy_timeout(c->db, DEFAULT_BUSY_MS);
	sqlite3_extended_result_codes(c->db, 0);
	/* SQLite's double-quoted string misfeature off, as its docs advise
	 * and its shell does since 3.41: "col" is always a column, so a
	 * check or a file naming a column that is not there fails with "no
	 * such column" instead of reading a constant string (a data check
	 * fingerprinted nothing). Schemas already stored keep working; a
	 * file that quotes a string with "..." gets that error
	 * (MIGRATING.md, "SQLite"). */
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
	sqlite3_create_function(c->db, "mg_fingerprint", -1,
	                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
	                        fp_step, fp_final);
	sqlite3_create_function(c->db, "mg_fingerprint2", -1,
	                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
	                        fp2_step, fp_final);
	*out = &c->base;
	return 0;
}

static void sq_close(struct mg_conn *conn)
{
	struct sq_conn *c = (struct sq_conn *)conn;

	if (c == NULL)
		return;
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	if (c->job_fd >= 0)
		close(c->job_fd);
	sqlite3_close(c->db);
	free(c);
}

static int run_statements(struct sq_conn *c, const char *sql, size_t len,
                          const struct mg_script_hooks *hooks,
                          struct mg_script_result *res, struct mg_error *err);

/* SQLite splits the text itself: prepare() hands back where it stopped. */
static int sq_exec_script(struct mg_conn *conn, const char *sql, size_t len,
                          unsigned flags, const struct mg_script_hooks *hooks,
                          struct mg_script_result *res, struct mg_error *err)
{
	struct sq_conn *c = (struct sq_conn *)conn;
	bool in_txn = !sqlite3_get_autocommit(c->db);
	int rc;

	memset(res, 0, sizeof(*res));
	/* outside any transaction means outside the lock's too (VACUUM) */
	if ((flags & MG_SCRIPT_NO_TXN) && !sqlite3_get_autocommit(c->db) &&
	    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return sq_error(err, c->db, "COMMIT");
	rc = run_statements(c, sql, len, hooks, res, err);
	if (flags & MG_SCRIPT_NO_TXN) {
		relock(c);
	} else if (rc == 0 && in_txn && sqlite3_get_autocommit(c->db)) {
		/* whatever the static check missed: the file ended our
		 * transaction, and what it did may be committed */
		res->committed = res->done;
		rc = mg_error_set(err, MG_EINVALID,
		                  "the file ended migrate's transaction "
		                  "(COMMIT or ROLLBACK in the file)");
	}
	return rc;
}

/* Evidence of one statement that completed (issue 10): the rows it
 * changed, or a read's rows. sqlite3_changes() keeps the last write's
 * count through DDL, so it counts only when the total moved (which it
 * does for WITH ... INSERT too); a write that matched nothing is 0. */
static void report_stmt(struct sq_conn *c, sqlite3_stmt *st, const char *text,
                        size_t len, unsigned line, int64_t t0, int64_t nrows,
                        int64_t total0, const struct mg_script_hooks *hooks)
{
	struct mg_stmt_stat s = { .line = line, .rows = -1 };
	char tag[64];

	mg_stmt_tag(tag, sizeof(tag), text, len);
	s.tag = tag;
	if (sqlite3_total_changes64(c->db) != total0)
		s.rows = sqlite3_changes64(c->db);
	else if (sqlite3_column_count(st) > 0)
		s.rows = nrows;
	else if (strcmp(tag, "INSERT") == 0 || strcmp(tag, "UPDATE") == 0 ||
	         strcmp(tag, "DELETE") == 0 || strcmp(tag, "REPLACE") == 0)
		s.rows = 0;
	s.ms = (mg_stmt_clock_us() - t0) / 1000;
	if (hooks->stmt_done != NULL)
		hooks->stmt_done(hooks->ctx, &s);
}

static int run_statements(struct sq_conn *c, const char *sql, size_t len,
                          const struct mg_script_hooks *hooks,
                          struct mg_script_result *res, struct mg_error *err)
{
	const char *p = sql, *end = sql + len, *tail;
	sqlite3_stmt *st = NULL;
	bool nul_ended = sql[len] == '\0';
	struct mg_line_cursor lines = { sql, 0, 1 };
	int rc;

	while (p < end) {
		size_t start;
		int64_t t0, nrows, total0;
		unsigned line;
		int off;

		/* cancel() between two statements: its interrupt found
		 * nothing running, and the next statement would clear it */
		if (atomic_load(&c->cancelled)) {
			res->line = mg_sql_line_at(sql, (size_t)(p - sql));
			return mg_error_set(err, MG_EDRIVER, "interrupted");
		}

		while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
			p++;
		start = (size_t)(p - sql);
		/* Issue 7: given a length, SQLite copies that many bytes to
		 * NUL-terminate them, so every statement copied the rest of
		 * the file (quadratic). The text ends in a NUL: -1 lets
		 * SQLite read up to the end of one statement only. */
		rc = sqlite3_prepare_v2(
		        c->db, p, nul_ended ? -1 : (int)(end - p), &st, &tail);
		if (rc == SQLITE_OK && st == NULL) { /* only comments left */
			if (tail <= p)
				break;
			p = tail;
			continue;
		}
		line = rc != SQLITE_OK
		               ? 0
		               : mg_line_cursor_at(
		                         &lines,
		                         start + mg_stmt_skip_comments(
		                                         p, (size_t)(tail - p)));
		t0 = mg_stmt_clock_us();
		total0 = sqlite3_total_changes64(c->db);
		nrows = 0;
		if (rc == SQLITE_OK && hooks != NULL &&
		    hooks->stmt_start != NULL)
			hooks->stmt_start(hooks->ctx, line);
		if (rc == SQLITE_OK) {
			while ((rc = sqlite3_step(st)) == SQLITE_ROW)
				nrows++;
			if (rc == SQLITE_DONE)
				rc = SQLITE_OK;
		}
		/* rows affected (jobs, issue 11): changes() keeps the last
		 * write's count through statements that write nothing, so
		 * count only a statement that moved the total */
		if (rc == SQLITE_OK) {
			res->last_rows = sqlite3_total_changes64(c->db) != total0
			                         ? sqlite3_changes64(c->db)
			                         : 0;
			res->rows += res->last_rows;
		}
		if (rc == SQLITE_OK && hooks != NULL)
			report_stmt(c, st, p, (size_t)(tail - p), line, t0,
			            nrows, total0, hooks);
		if (rc != SQLITE_OK) {
			off = sqlite3_error_offset(c->db);
			res->line = mg_sql_line_at(sql,
			                           start + (off > 0 ? off : 0));
			sq_error(err, c->db, NULL);
			sqlite3_finalize(st);
			return MG_EDRIVER;
		}
		sqlite3_finalize(st);
		st = NULL;
		res->done++;
		if (sqlite3_get_autocommit(c->db))
			res->committed = res->done;
		p = tail;
	}
	return 0;
}

/*
 * Before anything runs: no transaction control inside the runner's
 * transaction. sqlite3_complete() says where a statement ends (it knows
 * CREATE TRIGGER ... BEGIN ...; END), without preparing it, which would
 * fail for tables the file has yet to create.
 */
/*
 * Stops the statement that runs on conn, from the monitor's thread on a
 * SIGINT or SIGTERM: sqlite3_interrupt() is made to be called from
 * another thread, and the statement fails with SQLITE_INTERRUPT (which
 * may roll the transaction back: txn(ROLLBACK) takes that into account).
 * SQLite has no server and no watcher session: `watch` is NULL.
 */
static int sq_cancel(struct mg_conn *conn, struct mg_conn *watch,
                     struct mg_error *err)
{
	struct sq_conn *c = (struct sq_conn *)conn;

	(void)watch;
	(void)err;
	atomic_store(&c->cancelled, true);
	sqlite3_interrupt(c->db);
	return 0;
}

static int sq_check_script(const char *sql, size_t len, unsigned flags,
                           unsigned *line, struct mg_error *err)
{
	struct mg_buf stmt = MG_BUF_INIT;
	size_t start = 0, i;
	const char *why;
	int rc = 0;

	*line = 0;
	/* up to len: the last statement needs no ';' */
	for (i = 0; i <= len && rc == 0; i++) {
		if (i < len && sql[i] != ';')
			continue;
		mg_buf_truncate(&stmt, 0);
		mg_buf_addn(&stmt, sql + start, (i < len ? i + 1 : len) - start);
		if (i == len)
			mg_buf_addc(&stmt, ';');
		if ((rc = mg_buf_check(&stmt, err)) < 0)
			break;
		if (!sqlite3_complete(stmt.ptr)) {
			if (i < len)
				continue;
			/* the end of the file, inside a quote or comment */
			if (mg_stmt_skip_comments(stmt.ptr, stmt.len) + 1 <
			    stmt.len) {
				*line = mg_sql_line_at(sql, start);
				rc = mg_error_set(err, MG_EINVALID,
				                  "unterminated statement: a "
				                  "quote or comment never ends");
			}
			break;
		}
		if (!(flags & MG_SCRIPT_NO_TXN) &&
		    (why = mg_stmt_txn_problem(stmt.ptr, stmt.len, false)) !=
		            NULL) {
			size_t skip = mg_stmt_skip_comments(stmt.ptr, stmt.len);

			*line = mg_sql_line_at(sql, start + skip);
			rc = mg_error_set(err, MG_EINVALID, "%s: '%.*s'", why,
			                  (int)(stmt.len - skip < 50
			                                ? stmt.len - skip
			                                : 50),
			                  stmt.ptr + skip);
			mg_error_hint(err,
			              "migrate runs each file in a "
			              "transaction already: remove "
			              "BEGIN/COMMIT, or add the line '-- "
			              "migrate:no-transaction' to manage it "
			              "yourself");
		}
		start = i + 1;
	}
	mg_buf_dispose(&stmt);
	return rc;
}

static int sq_query(struct mg_rows **out, struct mg_conn *conn, const char *sql,
                    const char *const *params, size_t nparams, unsigned flags,
                    struct mg_error *err)
{
	struct sq_conn *c = (struct sq_conn *)conn;
	struct mg_rows *r = NULL;
	sqlite3_stmt *st = NULL;
	const char **vals = NULL;
	size_t i, ncols;
	int rc;

	if (out != NULL)
		*out = NULL;
	rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = sq_error(err, c->db, sql);
		goto cleanup;
	}
	for (i = 0; i < nparams; i++) {
		if (params[i] == NULL)
			rc = sqlite3_bind_null(st, (int)i + 1);
		else
			rc = sqlite3_bind_text(st, (int)i + 1, params[i], -1,
			                       SQLITE_STATIC);
		if (rc != SQLITE_OK) {
			rc = sq_error(err, c->db, sql);
			goto cleanup;
		}
	}
	ncols = (size_t)sqlite3_column_count(st);
	if ((r = mg_rows_new(ncols)) == NULL ||
	    (ncols > 0 && (vals = calloc(ncols, sizeof(*vals))) == NULL)) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (i = 0; i < ncols; i++)
			vals[i] = (const char *)sqlite3_column_text(st, (int)i);
		if (mg_rows_add(r, vals, ncols) < 0) {
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = sq_error(err, c->db, sql);
		goto cleanup;
	}
	rc = 0;
	if ((flags & MG_Q_COMMIT) &&
	    (rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL)) != 0) {
		rc = sq_error(err, c->db, "COMMIT");
		goto cleanup;
	}
	if (flags & MG_Q_COMMIT)
		relock(c);
	if (out != NULL) {
		*out = r;
		r = NULL;
	}
cleanup:
	free(vals);
	sqlite3_finalize(st);
	mg_rows_free(r);
	return rc;
}

static int sq_txn(struct mg_conn *conn, enum mg_txn op, struct mg_error *err)
{
	struct sq_conn *c = (struct sq_conn *)conn;
	const char *sql = "COMMIT";
	int rc;

	if (op == MG_TXN_BEGIN) {
		/* the lock's transaction is the file's */
		if (c->locked && !sqlite3_get_autocommit(c->db))
			return 0;
		/* IMMEDIATE takes the write lock now, so two runners queue
		 * here instead of failing later with SQLITE_BUSY; a
		 * read-only connection cannot take it, and needs none */
		sql = c->read_only ? "BEGIN" : "BEGIN IMMEDIATE";
	} else if (op == MG_TXN_ROLLBACK) {
		if (sqlite3_get_autocommit(c->db)) {
			relock(c); /* an error already rolled it back */
			return 0;
		}
		sql = "ROLLBACK";
	}
	if (op == MG_TXN_BEGIN && !c->read_only)
		rc = begin_immediate(c);
	else
		rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	if (op != MG_TXN_BEGIN)
		relock(c);
	/* BEGIN IMMEDIATE is where the runner's lock is taken */
	if (op == MG_TXN_BEGIN && (rc == SQLITE_BUSY || rc == SQLITE_LOCKED))
		return mg_error_set(err, MG_ELOCKED,
		                    "database is locked by "
		                    "another process (SQLite cannot tell "
		                    "which)");
	if (rc != SQLITE_OK)
		return sq_error(err, c->db, sql);
	return 0;
}

static int sq_in_txn(bool *out, struct mg_conn *conn, struct mg_error *err)
{
	(void)err;
	*out = !sqlite3_get_autocommit(((struct sq_conn *)conn)->db);
	return 0;
}

static int lock_path(int *out, struct sq_conn *c, const char *suffix,
                     const char *who_runs, int timeout_s, struct mg_error *err);

/*
 * Locks DB-migrate.lock, waiting up to timeout_s. A POSIX lock on a file of
 * its own: one on the database file would be dropped when any descriptor
 * of it closes, SQLite's own locks with it. The kernel frees it when the
 * process dies, however it dies.
 */
static int lock_file(struct sq_conn *c, int timeout_s, struct mg_error *err)
{
	return lock_path(&c->lock_fd, c, "-migrate.lock", "another migrate",
	                 timeout_s, err);
}

/* Locks DB<suffix> into *fd; `who` names the holder in the message. */
static int lock_path(int *out, struct sq_conn *c, const char *suffix,
                     const char *who_runs, int timeout_s, struct mg_error *err)
{
	const char *db = sqlite3_db_filename(c->db, "main");
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	struct mg_buf path = MG_BUF_INIT;
	time_t deadline = time(NULL) + timeout_s;
	int fd = -1, rc;

	if (db == NULL || *db == '\0')
		return 0; /* in memory: no other process sees it */
	mg_buf_addf(&path, "%s%s", db, suffix);
	if ((rc = mg_buf_check(&path, err)) < 0)
		return rc;
	if ((fd = open(path.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		rc = mg_error_set(err, MG_ERR, "cannot open lock file '%s': %s",
		                  path.ptr, strerror(errno));
		goto cleanup;
	}
	while (fcntl(fd, F_SETLK, &fl) < 0) {
		if (errno != EACCES && errno != EAGAIN) {
			rc = mg_error_set(err, MG_ERR, "cannot lock '%s': %s",
			                  path.ptr, strerror(errno));
			goto cleanup;
		}
		if (time(NULL) >= deadline) {
			struct flock who = fl;

			if (fcntl(fd, F_GETLK, &who) < 0 || who.l_pid <= 0)
				who.l_pid = 0;
			rc = mg_error_set(err, MG_ELOCKED,
			                  "%s (pid %ld) is running "
			                  "against this database",
			                  who_runs, (long)who.l_pid);
			mg_error_detail(err, "it holds %s", path.ptr);
			goto cleanup;
		}
		nanosleep(&pause, NULL);
	}
	*out = fd;
	fd = -1;
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	mg_buf_dispose(&path);
	return rc;
}

static int sq_lock(struct mg_conn *conn, const char *name, int64_t key,
                   int timeout_s, struct mg_error *err)
{
	struct sq_conn *c = (struct sq_conn *)conn;
	int rc;

	(void)name;
	(void)key;
	if ((rc = lock_file(c, timeout_s, err)) < 0)
		return rc;
	c->lock_ms = timeout_s > 0 ? timeout_s * 1000 : 0;
	if ((rc = sq_txn(conn, MG_TXN_BEGIN, err)) == 0) {
		c->locked = true;
	} else if (c->lock_fd >= 0) {
		close(c->lock_fd);
		c->lock_fd = -1;
	}
	return rc;
}

/*
 * A job's lock (issue 11): DB-migrate-job-<key>.lock, a file per job
 * name, held while the job runs. Not the run lock's file, and no write
 * lock held between batches: each batch's BEGIN IMMEDIATE is enough.
 */
static int sq_job_lock(struct mg_conn *conn, const char *name, int64_t key,
                       int timeout_s, struct mg_error *err)
{
	struct sq_conn *c = (struct sq_conn *)conn;
	char suffix[64];

	(void)name;
	snprintf(suffix, sizeof(suffix), "-migrate-job-%016llx.lock",
	         (unsigned long long)key);
	/* each batch takes the write lock in turn with the other writers
	 * (other jobs, `up`): wait for it as long as for the job's lock */
	if (timeout_s * 1000 > DEFAULT_BUSY_MS)
		sqlite3_busy_timeout(c->db, timeout_s * 1000);
	return lock_path(&c->job_fd, c, suffix, "another run of this job",
	                 timeout_s, err);
}

static void sq_job_unlock(struct mg_conn *conn, const char *name, int64_t key)
{
	struct sq_conn *c = (struct sq_conn *)conn;

	(void)name;
	(void)key;
	if (c->job_fd >= 0) {
		close(c->job_fd);
		c->job_fd = -1;
	}
}

static void sq_unlock(struct mg_conn *conn, const char *name, int64_t key)
{
	struct sq_conn *c = (struct sq_conn *)conn;

	(void)name;
	(void)key;
	/* every write of the run was committed: nothing is pending here */
	c->locked = false;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	if (c->lock_fd >= 0) { /* closing it frees the lock */
		close(c->lock_fd);
		c->lock_fd = -1;
	}
}

static const char *sq_schema(struct mg_conn *conn)
{
	(void)conn;
	return NULL;
}

static const char *sq_user(struct mg_conn *conn)
{
	(void)conn;
	return NULL;
}

/* Production safety: SQLite has no server to time a statement, so only
 * the lock wait is bounded (busy_timeout; 0 would mean "do not wait"). */
static int sq_set_bounds(struct mg_conn *conn, int64_t lock_ms, int64_t stmt_ms,
                         unsigned flags, struct mg_error *err)
{
	struct sq_conn *c = (struct sq_conn *)conn;

	(void)stmt_ms;
	(void)flags;
	(void)err;
	if (lock_ms < 0)
		c->ddl_ms = DEFAULT_BUSY_MS;
	else if (lock_ms == MG_BOUND_OFF || lock_ms > INT_MAX)
		c->ddl_ms = INT_MAX;
	else
		c->ddl_ms = (int)lock_ms;
	/* inside the run lock's transaction already: from now on */
	sqlite3_busy_timeout(c->db, c->ddl_ms);
	return 0;
}

/* sqlite:PATH, and sqlite://PATH as other tools write it */
static const char *const sq_schemes[] = { "sqlite:", "sqlite3:", NULL };

const struct mg_driver mg_driver_sqlite = {
	.name = "sqlite",
	.schemes = sq_schemes,
	.caps = MG_CAP_TXN_DDL | MG_CAP_INDEX_IF_NOT_EXISTS,
	.ident_quote = '"',
	.ts_type = "TEXT",
	.ts_param = "?",
	.ts_text = "%s",
	.table_options = "",
	.connect = sq_connect,
	.close = sq_close,
	.exec_script = sq_exec_script,
	.check_script = sq_check_script,
	.query = sq_query,
	.txn = sq_txn,
	.in_txn = sq_in_txn,
	.lock = sq_lock,
	.unlock = sq_unlock,
	/* jobs (issue 11) */
	.job_lock = sq_job_lock,
	.job_unlock = sq_job_unlock,
	.fingerprint_sql = sq_fingerprint_sql,
	.schema_sql = sq_schema_sql,
	.schema = sq_schema,
	.user = sq_user,
	/* production safety */
	.set_bounds = sq_set_bounds,
	.cancel = sq_cancel,
	.lock_report_none =
	        "SQLite locks the whole database for any write: every "
	        "migration blocks other writers while it runs",
	/* backups */
	.table_info = mg_sq_table_info,
	.update_from_sql = mg_update_from_sql,
	.fingerprint2_sql = sq_fingerprint2_sql,
	.row_bytes_sql = mg_sq_row_bytes_sql,
};
