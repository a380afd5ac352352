#ifndef MG_SPLIT_H
#define MG_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_error;

/*
 * Splits a migration file into statements, for the drivers that must send
 * them one at a time: MySQL always (DDL commits implicitly, so progress is
 * tracked per statement), PostgreSQL for `-- migrate:no-transaction` files
 * (a multi-statement query runs in an implicit transaction block, which
 * CREATE INDEX CONCURRENTLY refuses). Pure code: no I/O, no allocation
 * beyond the result array.
 */
enum mg_split_dialect {
	MG_SPLIT_POSTGRES, /* '..' E'..' ".." $tag$..$tag$, -- and nested
	                      block comments */
	MG_SPLIT_MYSQL,    /* '..' ".." with backslash escapes, `..`, #, --,
	                      executable comments, DELIMITER lines,
	                      BEGIN .. END bodies */
};

struct mg_stmt {
	size_t off;    /* byte offset of the statement's first character */
	size_t len;    /* bytes, without the delimiter and trailing blanks */
	unsigned line; /* 1-based file line of the first character */
};

struct mg_stmts {
	struct mg_stmt *v; /* owned; free with mg_stmts_dispose() */
	size_t n;
};

/*
 * Splits `len` bytes of `sql` (need not be NUL-terminated). Statements
 * that hold only blanks and comments are dropped, so an empty or
 * comment-only file gives n == 0. A statement text keeps its comments
 * (MySQL executable comments must reach the server). The text of a
 * statement is sql[off, off + len): a missing final delimiter is fine.
 *
 * Errors: MG_EINVALID for an unterminated quote, quoted identifier,
 * dollar quote or block comment (msg names it, err->line is the
 * line where it opened), MG_ENOMEM. On error *out is left empty.
 */
int mg_split(struct mg_stmts *out, const char *sql, size_t len,
             enum mg_split_dialect dialect, struct mg_error *err);
void mg_stmts_dispose(struct mg_stmts *s);

/*
 * Why a statement cannot run inside the runner's transaction, or NULL.
 * Looks past leading comments at its first words: BEGIN, START
 * TRANSACTION, COMMIT, END, ROLLBACK (not ROLLBACK TO), ABORT, PREPARE
 * TRANSACTION control a transaction of their own, and their COMMIT would
 * end ours early, after which a failed check could no longer roll the
 * file back; with `pg`, PostgreSQL's CREATE/DROP/REINDEX ... CONCURRENTLY,
 * VACUUM, CREATE/DROP DATABASE and ALTER SYSTEM refuse any transaction.
 */
const char *mg_stmt_txn_problem(const char *sql, size_t len, bool pg);

/* The 1-based line of byte off in sql: one more than the '\n's before it.
 * For error lines from byte offsets; sql need not be NUL-terminated. */
unsigned mg_sql_line_at(const char *sql, size_t off);

/* The offset of the first byte in sql[0, len) that is neither blank nor
 * in a comment: where a statement's own text starts, for error lines. */
size_t mg_stmt_skip_comments(const char *sql, size_t len);

/*
 * Evidence (issue 10), for drivers whose server sends no command tag: the
 * statement's first word in upper case, and for CREATE, ALTER and DROP
 * the kind of object too ("CREATE TABLE", "INSERT"); "" for none. Always
 * NUL-terminated within size.
 */
void mg_stmt_tag(char *out, size_t size, const char *sql, size_t len);
/* The file line where statement s of sql starts its own text, past the
 * comments before it. */
unsigned mg_stmt_own_line(const char *sql, const struct mg_stmt *s);
/* The line of byte offsets that only grow, each found by counting from
 * the last (mg_sql_line_at() counts from the start: quadratic over a
 * big file's statements). Start it as { sql, 0, 1 }. */
struct mg_line_cursor {
	const char *sql;
	size_t off;
	unsigned line;
};
unsigned mg_line_cursor_at(struct mg_line_cursor *c, size_t off);
/* A monotonic clock in microseconds, for a statement's duration. */
int64_t mg_stmt_clock_us(void);

#endif
