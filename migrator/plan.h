#ifndef MG_PLAN_H
#define MG_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_error;
struct mg_ledger;
struct mg_ledger_row;
struct mg_migration;
struct mg_source;

/* SPEC.md, `migrate status` */
enum mg_state {
	MG_STATE_PENDING,
	MG_STATE_APPLIED,
	MG_STATE_FAILED,  /* last run failed and was rolled back: retryable */
	MG_STATE_DIRTY,   /* last run failed half-way: needs `repair` */
	MG_STATE_DRIFTED, /* applied, but the up file changed since */
	MG_STATE_MISSING, /* applied, but its files are gone */
};

const char *mg_state_name(enum mg_state s);

/* One version, from the files and the ledger; pointers lend. */
struct mg_status_entry {
	int64_t version;
	const char *name;
	enum mg_state state;
	bool applied;
	const struct mg_migration *m;        /* NULL: no files */
	const struct mg_ledger_row *last;    /* latest event, or NULL */
	const struct mg_ledger_row *last_ok; /* latest ok event, or NULL */
};

struct mg_status {
	struct mg_status_entry *v; /* sorted by version */
	size_t n;
	int64_t max_applied; /* -1: none */
};

/*
 * Joins the directory and the ledger. A version is applied when its latest
 * 'ok' event is up or baseline (SPEC.md, "Ledger").
 */
int mg_status_build(struct mg_status *out, const struct mg_source *src,
                    const struct mg_ledger *ledger, struct mg_error *err);
void mg_status_dispose(struct mg_status *st);

/* The migrations that `up` runs, in order; pointers lend from the source. */
struct mg_plan {
	const struct mg_migration **v;
	size_t n;
};

struct mg_up_opts {
	int64_t to; /* apply up to and including; -1: all */
	bool allow_out_of_order;
};

/*
 * Plans `up`. Refuses before anything runs: MG_ERR when a version is dirty
 * (a state to repair, not a usage error); MG_EINVALID when a pending
 * version is older than the newest applied one (unless allowed), or `to`
 * names no file; MG_ECHECKSUM when an applied file drifted. The message
 * names the versions.
 */
int mg_plan_up(struct mg_plan *out, const struct mg_status *st,
               const struct mg_up_opts *opts, struct mg_error *err);
void mg_plan_dispose(struct mg_plan *p);

#endif
