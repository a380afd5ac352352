#include "fake_driver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrator/buf.h"

struct fake_conn {
	struct mg_conn base; /* first: the runner sees only this */
	struct fake_db *db;
};

static struct fake_db *db_of(struct mg_conn *conn)
{
	return ((struct fake_conn *)conn)->db;
}

static void logf_(struct fake_db *db, const char *fmt, ...)
        MG_PRINTF(2, 3);
static void logf_(struct fake_db *db, const char *fmt, ...)
{
	size_t len = strlen(db->log);
	va_list ap;

	if (len + 1 >= sizeof(db->log))
		return;
	va_start(ap, fmt);
	vsnprintf(db->log + len, sizeof(db->log) - len, fmt, ap);
	va_end(ap);
	len = strlen(db->log);
	if (len + 1 < sizeof(db->log)) {
		db->log[len] = '\n';
		db->log[len + 1] = '\0';
	}
}

/* Counts a call of kind op; true when this one is to fail. */
static bool failing(struct fake_db *db, enum fake_op op)
{
	int k;

	db->calls[op]++;
	if (!((db->fail_at[op] != 0 && db->calls[op] == db->fail_at[op]) ||
	      (db->failed && db->fail_after[op] != 0 &&
	       db->calls[op] == db->calls_at_fail[op] + db->fail_after[op])))
		return false;
	if (!db->failed)
		for (k = 0; k < FAKE_OP_COUNT; k++)
			db->calls_at_fail[k] = db->calls[k];
	db->failed = true;
	return true;
}

static int fail(struct fake_db *db, struct mg_error *err, const char *what)
{
	int code = db->fail_code ? db->fail_code : MG_EDRIVER;

	mg_error_set(err, code, "fake: %s failed", what);
	if (err != NULL) {
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s",
		         db->fail_sqlstate);
		err->lock_wait = db->fail_lock_wait;
	}
	return code;
}

static void drop_pending(struct fake_db *db)
{
	size_t i, keep = 0;
	int f;

	for (i = 0; i < db->nrows; i++) {
		if (!db->rows[i].pending) {
			db->rows[keep++] = db->rows[i];
			continue;
		}
		for (f = 0; f < MG_LF_COUNT; f++)
			free(db->rows[i].f[f]);
	}
	db->nrows = keep;
}

static void keep_pending(struct fake_db *db)
{
	size_t i;

	for (i = 0; i < db->nrows; i++)
		db->rows[i].pending = false;
}

/* Ends the open transaction with a COMMIT that may be failed. */
static int commit(struct fake_db *db, struct mg_error *err)
{
	db->in_txn = false;
	if (db->lease_guard && db->lock_lost) {
		logf_(db, "commit (the lease is lost)");
		drop_pending(db);
		if (db->on_end != NULL)
			db->on_end(db->ctx, false);
		return mg_error_set(err, MG_ELOCKED,
		                    "another migrate run is active: the run "
		                    "lock's lease is no longer ours");
	}
	if (failing(db, FAKE_COMMIT)) {
		logf_(db, "commit (failed)");
		drop_pending(db);
		if (db->on_end != NULL)
			db->on_end(db->ctx, false);
		return fail(db, err, "commit");
	}
	logf_(db, "commit");
	keep_pending(db);
	if (db->on_end != NULL)
		db->on_end(db->ctx, true);
	return 0;
}

static int fake_connect_url(struct mg_conn **out, const char *url,
                            unsigned flags, struct mg_error *err)
{
	(void)url;
	(void)flags;
	*out = NULL;
	return mg_error_set(err, MG_EINVALID, "the fake has no URLs");
}

static void fake_close(struct mg_conn *conn)
{
	free(conn);
}

static const char *first_line(const char *sql, char out[80])
{
	size_t n = strcspn(sql, "\n");

	snprintf(out, 80, "%.*s", (int)(n < 79 ? n : 79), sql);
	return out;
}

static int fake_exec(struct mg_conn *conn, const char *sql, size_t len,
                     unsigned flags, const struct mg_script_hooks *hooks,
                     struct mg_script_result *res, struct mg_error *err)
{
	struct fake_db *db = db_of(conn);
	char line[80];
	long long rows;

	(void)len;
	memset(res, 0, sizeof(*res));
	logf_(db, "exec%s %s", flags & MG_SCRIPT_NO_TXN ? " (no txn)" : "",
	      first_line(sql, line));
	if (failing(db, FAKE_EXEC)) {
		res->line = db->fail_line;
		res->done = db->fail_done;
		res->committed = db->fail_committed;
		res->total = db->fail_total;
		return fail(db, err, "statement");
	}
	if (db->on_exec != NULL)
		db->on_exec(db->ctx, sql);
	rows = db->exec_rows != NULL ? db->exec_rows(db->ctx, sql) : -1;
	/* the whole text as one statement, for the runner's evidence */
	if (hooks != NULL && hooks->stmt_start != NULL)
		hooks->stmt_start(hooks->ctx, 1);
	if (hooks != NULL && hooks->stmt_done != NULL) {
		struct mg_stmt_stat st = { .line = 1, .tag = "FAKE",
			                   .rows = rows };

		hooks->stmt_done(hooks->ctx, &st);
	}
	res->done = res->total = db->fail_total;
	if (rows >= 0)
		res->rows = res->last_rows = rows;
	return 0;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ledger_insert(struct fake_db *db, const char *const *params,
                         struct mg_error *err)
{
	struct fake_row *rows, *row;
	int f;

	if (failing(db, FAKE_LEDGER_WRITE)) {
		logf_(db, "ledger insert (failed)");
		/* a racing runner's row took the id: committed already */
		if (db->fail_by_other &&
		    (rows = realloc(db->rows, (db->nrows + 1) *
		                                      sizeof(*rows))) != NULL) {
			db->rows = rows;
			row = &rows[db->nrows++];
			memset(row, 0, sizeof(*row));
			for (f = 0; f < MG_LF_COUNT; f++)
				if (params[f] != NULL)
					row->f[f] = strdup(f == MG_LF_HOST
					                           ? "other"
					                           : params[f]);
		}
		return fail(db, err, "ledger insert");
	}
	rows = realloc(db->rows, (db->nrows + 1) * sizeof(*rows));
	if (rows == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	db->rows = rows;
	row = &rows[db->nrows++];
	memset(row, 0, sizeof(*row));
	for (f = 0; f < MG_LF_COUNT; f++)
		if (params[f] != NULL)
			row->f[f] = strdup(params[f]);
	row->pending = db->in_txn;
	logf_(db, "ledger insert %s %s %s", row->f[MG_LF_VERSION],
	      row->f[MG_LF_DIRECTION], row->f[MG_LF_STATUS]);
	return 0;
}

static int ledger_select(struct fake_db *db, struct mg_rows **out,
                         struct mg_error *err)
{
	struct mg_rows *r;
	size_t i;

	if (!db->table_exists)
		return mg_error_set(err, MG_ENOTFOUND, "no ledger table");
	if ((r = mg_rows_new(MG_LF_COUNT)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	for (i = 0; i < db->nrows; i++)
		if (mg_rows_add(r, (const char *const *)db->rows[i].f,
		                MG_LF_COUNT) < 0) {
			mg_rows_free(r);
			return mg_error_set(err, MG_ENOMEM, "out of memory");
		}
	*out = r;
	return 0;
}

static int fake_query(struct mg_rows **out, struct mg_conn *conn,
                      const char *sql, const char *const *params,
                      size_t nparams, unsigned flags, struct mg_error *err)
{
	struct fake_db *db = db_of(conn);
	struct mg_rows *r = NULL;
	char line[80];
	int rc;

	if (out != NULL)
		*out = NULL;
	if ((starts(sql, "CREATE TABLE") && strstr(sql, " AS ") == NULL) ||
	    starts(sql, "CREATE INDEX")) {
		logf_(db, "%s", first_line(sql, line));
		db->table_exists = true;
		rc = 0;
	} else if (starts(sql, "INSERT INTO") && nparams == MG_LF_COUNT) {
		rc = ledger_insert(db, params, err);
	} else if (starts(sql, "SELECT") && strstr(sql, "entry_hash")) {
		logf_(db, "ledger select");
		rc = ledger_select(db, &r, err);
	} else {
		logf_(db, "query %s", first_line(sql, line));
		if (failing(db, FAKE_QUERY))
			rc = fail(db, err, "query");
		else if (db->answer == NULL ||
		         (rc = db->answer(db->ctx, sql, &r, err)) > 0)
			rc = mg_error_set(err, MG_EDRIVER,
			                  "fake: no answer for '%s'", sql);
	}
	if (rc == 0 && (flags & MG_Q_COMMIT))
		rc = commit(db, err);
	else if (rc < 0 && db->in_txn && rc != MG_ENOTFOUND)
		logf_(db, "(transaction aborted)");
	if (rc == 0 && out != NULL && r == NULL)
		r = mg_rows_new(0);
	if (rc == 0 && out != NULL)
		*out = r;
	else
		mg_rows_free(r);
	return rc;
}

static int fake_txn(struct mg_conn *conn, enum mg_txn op, struct mg_error *err)
{
	struct fake_db *db = db_of(conn);

	switch (op) {
	case MG_TXN_BEGIN:
		if (failing(db, FAKE_BEGIN))
			return fail(db, err, "begin");
		logf_(db, "begin");
		db->in_txn = true;
		return 0;
	case MG_TXN_COMMIT:
		return commit(db, err);
	case MG_TXN_ROLLBACK:
		logf_(db, "rollback");
		db->in_txn = false;
		drop_pending(db);
		if (db->on_end != NULL)
			db->on_end(db->ctx, false);
		return 0;
	}
	return 0;
}

static int fake_in_txn(bool *out, struct mg_conn *conn, struct mg_error *err)
{
	(void)err;
	*out = db_of(conn)->in_txn;
	return 0;
}

static int fake_lock(struct mg_conn *conn, const char *name, int64_t key,
                     int timeout_s, struct mg_error *err)
{
	struct fake_db *db = db_of(conn);

	(void)key;
	(void)timeout_s;
	if (failing(db, FAKE_LOCK))
		return mg_error_set(err, MG_ELOCKED,
		                    "fake: '%s' is held by another runner",
		                    name);
	logf_(db, "lock %s", name);
	return 0;
}

static int fake_lock_held(struct mg_conn *conn, const char *name, int64_t key,
                          struct mg_error *err)
{
	struct fake_db *db = db_of(conn);

	(void)key;
	logf_(db, "lock held? %s", name);
	if (failing(db, FAKE_LOCK_HELD) && !db->lock_lost) {
		db->lock_lost = true;
		db->rows_at_loss = fake_ledger_rows(db);
	}
	if (db->lock_lost)
		return mg_error_set(err, MG_ELOCKED, "fake: '%s' was lost",
		                    name);
	return 0;
}

static void fake_unlock(struct mg_conn *conn, const char *name, int64_t key)
{
	(void)key;
	logf_(db_of(conn), "unlock %s", name);
}

int fake_ledger_lock(struct mg_conn *conn, const char *table,
                     struct mg_error *err)
{
	struct fake_db *db = db_of(conn);

	if (failing(db, FAKE_LEDGER_LOCK))
		return fail(db, err, "ledger append lock");
	logf_(db, "ledger lock %s", table);
	return 0;
}

int fake_job_lock(struct mg_conn *conn, const char *name, int64_t key,
                  int timeout_s, struct mg_error *err)
{
	struct fake_db *db = db_of(conn);

	(void)key;
	(void)timeout_s;
	if (failing(db, FAKE_JOB_LOCK))
		return mg_error_set(err, MG_ELOCKED,
		                    "fake: '%s' is held by another run", name);
	logf_(db, "job lock %s", name);
	return 0;
}

void fake_job_unlock(struct mg_conn *conn, const char *name, int64_t key)
{
	(void)key;
	logf_(db_of(conn), "job unlock %s", name);
}

int fake_slot_table_info(struct mg_table_info *out, struct mg_conn *conn,
                    const char *table, struct mg_error *err)
{
	struct fake_db *db = db_of(conn);

	memset(out, 0, sizeof(*out));
	if (db->table_info == NULL)
		return mg_error_set(err, MG_ENOTFOUND, "fake: no table %s",
		                    table);
	return db->table_info(db->ctx, out, table, err);
}

static void fake_fingerprint(struct mg_buf *out, const char *table,
                             const char *const *cols, size_t ncols)
{
	size_t i;

	mg_buf_addf(out, "FINGERPRINT %s", table);
	for (i = 0; i < ncols; i++)
		mg_buf_addf(out, " %s", cols[i]);
}

static void fake_schema_sql(struct mg_buf *out)
{
	mg_buf_add(out, "SCHEMA");
}

static const char *fake_schema(struct mg_conn *conn)
{
	(void)conn;
	return NULL;
}

static const char *fake_user(struct mg_conn *conn)
{
	(void)conn;
	return "fake_user";
}

/* A password no fake message holds unless a test puts it there, to see
 * that sinks scrub it; a test may swap db->drv.secret. */
static const char *fake_secret(struct mg_conn *conn)
{
	(void)conn;
	return "fake-s3cret";
}

const struct mg_driver fake_driver = {
	.name = "fake",
	.caps = MG_CAP_TXN_DDL | MG_CAP_RUN_LOCK,
	.ident_quote = '"',
	.ts_type = "TEXT",
	.ts_param = "?",
	.ts_text = "%s",
	.table_options = "",
	.connect = fake_connect_url,
	.close = fake_close,
	.exec_script = fake_exec,
	.query = fake_query,
	.txn = fake_txn,
	.in_txn = fake_in_txn,
	.lock = fake_lock,
	.lock_held = fake_lock_held,
	.unlock = fake_unlock,
	.fingerprint_sql = fake_fingerprint,
	.schema_sql = fake_schema_sql,
	.schema = fake_schema,
	.user = fake_user,
	.secret = fake_secret,
};

struct fake_db *fake_db_new(void)
{
	struct fake_db *db = calloc(1, sizeof(*db));

	if (db != NULL)
		db->drv = fake_driver;
	return db;
}

void fake_db_free(struct fake_db *db)
{
	size_t i;
	int f;

	if (db == NULL)
		return;
	for (i = 0; i < db->nrows; i++)
		for (f = 0; f < MG_LF_COUNT; f++)
			free(db->rows[i].f[f]);
	free(db->rows);
	free(db);
}

struct mg_conn *fake_connect(struct fake_db *db)
{
	struct fake_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->base.drv = &db->drv;
	c->db = db;
	return &c->base;
}

size_t fake_ledger_rows(const struct fake_db *db)
{
	size_t i, n = 0;

	for (i = 0; i < db->nrows; i++)
		n += !db->rows[i].pending;
	return n;
}

const char *fake_ledger_get(const struct fake_db *db, size_t i, enum mg_lf f)
{
	size_t k;

	for (k = 0; k < db->nrows; k++) {
		if (db->rows[k].pending)
			continue;
		if (i-- == 0)
			return db->rows[k].f[f];
	}
	return NULL;
}

struct mg_rows *fake_value(const char *v)
{
	struct mg_rows *r = mg_rows_new(1);

	if (r != NULL && mg_rows_add(r, &v, 1) < 0) {
		mg_rows_free(r);
		r = NULL;
	}
	return r;
}
