#ifndef MG_CHECK_H
#define MG_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_buf;
struct mg_conn;
struct mg_directives;
struct mg_error;
struct mg_json;

/*
 * Running a file's checks (SPEC.md, "Directives"): "before" values and
 * check:pre queries ahead of the file, "after" values and post queries
 * behind it, and the evidence of both for the ledger.
 */
enum mg_verdict {
	MG_VERDICT_PENDING, /* not compared yet */
	MG_VERDICT_OK,
	MG_VERDICT_FAILED, /* the values say the promise was broken */
	MG_VERDICT_ERROR,  /* the check's own query failed */
};

struct mg_check_result {
	char *before; /* rows: a count; data: a fingerprint; NULL: none */
	char *after;
	char *after_undo; /* read again after an undo; NULL: none ran */
	char *note;       /* why a verdict is failed or error */
	enum mg_verdict verdict;
	/* backups: a rows delta's expected change, known once its query
	 * ran or its backup was taken */
	int64_t delta;
	bool delta_known;
	/* Evidence (issue 10). A failing empty check: the first rows it
	 * found, as a JSON array of arrays of text (MG_EVIDENCE_SAMPLE_ROWS).
	 * A record: before and after hold such arrays (MG_EVIDENCE_RECORD_*)
	 * and nrows the number of rows each query returned; a truncated
	 * array ends with a string saying what was left out. */
	char *rows;
	size_t nrows[2];
};

/* Bounds on what one check keeps (MIGRATING.md, "Evidence"). */
#define MG_EVIDENCE_SAMPLE_ROWS 10
#define MG_EVIDENCE_RECORD_ROWS 100
#define MG_EVIDENCE_COLS 20
#define MG_EVIDENCE_VALUE_BYTES 200   /* a longer value is cut */
#define MG_EVIDENCE_RECORD_BYTES 16384 /* a record's values in all */

struct mg_checks {
	const struct mg_directives *dir; /* lent */
	struct mg_check_result *r;       /* one per dir->checks[] */
	size_t failed;                   /* index of the first failure */
	bool any_failed;
	/* backups: more evidence items (backup, restore) that
	 * mg_checks_json() appends after the checks' own; NULL: none */
	void (*more_json)(const void *ctx, struct mg_json *w);
	const void *more_ctx;
	/* set by the caller when the file ran inside a transaction: a
	 * record: query that fails after it then runs in a savepoint, so
	 * that it cannot abort the transaction (PostgreSQL) */
	bool in_txn;
};

/* backups: sets the expected delta of each `rows <table> delta ±backup`
 * check to ± rows (the table as the directives wrote it). */
void mg_checks_set_backup_rows(struct mg_checks *c, const char *table,
                               int64_t rows);

/*
 * Before the file runs: the count or fingerprint of every rows and data
 * check, and the verdict of every check:pre query. MG_EINVALID when a
 * check's query cannot run (a table or column that does not exist):
 * err->msg names the check and the server's words, err->line its line
 * words. A failed pre-check is no error: see c->any_failed.
 */
int mg_checks_before(struct mg_checks *out, struct mg_conn *conn,
                     const struct mg_directives *dir, struct mg_error *err);

/* After the file ran: values and verdicts of the other checks. A check
 * whose query fails gets MG_VERDICT_ERROR; when the query itself is at
 * fault (a table the file dropped) that is the check's verdict, else (a
 * lost connection) the server's error is returned too. */
int mg_checks_after(struct mg_checks *c, struct mg_conn *conn,
                    struct mg_error *err);

/*
 * After an undo (the opposite file ran because a check failed where DDL
 * cannot roll back): reads the before values again into `after_undo`
 * (keeping `after`, what the check saw) and sets *same when each equals
 * its before value; `differs` (caller frees) lists those that do not.
 */
int mg_checks_restored(struct mg_checks *c, struct mg_conn *conn, bool *same,
                       char **differs, struct mg_error *err);

/* One line a check: "rows users: 1523 -> 1523 ok"; lends, per index. */
void mg_checks_describe(const struct mg_checks *c, size_t i,
                        struct mg_buf *out);
/* Evidence as a JSON array: kind, check, line, pre, before, after,
 * after_undo (when an undo ran), verdict, note, rows (a failing empty
 * check's). "[]" for none. */
void mg_checks_json(const struct mg_checks *c, struct mg_buf *out);
/* The same items, appended to the array open in w. */
struct mg_json;
void mg_checks_json_items(const struct mg_checks *c, struct mg_json *w);
void mg_checks_dispose(struct mg_checks *c);

#endif
