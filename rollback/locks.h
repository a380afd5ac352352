#ifndef MG_LOCKS_H
#define MG_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_error;
struct mg_runner;
struct mg_up_opts;

/*
 * `migrate test --locks` (issue 14): rehearses each pending up file, one
 * statement at a time, in one transaction that is always rolled back, and
 * reports per statement the locks it holds on tables that existed before
 * its file, what they block and how big the tables are, with a hint where
 * a safer form exists. The driver does the database's part
 * (lock_rehearse); where it cannot, one report says why.
 */
struct mg_lock_entry {
	const char *table, *mode, *blocks;
	int64_t bytes;
	bool blocking; /* blocks reads or writes */
	bool allowed;  /* the file says -- migrate:allow-lock <table> */
};

struct mg_lock_report {
	const char *file;
	unsigned line;    /* 0: the whole file (a note) */
	const char *stmt; /* the statement, its first line; or NULL */
	const char *hint; /* or NULL */
	const char *note; /* not rehearsed, and why; or NULL */
	const struct mg_lock_entry *locks;
	size_t nlocks;
};

/*
 * Takes the run lock, plans `up` and reports each statement of each
 * pending file through on_report. *violations counts the blocking locks
 * that no allow-lock acknowledged (--strict makes them exit 4). A file
 * that fails in the rehearsal stops it with its error (located).
 */
int mg_locks_run(struct mg_runner *r, const struct mg_up_opts *opts,
                 void (*on_report)(void *ctx, const struct mg_lock_report *rep),
                 void *ctx, size_t *violations, struct mg_error *err);

#endif
