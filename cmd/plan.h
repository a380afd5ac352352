#ifndef MG_CMD_PLAN_H
#define MG_CMD_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checks/evidence.h"
#include "migrator/checksum.h"

struct mg_buf;
struct mg_error;
struct mg_event;
struct opts;

/*
 * The plan an approver signs off (issue 10): what `migrate plan` writes
 * and `up --plan FILE` holds the run to. Built from the events of a dry
 * run (checksums, live before values) and, with --preview, of a
 * rehearsal (each statement, each check's verdict).
 */
struct plan_check {
	char *text;   /* the directive as written */
	unsigned line;
	char *before; /* live before value; NULL: none or not evaluated */
	char *line_text; /* one line for people: "rows users: 3 -> 3 ok" */
	bool record;  /* a record:, shown, not held to */
};

struct plan_file {
	int64_t version;
	char *name, *file, *checksum;
	const char *sql; /* lent: the source's text */
	bool no_txn;
	struct plan_check *checks;
	size_t nchecks;
	char *not_evaluated; /* dry run: why the checks have no values yet */
	/* each `backup:` of the file, and the rows it would save now */
	struct plan_backup {
		char *table;
		int64_t rows;
		int64_t bytes; /* their size (-1: unknown) */
	} *backups;
	size_t nbackups;
	/* --preview */
	bool rehearsed, not_rehearsed;
	const char *status; /* the outcome's name */
	int64_t ms;
	struct mg_evidence ev;
	char **rehearsal_checks; /* one line per check, after the rehearsal */
	size_t nrehearsal_checks;
	char *error;
};

struct plan_doc {
	struct plan_file *v;
	size_t n;
	char *target;      /* the URL without its password */
	const char *driver;
	const char *table; /* the ledger table */
	bool preview;
	int exit_code; /* what a real run would exit with (--preview) */
	bool failed;   /* out of memory while collecting */
};

/* The runner's on_event for a plan: a dry run's events add files, a
 * rehearsal's fill in their rehearsal. ctx is the struct plan_doc. */
void plan_collect(void *ctx, const struct mg_event *ev);
void plan_doc_dispose(struct plan_doc *d);

/* The document: JSON (one object) or Markdown (for people, ending with
 * the JSON in a block that `up --plan` reads). */
void plan_render_json(struct mg_buf *out, const struct plan_doc *d,
                      const struct opts *o);
void plan_render_md(struct mg_buf *out, const struct plan_doc *d,
                    const struct opts *o);

/*
 * up --plan FILE: reads the plan (JSON, or Markdown holding it), and
 * compares it with `now` (a dry run's plan of the same target). *hash is
 * the BLAKE2b-256 of FILE's bytes. MG_EINVALID: not a plan, truncated, or
 * made for another database; MG_ECHECKSUM: it differs, each difference
 * one line of err->detail.
 */
int plan_check_file(char hash[MG_HASH_HEX_LEN], const char *path,
                    const struct plan_doc *now, struct mg_error *err);

#endif
