#ifndef MG_DRIVER_H
#define MG_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_buf;
struct mg_error;
struct mg_lock_step;

/*
 * The database drivers, behind one table of function pointers so that the
 * core never knows which database it talks to. It tests `caps`, never
 * `name`. Each driver's struct embeds `struct mg_conn` as its first member.
 */

/* DDL rolls back with its transaction (PostgreSQL, SQLite). Without it a
 * file runs statement by statement and a failure can leave it half-done. */
#define MG_CAP_TXN_DDL (1u << 0)
/* lock() holds a session lock for the whole run (advisory lock, GET_LOCK):
 * nobody else changes the ledger until unlock(). Without it the lock is
 * each transaction (SQLite), and the runner re-reads the ledger in each. */
#define MG_CAP_RUN_LOCK (1u << 1)
/* The database takes CREATE INDEX IF NOT EXISTS (PostgreSQL, SQLite; not
 * MySQL 8, so not the driver that serves it and MariaDB). Without it the
 * ledger's index is declared inside its CREATE TABLE IF NOT EXISTS, so
 * that racing first runs never fail (issue 12). */
#define MG_CAP_INDEX_IF_NOT_EXISTS (1u << 2)

enum mg_txn { MG_TXN_BEGIN, MG_TXN_COMMIT, MG_TXN_ROLLBACK };

/* query() flag: commit the open transaction right after the statement, in
 * the same round trip where the driver can (the ledger row of a file). */
#define MG_Q_COMMIT (1u << 0)
/*
 * connect() flag: the command only reads (status, verify, a dry run), so
 * the session must refuse every write whatever SQL it is given, not only
 * ours: PostgreSQL default_transaction_read_only for the whole session,
 * MySQL SET SESSION TRANSACTION READ ONLY, SQLite SQLITE_OPEN_READONLY
 * (PRAGMA query_only can be switched off by a query). txn(MG_TXN_BEGIN)
 * then opens a read-only transaction. Create nothing either (SQLite
 * would create a missing database file).
 */
#define MG_CONNECT_READ_ONLY (1u << 0)
/*
 * connect() flag (production safety): the session is a watcher's, which
 * runs only short queries of ours (blockers(), ping()): each must be
 * answered within MG_WATCH_ANSWER_MS, or it fails, so that a frozen
 * server cannot hang the watcher too.
 */
#define MG_CONNECT_WATCH (1u << 1)
#define MG_WATCH_ANSWER_MS 30000
/* exec_script() flag: run outside any transaction, one statement at a
 * time (-- migrate:no-transaction, and MySQL always). */
#define MG_SCRIPT_NO_TXN (1u << 0)

struct mg_conn {
	const struct mg_driver *drv;
	/* server notices and warnings go here when set; never errors */
	void (*on_notice)(void *ctx, const char *msg);
	void *notice_ctx;
};

/* backups: a table's columns and the key that restore matches rows by;
 * names as the database spells them (unquoted), in table / key order. */
struct mg_table_info {
	char **cols;
	size_t ncols;
	char **key; /* the primary key, else a unique key over non-null
	               columns; nkey 0: the table has neither */
	size_t nkey;
	/* every column's type suits fingerprint2_sql (set by drivers that
	 * have it) */
	bool fast_fp;
	/* the columns the database computes (GENERATED ALWAYS AS ...):
	 * restore neither inserts nor sets them, it lets them recompute */
	char **generated;
	size_t ngenerated;
	/* identity columns the database fills ALWAYS (PostgreSQL): restore
	 * inserts them with insert_override and never sets them */
	char **identity;
	size_t nidentity;
	/* what an INSERT that writes every other column needs between its
	 * column list and its SELECT ("OVERRIDING SYSTEM VALUE" for a
	 * PostgreSQL identity ALWAYS column); NULL: nothing. Static. */
	const char *insert_override;
};

void mg_table_info_dispose(struct mg_table_info *t);
/* Appends a copy of name to v (cols or key); MG_ENOMEM. */
int mg_table_info_add(char ***v, size_t *n, const char *name,
                      struct mg_error *err);

/* A query's result, every value as text; NULL for SQL NULL. */
struct mg_rows {
	size_t nrows, ncols;
	char **cells; /* nrows * ncols, row-major, owned */
};

struct mg_script_result {
	size_t done;      /* statements that completed */
	size_t committed; /* of those, committed for good: not inside the
	                     runner's transaction nor one the file opened */
	size_t total;     /* statements in the file, where split (else 0) */
	unsigned line;    /* 1-based file line of the failure; 0: unknown */
	/* jobs (issue 11): rows the statements inserted, updated or
	 * deleted (a query's result rows do not count), all of them and
	 * the last statement's alone, which ends a batched job at 0 */
	int64_t rows;
	int64_t last_rows;
};

/* Evidence (issue 10): what one statement of a file did, reported by
 * exec_script() through mg_script_hooks as each statement completes. */
struct mg_stmt_stat {
	unsigned line;   /* 1-based file line where its own text starts */
	const char *tag; /* command tag ("INSERT", "CREATE TABLE"); lent */
	int64_t rows;    /* rows affected (or returned); -1: none */
	int64_t ms;      /* milliseconds it took */
};

/*
 * exec_script()'s per-statement callbacks (NULL: none; either pointer may
 * be NULL). stmt_start() is called before each statement runs (on
 * PostgreSQL, where a file goes as one query, when the previous
 * statement's result arrives), stmt_done() after it completed; neither
 * for a statement that failed, whose line is in mg_script_result.
 */
struct mg_script_hooks {
	void (*stmt_start)(void *ctx, unsigned line);
	void (*stmt_done)(void *ctx, const struct mg_stmt_stat *st);
	void *ctx;
};

struct mg_driver {
	const char *name; /* "postgres", "mysql", "sqlite" */
	/* The URL schemes it serves, each with what follows the name
	 * ("postgres://", "sqlite:"), matched at the start of a URL
	 * ignoring case; NULL-terminated. */
	const char *const *schemes;
	/* Also serves a libpq keyword/value string ("host=db dbname=app"):
	 * text with an '=' and no "://", when no driver's scheme matched. */
	bool keyword_strings;
	unsigned caps;    /* MG_CAP_* */
	char ident_quote; /* '"' or '`' */
	/* the ledger's timestamp column type, e.g. "timestamptz" */
	const char *ts_type;
	/* SQL taking one '?' ISO 8601 UTC text parameter as a timestamp */
	const char *ts_param;
	/* SQL turning the column named where "%s" stands into ISO 8601 UTC
	 * text with microseconds, "2026-01-31T12:00:00.000000Z" (a
	 * template, not a printf format) */
	const char *ts_text;
	/* appended to the ledger's CREATE TABLE ("" for none) */
	const char *table_options;

	/*
	 * Process-wide set-up of the client library, or NULL for none:
	 * called once by mg_drivers_init(), before any thread or connect().
	 * 0, or -1 if the library cannot be used. end() undoes it after the
	 * last close() (NULL: nothing to undo); it is called only after an
	 * init() that succeeded.
	 */
	int (*init)(void);
	void (*end)(void);

	/* `url` as given by the user; the error never shows a password.
	 * flags: MG_CONNECT_*. */
	int (*connect)(struct mg_conn **out, const char *url, unsigned flags,
	               struct mg_error *err);
	void (*close)(struct mg_conn *conn); /* accepts NULL */

	/*
	 * Runs a migration file's text (normalised, NUL-terminated, len
	 * bytes). Inside the open transaction unless MG_SCRIPT_NO_TXN. On
	 * failure err holds the server's message and SQLSTATE, and res the
	 * failing line and how many statements completed before it. hooks
	 * (may be NULL) hear of each statement as it runs.
	 */
	int (*exec_script)(struct mg_conn *conn, const char *sql, size_t len,
	                   unsigned flags, const struct mg_script_hooks *hooks,
	                   struct mg_script_result *res, struct mg_error *err);

	/*
	 * Checks a file before anything runs, without a connection: what
	 * cannot work in the way it will be run, such as BEGIN/COMMIT or
	 * CREATE INDEX CONCURRENTLY inside the runner's transaction, or an
	 * unterminated quote where the driver splits statements itself.
	 * MG_EINVALID with *line set (1-based, 0: unknown); NULL: no checks.
	 */
	int (*check_script)(const char *sql, size_t len, unsigned flags,
	                    unsigned *line, struct mg_error *err);

	/*
	 * Runs one statement of ours, with '?' placeholders bound to text
	 * values (NULL: SQL NULL). `out` may be NULL to discard rows; else
	 * the caller frees it with mg_rows_free(). flags: MG_Q_*.
	 */
	int (*query)(struct mg_rows **out, struct mg_conn *conn,
	             const char *sql, const char *const *params, size_t nparams,
	             unsigned flags, struct mg_error *err);

	int (*txn)(struct mg_conn *conn, enum mg_txn op, struct mg_error *err);

	/*
	 * Whether the session is still inside the transaction that
	 * txn(MG_TXN_BEGIN) opened, and on a MG_CONNECT_READ_ONLY session
	 * that it is still read-only; an aborted transaction (PostgreSQL,
	 * after an error) counts as inside, since only ROLLBACK ends it. A
	 * dry run asks before each check and after a file's checks: a query
	 * that ended the transaction must not let the next one run outside
	 * it. Answers from what the client library knows where it can (no
	 * round trip). NULL: the dry run cannot confirm, and does not.
	 */
	int (*in_txn)(bool *out, struct mg_conn *conn, struct mg_error *err);

	/*
	 * Takes the runner's lock named `name` (also given as a 64-bit key
	 * for databases that lock numbers), waiting up to timeout_s seconds.
	 * MG_ELOCKED on timeout, naming the holder where the database can
	 * tell. Released by unlock(), or by the server when the session ends.
	 */
	int (*lock)(struct mg_conn *conn, const char *name, int64_t key,
	            int timeout_s, struct mg_error *err);
	void (*unlock)(struct mg_conn *conn, const char *name, int64_t key);

	/*
	 * Confirms that the lock lock() took is still held: the runner asks
	 * before each file, so that a run whose lock session was killed
	 * stops instead of going on unguarded. 0, or MG_ELOCKED saying the
	 * lock was lost. Cheap where the lock lives on the main session
	 * (PostgreSQL: is the session up); MySQL asks its lock session.
	 * NULL where the lock is each transaction (SQLite).
	 */
	int (*lock_held)(struct mg_conn *conn, const char *name, int64_t key,
	                 struct mg_error *err);

	/* Issue 12, cluster locks and poolers: */
	/*
	 * Who holds the run lock `name`/`key` now, as "pid X on host Y since
	 * T" or the database's own words, into `who` (size bytes): 1 held,
	 * 0 free, <0 cannot tell. For a runner that met another one other
	 * than at the lock (a ledger id taken meanwhile), and for `status`,
	 * which says "in progress" instead of "dirty" while the runner that
	 * left a dirty marker still holds it. NULL: cannot tell.
	 */
	int (*lock_holder)(struct mg_conn *conn, const char *name, int64_t key,
	                   char *who, size_t size);

	/*
	 * Appends a query that yields one text value: a fingerprint of the
	 * listed columns over all rows of `table` (names as the directive
	 * wrote them), computed inside the database in one scan. It must not
	 * depend on row order, must count duplicate rows (a sum, not XOR),
	 * must tell NULL from '' and must not change when only a column's
	 * type changes while its text form stays (int -> bigint).
	 */
	void (*fingerprint_sql)(struct mg_buf *out, const char *table,
	                        const char *const *cols, size_t ncols);

	/*
	 * Appends a query describing the schema that migrations change, as
	 * rows of (kind, name, definition) text: tables' columns, indexes,
	 * constraints, views, functions, triggers, sequences, types; enough
	 * that a down file which leaves anything behind, or drops too much,
	 * shows up as a different set of rows. (The ledger table is in it,
	 * but only its rows change while migrations run.)
	 */
	void (*schema_sql)(struct mg_buf *out);

	/*
	 * The schema (PostgreSQL: current_schema() on connecting) or
	 * database (MySQL) where an unqualified ledger table lives; NULL
	 * where there is only one (SQLite). The ledger and the lock name are
	 * qualified with it, so that a migration's `SET search_path` or `USE`
	 * cannot send ledger rows elsewhere. Lends a connection's string.
	 */
	const char *(*schema)(struct mg_conn *conn);

	/* The database user of the session; NULL if there is none (SQLite).
	 * Lends a string owned by the connection. */
	const char *(*user)(struct mg_conn *conn);

	/*
	 * The password the session logged in with (from the URL, or where
	 * the client library found it: PGPASSWORD, ~/.pgpass), NULL if none
	 * (SQLite). Lends a string owned by the connection, valid until
	 * close(). For mg_scrub() (migrator/drivers/url.h) wherever server
	 * text is printed or stored: a statement, or a file that is really
	 * /proc/self/environ, can make the server quote the password back.
	 * The drivers scrub the errors they fill already; the slot is for
	 * the other sinks.
	 */
	const char *(*secret)(struct mg_conn *conn);

	/* ---- jobs (issue 11) ---- */

	/*
	 * Called in a transaction that is about to append to the ledger
	 * `table` (quoted, as in SQL), before the ledger's tail is read
	 * again: makes every other appender wait until this transaction
	 * ends, and the driver frees it then (commit or rollback). A job
	 * appends while `up` runs, neither holding the other's lock, and
	 * the hash chain must not fork. It needs no privilege beyond
	 * SELECT and INSERT on the ledger, which a careful team may grant
	 * alone. MG_ELOCKED when it waited too long. NULL: the transaction
	 * itself excludes other writers (SQLite's BEGIN IMMEDIATE).
	 */
	int (*ledger_lock)(struct mg_conn *conn, const char *table,
	                   struct mg_error *err);

	/*
	 * A lock of one job's name, apart from the run lock, waiting up to
	 * timeout_s seconds (0: try once): two runs of the same job never
	 * overlap, and a job neither takes nor waits for the migrations'
	 * run lock. MG_ELOCKED on timeout. NULL: lock() and unlock() serve
	 * (they take any name: advisory locks, GET_LOCK).
	 */
	int (*job_lock)(struct mg_conn *conn, const char *name, int64_t key,
	                int timeout_s, struct mg_error *err);
	void (*job_unlock)(struct mg_conn *conn, const char *name,
	                   int64_t key);
	/*
	 * Production safety (issue 14). Each slot may be NULL where the
	 * database has no such thing; the core then goes without.
	 */

	/*
	 * Bounds every statement that runs next on this session: how long
	 * it may wait for a lock (lock_ms) and how long it may run
	 * (stmt_ms), in milliseconds; MG_BOUND_OFF (0): no bound,
	 * MG_BOUND_UNSET (-1): the server's own setting (migrator/bounds.h).
	 * flags: MG_BOUNDS_DEFAULT makes them the session's defaults, which
	 * the driver restores after each file ends (a file's directives
	 * override them for the file only). lock()'s own wait for the run
	 * lock is not bounded by them.
	 */
	int (*set_bounds)(struct mg_conn *conn, int64_t lock_ms,
	                  int64_t stmt_ms, unsigned flags,
	                  struct mg_error *err);

	/*
	 * Whether the target refuses writes (a PostgreSQL hot standby or
	 * default_transaction_read_only, MySQL read_only/super_read_only):
	 * 1 and `why` ("is a hot standby (read-only)"), 0 if it takes
	 * writes, < 0 with err. A write command asks before it plans.
	 */
	int (*read_only)(char *why, size_t size, struct mg_conn *conn,
	                 struct mg_error *err);

	/*
	 * How far a standby's data is behind its primary, as text ("3.2 s
	 * behind the primary (last replayed transaction at ...)"): 1 and
	 * `out` on a standby, 0 on a primary.
	 */
	int (*lag)(char *out, size_t size, struct mg_conn *conn,
	           struct mg_error *err);

	/* The session's id on the server (backend pid, CONNECTION_ID()),
	 * for a watcher session to look it up; 0: none (SQLite). */
	int64_t (*session_id)(struct mg_conn *conn);

	/*
	 * Run on a watcher session (a connection of its own): the sessions
	 * that block session `waiter` from a lock, as rows of (id, user,
	 * application, state, since, start of the last query) text, and
	 * none when it waits for nothing. Read while it waits: once a lock
	 * wait times out, nothing blocks it any more.
	 */
	int (*blockers)(struct mg_rows **out, struct mg_conn *watch,
	                int64_t waiter, struct mg_error *err);

	/*
	 * Cancels the statement that `conn` runs, from another thread than
	 * the one waiting on it (PostgreSQL's cancel request; MySQL KILL
	 * QUERY over the watcher session `watch`, which may then be NULL
	 * for PostgreSQL). The waiting call then fails as the server says.
	 */
	int (*cancel)(struct mg_conn *conn, struct mg_conn *watch,
	              struct mg_error *err);

	/* A cheap round trip on a watcher session: the heartbeat that
	 * tells a frozen server from a slow statement. */
	int (*ping)(struct mg_conn *watch, struct mg_error *err);

	/*
	 * Cuts the connection under a call that another thread is blocked
	 * in (shutdown() of its socket), which then fails: the monitor's
	 * answer to a server that stopped answering. Safe from another
	 * thread; the connection is only good for close() after.
	 */
	void (*abort)(struct mg_conn *conn);

	/*
	 * migrate test --locks: runs a file's text statement by statement
	 * inside the open transaction (which the caller rolls back), and
	 * after each one calls `after` with what it did: its line, the
	 * relation locks the session then holds on tables that existed
	 * before the file, and a hint where a safer form exists. On a
	 * failure err is located at the statement's line (err->line).
	 * NULL where the database cannot: lock_report_none says why.
	 */
	int (*lock_rehearse)(struct mg_conn *conn, const char *sql, size_t len,
	                     void (*after)(void *ctx,
	                                   const struct mg_lock_step *step),
	                     void *ctx, struct mg_error *err);
	const char *lock_report_none;

	/*
	 * backups (MIGRATING.md, "Backups")
	 *
	 * table_info: the columns of `table` (as a directive wrote it:
	 * maybe schema-qualified, quoted, any case) and its key. MG_ENOTFOUND
	 * when there is no such table, without disturbing the open
	 * transaction (PostgreSQL: no failed statement in it).
	 */
	int (*table_info)(struct mg_table_info *out, struct mg_conn *conn,
	                  const char *table, struct mg_error *err);
	/*
	 * Appends an UPDATE that sets, on each row of `target` whose key
	 * columns equal a row of `source`'s, the `set` columns to that
	 * row's values. Every name comes quoted for this database.
	 */
	void (*update_from_sql)(struct mg_buf *out, const char *target,
	                        const char *source, const char *const *set,
	                        size_t nset, const char *const *key,
	                        size_t nkey);
	/*
	 * The backups' faster fingerprint, format "fp2": the promises of
	 * fingerprint_sql, but each value hashed by its type instead of
	 * formatted as text. Used for tables whose table_info set fast_fp.
	 * NULL: backups use fingerprint_sql (format "fp1").
	 */
	void (*fingerprint2_sql)(struct mg_buf *out, const char *table,
	                         const char *const *cols, size_t ncols);
	/*
	 * Appends an expression for the size in bytes of one row of
	 * `alias` (a subquery's alias) whose columns are `cols` (quoted), as
	 * the database measures it without sending the row: what `--dry-run`
	 * says a backup would take (MIGRATING.md says how exact). NULL: the
	 * size is not known.
	 */
	void (*row_bytes_sql)(struct mg_buf *out, const char *alias,
	                      const char *const *cols, size_t ncols);
};

/* A statement of a lock rehearsal (lock_rehearse()). */
struct mg_lock_step {
	unsigned line;    /* 1-based file line where it starts */
	const char *stmt; /* its text, stmt_len bytes */
	size_t stmt_len;
	const char *hint; /* a safer form, or NULL */
	/* rows of (table, lock mode, what it blocks: "reads and writes",
	 * "writes" or "DDL", table size in bytes), every lock held so far
	 * in the transaction on a table that existed before the file */
	const struct mg_rows *locks;
};

/* set_bounds() flag: the session's defaults, restored after each file */
#define MG_BOUNDS_DEFAULT (1u << 0)

/* Hides the connection's password (its secret slot) in text, in place,
 * as whole occurrences (mg_scrub): for what the core stores, such as a
 * ledger row's error. */
void mg_conn_scrub(struct mg_conn *conn, char *text, size_t size);

/* Process-wide set-up of the client libraries: once, from main(). Calls
 * each driver's init(); on a failure ends those already set up and
 * returns -1. mg_drivers_end() calls their end() in reverse order. */
int mg_drivers_init(void);
void mg_drivers_end(void);

/*
 * The driver serving a URL: the first whose `schemes` match, else the
 * first with `keyword_strings` if the URL is one. NULL with err set
 * (MG_EINVALID) if no driver serves it or this build leaves it out.
 */
const struct mg_driver *mg_driver_for_url(const char *url,
                                          struct mg_error *err);

const char *mg_rows_get(const struct mg_rows *r, size_t row, size_t col);
/* Allocates an empty result of ncols columns; NULL on out-of-memory. */
struct mg_rows *mg_rows_new(size_t ncols);
/* Appends a row of ncols values (copied; NULL stays NULL). */
int mg_rows_add(struct mg_rows *r, const char *const *values, size_t ncols);
void mg_rows_free(struct mg_rows *r);

#endif
