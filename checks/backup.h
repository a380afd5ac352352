#ifndef MG_BACKUP_H
#define MG_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_conn;
struct mg_directives;
struct mg_error;
struct mg_json;
struct mg_json_value;

/*
 * Backups (SPEC.md, "Backups"; MIGRATING.md, "Backups"): the rows a file's
 * `-- backup:` lines select, copied into tables that migrate owns before
 * the file's SQL runs, with their count and fingerprint as evidence.
 */

/* Who a backup belongs to, for its name and its expiry. */
struct mg_backup_ctx {
	const char *ledger;     /* --ledger-table as given */
	const char *ledger_sql; /* the ledger table, quoted for SQL */
	const char *owner;      /* "v" for a version; a job's name */
	int64_t number;         /* the version; a job's event id */
	const char *started;    /* the event's start: `keep` counts from it */
	bool in_txn;            /* the copy runs in the file's transaction */
	const char *job; /* jobs (issue 11): the job's name, and number is
	                    the id its batch's ledger event will have */
};

struct mg_backup {
	unsigned line;
	char *table;        /* as the directive wrote it */
	char *where;        /* NULL: every row */
	char *backup_table; /* its name as the database spells it */
	char *backup_sql;   /* qualified and quoted, for SQL */
	char **cols;        /* the table's columns (unquoted) */
	size_t ncols;
	char **key; /* the columns restore matches rows by */
	size_t nkey;
	int64_t rows;
	int64_t bytes; /* a dry run: the rows' size (row_bytes_sql); -1 */
	char *fingerprint; /* over every column; NULL in a dry run */
	const char *fp_format; /* MG_BACKUP_FP_FORMAT or ..._FORMAT2 */
	int keep_days;     /* -1: kept until pruned by version */
	char expires_at[32]; /* "" without keep */
	bool in_txn;
	int64_t event; /* a job's: the event id in its name; 0: a version's */
	bool reused; /* the table existed and matched its record */
	bool taken;  /* the copy exists (or was counted, in a dry run) */
	bool empty;  /* a job's that would save no rows: no table made */
};

struct mg_backups {
	struct mg_backup *v;
	size_t n;
	bool dry_run; /* counted only */
};

/* The fingerprint formats recorded with each backup, so that old ledger
 * values stay verifiable: "fp1" is the checks' data fingerprint (each
 * row's text), "fp2" the driver's fingerprint2_sql (each value by its
 * type), used where the driver has it and the table's types suit it. */
#define MG_BACKUP_FP_FORMAT "fp1"
#define MG_BACKUP_FP_FORMAT2 "fp2"

/* Whether this connection can compute fingerprints of `format`. */
bool mg_backup_fp_known(const struct mg_conn *conn, const char *format);
/* The fingerprint, in `format`, of `cols` (unquoted) over `from` (a table
 * or "(query) AS x"); *out: caller frees. */
int mg_backup_fingerprint(char **out, struct mg_conn *conn, const char *format,
                          const char *from, char *const *cols, size_t ncols,
                          struct mg_error *err);

/*
 * The backup table's name: "<ledger>_bk_<owner><number>_<table>", where
 * <ledger> is the ledger table's name without its schema and <table> the
 * backed-up table's name, lower-cased, each character other than a
 * letter, digit or '_' turned into '_'. A name longer than 63
 * characters keeps its first 54 and ends in '_' and 8 hex digits of a
 * hash of the whole. Versions use owner "v": migrate_ledger_bk_v3_staff.
 */
void mg_backup_name(char out[64], const char *ledger, const char *owner,
                    int64_t number, const char *table);
/*
 * A job's backup table (issue 11): "<ledger>_bk_j<event>_<job>_<table>",
 * spelled and shortened as above, where <event> is the id of the ledger
 * event of the batch that took it: every run (and every batch) keeps its
 * own, and the 'j' keeps it apart from any version's 'v'. The event id
 * comes first, inside the 54 characters a long name keeps.
 */
void mg_backup_job_name(char out[64], const char *ledger, const char *job,
                        int64_t event, const char *table);

/*
 * Takes every backup: line of dir, in order: finds the table's key,
 * refuses a table without one (MG_EINVALID, err->line the directive's),
 * copies the rows with CREATE TABLE ... AS SELECT and records count and
 * fingerprint. A backup table that exists already is reused only when it
 * still holds what the ledger recorded and what the predicate selects
 * now; else MG_ERR saying what to do. A predicate that is not valid SQL
 * is MG_EINVALID. With dry_run, only counts the rows each would save.
 * *out is filled as far as it got, also on error (dispose it).
 */
int mg_backups_take(struct mg_backups *out, struct mg_conn *conn,
                    const struct mg_backup_ctx *ctx,
                    const struct mg_directives *dir, bool dry_run,
                    struct mg_error *err);
/*
 * jobs (issue 11): gives a job's backup, copied under its provisional
 * name (event 0) inside the batch's transaction, its name from `event`,
 * the id the batch's event will have (ALTER TABLE ... RENAME TO, in the
 * same transaction). An empty or untaken backup only gets the event.
 */
int mg_backup_rename(struct mg_backup *bk, struct mg_conn *conn,
                     const char *ledger, const char *job, int64_t event,
                     struct mg_error *err);

/* The evidence items (kind "backup") into an open JSON array; ctx is a
 * const struct mg_backups * (the shape of mg_checks.more_json). */
void mg_backups_json(const void *ctx, struct mg_json *w);
void mg_backups_dispose(struct mg_backups *b);

/* The start every backup table's name shares: "<ledger>_bk_" (the
 * ledger's name without its schema). */
void mg_backup_prefix(char *out, size_t size, const char *ledger);

/* "schema"."name" (or "name" where schema is NULL) into a fresh string
 * quoted with q; NULL on out-of-memory. */
char *mg_backup_quote(const char *schema, const char *name, char q);
/* The schema a backup table goes into: the ledger's, else the
 * session's; NULL on SQLite. Lends a string of ledger or conn. */
const char *mg_backup_schema(char *buf, size_t size, struct mg_conn *conn,
                             const char *ledger);

#endif
