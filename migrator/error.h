#ifndef MG_ERROR_H
#define MG_ERROR_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__GNUC__)
#define MG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MG_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define MG_PRINTF(f, a)
#define MG_WARN_UNUSED
#endif

/*
 * Library functions return 0 (MG_OK) on success or one of these negative
 * codes. Expected failures have their own code so that cmd/ can map them to
 * the exit codes of SPEC.md; everything else is MG_ERR.
 */
enum mg_code {
	MG_OK = 0,
	MG_ERR = -1, /* runtime failure: I/O, server, SQL */
	MG_ENOMEM = -2,
	MG_ENOTFOUND = -3, /* a named thing does not exist */
	MG_EDRIVER = -4,   /* the server said no (connection, SQL) */
	MG_ECHECKSUM = -5, /* drift, tampered ledger, bad signature */
	MG_ECHECK = -6,    /* a pre- or post-check failed */
	MG_ELOCKED = -7,   /* lock not acquired within the timeout */
	MG_EINVALID = -8,  /* bad input: files, directives, URL, arguments */
};

struct mg_error {
	int code;
	char sqlstate[6];  /* "" unless the server sent one */
	char msg[512];     /* one line, lower case, no full stop */
	char detail[1024]; /* optional: server text, file:line, statement */
	char hint[256];    /* optional: what the user could do about it */
	char path[512];    /* the file the error is about; "" for none */
	unsigned line;     /* 1-based line in it; 0: unknown or no file */
	/* Set by a driver when the server refused a statement for what it
	 * says: an unknown table or column, a syntax error. Never for a
	 * missing privilege, a lock, a lost connection or anything else a
	 * right statement can meet. Lets the core blame a file without
	 * knowing which database said no. mg_error_set() clears it. */
	bool bad_sql;
	/* Set by a driver when a statement gave up waiting for a lock (its
	 * lock wait timeout expired): production safety's retries. */
	bool lock_wait;
};

/*
 * Fills err (which may be NULL) and returns code, so that callers can write
 * `return mg_error_set(err, MG_ENOTFOUND, "no directory '%s'", path);`.
 * Clears sqlstate, detail and hint.
 */
int mg_error_set(struct mg_error *err, int code, const char *fmt, ...)
        MG_PRINTF(3, 4);
/* Sets err->detail (err may be NULL); keeps the rest. */
void mg_error_detail(struct mg_error *err, const char *fmt, ...)
        MG_PRINTF(2, 3);
/* Sets err->hint (err may be NULL); keeps the rest. */
void mg_error_hint(struct mg_error *err, const char *fmt, ...) MG_PRINTF(2, 3);
void mg_error_clear(struct mg_error *err);
/* Sets the file and line the error is about (err may be NULL); keeps the
 * rest. The message stays as it was: readers show "path:line: msg". */
void mg_error_locate(struct mg_error *err, const char *path, unsigned line);
/* Writes "path:line: " ("path: " without a line, "" without a path) into
 * out, the prefix that editors jump to. */
void mg_error_where(char *out, size_t size, const struct mg_error *err);

#endif
