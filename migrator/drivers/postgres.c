/*
 * PostgreSQL through libpq. DDL is transactional and the advisory lock is
 * held on the session for the whole run. Round trips are what cost: BEGIN
 * is deferred and sent with the file, and a file's ledger row goes with
 * COMMIT in one pipeline, so a migration takes two round trips.
 */
#include <libpq-fe.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include "migrator/bounds.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/drivers/postgres.h"
#include "migrator/drivers/tables.h"
#include "migrator/drivers/split.h"
#include "migrator/drivers/url.h"

struct pg_conn {
	struct mg_conn base; /* first: the core sees only this */
	PGconn *pg;
	bool begin_pending; /* BEGIN asked for, not sent yet */
	char *schema;       /* current_schema() on connecting, or NULL */
	/* Each file leaves the session as it found it, whatever it SET
	 * (search_path, role, timeouts): these go out with the COMMIT or
	 * ROLLBACK that ends it, and restore our own settings after the
	 * RESET. */
	char *setup[8];
	size_t nsetup;
	bool read_only;  /* MG_CONNECT_READ_ONLY: every transaction is */
	char *reset_sql; /* the same, as one simple query */
	/* Issue 12: a connection pooler between us and the server (its
	 * BackendKeyData is not the backend's pid), so each transaction
	 * may run on another server connection: the run lock is then
	 * pg_advisory_xact_lock() in each transaction, our settings are
	 * SET LOCAL there (local_sql), and base.drv is
	 * mg_pg_pooled_driver(). */
	bool pooled;
	char *local_sql;
	bool xlock;        /* lock() armed the per-transaction lock */
	int64_t xkey;      /* its key */
	int xtimeout_s;    /* its wait */
	bool locked;       /* holds the session lock (not pooled) */
	/* production safety: the lock and statement bounds. The run's
	 * defaults are setup[bounds_at..] (restored with the rest after
	 * each file); cur_* is what the session has now. */
	size_t bounds_at;
	int64_t def_lock, def_stmt, cur_lock, cur_stmt;
	PGcancel *cancel; /* for cancel(), from another thread */
	bool watch;       /* MG_CONNECT_WATCH: answers within a deadline */
};

#define BEGIN_SQL "BEGIN;"

/* The session's settings are our defaults again (RESET ALL and setup). */
static void after_reset(struct pg_conn *c)
{
	c->cur_lock = c->def_lock;
	c->cur_stmt = c->def_stmt;
}

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* The server's message, SQLSTATE and detail from a failed result. */
static int result_error(struct mg_error *err, const PGresult *res, PGconn *pg)
{
	const char *msg, *state, *detail, *hint, *ctx;
	int code = MG_EDRIVER;

	msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	ctx = res ? PQresultErrorField(res, PG_DIAG_CONTEXT) : NULL;
	if (state != NULL && strcmp(state, "42P01") == 0)
		code = MG_ENOTFOUND; /* undefined_table */
	mg_error_set(err, code, "%s", msg ? msg : PQerrorMessage(pg));
	if (err == NULL)
		return code;
	trim(err->msg);
	if (state != NULL)
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
	/* 55P03 lock_not_available: lock_timeout expired (or NOWAIT) */
	err->lock_wait = state != NULL && strcmp(state, "55P03") == 0;
	/* class 42 is syntax_error_or_access_rule_violation: all of it but
	 * 42501 insufficient_privilege is the statement's fault */
	err->bad_sql = state != NULL && strncmp(state, "42", 2) == 0 &&
	               strcmp(state, "42501") != 0;
	if (detail != NULL || ctx != NULL)
		mg_error_detail(err, "%s%s%s", detail ? detail : "",
		                detail && ctx ? "\n" : "", ctx ? ctx : "");
	if (hint != NULL)
		mg_error_hint(err, "%s", hint);
	/* 25001 active_sql_transaction: CREATE INDEX CONCURRENTLY, VACUUM,
	 * ALTER TYPE ... ADD VALUE (before 12) and the like */
	if (state != NULL && strcmp(state, "25001") == 0)
		mg_error_hint(err,
		              "add the line '-- migrate:no-transaction' "
		              "to the file to run it outside a transaction");
	/* a statement, or a file read from /proc/self/environ, may hold the
	 * password, and the server quotes it back (issue 8) */
	if (pg != NULL) {
		mg_scrub(err->msg, sizeof(err->msg), PQpass(pg));
		mg_scrub(err->detail, sizeof(err->detail), PQpass(pg));
		mg_scrub(err->hint, sizeof(err->hint), PQpass(pg));
	}
	return code;
}

static void on_notice(void *arg, const PGresult *res)
{
	struct pg_conn *c = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
	const char *text = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	char msg[1024];

	if (c->base.on_notice == NULL)
		return;
	snprintf(msg, sizeof(msg), "%s: %s", sev ? sev : "NOTICE",
	         text ? text : "");
	c->base.on_notice(c->base.notice_ctx, msg);
}

static int simple(struct pg_conn *c, const char *sql, struct mg_error *err)
{
	PGresult *res = PQexec(c->pg, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = result_error(err, res, c->pg);
	PQclear(res);
	return rc;
}

static int add_setup(struct pg_conn *c, const char *sql, struct mg_error *err)
{
	if ((c->setup[c->nsetup] = strdup(sql)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	c->nsetup++;
	return 0;
}

/*
 * Builds the per-file setup: RESET, then the label that lets a lock
 * timeout name its holder, and the client check; runs the latter now,
 * with a look at where an unqualified ledger lives.
 */
static int setup_session(struct pg_conn *c, struct mg_error *err)
{
	struct mg_buf sql = MG_BUF_INIT;
	char host[64] = "?", since[32], *lit;
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	int rc;

	gethostname(host, sizeof(host) - 1);
	gmtime_r(&now, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	mg_buf_addf(&sql, "migrate pid=%ld host=%s since=%s", (long)getpid(),
	            host, since);
	if ((rc = mg_buf_check(&sql, err)) < 0)
		return rc;
	/* application_name stops at 63 bytes */
	mg_buf_truncate(&sql, 63);
	lit = PQescapeLiteral(c->pg, mg_buf_cstr(&sql), sql.len);
	mg_buf_dispose(&sql);
	if (lit == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	mg_buf_addf(&sql, "SET application_name = %s", lit);
	PQfreemem(lit);
	if ((rc = mg_buf_check(&sql, err)) < 0 ||
	    (rc = add_setup(c, "RESET ALL", err)) < 0 ||
	    (rc = add_setup(c, "RESET ROLE", err)) < 0 ||
	    (rc = add_setup(c, sql.ptr, err)) < 0)
		goto cleanup;
	/* a read-only command (a dry run) writes nothing whatever its
	 * checks say: set again after every RESET ALL, and a transaction
	 * that began read-only cannot be made read-write */
	if (c->read_only &&
	    (rc = add_setup(c, "SET default_transaction_read_only = on",
	                    err)) < 0)
		goto cleanup;
	/* A killed runner's backend would otherwise go on with its
	 * statement, and hold the lock, until it next writes to the dead
	 * socket. PostgreSQL 14 can poll the client instead. */
	if (PQserverVersion(c->pg) >= 140000 &&
	    (rc = add_setup(c, "SET client_connection_check_interval = 1000",
	                    err)) < 0)
		goto cleanup;
	mg_buf_truncate(&sql, 0);
	for (i = 0; i < c->nsetup; i++)
		mg_buf_addf(&sql, "%s;", c->setup[i]);
	if ((rc = mg_buf_check(&sql, err)) < 0 ||
	    (c->reset_sql = strdup(sql.ptr)) == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	/* now: our settings (not the RESETs) and the schema, one trip */
	mg_buf_truncate(&sql, 0);
	for (i = 2; i < c->nsetup; i++)
		mg_buf_addf(&sql, "%s;", c->setup[i]);
	mg_buf_add(&sql, "SELECT current_schema()");
	if ((rc = mg_buf_check(&sql, err)) == 0) {
		PGresult *r = PQexec(c->pg, sql.ptr); /* the last result */

		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			rc = result_error(err, r, c->pg);
		else if (!PQgetisnull(r, 0, 0) &&
		         (c->schema = strdup(PQgetvalue(r, 0, 0))) == NULL)
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		PQclear(r);
	}
cleanup:
	mg_buf_dispose(&sql);
	return rc;
}

static void free_conn(struct pg_conn *c)
{
	size_t i;

	if (c->cancel != NULL)
		PQfreeCancel(c->cancel);
	PQfinish(c->pg);
	for (i = 0; i < c->nsetup; i++)
		free(c->setup[i]);
	free(c->reset_sql);
	free(c->local_sql);
	free(c->schema);
	free(c);
}

/*
 * The password libpq will use from url, found without connecting
 * (PQconninfoParse), or NULL if it holds none; the caller frees. When
 * libpq cannot parse url, fails with its message, scrubbed of every
 * password our own parse of url finds: libpq quotes the whole URL then.
 */
static int url_secret(char **out, const char *url, struct mg_error *err)
{
	PQconninfoOption *opts, *o;
	char *msg = NULL;
	int rc = 0;

	*out = NULL;
	if ((opts = PQconninfoParse(url, &msg)) == NULL) {
		/* bad input, like a URL mg_url_check() refuses: exit 2 */
		rc = mg_error_set(err, msg ? MG_EINVALID : MG_ENOMEM,
		                  "cannot parse the database URL");
		if (msg != NULL && err != NULL) {
			mg_error_detail(err, "%s", msg);
			trim(err->detail);
			mg_url_scrub(err->detail, sizeof(err->detail), url);
		}
		PQfreemem(msg);
		return rc;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL &&
		    o->val[0] != '\0' && (*out = strdup(o->val)) == NULL)
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
	PQconninfoFree(opts);
	return rc;
}

/*
 * Issue 12: a pooler (pgbouncer, and the like) gives its clients a
 * BackendKeyData of its own, so libpq's idea of the backend's pid is not
 * the pid of the backend that answers. Behind one, whatever its pool mode,
 * a session advisory lock may stay on a server connection that another
 * client gets next, and session SETs are lost: switch this connection to
 * the per-transaction lock (mg_pg_pooled_driver()), which holds in
 * session and transaction pooling alike.
 */
static int detect_pooler(struct pg_conn *c, struct mg_error *err)
{
	struct mg_buf local = MG_BUF_INIT;
	PGresult *r = PQexec(c->pg, "SELECT pg_backend_pid()");
	size_t i;
	int rc = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = result_error(err, r, c->pg);
		PQclear(r);
		return rc;
	}
	c->pooled = atol(PQgetvalue(r, 0, 0)) != (long)PQbackendPID(c->pg);
	PQclear(r);
	if (!c->pooled)
		return 0;
	c->base.drv = mg_pg_pooled_driver();
	/* our settings go with each transaction, as SET LOCAL; nothing is
	 * RESET after it, which would reach another client's connection */
	for (i = 0; i < c->nsetup; i++)
		if (strncmp(c->setup[i], "SET ", 4) == 0)
			mg_buf_addf(&local, "SET LOCAL %s;", c->setup[i] + 4);
	for (i = 0; i < c->nsetup; i++)
		free(c->setup[i]);
	c->nsetup = 0;
	free(c->reset_sql);
	c->reset_sql = NULL;
	if ((rc = mg_buf_check(&local, err)) == 0 &&
	    ((c->local_sql = mg_buf_detach(&local)) == NULL ||
	     (c->reset_sql = strdup("")) == NULL))
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
	mg_buf_dispose(&local);
	return rc;
}

static int pg_connect(struct mg_conn **out, const char *url, unsigned flags,
                      struct mg_error *err)
{
	/* later keywords override the URL's: we need UTF-8 to map the
	 * server's character positions to bytes */
	/* production safety: TCP keepalives find a dead host or a cut
	 * network within about a minute, and tcp_user_timeout a send that
	 * is never acknowledged; an idle socket under a long statement is
	 * not cut (MIGRATING.md, "Running on a busy database") */
	static const char *const ours[][2] = {
		{ "connect_timeout", "10" }, { "keepalives", "1" },
		{ "keepalives_idle", "30" }, { "keepalives_interval", "10" },
		{ "keepalives_count", "3" }, { "tcp_user_timeout", "60000" },
	};
	const char *keys[12] = { "dbname", "fallback_application_name",
		                 "client_encoding" };
	const char *vals[12] = { url, "migrate", "UTF8" };
	size_t k, nk = 3;
	struct pg_conn *c;
	char *safe, *secret = NULL;
	int rc;

	*out = NULL;
	/* libpq ends the password at the first '@', and would then show the
	 * rest of it as the host name in its error message */
	if ((rc = mg_url_check(url, err)) < 0)
		return rc;
	/* PQpass() is empty when libpq could not parse the URL, and libpq
	 * may quote it: know the password before connecting (issue 8) */
	if ((rc = url_secret(&secret, url, err)) < 0)
		return rc;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		free(secret);
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	}
	c->base.drv = &mg_driver_postgres;
	c->read_only = flags & MG_CONNECT_READ_ONLY;
	c->watch = flags & MG_CONNECT_WATCH;
	/* the user's own settings of these win: later keywords would
	 * override the URL's, so leave ours out */
	for (k = 0; k < sizeof(ours) / sizeof(ours[0]); k++) {
		if (strstr(url, ours[k][0]) != NULL)
			continue;
		keys[nk] = ours[k][0];
		vals[nk++] = ours[k][1];
	}
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		safe = mg_url_redact(url);
		mg_error_set(err, MG_EDRIVER, "cannot connect to %s",
		             safe ? safe : "the database");
		free(safe);
		if (err != NULL && c->pg != NULL) {
			/* the URL's password, or one from a service file */
			mg_error_detail(err, "%s", PQerrorMessage(c->pg));
			trim(err->detail);
			mg_scrub(err->detail, sizeof(err->detail), secret);
			mg_scrub(err->detail, sizeof(err->detail),
			         PQpass(c->pg));
			mg_url_scrub(err->detail, sizeof(err->detail), url);
		}
		PQfinish(c->pg);
		free(c);
		rc = MG_EDRIVER;
		goto cleanup;
	}
	PQsetNoticeReceiver(c->pg, on_notice, c);
	c->def_lock = c->def_stmt = c->cur_lock = c->cur_stmt = MG_BOUND_UNSET;
	if ((c->cancel = PQgetCancel(c->pg)) == NULL ||
	    (rc = setup_session(c, err)) < 0 ||
	    (rc = detect_pooler(c, err)) < 0) {
		if (c->cancel == NULL)
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		free_conn(c);
		goto cleanup;
	}
	*out = &c->base;
cleanup:
	if (secret != NULL)
		memset(secret, 0, strlen(secret));
	free(secret);
	return rc;
}

static void pg_close(struct mg_conn *conn)
{
	struct pg_conn *c = (struct pg_conn *)conn;
	PGcancel *cancel;
	char buf[256];

	if (c == NULL)
		return;
	/* a query still running would keep its locks until it ends */
	if (PQtransactionStatus(c->pg) == PQTRANS_ACTIVE &&
	    (cancel = PQgetCancel(c->pg)) != NULL) {
		PQcancel(cancel, buf, sizeof(buf));
		PQfreeCancel(cancel);
	}
	free_conn(c);
}

/* The byte offset of the 1-based character position `pos` (the server
 * counts characters, and we asked for UTF-8). */
static size_t char_to_byte(const char *s, size_t len, long pos)
{
	size_t i;
	long chars = 0;

	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80 && ++chars == pos)
			return i;
	}
	return len;
}

/*
 * The file line of a failed statement: from the server's error position
 * where it gave one (also inside dollar-quoted function bodies, which it
 * maps back), else the start of the n-th statement.
 */
static unsigned error_line(const PGresult *res, const char *sql, size_t len,
                           long prefix_chars, size_t nth)
{
	const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	const char *ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);
	struct mg_stmts stmts = { 0 };
	unsigned line = 0;

	if (pos != NULL && atol(pos) > prefix_chars)
		return mg_sql_line_at(
		        sql, char_to_byte(sql, len, atol(pos) - prefix_chars));
	if (mg_split(&stmts, sql, len, MG_SPLIT_POSTGRES, NULL) == 0 &&
	    nth < stmts.n) {
		const struct mg_stmt *s = &stmts.v[nth];

		line = mg_sql_line_at(
		        sql,
		        s->off + mg_stmt_skip_comments(sql + s->off, s->len));
		/* a DO block's runtime error: "PL/pgSQL function
		 * inline_code_block line N", counted from the line of the
		 * opening dollar quote */
		if (ctx != NULL &&
		    (ctx = strstr(ctx, "inline_code_block line ")) != NULL) {
			const char *dq = memchr(sql + s->off, '$', s->len);

			if (dq != NULL)
				line = mg_sql_line_at(sql, (size_t)(dq - sql)) +
				       (unsigned)atoi(ctx + 23) - 1;
		}
	}
	mg_stmts_dispose(&stmts);
	return line;
}

/*
 * The statements of a file in order, split a window at a time, so that a
 * big file never has an entry per statement in memory at once (issue 7: a
 * 300 MB file of INSERTs needs 70 MB of them). A window is split on its
 * own from a statement's start; all its statements but the last are
 * whole, and the next window starts at that last one. A window that ends
 * in an open quote, or holds one statement only, is doubled. Offsets and
 * lines are the file's.
 */
struct walk {
	const char *sql;
	size_t len, base, win; /* the window: sql[base, base + win) */
	unsigned line0;        /* the file line where base is */
	bool final;            /* the window reaches the end */
	struct mg_stmts w;
	size_t i, n; /* next statement of w, and how many of them to give */
};

#define WALK_WINDOW ((size_t)1 << 20)

static void walk_init(struct walk *wk, const char *sql, size_t len)
{
	memset(wk, 0, sizeof(*wk));
	wk->sql = sql;
	wk->len = len;
	wk->win = WALK_WINDOW;
	wk->line0 = 1;
}

static void walk_dispose(struct walk *wk)
{
	mg_stmts_dispose(&wk->w);
}

/* 1 and *out: the next statement; 0: no more; < 0: err, its line set. */
static int walk_next(struct walk *wk, struct mg_stmt *out, struct mg_error *err)
{
	size_t size, next, i;
	int rc;

	while (wk->i >= wk->n) {
		if (wk->final)
			return 0;
		if (wk->n > 0) { /* go on from the last statement seen */
			next = wk->w.v[wk->w.n - 1].off;
			for (i = 0; i < next; i++)
				if (wk->sql[wk->base + i] == '\n')
					wk->line0++;
			wk->base += next;
			wk->n = wk->i = 0;
		}
		size = wk->len - wk->base;
		if (size > wk->win)
			size = wk->win;
		wk->final = wk->base + size == wk->len;
		/* end at a line's end: seldom inside a quote */
		for (i = size; !wk->final && i > 1; i--)
			if (wk->sql[wk->base + i - 1] == '\n') {
				size = i;
				break;
			}
		mg_stmts_dispose(&wk->w);
		/* an open quote at a window's end is no error: retried */
		rc = mg_split(&wk->w, wk->sql + wk->base, size,
		              MG_SPLIT_POSTGRES, wk->final ? err : NULL);
		if (rc == MG_ENOMEM)
			return mg_error_set(err, rc, "out of memory");
		if (rc < 0 && wk->final) {
			if (err != NULL)
				err->line += wk->line0 - 1;
			return rc;
		}
		if (wk->final) {
			wk->n = wk->w.n;
		} else if (rc == 0 && wk->w.n >= 2) {
			wk->n = wk->w.n - 1;
			wk->win = WALK_WINDOW;
		} else {
			wk->win *= 2;
		}
	}
	*out = wk->w.v[wk->i++];
	out->off += wk->base;
	out->line += wk->line0 - 1;
	return 1;
}

/* Before anything runs: each statement must be able to run the way the
 * file will run, and an unterminated quote is caught here too. */
static int pg_check_script(const char *sql, size_t len, unsigned flags,
                           unsigned *line, struct mg_error *err)
{
	struct walk wk;
	struct mg_stmt st, bad = { 0 };
	const char *why = NULL, *w;
	size_t skip;
	int rc;

	*line = 0;
	walk_init(&wk, sql, len);
	/* to the end even after a problem: an open quote anywhere is
	 * reported first, as when the file was split in one go */
	while ((rc = walk_next(&wk, &st, err)) > 0)
		if (why == NULL && !(flags & MG_SCRIPT_NO_TXN) &&
		    (w = mg_stmt_txn_problem(sql + st.off, st.len, true)) !=
		            NULL) {
			why = w;
			bad = st;
		}
	walk_dispose(&wk);
	if (rc < 0) {
		if (err != NULL)
			*line = err->line;
		return rc == MG_ENOMEM ? rc : MG_EINVALID;
	}
	if (why == NULL)
		return 0;
	skip = mg_stmt_skip_comments(sql + bad.off, bad.len);
	*line = mg_sql_line_at(sql, bad.off + skip);
	rc = mg_error_set(err, MG_EINVALID, "%s: '%.*s'", why,
	                  (int)(bad.len - skip < 50 ? bad.len - skip : 50),
	                  sql + bad.off + skip);
	mg_error_hint(err,
	              "migrate runs each file in a transaction: "
	              "add the line '-- migrate:no-transaction' to "
	              "run this one statement by statement%s",
	              strstr(why, "own") ? ", or remove its "
	                                   "BEGIN/COMMIT"
	                                 : "");
	return rc;
}

static bool is_copy(ExecStatusType st)
{
	return st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
	       st == PGRES_COPY_BOTH;
}

/* COPY to or from the client has no data to work with in a migration:
 * end it, or libpq would wait for data forever. */
static int copy_refused(struct pg_conn *c, ExecStatusType st,
                        struct mg_error *err)
{
	char *buf;

	if (st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
		PQputCopyEnd(c->pg, "COPY from the client is not supported "
		                    "in migrations");
	if (st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
		while (PQgetCopyData(c->pg, &buf, 0) > 0)
			PQfreemem(buf);
	return mg_error_set(err, MG_EDRIVER,
	                    "COPY ... FROM STDIN and TO "
	                    "STDOUT are not supported in migrations: the "
	                    "client has no data for them");
}

/*
 * A file above this size goes as several queries of about this size, cut
 * between statements, so that neither our copy nor libpq's output buffer
 * holds the whole file (issue 7: a 300 MB file of INSERTs peaked at 4x
 * its size; libpq keeps two copies of a query, its output buffer and the
 * text for error reports). Anything smaller is one query: one round trip.
 * A round trip per megabyte costs nothing next to running a megabyte.
 */
#define CHUNK_BYTES ((size_t)1 << 20)

/* Jobs (issue 11): adds a statement's rows affected to res. A query's
 * rows ("SELECT 3") do not count: a batch ends when its last write
 * affects none. */
static void count_rows(struct mg_script_result *res, PGresult *r)
{
	const char *tag = PQcmdStatus(r), *n = PQcmdTuples(r);
	int64_t rows = 0;

	if (tag != NULL && strncmp(tag, "SELECT", 6) != 0 && n != NULL &&
	    *n != '\0')
		rows = strtoll(n, NULL, 10);
	res->rows += rows;
	res->last_rows = rows;
}

/*
 * Evidence (issue 10) of a file sent as one query: the server sends one
 * result per statement, in order, so a walk over the same text names the
 * line of each; a statement's time runs from the previous result's
 * arrival (or the send) to its own.
 */
struct track {
	const struct mg_script_hooks *hooks; /* NULL: no evidence wanted */
	struct walk wk;
	unsigned line0; /* the file line where the text sent starts */
	unsigned line;  /* the running statement's; 0: unknown */
	int64_t t;
	/* jobs (issue 11): rows affected go here too */
	struct mg_script_result *res;
};

/* The next statement starts: its line, and the hooks hear of it. */
static void track_next(struct track *k, const char *sql)
{
	struct mg_stmt st;

	k->line = 0;
	if (walk_next(&k->wk, &st, NULL) > 0)
		k->line = k->line0 - 1 + mg_stmt_own_line(sql, &st);
	k->t = mg_stmt_clock_us();
	if (k->line > 0 && k->hooks->stmt_start != NULL)
		k->hooks->stmt_start(k->hooks->ctx, k->line);
}

/* "INSERT 0 3" -> "INSERT": the tag without its counts. */
static void tag_of(char *out, size_t size, const char *status)
{
	size_t n = strlen(status);

	while (n > 0) {
		size_t e = n;

		while (n > 0 && status[n - 1] >= '0' && status[n - 1] <= '9')
			n--;
		if (n == e || (n > 0 && status[n - 1] != ' ')) {
			n = e;
			break;
		}
		while (n > 0 && status[n - 1] == ' ')
			n--;
	}
	snprintf(out, size, "%.*s", (int)n, status);
}

static void track_stat(struct track *k, PGresult *r)
{
	const char *rows = PQcmdTuples(r);
	struct mg_stmt_stat st = { 0 };
	char tag[64];

	tag_of(tag, sizeof(tag), PQcmdStatus(r));
	st.line = k->line;
	st.tag = tag;
	st.rows = rows != NULL && rows[0] ? atoll(rows) : -1;
	st.ms = (mg_stmt_clock_us() - k->t) / 1000;
	if (k->hooks->stmt_done != NULL)
		k->hooks->stmt_done(k->hooks->ctx, &st);
}

/*
 * Sends sql[0, len) as one simple-protocol query, after the deferred
 * BEGIN if there is one, and reads its results: one per statement, the
 * first error ends the query. *nres counts the file's statements that
 * completed; *line is the failure's line within sql (0: unknown).
 */
static int exec_query(struct pg_conn *c, const char *sql, size_t len,
                      struct track *k, size_t *nres, unsigned *line,
                      struct mg_error *err)
{
	struct mg_buf q = MG_BUF_INIT;
	long prefix = 0;
	size_t n = 0, pre_results = 0;
	PGresult *r;
	int rc = 0;

	*nres = 0;
	if (k->hooks != NULL) {
		walk_init(&k->wk, sql, len);
		track_next(k, sql);
	}
	if (c->begin_pending) {
		mg_buf_add(&q, BEGIN_SQL);
		prefix = (long)strlen(BEGIN_SQL);
		pre_results = 1;
		c->begin_pending = false;
	}
	mg_buf_addn(&q, sql, len);
	if ((rc = mg_buf_check(&q, err)) < 0)
		goto cleanup;
	if (!PQsendQuery(c->pg, q.ptr)) {
		rc = result_error(err, NULL, c->pg);
		goto cleanup;
	}
	/* the server has it, or libpq does: our copy is not needed */
	mg_buf_dispose(&q);
	while ((r = PQgetResult(c->pg)) != NULL) {
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_FATAL_ERROR && rc == 0) {
			rc = result_error(err, r, c->pg);
			*line = error_line(r, sql, len, prefix,
			                   n - pre_results);
		} else if (is_copy(st)) {
			/* every one of them, or libpq waits for data */
			int crc = copy_refused(c, st, rc == 0 ? err : NULL);

			rc = rc == 0 ? crc : rc;
			*line = error_line(r, sql, len, prefix,
			                   n - pre_results);
		} else if (rc == 0) {
			if (n >= pre_results && k->res != NULL)
				count_rows(k->res, r);
			if (k->hooks != NULL && n >= pre_results) {
				track_stat(k, r);
				track_next(k, sql);
			}
			n++;
		}
		PQclear(r);
	}
	if (n > pre_results)
		*nres = n - pre_results;
cleanup:
	if (k->hooks != NULL)
		walk_dispose(&k->wk);
	mg_buf_dispose(&q);
	return rc;
}

struct cuts {
	size_t *v; /* where each piece ends; the last is the file's end */
	size_t n;
	size_t start, cur; /* the piece being made: [start, cur) so far */
};

/* A statement ends at c: the piece takes it, or ends before it. */
static int cut_at(struct cuts *k, size_t c, bool end, struct mg_error *err)
{
	size_t *v;

	if (!end && (c - k->start <= CHUNK_BYTES || k->cur == k->start)) {
		k->cur = c;
		return 0;
	}
	if ((v = realloc(k->v, (k->n + 2) * sizeof(*v))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	k->v = v;
	if (end && (c - k->start <= CHUNK_BYTES || k->cur == k->start)) {
		k->v[k->n++] = c;
		return 0;
	}
	k->v[k->n++] = k->start = k->cur;
	k->cur = c;
	if (end)
		k->v[k->n++] = c;
	return 0;
}

/* Where to cut a big file: after about CHUNK_BYTES of whole statements.
 * None if it cannot split the file (comments only, an open quote): it
 * then goes whole, and the server says what is wrong. */
static int chunk_ends(size_t **out, size_t *n, const char *sql, size_t len,
                      struct mg_error *err)
{
	struct cuts k = { 0 };
	struct walk wk;
	struct mg_stmt st;
	size_t seen = 0;
	int rc = 0, more;

	*out = NULL;
	*n = 0;
	if (len <= CHUNK_BYTES)
		return 0;
	walk_init(&wk, sql, len);
	/* a statement ends where the next one starts; the first piece
	 * starts at 0, with whatever comes before the first statement */
	while (rc == 0 && (more = walk_next(&wk, &st, NULL)) > 0)
		if (seen++ > 0)
			rc = cut_at(&k, st.off, false, err);
	if (rc == 0 && more == 0 && seen > 0)
		rc = cut_at(&k, len, true, err);
	walk_dispose(&wk);
	if (rc < 0 || more < 0 || seen == 0) {
		free(k.v);
		return rc;
	}
	*out = k.v;
	*n = k.n;
	return 0;
}

/* The whole file in one simple-protocol query (a big one in a few). */
static int exec_whole(struct pg_conn *c, const char *sql, size_t len,
                      const struct mg_script_hooks *hooks,
                      struct mg_script_result *res, struct mg_error *err)
{
	struct track k = { .hooks = hooks, .line0 = 1, .res = res };
	struct mg_line_cursor lines = { sql, 0, 1 };
	bool in_txn = c->begin_pending ||
	              PQtransactionStatus(c->pg) == PQTRANS_INTRANS;
	size_t *ends = NULL, nends = 0, i, from = 0, nres, done = 0;
	unsigned line = 0;
	int rc;

	if ((rc = chunk_ends(&ends, &nends, sql, len, err)) < 0)
		return rc;
	if (nends == 0)
		rc = exec_query(c, sql, len, &k, &done, &res->line, err);
	for (i = 0; i < nends && rc == 0; from = ends[i++]) {
		k.line0 = mg_line_cursor_at(&lines, from);
		rc = exec_query(c, sql + from, ends[i] - from, &k, &nres,
		                &line, err);
		done += nres;
		if (rc < 0 && line > 0)
			res->line = mg_sql_line_at(sql, from) + line - 1;
		/* a COMMIT in the file: what follows must not run outside
		 * our transaction (the check below reports it) */
		if (in_txn && PQtransactionStatus(c->pg) != PQTRANS_INTRANS)
			break;
	}
	free(ends);
	if (rc == 0)
		res->done = done;
	/* whatever the static check missed: the file ended our
	 * transaction, and what it did may be committed */
	if (rc == 0 && in_txn &&
	    PQtransactionStatus(c->pg) != PQTRANS_INTRANS) {
		res->committed = res->done;
		rc = mg_error_set(err, MG_EINVALID,
		                  "the file ended migrate's transaction "
		                  "(COMMIT or ROLLBACK in the file)");
	}
	return rc;
}

/* -- migrate:no-transaction: statement by statement, so that each one
 * runs on its own (CREATE INDEX CONCURRENTLY refuses a multi-statement
 * query, which is an implicit transaction). */
static int exec_each(struct pg_conn *c, const char *sql, size_t len,
                     const struct mg_script_hooks *hooks,
                     struct mg_script_result *res, struct mg_error *err)
{
	struct track k = { .hooks = hooks };
	struct mg_stmts stmts = { 0 };
	const char *why;
	size_t i;
	int rc;

	if ((rc = mg_split(&stmts, sql, len, MG_SPLIT_POSTGRES, err)) < 0) {
		if (err != NULL)
			res->line = err->line;
		return rc;
	}
	res->total = stmts.n;

	for (i = 0; i < stmts.n; i++) {
		const struct mg_stmt *s = &stmts.v[i];
		char *one = strndup(sql + s->off, s->len);
		PGresult *r;

		if (one == NULL) {
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
			break;
		}
		k.line = mg_stmt_own_line(sql, s);
		k.t = mg_stmt_clock_us();
		if (hooks != NULL && hooks->stmt_start != NULL)
			hooks->stmt_start(hooks->ctx, k.line);
		r = PQexec(c->pg, one);
		if (PQresultStatus(r) == PGRES_COPY_IN ||
		    PQresultStatus(r) == PGRES_COPY_OUT ||
		    PQresultStatus(r) == PGRES_COPY_BOTH) {
			rc = copy_refused(c, PQresultStatus(r), err);
			res->line = s->line;
			PQclear(r);
			while ((r = PQgetResult(c->pg)) != NULL)
				PQclear(r);
			free(one);
			break;
		}
		if (PQresultStatus(r) != PGRES_COMMAND_OK &&
		    PQresultStatus(r) != PGRES_TUPLES_OK) {
			const char *pos = PQresultErrorField(
			        r, PG_DIAG_STATEMENT_POSITION);

			rc = result_error(err, r, c->pg);
			res->line = mg_sql_line_at(
			        sql,
			        s->off + mg_stmt_skip_comments(one, s->len));
			/* a failed CREATE INDEX CONCURRENTLY leaves an invalid
			 * index behind: something of it stays */
			why = mg_stmt_txn_problem(one, s->len, true);
			if (why != NULL && strstr(why, "cannot run") != NULL)
				res->committed = res->done + 1;
			if (pos != NULL)
				res->line = mg_sql_line_at(
				        sql, s->off + char_to_byte(one, s->len,
				                                   atol(pos)));
		}
		if (rc == 0)
			count_rows(res, r);
		if (rc == 0 && hooks != NULL)
			track_stat(&k, r);
		PQclear(r);
		free(one);
		if (rc < 0)
			break;
		res->done++;
		/* not inside a BEGIN of the file's own: it is there for good */
		if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
			res->committed = res->done;
	}
	mg_stmts_dispose(&stmts);
	/* no COMMIT of ours ends this file: reset here (a transaction of
	 * its own left open is reset by the runner's ROLLBACK) */
	if (PQtransactionStatus(c->pg) == PQTRANS_IDLE &&
	    simple(c, c->reset_sql, NULL) == 0)
		after_reset(c);
	return rc;
}

static int pg_exec_script(struct mg_conn *conn, const char *sql, size_t len,
                          unsigned flags, const struct mg_script_hooks *hooks,
                          struct mg_script_result *res, struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;

	memset(res, 0, sizeof(*res));
	if (flags & MG_SCRIPT_NO_TXN)
		return exec_each(c, sql, len, hooks, res, err);
	return exec_whole(c, sql, len, hooks, res, err);
}

/* Our statements use '?'; libpq wants $1, $2... ('?' in literals kept) */
static int numbered(struct mg_buf *out, const char *sql)
{
	bool quoted = false;
	int n = 0;

	for (; *sql; sql++) {
		if (*sql == '\'')
			quoted = !quoted;
		if (*sql == '?' && !quoted)
			mg_buf_addf(out, "$%d", ++n);
		else
			mg_buf_addc(out, *sql);
	}
	return n;
}

static int take_rows(struct mg_rows **out, const PGresult *r,
                     struct mg_error *err)
{
	int nrows = PQntuples(r), ncols = PQnfields(r), i, j;
	struct mg_rows *rows = mg_rows_new((size_t)ncols);
	const char **vals = calloc((size_t)ncols + 1, sizeof(*vals));
	int rc = 0;

	if (rows == NULL || vals == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < ncols; j++)
			vals[j] = PQgetisnull(r, i, j) ? NULL
			                               : PQgetvalue(r, i, j);
		if (mg_rows_add(rows, vals, (size_t)ncols) < 0) {
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	*out = rows;
	rows = NULL;
cleanup:
	free(vals);
	mg_rows_free(rows);
	return rc;
}

static bool send_setup(struct pg_conn *c)
{
	size_t i;

	for (i = 0; i < c->nsetup; i++)
		if (!PQsendQueryParams(c->pg, c->setup[i], 0, NULL, NULL, NULL,
		                       NULL, 0))
			return false;
	return true;
}

/*
 * A pipeline of [BEGIN,] the statement[, COMMIT]: one round trip. An
 * error aborts the rest of the pipeline and leaves the transaction
 * aborted, for the caller to roll back.
 */
static int pg_query(struct mg_rows **out, struct mg_conn *conn, const char *sql,
                    const char *const *params, size_t nparams, unsigned flags,
                    struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;
	struct mg_buf q = MG_BUF_INIT;
	bool begin = c->begin_pending, commit = flags & MG_Q_COMMIT;
	int rc = 0, expect, pre, i = 0;
	PGresult *r;

	if (out != NULL)
		*out = NULL;
	/* a user's check query may hold a '?' of its own (jsonb) */
	if (nparams > 0)
		numbered(&q, sql);
	else
		mg_buf_add(&q, sql);
	if ((rc = mg_buf_check(&q, err)) < 0)
		goto cleanup;
	c->begin_pending = false;
	if (!PQenterPipelineMode(c->pg)) {
		rc = result_error(err, NULL, c->pg);
		goto cleanup;
	}
	if ((begin && !PQsendQueryParams(c->pg, "BEGIN", 0, NULL, NULL, NULL,
	                                 NULL, 0)) ||
	    !PQsendQueryParams(c->pg, q.ptr, (int)nparams, NULL, params, NULL,
	                       NULL, 0) ||
	    (commit && !PQsendQueryParams(c->pg, "COMMIT", 0, NULL, NULL, NULL,
	                                  NULL, 0)) ||
	    (commit && !send_setup(c)) || !PQpipelineSync(c->pg)) {
		rc = result_error(err, NULL, c->pg);
		goto drain;
	}
	pre = begin ? 1 : 0;
	/* after a file's COMMIT the session is reset too, so that what
	 * runs between files (migrate test's schema reads) sees defaults */
	expect = pre + 1 + (commit ? 1 + (int)c->nsetup : 0);
	if (commit)
		after_reset(c);
	for (i = 0; i < expect; i++) {
		ExecStatusType st;

		r = PQgetResult(c->pg);
		st = PQresultStatus(r);
		if (is_copy(st)) { /* a check query such as COPY ... TO STDOUT */
			int crc = copy_refused(c, st, rc == 0 ? err : NULL);

			rc = rc == 0 ? crc : rc;
		} else if (st == PGRES_FATAL_ERROR && rc == 0)
			rc = result_error(err, r, c->pg);
		else if (st == PGRES_TUPLES_OK && rc == 0 && out != NULL &&
		         i == pre)
			rc = take_rows(out, r, err);
		PQclear(r);
		/* each query's results end with a NULL */
		while ((r = PQgetResult(c->pg)) != NULL &&
		       PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
			if (is_copy(PQresultStatus(r)))
				copy_refused(c, PQresultStatus(r), NULL);
			PQclear(r);
		}
		if (r != NULL) { /* the sync came early: queries aborted */
			PQclear(r);
			goto exit;
		}
	}
drain:
	while ((r = PQgetResult(c->pg)) != NULL) {
		bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;

		PQclear(r);
		if (sync)
			break;
	}
exit:
	PQexitPipelineMode(c->pg);
	/* a statement without rows still gives the caller a result */
	if (rc == 0 && out != NULL && *out == NULL &&
	    (*out = mg_rows_new(0)) == NULL)
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
cleanup:
	if (rc < 0 && out != NULL && *out != NULL) {
		mg_rows_free(*out);
		*out = NULL;
	}
	mg_buf_dispose(&q);
	return rc;
}

/* COMMIT or ROLLBACK, and the session's settings back to our defaults */
static int end_txn(struct pg_conn *c, const char *what, struct mg_error *err)
{
	struct mg_buf sql = MG_BUF_INIT;
	int rc;

	mg_buf_addf(&sql, "%s;%s", what, c->reset_sql);
	if ((rc = mg_buf_check(&sql, err)) == 0 &&
	    (rc = simple(c, sql.ptr, err)) == 0)
		after_reset(c);
	mg_buf_dispose(&sql);
	return rc;
}

static int pg_txn(struct mg_conn *conn, enum mg_txn op, struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;

	switch (op) {
	case MG_TXN_BEGIN:
		c->begin_pending = true; /* goes out with the next query */
		return 0;
	case MG_TXN_COMMIT:
		if (c->begin_pending) {
			c->begin_pending = false;
			return 0;
		}
		return end_txn(c, "COMMIT", err);
	case MG_TXN_ROLLBACK:
		if (c->begin_pending) {
			c->begin_pending = false;
			return 0;
		}
		if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
			return 0;
		return end_txn(c, "ROLLBACK", err);
	}
	return 0;
}

static int pg_in_txn(bool *out, struct mg_conn *conn, struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;
	PGTransactionStatusType t = PQtransactionStatus(c->pg);

	(void)err;
	/* read-only stays so: PostgreSQL refuses to make a transaction
	 * read-write once it has run a query */
	*out = c->begin_pending || t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
	return 0;
}

/* Names the session holding our advisory lock, from pg_locks. */
static void describe_holder(struct pg_conn *c, int64_t key,
                            struct mg_error *err)
{
	char sql[768];
	PGresult *r;

	/* a bigint advisory key is split into classid (high 32 bits) and
	 * objid (low 32 bits), with objsubid 1 */
	snprintf(sql, sizeof(sql),
	         "SELECT a.pid, coalesce(a.application_name, ''), "
	         "coalesce(host(a.client_addr), 'local socket'), "
	         "coalesce(a.usename, ''), "
	         "to_char(a.backend_start AT TIME ZONE 'UTC', "
	         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	         "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
	         "WHERE l.locktype = 'advisory' AND l.granted "
	         "AND l.objsubid = 1 AND l.classid = %" PRIu32 "::oid "
	         "AND l.objid = %" PRIu32 "::oid AND l.database = "
	         "(SELECT oid FROM pg_database WHERE datname = "
	         "current_database())",
	         (uint32_t)((uint64_t)key >> 32), (uint32_t)key);
	r = PQexec(c->pg, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		mg_error_detail(err,
		                "held by server process %s (%s), user "
		                "'%s' from %s, connected since %s",
		                PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
		                PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 2),
		                PQgetvalue(r, 0, 4));
	PQclear(r);
}

static int pg_lock(struct mg_conn *conn, const char *name, int64_t key,
                   int timeout_s, struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;
	char sql[256];
	PGresult *r;
	int rc = 0;

	(void)name;
	/* lock_timeout bounds the wait (0 would mean "forever"), and
	 * nothing else may: a statement_timeout of the role, the database
	 * or the URL's options would cut the wait short with an error that
	 * is not "locked". SET LOCAL in one implicit transaction: both are
	 * what they were once it ends, whether the lock came or not. */
	if (timeout_s > 0)
		snprintf(sql, sizeof(sql),
		         "SET LOCAL statement_timeout = 0; SET LOCAL "
		         "lock_timeout = %d; SELECT "
		         "pg_advisory_lock(%" PRId64 "), true",
		         timeout_s * 1000, key);
	else
		snprintf(sql, sizeof(sql),
		         "SET LOCAL statement_timeout = 0; SELECT 1, "
		         "pg_try_advisory_lock(%" PRId64 ")",
		         key);
	if (!PQsendQuery(c->pg, sql))
		return result_error(err, NULL, c->pg);
	while ((r = PQgetResult(c->pg)) != NULL) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		/* 55P03 lock_not_available: our lock_timeout expired */
		if (PQresultStatus(r) == PGRES_FATAL_ERROR && rc == 0)
			rc = state && strcmp(state, "55P03") == 0
			             ? MG_ELOCKED
			             : result_error(err, r, c->pg);
		else if (PQresultStatus(r) == PGRES_TUPLES_OK && rc == 0 &&
		         strcmp(PQgetvalue(r, 0, 1), "t") != 0)
			rc = MG_ELOCKED;
		PQclear(r);
	}
	if (rc == MG_ELOCKED) {
		mg_error_set(err, MG_ELOCKED,
		             "another migrate run holds the "
		             "lock: not acquired within %d s",
		             timeout_s);
		describe_holder(c, key, err);
	}
	c->locked = rc == 0;
	return rc;
}

/* The lock lives on the main session: held while that session is. */
static int pg_lock_held(struct mg_conn *conn, const char *name, int64_t key,
                        struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;

	(void)name;
	(void)key;
	if (PQstatus(c->pg) != CONNECTION_OK)
		return mg_error_set(err, MG_ELOCKED,
		                    "the run lock was lost: the session "
		                    "holding it ended");
	return 0;
}

/* Issue 12: who holds the run lock now (its session's label, which
 * names the runner's pid and host), for a runner that met another one
 * and for `status`. */
static int pg_lock_holder(struct mg_conn *conn, const char *name,
                          int64_t key, char *who, size_t size)
{
	struct pg_conn *c = (struct pg_conn *)conn;
	char sql[768];
	PGresult *r;
	int rc = -1;

	(void)name;
	who[0] = '\0';
	snprintf(sql, sizeof(sql),
	         "SELECT a.pid, coalesce(a.application_name, '') "
	         "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
	         "WHERE l.locktype = 'advisory' AND l.granted "
	         "AND l.objsubid = 1 AND l.classid = %" PRIu32 "::oid "
	         "AND l.objid = %" PRIu32 "::oid AND l.database = "
	         "(SELECT oid FROM pg_database WHERE datname = "
	         "current_database())",
	         (uint32_t)((uint64_t)key >> 32), (uint32_t)key);
	r = PQexec(c->pg, sql);
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		rc = PQntuples(r) > 0;
		if (rc)
			snprintf(who, size, "%s (server process %s)",
			         PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return rc;
}

static void pg_unlock(struct mg_conn *conn, const char *name, int64_t key)
{
	struct pg_conn *c = (struct pg_conn *)conn;
	char sql[96];
	PGresult *r;

	(void)name;
	if (!c->locked)
		return;
	c->locked = false;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%" PRId64 ")",
	         key);
	r = PQexec(c->pg, sql);
	/* false: the lock was not held any more, with only a server
	 * WARNING for it (issue 12). Something between the server and us
	 * moved the session, or a file released it (DISCARD ALL,
	 * pg_advisory_unlock_all()): the run was not guarded to its end,
	 * and that must be seen. */
	if (PQresultStatus(r) == PGRES_TUPLES_OK &&
	    strcmp(PQgetvalue(r, 0, 0), "t") != 0 && c->base.on_notice != NULL)
		c->base.on_notice(c->base.notice_ctx,
		                  "WARNING: the run lock was no longer held "
		                  "when the run ended (pg_advisory_unlock "
		                  "returned false): a migration released it "
		                  "(DISCARD ALL, pg_advisory_unlock_all) or a "
		                  "connection pooler moved the session");
	PQclear(r);
}

/*
 * Issue 12, behind a connection pooler (detect_pooler): the run lock is
 * pg_advisory_xact_lock() taken first in each transaction, on whatever
 * server connection the pooler gives that transaction, and released by
 * its COMMIT or ROLLBACK; the runner then re-reads the ledger in each
 * file's transaction (no MG_CAP_RUN_LOCK), as on SQLite.
 */
static int pooled_lock(struct mg_conn *conn, const char *name, int64_t key,
                       int timeout_s, struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;

	(void)name;
	(void)err;
	c->xlock = true;
	c->xkey = key;
	c->xtimeout_s = timeout_s;
	return 0;
}

static void pooled_unlock(struct mg_conn *conn, const char *name, int64_t key)
{
	(void)name;
	(void)key;
	((struct pg_conn *)conn)->xlock = false;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the open transaction: the run lock, polled without blocking, so
 * that no lock_timeout of ours or the user's is touched. */
static int take_xact_lock(struct pg_conn *c, struct mg_error *err)
{
	long long deadline = mono_ms() + (long long)c->xtimeout_s * 1000;
	struct timespec pause = { 0, 100 * 1000000L };
	char sql[96];

	snprintf(sql, sizeof(sql),
	         "SELECT pg_try_advisory_xact_lock(%" PRId64 ")", c->xkey);
	for (;;) {
		PGresult *r = PQexec(c->pg, sql);
		bool got;
		int rc;

		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			rc = result_error(err, r, c->pg);
			PQclear(r);
			return rc;
		}
		got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		PQclear(r);
		if (got)
			return 0;
		if (mono_ms() >= deadline)
			break;
		nanosleep(&pause, NULL);
	}
	mg_error_set(err, MG_ELOCKED,
	             "another migrate run holds the lock: not acquired "
	             "within %d s",
	             c->xtimeout_s);
	describe_holder(c, c->xkey, err);
	return MG_ELOCKED;
}

static int pooled_txn(struct mg_conn *conn, enum mg_txn op,
                      struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;
	struct mg_buf sql = MG_BUF_INIT;
	int rc;

	if (op != MG_TXN_BEGIN)
		return pg_txn(conn, op, err);
	/* sent now, not deferred: the lock is held before anything of the
	 * transaction reads the ledger. A read-only session's SET is LOCAL
	 * too, too late for this transaction: say so in the BEGIN */
	mg_buf_addf(&sql, "%s;%s", c->read_only ? "BEGIN READ ONLY" : "BEGIN",
	            c->local_sql);
	if ((rc = mg_buf_check(&sql, err)) == 0)
		rc = simple(c, sql.ptr, err);
	mg_buf_dispose(&sql);
	if (rc == 0 && c->xlock && (rc = take_xact_lock(c, err)) < 0)
		simple(c, "ROLLBACK", NULL);
	return rc;
}

/* Outside a transaction there is no lock to hold behind a pooler. */
static int pooled_check_script(const char *sql, size_t len, unsigned flags,
                               unsigned *line, struct mg_error *err)
{
	if (flags & MG_SCRIPT_NO_TXN) {
		*line = 0;
		mg_error_set(err, MG_EINVALID,
		             "'-- migrate:no-transaction' cannot run through a "
		             "connection pooler (such as pgbouncer): there the "
		             "run lock "
		             "is taken inside each file's transaction, and this "
		             "file has none");
		mg_error_hint(err, "run it with a URL that connects to "
		                   "PostgreSQL directly, not through the pooler");
		return MG_EINVALID;
	}
	return pg_check_script(sql, len, flags, line, err);
}

/*
 * Two 64-bit hashes of the row's text form (ROW(...)::text quotes values
 * and leaves NULL empty, so NULL and '' differ), with different seeds,
 * each summed over all rows. sum(bigint) accumulates in 128 bits, so it
 * neither wraps nor loses a duplicate row. hashtextextended() (PostgreSQL
 * 11) is three times faster than md5() here and just as order-free; it is
 * made to spread accidental differences, not to resist a forger.
 */
static void pg_fingerprint_sql(struct mg_buf *out, const char *table,
                               const char *const *cols, size_t ncols)
{
	size_t i;

	mg_buf_add(out, "SELECT count(*) || ':' || coalesce(sum("
	                "hashtextextended(r, 0)), 0) || ':' || coalesce(sum("
	                "hashtextextended(r, 1)), 0) FROM (SELECT ROW(");
	for (i = 0; i < ncols; i++)
		mg_buf_addf(out, "%s%s", i ? ", " : "", cols[i]);
	mg_buf_addf(out, ")::text AS r FROM %s) AS mg_rows", table);
}

/* Everything outside the system schemas, by catalog, with definitions
 * from the server's own pg_get_*def() functions. */
static void pg_schema_sql(struct mg_buf *out)
{
	const char *user_ns = "n.nspname NOT IN ('pg_catalog', "
	                      "'information_schema', 'pg_toast') AND "
	                      "n.nspname NOT LIKE 'pg_temp%'";

	mg_buf_addf(
	        out,
	        "SELECT 'relation', n.nspname || '.' || c.relname, "
	        "c.relkind::text "
	        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	        "WHERE %s AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
	        "UNION ALL SELECT 'column', n.nspname || '.' || c.relname || "
	        "'.' "
	        "|| a.attname, format_type(a.atttypid, a.atttypmod) || "
	        "CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || "
	        "coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') "
	        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
	        "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN "
	        "pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
	        "WHERE %s AND a.attnum > 0 AND NOT a.attisdropped AND "
	        "c.relkind IN ('r', 'p', 'v', 'm', 'f') "
	        "UNION ALL SELECT 'index', n.nspname || '.' || i.relname, "
	        "pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON "
	        "i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid "
	        "JOIN pg_namespace n ON n.oid = i.relnamespace WHERE %s "
	        "UNION ALL SELECT 'constraint', n.nspname || '.' || "
	        "c.conrelid::regclass::text || '.' || c.conname, "
	        "pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN "
	        "pg_namespace n ON n.oid = c.connamespace WHERE %s AND "
	        "c.conrelid <> 0 "
	        "UNION ALL SELECT 'view', n.nspname || '.' || c.relname, "
	        "pg_get_viewdef(c.oid) FROM pg_class c JOIN pg_namespace n ON "
	        "n.oid = c.relnamespace WHERE %s AND c.relkind IN ('v', 'm') "
	        "UNION ALL SELECT 'function', n.nspname || '.' || p.proname || "
	        "'(' || pg_get_function_identity_arguments(p.oid) || ')', "
	        "md5(pg_get_functiondef(p.oid)) FROM pg_proc p JOIN "
	        "pg_namespace n ON n.oid = p.pronamespace WHERE %s AND "
	        "p.prokind IN ('f', 'p', 'w') "
	        "UNION ALL SELECT 'trigger', t.tgrelid::regclass::text || '.' "
	        "|| "
	        "t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN "
	        "pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid "
	        "= "
	        "c.relnamespace WHERE %s AND NOT t.tgisinternal "
	        "UNION ALL SELECT 'type', n.nspname || '.' || t.typname, "
	        "t.typtype::text || coalesce(':' || (SELECT string_agg("
	        "e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e "
	        "WHERE e.enumtypid = t.oid), '') FROM pg_type t JOIN "
	        "pg_namespace n ON n.oid = t.typnamespace WHERE %s AND "
	        "t.typtype IN ('e', 'd', 'c') AND NOT EXISTS (SELECT 1 FROM "
	        "pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c') "
	        "UNION ALL SELECT 'extension', e.extname, e.extversion FROM "
	        "pg_extension e",
	        user_ns, user_ns, user_ns, user_ns, user_ns, user_ns, user_ns,
	        user_ns);
}

static const char *pg_schema(struct mg_conn *conn)
{
	return ((struct pg_conn *)conn)->schema;
}

static const char *pg_user(struct mg_conn *conn)
{
	return PQuser(((struct pg_conn *)conn)->pg);
}

static const char *pg_secret(struct mg_conn *conn)
{
	const char *pw = PQpass(((struct pg_conn *)conn)->pg);

	return pw != NULL && pw[0] != '\0' ? pw : NULL;
}

/*
 * The ledger's append lock (jobs, issue 11): a transaction-scoped
 * advisory lock, which needs no privilege on the table (LOCK TABLE would
 * need UPDATE) and ends with the transaction. Two int4 keys: a key space
 * apart from the run and job locks' bigint keys.
 */
static int pg_ledger_lock(struct mg_conn *conn, const char *table,
                          struct mg_error *err)
{
	const char *params[1] = { table };

	return pg_query(NULL, conn,
	                "SELECT pg_advisory_xact_lock(1835364460, "
	                "hashtext(?))",
	                params, 1, 0, err);
}

static const char *const pg_schemes[] = { "postgres://", "postgresql://",
	                                  NULL };

/* Production safety (issue 14). */

static void bound_sql(struct mg_buf *b, const char *name, int64_t ms)
{
	if (ms >= 0)
		mg_buf_addf(b, "SET %s = %" PRId64 ";", name, ms);
}

/*
 * lock_timeout and statement_timeout. The run's defaults join the setup
 * that every RESET ALL is followed by; a file's own bounds are SET for
 * the file (one round trip, only when they differ) and undone by the
 * reset that ends it.
 */
static int pg_set_bounds(struct mg_conn *conn, int64_t lock_ms, int64_t stmt_ms,
                         unsigned flags, struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;
	struct mg_buf sql = MG_BUF_INIT;
	char one[64];
	size_t i;
	int rc = 0;

	if (flags & MG_BOUNDS_DEFAULT) {
		if (c->bounds_at == 0)
			c->bounds_at = c->nsetup;
		for (i = c->bounds_at; i < c->nsetup; i++)
			free(c->setup[i]);
		c->nsetup = c->bounds_at;
		if (lock_ms >= 0) {
			snprintf(one, sizeof(one),
			         "SET lock_timeout = %" PRId64, lock_ms);
			if ((rc = add_setup(c, one, err)) < 0)
				goto cleanup;
		}
		if (stmt_ms >= 0) {
			snprintf(one, sizeof(one),
			         "SET statement_timeout = %" PRId64, stmt_ms);
			if ((rc = add_setup(c, one, err)) < 0)
				goto cleanup;
		}
		mg_buf_truncate(&sql, 0);
		for (i = 0; i < c->nsetup; i++)
			mg_buf_addf(&sql, "%s;", c->setup[i]);
		if ((rc = mg_buf_check(&sql, err)) < 0)
			goto cleanup;
		free(c->reset_sql);
		if ((c->reset_sql = mg_buf_detach(&sql)) == NULL) {
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
			goto cleanup;
		}
		c->def_lock = lock_ms;
		c->def_stmt = stmt_ms;
		c->cur_lock = c->cur_stmt = MG_BOUND_UNSET - 1; /* unknown */
	}
	if (lock_ms == c->cur_lock && stmt_ms == c->cur_stmt)
		goto cleanup;
	/* UNSET after a bound: the server's own value again */
	if (lock_ms < 0)
		mg_buf_add(&sql, "RESET lock_timeout;");
	if (stmt_ms < 0)
		mg_buf_add(&sql, "RESET statement_timeout;");
	bound_sql(&sql, "lock_timeout", lock_ms);
	bound_sql(&sql, "statement_timeout", stmt_ms);
	if ((rc = mg_buf_check(&sql, err)) == 0 &&
	    (rc = simple(c, sql.ptr, err)) == 0) {
		c->cur_lock = lock_ms;
		c->cur_stmt = stmt_ms;
	}
cleanup:
	mg_buf_dispose(&sql);
	return rc;
}

static int pg_read_only(char *why, size_t size, struct mg_conn *conn,
                        struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;
	PGresult *r;
	int rc = 0;

	/* default_transaction_read_only: what a transaction of ours gets
	 * (the role's, the database's or the URL's setting) */
	r = PQexec(c->pg, "SELECT pg_is_in_recovery(), "
	                  "current_setting('default_transaction_read_only'), "
	                  "current_setting('transaction_read_only')");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = result_error(err, r, c->pg);
	} else if (strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
		snprintf(why, size, "is a hot standby (read-only)");
		rc = 1;
	} else if (strcmp(PQgetvalue(r, 0, 1), "on") == 0 ||
	           strcmp(PQgetvalue(r, 0, 2), "on") == 0) {
		snprintf(why, size,
		         "is read-only (default_transaction_read_only is on "
		         "for this session)");
		rc = 1;
	}
	PQclear(r);
	return rc;
}

static int pg_lag(char *out, size_t size, struct mg_conn *conn,
                  struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;
	PGresult *r;
	int rc = 0;

	/* an idle primary makes the replay time look old although nothing
	 * is missing: say whether all that arrived was replayed too */
	r = PQexec(
	        c->pg,
	        "SELECT pg_is_in_recovery(), "
	        "coalesce(round(extract(epoch FROM now() - "
	        "pg_last_xact_replay_timestamp())::numeric, 1)::text, "
	        "'unknown'), "
	        "coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME "
	        "ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'none yet'), "
	        "pg_last_wal_receive_lsn() IS NOT DISTINCT FROM "
	        "pg_last_wal_replay_lsn()");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = result_error(err, r, c->pg);
	} else if (strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
		snprintf(out, size,
		         "%s s behind the primary (last replayed transaction "
		         "committed at %s; %s)",
		         PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
		         strcmp(PQgetvalue(r, 0, 3), "t") == 0
		                 ? "all WAL received so far is replayed"
		                 : "received WAL still being replayed");
		rc = 1;
	}
	PQclear(r);
	return rc;
}

/*
 * One query of a watcher session ($1, $2 parameters), answered within
 * MG_WATCH_ANSWER_MS or failed: a frozen server must not hang the
 * watcher, whose heartbeat is what finds it.
 */
static int watch_query(struct mg_rows **out, struct pg_conn *c, const char *sql,
                       const char *const *params, int n, struct mg_error *err)
{
	struct mg_buf q = MG_BUF_INIT;
	int64_t deadline = 0, now;
	struct pollfd pfd;
	struct timespec ts;
	PGresult *r, *last = NULL;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	/* our '?' placeholders as libpq's $1, $2 */
	if (n > 0)
		numbered(&q, sql);
	else
		mg_buf_add(&q, sql);
	if ((rc = mg_buf_check(&q, err)) < 0 ||
	    !PQsendQueryParams(c->pg, q.ptr, n, NULL, params, NULL, NULL, 0)) {
		mg_buf_dispose(&q);
		return rc < 0 ? rc : result_error(err, NULL, c->pg);
	}
	mg_buf_dispose(&q);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	           MG_WATCH_ANSWER_MS;
	for (;;) {
		while (!PQisBusy(c->pg)) {
			if ((r = PQgetResult(c->pg)) == NULL)
				goto done;
			PQclear(last);
			last = r;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (now >= deadline) {
			PQclear(last);
			return mg_error_set(err, MG_ERR,
			                    "the server did not answer within "
			                    "%d s",
			                    MG_WATCH_ANSWER_MS / 1000);
		}
		pfd.fd = PQsocket(c->pg);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			break;
		if (!PQconsumeInput(c->pg))
			break;
	}
	PQclear(last);
	return result_error(err, NULL, c->pg);
done:
	if (PQresultStatus(last) != PGRES_TUPLES_OK &&
	    PQresultStatus(last) != PGRES_COMMAND_OK)
		rc = result_error(err, last, c->pg);
	else if (out != NULL)
		rc = take_rows(out, last, err);
	PQclear(last);
	return rc;
}

static int64_t pg_session_id(struct mg_conn *conn)
{
	return PQbackendPID(((struct pg_conn *)conn)->pg);
}

/*
 * An idle-in-transaction blocker shows its last statement, which is not
 * necessarily the one that took the lock; its transaction's start is the
 * "since". The last column says what the waiter waits for.
 */
static int pg_blockers(struct mg_rows **out, struct mg_conn *watch,
                       int64_t waiter, struct mg_error *err)
{
	char pid[32];
	const char *params[] = { pid, pid };

	snprintf(pid, sizeof(pid), "%" PRId64, waiter);
	return watch_query(
	        out, (struct pg_conn *)watch,
	        "SELECT a.pid::text, coalesce(a.usename, ''), "
	        "coalesce(a.application_name, ''), coalesce(a.state, ''), "
	        "coalesce(to_char(coalesce(a.xact_start, a.query_start, "
	        "a.backend_start) AT TIME ZONE 'UTC', "
	        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
	        "left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), "
	        "60), "
	        "coalesce((SELECT string_agg(l.mode || ' on ' || "
	        "coalesce(l.relation::regclass::text, l.locktype), ', ') "
	        "FROM pg_locks l WHERE l.pid = CAST(? AS int) AND NOT "
	        "l.granted), '') "
	        "FROM pg_stat_activity a "
	        "WHERE a.pid = ANY (pg_blocking_pids(CAST(? AS int))) "
	        "ORDER BY a.pid",
	        params, 2, err);
}

static int pg_cancel(struct mg_conn *conn, struct mg_conn *watch,
                     struct mg_error *err)
{
	struct pg_conn *c = (struct pg_conn *)conn;
	char buf[256];

	(void)watch;
	/* PQcancel() is safe from another thread (and a signal handler) */
	if (!PQcancel(c->cancel, buf, sizeof(buf)))
		return mg_error_set(err, MG_EDRIVER,
		                    "cannot send the cancel request: %s", buf);
	return 0;
}

static int pg_ping(struct mg_conn *watch, struct mg_error *err)
{
	return watch_query(NULL, (struct pg_conn *)watch, "SELECT 1", NULL, 0,
	                   err);
}

static void pg_abort(struct mg_conn *conn)
{
	struct pg_conn *c = (struct pg_conn *)conn;

	if (PQsocket(c->pg) >= 0)
		shutdown(PQsocket(c->pg), SHUT_RDWR);
}

/* migrate test --locks (issue 14). */

/* Whether the words of w occur in stmt (case-insensitive), as words. */
static bool has_word(const char *stmt, size_t len, const char *w)
{
	size_t n = strlen(w), i;

	for (i = 0; i + n <= len; i++)
		if (strncasecmp(stmt + i, w, n) == 0 &&
		    (i == 0 || !isalnum((unsigned char)stmt[i - 1])) &&
		    (i + n == len || !isalnum((unsigned char)stmt[i + n])))
			return true;
	return false;
}

/* A safer form of a statement that locks an existing table hard. */
static const char *lock_hint(const char *stmt, size_t len)
{
	size_t p = mg_stmt_skip_comments(stmt, len);

	stmt += p;
	len -= p;
	if (has_word(stmt, len, "CREATE") && has_word(stmt, len, "INDEX") &&
	    !has_word(stmt, len, "CONCURRENTLY"))
		return "CREATE INDEX CONCURRENTLY (in a file of its own with "
		       "-- migrate:no-transaction) does not block writes";
	if (!has_word(stmt, len, "ALTER") || !has_word(stmt, len, "TABLE"))
		return NULL;
	if ((has_word(stmt, len, "REFERENCES") ||
	     has_word(stmt, len, "CHECK")) &&
	    has_word(stmt, len, "ADD") && !has_word(stmt, len, "VALID"))
		return "add the constraint NOT VALID (a brief lock, no scan), "
		       "then VALIDATE CONSTRAINT in a later migration: "
		       "validating lets reads and writes go on";
	if (has_word(stmt, len, "SET") && has_word(stmt, len, "NOT") &&
	    has_word(stmt, len, "NULL"))
		return "first add CHECK (col IS NOT NULL) NOT VALID and "
		       "VALIDATE it in a migration of its own: SET NOT NULL "
		       "then skips its full scan under ACCESS EXCLUSIVE";
	if (has_word(stmt, len, "TYPE") && has_word(stmt, len, "COLUMN"))
		return "a type change may rewrite the whole table under ACCESS "
		       "EXCLUSIVE: add a new column, backfill it in batches, "
		       "and switch over instead";
	return NULL;
}

static int pg_lock_rehearse(struct mg_conn *conn, const char *sql, size_t len,
                            void (*after)(void *ctx,
                                          const struct mg_lock_step *step),
                            void *ctx, struct mg_error *err)
{
	struct mg_stmts stmts = { 0 };
	struct mg_rows *before = NULL, *locks = NULL;
	struct mg_lock_step step;
	const char *oids;
	char *one = NULL;
	size_t i;
	int rc;

	/* the tables that exist before the file: locks on those matter */
	if ((rc = pg_query(&before, conn,
	                   "SELECT coalesce(array_agg(c.oid)::text, '{}') "
	                   "FROM pg_class c JOIN pg_namespace n ON n.oid = "
	                   "c.relnamespace WHERE c.relkind IN ('r', 'p', "
	                   "'m') AND n.nspname NOT IN ('pg_catalog', "
	                   "'information_schema') AND n.nspname NOT LIKE "
	                   "'pg_toast%'",
	                   NULL, 0, 0, err)) < 0)
		return rc;
	oids = mg_rows_get(before, 0, 0);
	if ((rc = mg_split(&stmts, sql, len, MG_SPLIT_POSTGRES, err)) < 0)
		goto cleanup;
	for (i = 0; i < stmts.n; i++) {
		const struct mg_stmt *st = &stmts.v[i];

		free(one);
		if ((one = strndup(sql + st->off, st->len)) == NULL) {
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
			goto cleanup;
		}
		memset(&step, 0, sizeof(step));
		step.line = mg_sql_line_at(
		        sql, st->off + mg_stmt_skip_comments(one, st->len));
		if ((rc = pg_query(NULL, conn, one, NULL, 0, 0, err)) < 0) {
			if (err != NULL)
				err->line = step.line;
			goto cleanup;
		}
		/* the conflict table of the PostgreSQL manual ("Table-Level
		 * Locks"), in the words of who waits */
		mg_rows_free(locks);
		locks = NULL;
		if ((rc = pg_query(
		             &locks, conn,
		             "SELECT c.oid::regclass::text, l.mode, CASE "
		             "WHEN l.mode = 'AccessExclusiveLock' THEN "
		             "'reads and writes' WHEN l.mode IN ('ShareLock', "
		             "'ShareRowExclusiveLock', 'ExclusiveLock') THEN "
		             "'writes' ELSE 'DDL' END, "
		             "pg_total_relation_size(c.oid)::text "
		             "FROM pg_locks l JOIN pg_class c ON c.oid = "
		             "l.relation WHERE l.pid = pg_backend_pid() AND "
		             "l.locktype = 'relation' AND l.granted AND "
		             "l.relation = ANY (CAST(? AS oid[])) ORDER BY 1, "
		             "2",
		             &oids, 1, 0, err)) < 0)
			goto cleanup;
		step.stmt = one;
		step.stmt_len = st->len;
		step.hint = locks->nrows > 0 ? lock_hint(one, st->len) : NULL;
		step.locks = locks;
		after(ctx, &step);
	}
cleanup:
	free(one);
	mg_rows_free(locks);
	mg_rows_free(before);
	mg_stmts_dispose(&stmts);
	return rc;
}

const struct mg_driver mg_driver_postgres = {
	.name = "postgres",
	.schemes = pg_schemes,
	/* "host=db dbname=app", as psql takes */
	.keyword_strings = true,
	.caps = MG_CAP_TXN_DDL | MG_CAP_RUN_LOCK | MG_CAP_INDEX_IF_NOT_EXISTS,
	.ident_quote = '"',
	.ts_type = "timestamptz",
	.ts_param = "CAST(? AS timestamptz)",
	.ts_text = "to_char(%s AT TIME ZONE 'UTC', "
	           "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
	.table_options = "",
	.connect = pg_connect,
	.close = pg_close,
	.exec_script = pg_exec_script,
	.check_script = pg_check_script,
	.query = pg_query,
	.txn = pg_txn,
	.in_txn = pg_in_txn,
	.lock = pg_lock,
	.lock_held = pg_lock_held,
	.unlock = pg_unlock,
	.lock_holder = pg_lock_holder,
	.fingerprint_sql = pg_fingerprint_sql,
	.schema_sql = pg_schema_sql,
	.schema = pg_schema,
	.user = pg_user,
	.secret = pg_secret,
	/* jobs (issue 11) */
	.ledger_lock = pg_ledger_lock,
	/* production safety */
	.set_bounds = pg_set_bounds,
	.read_only = pg_read_only,
	.lag = pg_lag,
	.session_id = pg_session_id,
	.blockers = pg_blockers,
	.cancel = pg_cancel,
	.ping = pg_ping,
	.lock_rehearse = pg_lock_rehearse,
	.abort = pg_abort,
	/* backups */
	.table_info = mg_pg_table_info,
	.update_from_sql = mg_update_from_sql,
	.fingerprint2_sql = mg_pg_fingerprint2_sql,
	.row_bytes_sql = mg_pg_row_bytes_sql,
};

/*
 * The same driver behind a connection pooler (detect_pooler): a copy of
 * mg_driver_postgres, made once, with only the slots that differ there
 * overridden. Two full tables drifted apart at merges (.ledger_lock was
 * lost from one); a slot added to the table above is now in both, and
 * tests/test_driver.c checks that only these differ.
 */
static struct mg_driver pooled_driver;
static pthread_once_t pooled_once = PTHREAD_ONCE_INIT;

static void make_pooled_driver(void)
{
	pooled_driver = mg_driver_postgres;
	/* no session run lock, so no MG_CAP_RUN_LOCK: the per-transaction
	 * lock instead, armed by lock() and taken by txn() */
	pooled_driver.caps &= ~MG_CAP_RUN_LOCK;
	pooled_driver.check_script = pooled_check_script;
	pooled_driver.txn = pooled_txn;
	pooled_driver.lock = pooled_lock;
	pooled_driver.lock_held = NULL;
	pooled_driver.unlock = pooled_unlock;
	/* production safety: only what holds behind a pooler. Not the
	 * bounds, whose session SETs would reach another client's server
	 * connection, nor what names a backend by the pid we were given
	 * (the pooler's, not the server's): the session id, the blockers,
	 * the cancel. Nor the watcher's heartbeat and abort, nor the lock
	 * rehearsal. The read-only refusal and the lag stay. */
	pooled_driver.set_bounds = NULL;
	pooled_driver.session_id = NULL;
	pooled_driver.blockers = NULL;
	pooled_driver.cancel = NULL;
	pooled_driver.ping = NULL;
	pooled_driver.abort = NULL;
	pooled_driver.lock_rehearse = NULL;
	pooled_driver.lock_report_none =
	        "behind a connection pooler the rehearsal cannot keep one "
	        "server session across statements: connect directly for "
	        "--locks";
}

const struct mg_driver *mg_pg_pooled_driver(void)
{
	/* once, whichever connection (or thread: fleets) meets a pooler
	 * first */
	pthread_once(&pooled_once, make_pooled_driver);
	return &pooled_driver;
}
