#ifndef MG_EVIDENCE_H
#define MG_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "migrator/driver.h"

struct mg_json;
struct mg_rows;

/*
 * Evidence of a file's run (issue 10; SPEC.md "Preview and evidence"):
 * what each statement did, as the driver reports it through
 * mg_script_hooks, kept within a bound so that a ledger row stays small
 * whatever the file holds (MIGRATING.md, "Evidence").
 */

/* Statements kept one by one; the rest are counted in a marker item. */
#define MG_EVIDENCE_MAX_STMTS 50

struct mg_stmt_rec {
	unsigned line;
	char tag[32];
	int64_t rows; /* -1: none */
	int64_t ms;
};

struct mg_evidence {
	/* hand &hooks to exec_script(); it records into this struct and
	 * tells `outer` too */
	struct mg_script_hooks hooks;
	const struct mg_script_hooks *outer; /* lent; may be NULL */
	struct mg_stmt_rec v[MG_EVIDENCE_MAX_STMTS]; /* the first ones */
	size_t n;     /* kept in v */
	size_t total; /* statements that completed */
	int64_t rows; /* their rows affected, in all (-1 ones left out) */
	int64_t ms;   /* their time, in all */
};

/* Empty, ready to record; `outer` (may be NULL) hears of every
 * statement as well (progress lines). Cannot fail. */
void mg_evidence_init(struct mg_evidence *ev,
                      const struct mg_script_hooks *outer);

/* Appends one item per kept statement to the array open in w, {"kind":
 * "statement","line":N,"tag":…,"rows":N|null,"ms":N}, and when some were
 * left out a marker {"kind":"statement","truncated":true,"statements":
 * total,"shown":n,"rows":…,"ms":…}. */
void mg_evidence_json(const struct mg_evidence *ev, struct mg_json *w);

/*
 * A query's rows as a JSON array of arrays of text (null for NULL), at
 * most max_rows rows and MG_EVIDENCE_COLS columns, each value cut at
 * MG_EVIDENCE_VALUE_BYTES and all values within max_bytes. What is left
 * out is said by a string as the array's last element ("truncated: 250
 * rows of 3 columns, 100 rows of 3 columns shown"). *out is the
 * caller's to free.
 */
int mg_evidence_rows_json(char **out, const struct mg_rows *r, size_t max_rows,
                          size_t max_bytes, struct mg_error *err);

#endif
