/*
 * MySQL and MariaDB through MariaDB Connector/C. DDL commits implicitly, so
 * there is no MG_CAP_TXN_DDL: every file runs statement by statement (the
 * runner records how far it got), and a failed check is answered by the
 * opposite file. The lock is GET_LOCK() on a connection of its own.
 */
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "migrator/bounds.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/drivers/mysql_lease.h"
#include "migrator/drivers/tables.h"
#include "migrator/drivers/split.h"
#include "migrator/drivers/url.h"

struct my_conn {
	struct mg_conn base; /* first: the core sees only this */
	MYSQL *my;
	MYSQL *lock;    /* the GET_LOCK session, while locked */
	bool read_only; /* MG_CONNECT_READ_ONLY */
	/* production safety: the bounds the session has; MG_BOUND_UNSET - 1
	 * when they were never set */
	int64_t cur_lock, cur_stmt;
	struct mg_url url;
	char user[300];
	/* the ledger's append lock held until the transaction ends (jobs,
	 * issue 11); "" when none */
	char ledger_lock[64];
	/* issue 12: a Galera node (wsrep_on), where GET_LOCK() is per node
	 * and the run lock is a lease instead (mysql_lease.h) */
	bool wsrep;
	struct my_lease *lease; /* while locked on Galera */
};

extern const struct mg_driver mg_driver_mysql;

/* mysql_init() would call it implicitly, but not thread-safely */
static int my_init(void)
{
	return mysql_library_init(0, NULL, NULL) == 0 ? 0 : -1;
}

static void my_end(void)
{
	mysql_library_end();
}

/*
 * Whether the server refused a statement for what it says. SQLSTATE
 * class 42 is syntax and unknown names, but MySQL's 42000 also holds
 * refusals that a right statement meets: a missing privilege, the
 * account's limits. Its error number tells them apart.
 */
static bool bad_sql(const char *state, unsigned int no)
{
	switch (no) {
	case ER_DBACCESS_DENIED_ERROR:
	case ER_ACCESS_DENIED_ERROR:
	case ER_PASSWORD_ANONYMOUS_USER:
	case ER_PASSWORD_NOT_ALLOWED:
	case ER_TABLEACCESS_DENIED_ERROR:
	case ER_COLUMNACCESS_DENIED_ERROR:
	case ER_TOO_MANY_USER_CONNECTIONS:
	case ER_USER_LIMIT_REACHED:
	case ER_SPECIFIC_ACCESS_DENIED_ERROR:
	case ER_PROCACCESS_DENIED_ERROR:
	case ER_CANT_CREATE_USER_WITH_GRANT:
		return false;
	default:
		return strncmp(state, "42", 2) == 0;
	}
}

/* Adds the server's SQLSTATE and what it means to err (may be NULL). */
static void classify(struct mg_error *err, unsigned int no, const char *state)
{
	if (err == NULL)
		return;
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
	err->bad_sql = bad_sql(state, no);
}

static int my_error(struct mg_error *err, MYSQL *my)
{
	unsigned int no = mysql_errno(my);
	int code = MG_EDRIVER;

	if (no == ER_NO_SUCH_TABLE)
		code = MG_ENOTFOUND;
	mg_error_set(err, code, "%s", mysql_error(my));
	classify(err, no, mysql_sqlstate(my));
	/* lock_wait_timeout (metadata locks) and innodb_lock_wait_timeout
	 * (rows) both end in 1205 */
	if (err != NULL)
		err->lock_wait = no == ER_LOCK_WAIT_TIMEOUT;
	/* a statement, or a file read from /proc/self/environ, may hold the
	 * password, and the server quotes it back (issue 8) */
	if (err != NULL)
		mg_scrub(err->msg, sizeof(err->msg), my->passwd);
	return code;
}

static const char *param(const struct mg_url *u, const char *a, const char *b)
{
	unsigned i;

	for (i = 0; i < u->nparams; i++)
		if (strcasecmp(u->keys[i], a) == 0 ||
		    (b != NULL && strcasecmp(u->keys[i], b) == 0))
			return u->values[i];
	return NULL;
}

/* What the URL asks of TLS, weakest first. */
enum tls_mode { TLS_OFF, TLS_PREFERRED, TLS_REQUIRED, TLS_VERIFY };

static const struct {
	const char *name;
	enum tls_mode mode;
} tls_names[] = {
	/* ssl-mode, as the mysql client spells it */
	{ "DISABLED", TLS_OFF },
	{ "PREFERRED", TLS_PREFERRED },
	{ "REQUIRED", TLS_REQUIRED },
	{ "VERIFY_CA", TLS_VERIFY },
	{ "VERIFY_IDENTITY", TLS_VERIFY },
	/* tls, as golang-migrate (go-sql-driver/mysql) spells it: "true"
	 * verifies the certificate and host name, "skip-verify" encrypts
	 * without verifying */
	{ "false", TLS_OFF },
	{ "preferred", TLS_PREFERRED },
	{ "skip-verify", TLS_REQUIRED },
	{ "true", TLS_VERIFY },
};

/*
 * The TLS mode of a URL: ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|
 * VERIFY_IDENTITY, or golang-migrate's tls=false|preferred|skip-verify|
 * true (not both). Without either, ssl-ca means VERIFY_CA and ssl-cert
 * or ssl-key REQUIRED: a certificate given is never silently unused.
 */
static int tls_mode(enum tls_mode *out, const struct mg_url *u,
                    struct mg_error *err)
{
	const char *mode = param(u, "ssl-mode", "ssl_mode");
	const char *tls = param(u, "tls", NULL);
	size_t i, lo, hi;

	if (mode != NULL && tls != NULL)
		return mg_error_set(err, MG_EINVALID,
		                    "the URL has both ssl-mode and tls: give "
		                    "one");
	if (mode == NULL && tls == NULL) {
		if (param(u, "ssl-ca", "ssl_ca") != NULL)
			*out = TLS_VERIFY;
		else if (param(u, "ssl-cert", "ssl_cert") != NULL ||
		         param(u, "ssl-key", "ssl_key") != NULL)
			*out = TLS_REQUIRED;
		else
			*out = TLS_OFF;
		return 0;
	}
	/* the first five names are ssl-mode's, the rest tls's */
	lo = mode != NULL ? 0 : 5;
	hi = mode != NULL ? 5 : sizeof(tls_names) / sizeof(*tls_names);
	for (i = lo; i < hi; i++) {
		if (strcasecmp(mode != NULL ? mode : tls, tls_names[i].name) ==
		    0) {
			*out = tls_names[i].mode;
			return 0;
		}
	}
	if (mode != NULL)
		return mg_error_set(err, MG_EINVALID,
		                    "unknown ssl-mode '%s': "
		                    "use DISABLED, PREFERRED, REQUIRED, "
		                    "VERIFY_CA or VERIFY_IDENTITY",
		                    mode);
	/* go-sql-driver's tls=<name> of a registered config: nothing of
	 * the kind here */
	return mg_error_set(err, MG_EINVALID,
	                    "unknown tls '%s': use tls=true, skip-verify, "
	                    "preferred or false, or ssl-mode with ssl-ca",
	                    tls);
}

/* Refuses a query parameter that nothing reads (a misspelt ssl-mode
 * would otherwise connect in plaintext without a word) and a TLS mode
 * that does not parse, before connecting. */
static int check_params(const struct mg_url *u, struct mg_error *err)
{
	static const char *const known[] = {
		"socket",   "ssl-mode", "ssl_mode", "ssl-ca",  "ssl_ca",
		"ssl-cert", "ssl_cert", "ssl-key",  "ssl_key", "tls",
	};
	enum tls_mode tls;
	unsigned i;
	size_t k;

	for (i = 0; i < u->nparams; i++) {
		for (k = 0; k < sizeof(known) / sizeof(*known); k++)
			if (strcasecmp(u->keys[i], known[k]) == 0)
				break;
		if (k == sizeof(known) / sizeof(*known))
			return mg_error_set(err, MG_EINVALID,
			                    "unknown mysql URL parameter '%s': "
			                    "migrate takes socket, ssl-mode, "
			                    "ssl-ca, ssl-cert, ssl-key and tls",
			                    u->keys[i]);
	}
	if (u->socket != NULL && u->socket[0] == '\0')
		return mg_error_set(err, MG_EINVALID,
		                    "the mysql URL's socket parameter is "
		                    "empty: give the socket's path");
	/* with any other host Connector/C connects over TCP and never
	 * looks at the socket: the user would not get what they asked */
	if (u->socket != NULL && u->host != NULL && u->host[0] != '\0' &&
	    strcasecmp(u->host, "localhost") != 0)
		return mg_error_set(err, MG_EINVALID,
		                    "?socket= goes with host localhost (or "
		                    "none), not '%s': with another host the "
		                    "connection is TCP and the socket unused",
		                    u->host);
	return tls_mode(&tls, u, err);
}

static void set_tls(MYSQL *my, const struct mg_url *u, enum tls_mode mode)
{
	my_bool on = 1;

	if (mode == TLS_OFF)
		return;
	mysql_ssl_set(my, param(u, "ssl-key", "ssl_key"),
	              param(u, "ssl-cert", "ssl_cert"),
	              param(u, "ssl-ca", "ssl_ca"), NULL, NULL);
	/* Connector/C falls back to plaintext despite ENFORCE unless it
	 * also verifies: open_session() checks the cipher afterwards */
	if (mode >= TLS_REQUIRED)
		mysql_options(my, MYSQL_OPT_SSL_ENFORCE, &on);
	/* a CA given is a CA used, whatever the mode */
	if (mode == TLS_VERIFY || param(u, "ssl-ca", "ssl_ca") != NULL)
		mysql_options(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
}

static int open_session(MYSQL **out, const struct mg_url *u, unsigned answer_s,
                        struct mg_error *err)
{
	char label[160], me[64] = "?", since[32];
	time_t now = time(NULL);
	struct tm tm;
	unsigned int timeout = 10;
	const char *host = u->host;
	enum tls_mode tls;
	MYSQL *my;
	int rc;

	*out = NULL;
	gethostname(me, sizeof(me) - 1);
	gmtime_r(&now, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(label, sizeof(label), "migrate pid=%ld host=%s since=%s",
	         (long)getpid(), me, since);
	if ((my = mysql_init(NULL)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	/* a watcher's session: a frozen server must not hang it */
	if (answer_s > 0) {
		mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &answer_s);
		mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &answer_s);
	}
	/* the label a lock timeout can show, where performance_schema is on */
	mysql_optionsv(my, MYSQL_OPT_CONNECT_ATTR_ADD, "program_name",
	               "migrate");
	mysql_optionsv(my, MYSQL_OPT_CONNECT_ATTR_ADD, "migrate_label", label);
	/* no ~/.my.cnf surprises: the URL says everything */
	if ((rc = tls_mode(&tls, u, err)) < 0) {
		mysql_close(my);
		return rc;
	}
	set_tls(my, u, tls);
	if (u->socket != NULL && host == NULL)
		host = "localhost";
	/* a socket asked for is the socket used, or the error says so */
	if (u->socket != NULL) {
		unsigned int proto = MYSQL_PROTOCOL_SOCKET;

		mysql_options(my, MYSQL_OPT_PROTOCOL, &proto);
	}
	/* MULTI_RESULTS: a CALL returns several result sets */
	if (mysql_real_connect(my, host, u->user, u->password, u->db, u->port,
	                       u->socket, CLIENT_MULTI_RESULTS) == NULL) {
		rc = my_error(err, my);
		mysql_close(my);
		return rc;
	}
	if (tls >= TLS_REQUIRED && mysql_get_ssl_cipher(my) == NULL) {
		mysql_close(my);
		return mg_error_set(err, MG_EDRIVER,
		                    "the server did not encrypt the "
		                    "connection, and the URL requires TLS "
		                    "(has the server TLS configured?)");
	}
	*out = my;
	return 0;
}

/* The rest of a statement's results (a CALL returns several), then its
 * warnings as notices. The first result was taken by the caller. */
static int drain(struct my_conn *c, MYSQL *my, struct mg_error *err)
{
	MYSQL_RES *res;
	int status;

	while ((status = mysql_next_result(my)) == 0) {
		if ((res = mysql_store_result(my)) != NULL)
			mysql_free_result(res);
		else if (mysql_field_count(my) != 0)
			return my_error(err, my);
	}
	if (status > 0)
		return my_error(err, my);
	if (c->base.on_notice != NULL && mysql_warning_count(my) > 0 &&
	    mysql_query(my, "SHOW WARNINGS") == 0 &&
	    (res = mysql_store_result(my)) != NULL) {
		MYSQL_ROW row;
		char msg[1024];

		while ((row = mysql_fetch_row(res)) != NULL) {
			snprintf(msg, sizeof(msg), "%s %s: %s",
			         row[0] ? row[0] : "", row[1] ? row[1] : "",
			         row[2] ? row[2] : "");
			c->base.on_notice(c->base.notice_ctx, msg);
		}
		mysql_free_result(res);
	}
	return 0;
}

/* Runs one statement and discards whatever it returns. *rows (may be
 * NULL): what mysql_affected_rows() said of it (rows returned by a
 * SELECT), read before SHOW WARNINGS replaces it; -1: none. *result_set
 * (may be NULL; jobs, issue 11): whether it returned rows rather than
 * writing them. */
static int run_discard(struct my_conn *c, const char *sql, size_t len,
                       int64_t *rows, bool *result_set, struct mg_error *err)
{
	MYSQL_RES *res;
	my_ulonglong n;

	if (mysql_real_query(c->my, sql, len) != 0)
		return my_error(err, c->my);
	if (result_set != NULL)
		*result_set = mysql_field_count(c->my) != 0;
	if ((res = mysql_store_result(c->my)) != NULL)
		mysql_free_result(res);
	else if (mysql_field_count(c->my) != 0)
		return my_error(err, c->my);
	n = mysql_affected_rows(c->my);
	if (rows != NULL)
		*rows = n == (my_ulonglong)-1 ? -1 : (int64_t)n;
	return drain(c, c->my, err);
}

/*
 * Issue 12: a Galera node, before any GET_LOCK() (which, depending on the
 * MariaDB release, wsrep refuses with error 1235 or grants on this node
 * only). There every read of ours waits until the node has applied what
 * the cluster committed before it (wsrep_sync_wait), so that a runner
 * never plans from a stale ledger. MySQL has no such variable: no rows.
 */
static int detect_wsrep(struct my_conn *c, struct mg_error *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;

	if (mysql_query(c->my, "SHOW VARIABLES LIKE 'wsrep_on'") != 0 ||
	    (res = mysql_store_result(c->my)) == NULL)
		return my_error(err, c->my);
	row = mysql_fetch_row(res);
	c->wsrep = row != NULL && row[1] != NULL &&
	           strcasecmp(row[1], "ON") == 0;
	mysql_free_result(res);
	if (c->wsrep &&
	    mysql_query(c->my, "SET SESSION wsrep_sync_wait = 1") != 0)
		return my_error(err, c->my);
	return 0;
}

static int my_connect(struct mg_conn **out, const char *url, unsigned flags,
                      struct mg_error *err)
{
	struct my_conn *c;
	MYSQL_RES *res;
	MYSQL_ROW row;
	char *safe;
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	c->base.drv = &mg_driver_mysql;
	c->read_only = flags & MG_CONNECT_READ_ONLY;
	c->cur_lock = c->cur_stmt = MG_BOUND_UNSET - 1;
	if ((rc = mg_url_parse(&c->url, url, err)) < 0 ||
	    (rc = check_params(&c->url, err)) < 0)
		goto fail;
	if (c->url.db == NULL) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "mysql URL without a "
		                  "database: expected mysql://user:pass@host:"
		                  "port/db");
		goto fail;
	}
	if ((rc = open_session(
	             &c->my, &c->url,
	             flags & MG_CONNECT_WATCH ? MG_WATCH_ANSWER_MS / 1000 : 0,
	             err)) < 0) {
		char server[sizeof(err->msg)];

		safe = mg_url_redact(url);
		if (err != NULL) {
			snprintf(server, sizeof(server), "%s", err->msg);
			mg_scrub(server, sizeof(server), c->url.password);
			mg_error_set(err, rc, "cannot connect to %s",
			             safe ? safe : "the database");
			mg_error_detail(err, "%s", server);
		}
		free(safe);
		goto fail;
	}
	/* the account the server matched, for the ledger's db_user */
	if (mysql_query(c->my, "SELECT CURRENT_USER()") == 0 &&
	    (res = mysql_store_result(c->my)) != NULL) {
		if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
			snprintf(c->user, sizeof(c->user), "%s", row[0]);
		mysql_free_result(res);
	}
	/* the ledger's DATETIME(6) values are UTC text: keep NOW() and
	 * friends in UTC too, so migrations see what the ledger says */
	if (mysql_query(c->my, "SET time_zone = '+00:00'") != 0) {
		rc = my_error(err, c->my);
		goto fail;
	}
	if ((rc = detect_wsrep(c, err)) < 0)
		goto fail;
	/* a read-only command (a dry run) writes nothing whatever its
	 * checks say; this covers autocommit statements too */
	if (c->read_only &&
	    mysql_query(c->my, "SET SESSION TRANSACTION READ ONLY") != 0) {
		rc = my_error(err, c->my);
		goto fail;
	}
	*out = &c->base;
	return 0;
fail:
	mysql_close(c->my);
	mg_url_dispose(&c->url);
	free(c);
	return rc;
}

static void my_close(struct mg_conn *conn)
{
	struct my_conn *c = (struct my_conn *)conn;

	if (c == NULL)
		return;
	my_lease_release(c->lease);
	mysql_close(c->lock);
	mysql_close(c->my);
	mg_url_dispose(&c->url);
	free(c);
}

/* Statements that may commit part of their work before failing. */
static bool partial(const char *sql, size_t len)
{
	size_t p = mg_stmt_skip_comments(sql, len);

	return (len - p >= 4 && strncasecmp(sql + p, "call", 4) == 0) ||
	       (len - p >= 5 && strncasecmp(sql + p, "begin", 5) == 0);
}

/*
 * Whether a statement that failed may have kept part of its work. InnoDB
 * rolls a failed statement back as a whole, but a non-transactional table
 * (MyISAM, Aria, MEMORY, CSV...) keeps the rows written before the error:
 * INSERT ... VALUES (1), (2), (2) into a MyISAM table with a key on the
 * column keeps 1 and 2. The server does not tell which tables a statement
 * wrote, so the rule is: nothing was kept when the server refused the
 * statement before it ran (SQLSTATE class 42: syntax, unknown table or
 * column, privileges), or when the database the statement ran in has no
 * non-transactional base table (ENGINES.TRANSACTIONS); otherwise assume
 * something was, and let the version be dirty rather than have a retry
 * apply it twice. A write through a qualified name or a trigger into
 * another database's non-transactional table is beyond this rule.
 */
static bool may_have_kept(MYSQL *my, const char *state)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool kept = true;

	if (strncmp(state, "42", 2) == 0)
		return false;
	if (mysql_query(my, "SELECT COUNT(*) FROM information_schema.TABLES "
	                    "t JOIN information_schema.ENGINES e ON "
	                    "e.ENGINE = t.ENGINE WHERE t.TABLE_SCHEMA = "
	                    "DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' AND "
	                    "e.TRANSACTIONS <> 'YES'") != 0 ||
	    (res = mysql_store_result(my)) == NULL)
		return true; /* cannot tell: assume the worst */
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
		kept = strcmp(row[0], "0") != 0;
	mysql_free_result(res);
	return kept;
}

/* MySQL says "... near 'x' at line 3" counting from the statement. */
static unsigned server_line(const char *msg)
{
	const char *p = strstr(msg, " at line ");

	return p != NULL ? (unsigned)atoi(p + 9) : 0;
}

static int my_exec_script(struct mg_conn *conn, const char *sql, size_t len,
                          unsigned flags, const struct mg_script_hooks *hooks,
                          struct mg_script_result *res, struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)conn;
	struct mg_stmts stmts = { 0 };
	size_t i;
	int rc;

	(void)flags; /* always one by one: DDL commits anyway */
	memset(res, 0, sizeof(*res));
	if ((rc = mg_split(&stmts, sql, len, MG_SPLIT_MYSQL, err)) < 0) {
		if (err != NULL)
			res->line = err->line;
		return rc;
	}
	res->total = stmts.n;
	for (i = 0; i < stmts.n; i++) {
		const struct mg_stmt *s = &stmts.v[i];
		struct mg_stmt_stat st = { .line = mg_stmt_own_line(sql, s) };
		int64_t t0 = mg_stmt_clock_us();
		char tag[64];

		bool result_set = false;

		if (hooks != NULL && hooks->stmt_start != NULL)
			hooks->stmt_start(hooks->ctx, st.line);
		if ((rc = run_discard(c, sql + s->off, s->len, &st.rows,
		                      &result_set, err)) < 0) {
			unsigned rel = server_line(mysql_error(c->my));
			/* "at line N" counts from the text sent, comments
			 * before the statement included; without it, name
			 * the statement's own first line, not a comment */
			size_t own =
			        mg_stmt_skip_comments(sql + s->off, s->len);
			unsigned first =
			        s->line - 1 + mg_sql_line_at(sql + s->off, own);
			char state[6];

			/* a CALL or a compound block commits what it did
			 * before its failing statement; a statement on a
			 * non-transactional table what it wrote */
			snprintf(state, sizeof(state), "%s",
			         mysql_sqlstate(c->my));
			if (partial(sql + s->off, s->len) ||
			    may_have_kept(c->my, state))
				res->committed = res->done + 1;
			res->line = rel > 0 ? s->line + rel - 1 : first;
			break;
		}
		st.ms = (mg_stmt_clock_us() - t0) / 1000;
		mg_stmt_tag(tag, sizeof(tag), sql + s->off, s->len);
		st.tag = tag;
		if (hooks != NULL && hooks->stmt_done != NULL)
			hooks->stmt_done(hooks->ctx, &st);
		res->done++;
		/* rows affected (jobs, issue 11): writes only */
		res->last_rows = result_set || st.rows < 0 ? 0 : st.rows;
		res->rows += res->last_rows;
		/* DDL commits; DML inside the file's own BEGIN does not */
		if (!(c->my->server_status & SERVER_STATUS_IN_TRANS))
			res->committed = res->done;
	}
	mg_stmts_dispose(&stmts);
	/* a USE in the file (mysqldump --databases writes them) must not
	 * outlive it: checks and the next file run where the URL says */
	if (mysql_select_db(c->my, c->url.db) != 0 && rc == 0)
		rc = my_error(err, c->my);
	return rc;
}

/* Before anything runs: the file must split (no unterminated quote). */
static int my_check_script(const char *sql, size_t len, unsigned flags,
                           unsigned *line, struct mg_error *err)
{
	struct mg_stmts stmts = { 0 };
	int rc;

	(void)flags;
	*line = 0;
	if ((rc = mg_split(&stmts, sql, len, MG_SPLIT_MYSQL, err)) < 0 &&
	    err != NULL)
		*line = err->line;
	mg_stmts_dispose(&stmts);
	return rc;
}

/* A statement with '?' parameters: a prepared statement, no rows back. */
/*
 * The rows of an executed prepared statement, as text. Each row is fetched
 * with zero-length buffers (MYSQL_DATA_TRUNCATED tells each value's
 * length), then each value with mysql_stmt_fetch_column() into a buffer of
 * its size: no value is cut, whatever its type (the server converts it to
 * text, as for a plain query).
 */
static int fetch_prepared(struct mg_rows **out, MYSQL_STMT *st,
                          struct mg_error *err)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	struct mg_rows *rows = NULL;
	MYSQL_BIND *b = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL;
	char **vals = NULL;
	unsigned n, i;
	int rc = 0, f;

	if (meta == NULL) /* a statement without rows */
		return (*out = mg_rows_new(0)) == NULL
		               ? mg_error_set(err, MG_ENOMEM, "out of memory")
		               : 0;
	n = mysql_num_fields(meta);
	if ((rows = mg_rows_new(n)) == NULL ||
	    (b = calloc(n, sizeof(*b))) == NULL ||
	    (lens = calloc(n, sizeof(*lens))) == NULL ||
	    (nulls = calloc(n, sizeof(*nulls))) == NULL ||
	    (vals = calloc(n, sizeof(*vals))) == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].length = &lens[i];
		b[i].is_null = &nulls[i];
	}
	if (mysql_stmt_bind_result(st, b) != 0 ||
	    mysql_stmt_store_result(st) != 0) {
		rc = mg_error_set(err, MG_EDRIVER, "%s", mysql_stmt_error(st));
		goto cleanup;
	}
	while ((f = mysql_stmt_fetch(st)) == 0 || f == MYSQL_DATA_TRUNCATED) {
		for (i = 0; i < n; i++) {
			MYSQL_BIND one = { 0 };
			unsigned long len = 0;

			if (nulls[i])
				continue;
			if ((vals[i] = malloc(lens[i] + 1)) == NULL) {
				rc = mg_error_set(err, MG_ENOMEM,
				                  "out of memory");
				goto cleanup;
			}
			one.buffer_type = MYSQL_TYPE_STRING;
			one.buffer = vals[i];
			one.buffer_length = lens[i] + 1;
			one.length = &len;
			if (lens[i] > 0 &&
			    mysql_stmt_fetch_column(st, &one, i, 0) != 0) {
				rc = mg_error_set(err, MG_EDRIVER, "%s",
				                  mysql_stmt_error(st));
				goto cleanup;
			}
			vals[i][lens[i]] = '\0';
		}
		if (mg_rows_add(rows, (const char *const *)vals, n) < 0) {
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
			goto cleanup;
		}
		for (i = 0; i < n; i++) {
			free(vals[i]);
			vals[i] = NULL;
		}
	}
	if (f == 1) {
		rc = mg_error_set(err, MG_EDRIVER, "%s", mysql_stmt_error(st));
		goto cleanup;
	}
	*out = rows;
	rows = NULL;
cleanup:
	for (i = 0; vals != NULL && i < n; i++)
		free(vals[i]);
	free(vals);
	free(nulls);
	free(lens);
	free(b);
	mg_rows_free(rows);
	mysql_free_result(meta);
	return rc;
}

/* my_error() for a prepared statement: a missing table is MG_ENOTFOUND
 * here too (a ledger not made yet), a lock wait is marked, the password
 * scrubbed. */
static int stmt_error(struct mg_error *err, struct my_conn *c, MYSQL_STMT *st)
{
	unsigned int no = mysql_stmt_errno(st);
	int code = no == ER_NO_SUCH_TABLE ? MG_ENOTFOUND : MG_EDRIVER;

	mg_error_set(err, code, "%s", mysql_stmt_error(st));
	classify(err, no, mysql_stmt_sqlstate(st));
	if (err != NULL) {
		err->lock_wait = no == ER_LOCK_WAIT_TIMEOUT;
		mg_scrub(err->msg, sizeof(err->msg), c->my->passwd);
	}
	return code;
}

static int exec_prepared(struct mg_rows **out, struct my_conn *c,
                         const char *sql, const char *const *params,
                         size_t nparams, struct mg_error *err)
{
	MYSQL_STMT *st = mysql_stmt_init(c->my);
	MYSQL_BIND *b = calloc(nparams, sizeof(*b));
	unsigned long *lens = calloc(nparams, sizeof(*lens));
	my_bool *nulls = calloc(nparams, sizeof(*nulls));
	size_t i;
	int rc = 0;

	if (st == NULL || b == NULL || lens == NULL || nulls == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		rc = stmt_error(err, c, st);
		goto cleanup;
	}
	for (i = 0; i < nparams; i++) {
		nulls[i] = params[i] == NULL;
		lens[i] = params[i] ? strlen(params[i]) : 0;
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].buffer = (void *)(params[i] ? params[i] : "");
		b[i].buffer_length = lens[i];
		b[i].length = &lens[i];
		b[i].is_null = &nulls[i];
	}
	if (mysql_stmt_bind_param(st, b) != 0 || mysql_stmt_execute(st) != 0) {
		rc = stmt_error(err, c, st);
	} else if (out != NULL) {
		/* its rows, as exec_text() gives them (they used to be
		 * dropped: callers had to inline their values) */
		rc = fetch_prepared(out, st, err);
	}
cleanup:
	if (st != NULL)
		mysql_stmt_close(st);
	free(b);
	free(lens);
	free(nulls);
	return rc;
}

/* A statement without parameters, its rows as text. */
static int exec_text(struct mg_rows **out, struct my_conn *c, const char *sql,
                     struct mg_error *err)
{
	struct mg_rows *rows = NULL;
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	unsigned n;
	int rc = 0;

	if (mysql_query(c->my, sql) != 0)
		return my_error(err, c->my);
	if ((res = mysql_store_result(c->my)) == NULL) {
		if (mysql_field_count(c->my) != 0)
			return my_error(err, c->my);
		if ((rc = drain(c, c->my, err)) == 0 && out != NULL &&
		    (*out = mg_rows_new(0)) == NULL)
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		return rc;
	}
	/* rows of our own queries: never a CALL, one result set */
	n = mysql_num_fields(res);
	if (out != NULL && (rows = mg_rows_new(n)) == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	while (rows != NULL && (row = mysql_fetch_row(res)) != NULL) {
		if (mg_rows_add(rows, (const char *const *)row, n) < 0) {
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
			goto cleanup;
		}
	}
	mysql_free_result(res);
	res = NULL;
	if ((rc = drain(c, c->my, err)) < 0)
		goto cleanup;
	if (out != NULL) {
		*out = rows;
		rows = NULL;
	}
cleanup:
	if (res != NULL)
		mysql_free_result(res);
	mg_rows_free(rows);
	return rc;
}

static void ledger_unlock(struct my_conn *c);

/*
 * COMMIT, on Galera conditional on still holding the run lock's lease
 * (issue 12): the transaction bumps the lease row where the token is
 * ours, so a runner that took the lease over makes it change no row or
 * fail certification (1213) at COMMIT. Either is "another migrate run is
 * active" (exit 5), and nothing of the transaction is kept.
 */
static int commit(struct my_conn *c, struct mg_error *err)
{
	int rc;

	if (c->lease != NULL &&
	    (c->my->server_status & SERVER_STATUS_IN_TRANS) &&
	    (rc = my_lease_guard(c->lease, c->my, err)) < 0) {
		mysql_rollback(c->my);
		my_lease_txn_end(c->lease);
		ledger_unlock(c);
		return rc;
	}
	rc = mysql_commit(c->my);
	if (c->lease != NULL)
		my_lease_txn_end(c->lease);
	/* the append lock (jobs) ends with the transaction, whatever came */
	ledger_unlock(c);
	if (rc == 0)
		return 0;
	if (c->lease != NULL && mysql_errno(c->my) == ER_LOCK_DEADLOCK) {
		mg_error_set(err, MG_ELOCKED,
		             "another migrate run is active: this commit lost "
		             "Galera certification against it");
		mg_error_detail(err, "%s", mysql_error(c->my));
		return MG_ELOCKED;
	}
	return my_error(err, c->my);
}

static int my_query(struct mg_rows **out, struct mg_conn *conn, const char *sql,
                    const char *const *params, size_t nparams, unsigned flags,
                    struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)conn;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (nparams > 0)
		rc = exec_prepared(out, c, sql, params, nparams, err);
	else
		rc = exec_text(out, c, sql, err);
	if (rc == 0 && (flags & MG_Q_COMMIT))
		rc = commit(c, err);
	if (rc < 0 && out != NULL && *out != NULL) {
		mg_rows_free(*out);
		*out = NULL;
	}
	return rc;
}

/* Frees the ledger's append lock once its transaction has ended. */
static void ledger_unlock(struct my_conn *c)
{
	char sql[128];

	if (c->ledger_lock[0] == '\0')
		return;
	snprintf(sql, sizeof(sql), "DO RELEASE_LOCK('%s')", c->ledger_lock);
	if (mysql_query(c->my, sql) != 0)
		return; /* the session is gone, and its locks with it */
	c->ledger_lock[0] = '\0';
}

/*
 * The ledger's append lock (jobs, issue 11): GET_LOCK on the main
 * session, named from the ledger (its database included: lock names are
 * the server's), freed when the transaction ends. Not a locking read of
 * the ledger: SELECT ... FOR UPDATE needs UPDATE or DELETE privilege on
 * MySQL 8, and a row lock near the end of the table deadlocked two
 * appenders' inserts.
 */
static int my_ledger_lock(struct mg_conn *conn, const char *table,
                          struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)conn;
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	char name[64], sql[160];
	MYSQL_RES *res;
	MYSQL_ROW row;
	int got = -1;
	/* "db.table": two databases' ledgers of one name on one server must
	 * not share the lock (a table written with its database names it) */
	const char *db = strchr(table, '.') == NULL ? c->url.db : NULL;

	if (c->ledger_lock[0] != '\0')
		return 0;
	for (; db != NULL && *db; db++)
		h = (h ^ (unsigned char)*db) * 1099511628211ULL;
	h = (h ^ (unsigned char)'.') * 1099511628211ULL;
	for (; *table; table++)
		h = (h ^ (unsigned char)*table) * 1099511628211ULL;
	snprintf(name, sizeof(name), "migrate-ledger:%016llx",
	         (unsigned long long)h);
	/* others hold it only for an insert and a commit */
	snprintf(sql, sizeof(sql), "SELECT GET_LOCK('%s', 60)", name);
	if (mysql_query(c->my, sql) != 0 ||
	    (res = mysql_store_result(c->my)) == NULL)
		return my_error(err, c->my);
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
		got = atoi(row[0]);
	mysql_free_result(res);
	if (got != 1)
		return mg_error_set(err, MG_ELOCKED,
		                    "the ledger's append lock was not acquired "
		                    "within 60 s");
	snprintf(c->ledger_lock, sizeof(c->ledger_lock), "%s", name);
	return 0;
}

static int my_txn(struct mg_conn *conn, enum mg_txn op, struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)conn;
	const char *sql = op == MG_TXN_BEGIN ? "START TRANSACTION" : "ROLLBACK";
	int rc;

	if (op == MG_TXN_COMMIT)
		return commit(c, err);
	if (op == MG_TXN_BEGIN && c->read_only)
		sql = "START TRANSACTION READ ONLY";
	/* Galera: no renewal commits while a transaction of ours is open
	 * (mysql_lease.h) */
	if (c->lease != NULL && op == MG_TXN_BEGIN)
		my_lease_txn_begin(c->lease);
	rc = mysql_query(c->my, sql) != 0 ? my_error(err, c->my) : 0;
	if (c->lease != NULL && (op == MG_TXN_ROLLBACK || rc < 0))
		my_lease_txn_end(c->lease);
	if (op != MG_TXN_BEGIN)
		ledger_unlock(c);
	return rc;
}

/* What the server said in its last reply: no round trip. */
static int my_in_txn(bool *out, struct mg_conn *conn, struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)conn;
	unsigned st = c->my->server_status;

	(void)err;
	*out = (st & SERVER_STATUS_IN_TRANS) &&
	       (!c->read_only || (st & SERVER_STATUS_IN_TRANS_READONLY));
	return 0;
}

/* Who holds a named lock: the processlist row of its session. */
static void describe_holder(struct my_conn *c, const char *name,
                            struct mg_error *err)
{
	char sql[512], esc[300];
	MYSQL_RES *res;
	MYSQL_ROW row;

	mysql_real_escape_string(c->lock, esc, name, strlen(name));
	snprintf(sql, sizeof(sql),
	         "SELECT p.ID, p.USER, p.HOST, p.TIME, "
	         "DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL p.TIME SECOND, "
	         "'%%Y-%%m-%%dT%%H:%%i:%%sZ') FROM "
	         "information_schema.PROCESSLIST "
	         "p WHERE p.ID = IS_USED_LOCK('%s')",
	         esc);
	if (mysql_query(c->lock, sql) != 0 ||
	    (res = mysql_store_result(c->lock)) == NULL)
		return;
	if ((row = mysql_fetch_row(res)) != NULL)
		mg_error_detail(err,
		                "held by connection %s, user '%s' from "
		                "%s, in its current state since %s",
		                row[0] ? row[0] : "?", row[1] ? row[1] : "?",
		                row[2] ? row[2] : "?", row[4] ? row[4] : "?");
	mysql_free_result(res);
	/* our label, where performance_schema keeps connect attributes */
	snprintf(sql, sizeof(sql),
	         "SELECT ATTR_VALUE FROM "
	         "performance_schema.session_connect_attrs WHERE "
	         "ATTR_NAME = 'migrate_label' AND PROCESSLIST_ID = "
	         "IS_USED_LOCK('%s')",
	         esc);
	if (err == NULL || mysql_query(c->lock, sql) != 0 ||
	    (res = mysql_store_result(c->lock)) == NULL)
		return;
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL) {
		size_t n = strlen(err->detail);

		snprintf(err->detail + n, sizeof(err->detail) - n, " (%s)",
		         row[0]);
	}
	mysql_free_result(res);
}

static int my_lock(struct mg_conn *conn, const char *name, int64_t key,
                   int timeout_s, struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)conn;
	char sql[512], esc[300];
	MYSQL_RES *res;
	MYSQL_ROW row;
	int rc, got = -1;

	(void)key;
	/* a session of its own: the lock outlives whatever a migration
	 * does to the main session, and dies with the process */
	if (c->lock == NULL &&
	    (rc = open_session(&c->lock, &c->url, 0, err)) < 0)
		return rc;
	if (c->wsrep) { /* the lease takes the session over */
		rc = my_lease_acquire(&c->lease, c->lock, c->url.db, name,
		                      timeout_s, err);
		c->lock = NULL;
		return rc;
	}
	mysql_real_escape_string(c->lock, esc, name, strlen(name));
	snprintf(sql, sizeof(sql), "SELECT GET_LOCK('%s', %d)", esc, timeout_s);
	if (mysql_query(c->lock, sql) != 0 ||
	    (res = mysql_store_result(c->lock)) == NULL)
		return my_error(err, c->lock);
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
		got = atoi(row[0]);
	mysql_free_result(res);
	if (got == 1)
		return 0;
	mg_error_set(err, MG_ELOCKED,
	             "another migrate run holds the lock: "
	             "not acquired within %d s",
	             timeout_s);
	describe_holder(c, name, err);
	return MG_ELOCKED;
}

/*
 * The lock lives on a session of its own, which a KILL, a server restart
 * or a network cut can end while the main session goes on: ask that
 * session whether it still holds the lock. A session that cannot answer
 * has lost it (the server releases a dead session's locks).
 */
static int my_lock_held(struct mg_conn *conn, const char *name, int64_t key,
                        struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)conn;
	char sql[512], esc[300];
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool held = false;

	(void)key;
	if (c->lease != NULL)
		return my_lease_held(c->lease, err);
	if (c->lock != NULL) {
		mysql_real_escape_string(c->lock, esc, name, strlen(name));
		snprintf(sql, sizeof(sql),
		         "SELECT IS_USED_LOCK('%s') = CONNECTION_ID()", esc);
		if (mysql_query(c->lock, sql) == 0 &&
		    (res = mysql_store_result(c->lock)) != NULL) {
			row = mysql_fetch_row(res);
			held = row != NULL && row[0] != NULL &&
			       strcmp(row[0], "1") == 0;
			mysql_free_result(res);
		}
	}
	if (held)
		return 0;
	mg_error_set(err, MG_ELOCKED,
	             "the run lock was lost: its session (a connection "
	             "of its own) ended or no longer holds it");
	if (c->lock != NULL && mysql_errno(c->lock) != 0)
		mg_error_detail(err, "%s", mysql_error(c->lock));
	return MG_ELOCKED;
}

/* Issue 12: who holds the run lock now, for a runner that met another
 * one and for `status`. Asked on the main session: a lock's state is the
 * node's (GET_LOCK) or the cluster's (the lease), not a session's. */
static int my_lock_holder(struct mg_conn *conn, const char *name,
                          int64_t key, char *who, size_t size)
{
	struct my_conn *c = (struct my_conn *)conn;
	char sql[512], esc[300], id[32] = "";
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool held = false;

	(void)key;
	who[0] = '\0';
	if (c->wsrep) {
		my_lease_holder(who, size, &held, c->my, c->url.db, name);
		return held ? 1 : 0;
	}
	mysql_real_escape_string(c->my, esc, name, strlen(name));
	snprintf(sql, sizeof(sql), "SELECT IS_USED_LOCK('%s')", esc);
	if (mysql_query(c->my, sql) != 0 ||
	    (res = mysql_store_result(c->my)) == NULL)
		return -1;
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
		snprintf(id, sizeof(id), "%s", row[0]);
	mysql_free_result(res);
	if (id[0] == '\0')
		return 0;
	snprintf(who, size, "connection %s", id);
	/* our label, where performance_schema keeps connect attributes */
	snprintf(sql, sizeof(sql),
	         "SELECT ATTR_VALUE FROM "
	         "performance_schema.session_connect_attrs WHERE "
	         "ATTR_NAME = 'migrate_label' AND PROCESSLIST_ID = %s",
	         id);
	if (mysql_query(c->my, sql) == 0 &&
	    (res = mysql_store_result(c->my)) != NULL) {
		if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
			snprintf(who, size, "%s (connection %s)", row[0], id);
		mysql_free_result(res);
	}
	return 1;
}

static void my_unlock(struct mg_conn *conn, const char *name, int64_t key)
{
	struct my_conn *c = (struct my_conn *)conn;

	(void)name;
	(void)key;
	my_lease_release(c->lease);
	c->lease = NULL;
	/* closing the session releases its locks */
	mysql_close(c->lock);
	c->lock = NULL;
}

/*
 * MD5 of the row's values, each QUOTE()d (so NULL, 'NULL' and '' differ
 * and numbers keep their text form), split into two 64-bit halves and
 * summed as DECIMAL, which does not wrap. One scan, no sort.
 */
static void my_fingerprint_sql(struct mg_buf *out, const char *table,
                               const char *const *cols, size_t ncols)
{
	size_t i;

	mg_buf_add(out, "SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(CAST(CONV("
	                "SUBSTRING(h, 1, 16), 16, 10) AS DECIMAL(20, 0))), 0), "
	                "':', COALESCE(SUM(CAST(CONV(SUBSTRING(h, 17, 16), 16, "
	                "10) AS DECIMAL(20, 0))), 0)) FROM (SELECT MD5("
	                "CONCAT_WS(',', ");
	for (i = 0; i < ncols; i++)
		mg_buf_addf(out, "%sQUOTE(%s)", i ? ", " : "", cols[i]);
	mg_buf_addf(out, ")) AS h FROM %s) AS mg_rows", table);
}

/* information_schema, for the current database only. */
static void my_schema_sql(struct mg_buf *out)
{
	mg_buf_add(
	        out,
	        "SELECT 'table', TABLE_NAME, CONCAT(TABLE_TYPE, ' ', "
	        "COALESCE(ENGINE, '')) FROM information_schema.TABLES WHERE "
	        "TABLE_SCHEMA = DATABASE() "
	        "UNION ALL SELECT 'column', CONCAT(TABLE_NAME, '.', "
	        "COLUMN_NAME), CONCAT(COLUMN_TYPE, ' ', IS_NULLABLE, ' ', "
	        "COALESCE(COLUMN_DEFAULT, 'no default'), ' ', EXTRA) FROM "
	        "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
	        "UNION ALL SELECT 'index', CONCAT(TABLE_NAME, '.', "
	        "INDEX_NAME), "
	        "CONCAT(IF(NON_UNIQUE = 0, 'unique ', ''), '(', "
	        "GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX), ')') FROM "
	        "information_schema.STATISTICS WHERE "
	        "TABLE_SCHEMA = DATABASE() GROUP BY TABLE_NAME, INDEX_NAME, "
	        "NON_UNIQUE "
	        "UNION ALL SELECT 'constraint', CONCAT(TABLE_NAME, '.', "
	        "CONSTRAINT_NAME), CONSTRAINT_TYPE FROM "
	        "information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA "
	        "= DATABASE() "
	        "UNION ALL SELECT 'view', TABLE_NAME, MD5(VIEW_DEFINITION) "
	        "FROM "
	        "information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() "
	        "UNION ALL SELECT 'routine', CONCAT(ROUTINE_TYPE, ' ', "
	        "ROUTINE_NAME), MD5(COALESCE(ROUTINE_DEFINITION, '')) FROM "
	        "information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() "
	        "UNION ALL SELECT 'trigger', TRIGGER_NAME, CONCAT("
	        "EVENT_OBJECT_TABLE, ' ', ACTION_TIMING, ' ', "
	        "EVENT_MANIPULATION, ' ', MD5(ACTION_STATEMENT)) FROM "
	        "information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() "
	        "UNION ALL SELECT 'event', EVENT_NAME, MD5(EVENT_DEFINITION) "
	        "FROM information_schema.EVENTS WHERE EVENT_SCHEMA = "
	        "DATABASE()");
}

static const char *my_schema(struct mg_conn *conn)
{
	return ((struct my_conn *)conn)->url.db;
}

static const char *my_user(struct mg_conn *conn)
{
	struct my_conn *c = (struct my_conn *)conn;

	return c->user[0] ? c->user : NULL;
}

static const char *my_secret(struct mg_conn *conn)
{
	struct my_conn *c = (struct my_conn *)conn;
	/* the URL's, or MYSQL_PWD's, which Connector/C reads without one */
	const char *pw = c->url.password ? c->url.password : c->my->passwd;

	return pw != NULL && pw[0] != '\0' ? pw : NULL;
}

/* Production safety (issue 14). */

/* The largest values the server takes: "wait forever" in its terms. */
#define MY_LOCK_WAIT_MAX 31536000LL          /* lock_wait_timeout */
#define MY_INNODB_LOCK_WAIT_MAX 1073741824LL /* innodb_lock_wait_timeout */

/*
 * lock_wait_timeout (metadata locks: ALTER behind an open transaction;
 * its default is a year) and innodb_lock_wait_timeout (row locks), whole
 * seconds where 0 means "do not wait": round up, and `off` is their
 * maximum. max_statement_time (MariaDB) in seconds with decimals. Nothing
 * resets a MySQL session between files, so each file sets its own.
 */
static int my_set_bounds(struct mg_conn *conn, int64_t lock_ms, int64_t stmt_ms,
                         unsigned flags, struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)conn;
	char sql[256];
	long long secs;

	(void)flags;
	if (lock_ms != c->cur_lock) {
		secs = (lock_ms + 999) / 1000;
		if (lock_ms < 0)
			snprintf(sql, sizeof(sql),
			         "SET SESSION lock_wait_timeout = DEFAULT, "
			         "innodb_lock_wait_timeout = DEFAULT");
		else
			snprintf(sql, sizeof(sql),
			         "SET SESSION lock_wait_timeout = %lld, "
			         "innodb_lock_wait_timeout = %lld",
			         lock_ms == MG_BOUND_OFF ? MY_LOCK_WAIT_MAX
			                                 : secs,
			         lock_ms == MG_BOUND_OFF
			                 ? MY_INNODB_LOCK_WAIT_MAX
			                 : secs);
		if (mysql_query(c->my, sql) != 0)
			return my_error(err, c->my);
		c->cur_lock = lock_ms;
	}
	if (stmt_ms != c->cur_stmt) {
		if (stmt_ms < 0)
			snprintf(sql, sizeof(sql),
			         "SET SESSION max_statement_time = DEFAULT");
		else
			snprintf(sql, sizeof(sql),
			         "SET SESSION max_statement_time = %lld.%03lld",
			         (long long)(stmt_ms / 1000),
			         (long long)(stmt_ms % 1000));
		/* the first call may leave it alone: not every server has it */
		if ((stmt_ms >= 0 || c->cur_stmt >= 0) &&
		    mysql_query(c->my, sql) != 0)
			return my_error(err, c->my);
		c->cur_stmt = stmt_ms;
	}
	return 0;
}

/* One row of text from a query on `my`; 0 and row values in vals (up to
 * n, copied into buf), 1 when there is no row. */
static int one_row(MYSQL *my, const char *sql, char vals[][64], unsigned n,
                   struct mg_error *err)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	unsigned i;
	int rc = 1;

	if (mysql_query(my, sql) != 0 || (res = mysql_store_result(my)) == NULL)
		return my_error(err, my);
	if ((row = mysql_fetch_row(res)) != NULL) {
		for (i = 0; i < n && i < mysql_num_fields(res); i++)
			snprintf(vals[i], 64, "%s", row[i] ? row[i] : "");
		rc = 0;
	}
	mysql_free_result(res);
	return rc;
}

static int my_read_only(char *why, size_t size, struct mg_conn *conn,
                        struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)conn;
	char v[2][64] = { "", "" };
	int rc;

	if ((rc = one_row(c->my, "SELECT @@global.read_only, @@tx_read_only", v,
	                  2, err)) < 0)
		return rc;
	if (strcmp(v[0], "1") == 0) {
		snprintf(why, size,
		         "is read-only (@@read_only is ON: a replica?)");
		return 1;
	}
	if (strcmp(v[1], "1") == 0) {
		snprintf(why, size,
		         "is read-only (tx_read_only is ON for this session)");
		return 1;
	}
	/* MySQL only; MariaDB has no super_read_only */
	if (one_row(c->my, "SELECT @@global.super_read_only", v, 1, NULL) ==
	            0 &&
	    strcmp(v[0], "1") == 0) {
		snprintf(why, size, "is read-only (@@super_read_only is ON)");
		return 1;
	}
	return 0;
}

/* SHOW SLAVE STATUS's Seconds_Behind_Master, where the account may read
 * it; a server that replicates from nothing is no replica. */
static int my_lag(char *out, size_t size, struct mg_conn *conn,
                  struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)conn;
	MYSQL_RES *res;
	MYSQL_FIELD *f;
	MYSQL_ROW row;
	unsigned i, n;
	int rc = 0;

	(void)err;
	if (mysql_query(c->my, "SHOW SLAVE STATUS") != 0 ||
	    (res = mysql_store_result(c->my)) == NULL)
		return 0; /* no privilege: cannot tell, not an error */
	n = mysql_num_fields(res);
	f = mysql_fetch_fields(res);
	if ((row = mysql_fetch_row(res)) != NULL)
		for (i = 0; i < n; i++)
			if (strcmp(f[i].name, "Seconds_Behind_Master") == 0) {
				snprintf(out, size,
				         "%s s behind its primary "
				         "(Seconds_Behind_Master)",
				         row[i] ? row[i] : "unknown");
				rc = 1;
			}
	mysql_free_result(res);
	return rc;
}

static int64_t my_session_id(struct mg_conn *conn)
{
	return (int64_t)mysql_thread_id(((struct my_conn *)conn)->my);
}

/*
 * Who keeps session `waiter` waiting. Row locks: INNODB_LOCK_WAITS names
 * the blocking transaction. Metadata locks (an ALTER behind an open
 * transaction): METADATA_LOCK_INFO is a plugin not loaded by default and
 * performance_schema is off by default, so what can be named is every
 * other session with an open InnoDB transaction (one of them holds it).
 */
static int my_blockers(struct mg_rows **out, struct mg_conn *watch,
                       int64_t waiter, struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)watch;
	char sql[2048];

	snprintf(sql, sizeof(sql),
	         "SELECT p.ID, CONCAT(p.USER, '@', p.HOST), '', "
	         "CONCAT(p.COMMAND, IF(p.STATE IS NULL OR p.STATE = '', '', "
	         "CONCAT(' (', p.STATE, ')'))), "
	         "DATE_FORMAT(t.trx_started, '%%Y-%%m-%%dT%%H:%%i:%%sZ'), "
	         "LEFT(REPLACE(REPLACE(COALESCE(p.INFO, t.trx_query, ''), "
	         "'\\n', ' '), '\\t', ' '), 60), "
	         "IF(w.STATE LIKE 'Waiting for table metadata lock%%', "
	         "'a metadata lock', 'a row lock') "
	         "FROM information_schema.PROCESSLIST w "
	         "JOIN information_schema.INNODB_TRX t "
	         "ON t.trx_mysql_thread_id <> w.ID "
	         "JOIN information_schema.PROCESSLIST p "
	         "ON p.ID = t.trx_mysql_thread_id "
	         "WHERE w.ID = %lld AND p.ID <> CONNECTION_ID() AND "
	         "(w.STATE LIKE 'Waiting for table metadata lock%%' OR "
	         "t.trx_id IN (SELECT lw.blocking_trx_id FROM "
	         "information_schema.INNODB_LOCK_WAITS lw JOIN "
	         "information_schema.INNODB_TRX wt ON wt.trx_id = "
	         "lw.requesting_trx_id WHERE wt.trx_mysql_thread_id = w.ID)) "
	         "ORDER BY p.ID",
	         (long long)waiter);
	return exec_text(out, c, sql, err);
}

static int my_cancel(struct mg_conn *conn, struct mg_conn *watch,
                     struct mg_error *err)
{
	struct my_conn *c = (struct my_conn *)conn;
	char sql[64];

	/* the runner's session is busy waiting for its statement: only
	 * another session can stop the statement on the server */
	if (watch == NULL)
		return mg_error_set(err, MG_ERR,
		                    "no second session to cancel with");
	snprintf(sql, sizeof(sql), "KILL QUERY %lu", mysql_thread_id(c->my));
	if (mysql_query(((struct my_conn *)watch)->my, sql) != 0)
		return my_error(err, ((struct my_conn *)watch)->my);
	return 0;
}

static int my_ping(struct mg_conn *watch, struct mg_error *err)
{
	return exec_text(NULL, (struct my_conn *)watch, "SELECT 1", err);
}

static void my_abort(struct mg_conn *conn)
{
	struct my_conn *c = (struct my_conn *)conn;
	my_socket fd = mysql_get_socket(c->my);

	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

static const char *const my_schemes[] = { "mysql://", "mariadb://", NULL };

const struct mg_driver mg_driver_mysql = {
	.name = "mysql",
	.schemes = my_schemes,
	.caps = MG_CAP_RUN_LOCK,
	.ident_quote = '`',
	.ts_type = "DATETIME(6)",
	.ts_param = "STR_TO_DATE(?, '%Y-%m-%dT%H:%i:%s.%fZ')",
	.ts_text = "DATE_FORMAT(%s, '%Y-%m-%dT%H:%i:%s.%fZ')",
	/* not the database's default, often latin1: evidence is UTF-8 */
	.table_options = " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	.init = my_init,
	.end = my_end,
	.connect = my_connect,
	.close = my_close,
	.exec_script = my_exec_script,
	.check_script = my_check_script,
	.query = my_query,
	.txn = my_txn,
	.in_txn = my_in_txn,
	.lock = my_lock,
	.lock_held = my_lock_held,
	.unlock = my_unlock,
	.lock_holder = my_lock_holder,
	.fingerprint_sql = my_fingerprint_sql,
	.schema_sql = my_schema_sql,
	.schema = my_schema,
	.user = my_user,
	.secret = my_secret,
	/* jobs (issue 11) */
	.ledger_lock = my_ledger_lock,
	/* production safety */
	.set_bounds = my_set_bounds,
	.read_only = my_read_only,
	.lag = my_lag,
	.session_id = my_session_id,
	.blockers = my_blockers,
	.cancel = my_cancel,
	.ping = my_ping,
	.abort = my_abort,
	.lock_report_none =
	        "MySQL and MariaDB commit DDL implicitly, so its statements "
	        "cannot be rehearsed in a transaction that is rolled back, "
	        "and their metadata locks are visible only with "
	        "performance_schema on: review ALTER TABLE statements by "
	        "hand (ALGORITHM=INSTANT or INPLACE, LOCK=NONE)",
	/* backups */
	.table_info = mg_my_table_info,
	.update_from_sql = mg_my_update_join_sql,
	.fingerprint2_sql = mg_my_fingerprint2_sql,
	.row_bytes_sql = mg_my_row_bytes_sql,
};
