#ifndef MG_DIRECTIVE_H
#define MG_DIRECTIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_error;

/*
 * The directives of a migration file: SQL line comments at the start of a
 * line, `-- migrate:...` and `-- check: ...` (SPEC.md, "Directives").
 */
enum mg_check_kind {
	MG_CHECK_ROWS_UNCHANGED, /* rows <table> unchanged */
	MG_CHECK_ROWS_DELTA,     /* rows <table> delta <+N|-N> */
	MG_CHECK_DATA_UNCHANGED, /* data <table> (<col>, ...) unchanged */
	MG_CHECK_EMPTY,          /* empty <query> */
	MG_CHECK_TRUE,           /* true <query> */
	MG_CHECK_RECORD,         /* record: <query>, evidence that never
	                            fails (issue 10) */
};

struct mg_check {
	enum mg_check_kind kind;
	bool pre;      /* check:pre: evaluated before the file runs */
	unsigned line; /* 1-based line of the directive */
	char *text;    /* the directive as written, after "--" */
	char *table;   /* rows, data: as written, may be schema-qualified */
	char **cols;   /* data: column names as written */
	size_t ncols;
	int64_t delta; /* rows delta: the number, or the sign (+1/-1) of
	                  a query's or a backup's count */
	char *query;   /* empty, true, record; rows delta -(<query>) */
	/* backups: where a rows delta's number comes from */
	enum mg_delta_from {
		MG_DELTA_NUMBER, /* delta <+N|-N> */
		MG_DELTA_QUERY,  /* -(<query>): its count before the file */
		MG_DELTA_BACKUP, /* -backup: the rows the backup: saved */
	} delta_from;
};

/* backups: `-- backup: <table> [keep <N>d] [where <predicate>]` (up
 * files) and `-- restore: <table>` (down files). */
struct mg_backup_spec {
	unsigned line;
	char *table; /* as written, may be schema-qualified or quoted */
	int keep_days; /* -1: kept until pruned by version */
	char *where;   /* NULL: every row */
};

struct mg_directives {
	bool no_transaction;
	bool irreversible;
	/* production safety: -- migrate:ddl-lock-timeout / statement-timeout
	 * (milliseconds, MG_BOUND_OFF for "off"; migrator/bounds.h) */
	bool has_ddl_lock_timeout, has_statement_timeout;
	int64_t ddl_lock_ms, statement_ms;
	/* -- migrate:allow-lock <table>: blocking locks acknowledged for
	 * migrate test --locks --strict (as written; owned) */
	char **allow_lock;
	size_t nallow_lock;
	struct mg_check *checks; /* owned */
	size_t nchecks;
	/* backups */
	struct mg_backup_spec *backups; /* backup: lines, owned */
	size_t nbackups;
	struct mg_backup_spec *restores; /* restore: lines (table, line) */
	size_t nrestores;
};

/*
 * Parses every directive of `len` bytes of normalised text (LF line ends).
 * Errors: MG_EINVALID with msg naming the problem and err->line;
 * MG_ENOMEM. On error *out is left empty.
 */
int mg_directives_parse(struct mg_directives *out, const char *text, size_t len,
                        struct mg_error *err);
void mg_directives_dispose(struct mg_directives *d);

const char *mg_check_kind_name(enum mg_check_kind kind);

#endif
