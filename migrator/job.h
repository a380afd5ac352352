#ifndef MG_JOB_H
#define MG_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checks/job_directive.h"
#include "migrator/source.h"

struct mg_conn;
struct mg_error;
struct mg_runner;

/*
 * Jobs (SPEC.md, "Jobs"; issue 11): recurring or batched data work in
 * `<name>.sql` files of a jobs directory, run through the runner's
 * per-file path (checks, evidence, ledger row) as direction `job`,
 * version 0, one ledger event per batch. A version's state never depends
 * on them.
 */
struct mg_job {
	/* what the runner runs: version 0, name the file name without
	 * ".sql", `up` the file with its directives, no down file */
	struct mg_migration m;
	struct mg_job_directives job; /* job:every, job:batch */
};

struct mg_jobs {
	char *dir;
	struct mg_job *v; /* sorted by name */
	size_t n;
};

/*
 * Reads and validates every job file of `dir` before anything runs:
 * names (`<name>.sql`, name of letters, digits, '_', '-', '.'), NUL
 * bytes, every directive a migration takes and the job: ones, strays
 * (a migration file, ".SQL"). Files starting with '.' and not ending in
 * ".sql" are ignored.
 *
 * Errors: MG_ENOTFOUND when the directory does not exist; MG_EINVALID
 * when any file is wrong, each problem "file:line: message" in
 * `problems` (which the caller disposes in all cases); MG_ERR, MG_ENOMEM.
 */
int mg_jobs_load(struct mg_jobs **out, const char *dir,
                 struct mg_problems *problems, struct mg_error *err);
void mg_jobs_free(struct mg_jobs *jobs);
/* Lends the job of that name, or NULL. */
const struct mg_job *mg_jobs_find(const struct mg_jobs *jobs, const char *name);

/* A job's last run, from the ledger: its batches' events back to the one
 * that started it. */
struct mg_job_last {
	bool ran;             /* any event at all */
	char status[16];      /* of the newest event */
	char started_at[32];  /* of the run's first batch */
	char finished_at[32]; /* of its newest event */
	int64_t rows;         /* affected by all its batches */
	int64_t duration_ms;  /* its batches' durations summed */
	size_t batches;
	bool ok_ever;        /* an `ok` event exists */
	char last_ok_at[32]; /* started_at of the newest `ok` event */
	int64_t last_ok_s;   /* the same in seconds since 1970 */
};

/* Reads job `name`'s last run from ledger `table`; all zero when it never
 * ran or the ledger does not exist. */
int mg_job_last_run(struct mg_job_last *out, struct mg_conn *conn,
                    const char *table, const char *name, struct mg_error *err);

/*
 * Whether the job is due at now_s (seconds since 1970): it has
 * job:every and its last `ok` event started that long ago or more, or
 * never. *next_s (may be NULL) is when it is due next: 0 when now, -1
 * when never (no job:every).
 */
bool mg_job_due(const struct mg_job *j, const struct mg_job_last *last,
                int64_t now_s, int64_t *next_s);

/* "2026-01-31T12:00:00.000000Z" in seconds since 1970; -1 if it is not
 * one. */
int64_t mg_job_parse_time(const char *iso);

/* What one run of a job did. */
struct mg_job_report {
	size_t batches;  /* ledger events of outcomes written */
	int64_t rows;    /* rows the batches affected (those rolled back
	                    included: see each event) */
	bool time_limit; /* stopped by job:batch max, work left */
	bool not_due;    /* MG_JOB_IF_DUE: another run did it meanwhile */
};

/* mg_job_run() flags */
#define MG_JOB_DRY_RUN (1u << 0) /* read-only: the checks' before values */
/* --due: run only if the job is still due once its lock is held (a run
 * that overlapped ours may have done it) */
#define MG_JOB_IF_DUE (1u << 1)
/* --preview: the first batch rehearsed and rolled back (preview.h) */
#define MG_JOB_PREVIEW (1u << 2)

/*
 * Runs job j through r (r->conn open, r->table, r->on_event set; no
 * source needed): takes the job's own lock (r->lock_timeout_s; never the
 * run lock), reads the ledger and creates it if needed, checks the file
 * as the driver would run it, then runs one batch, or with job:batch
 * repeats it until its last statement affects no rows or max is reached.
 * Each batch is one ledger event (direction job), emitted with
 * ev->batch. flags: MG_JOB_*; with MG_JOB_DRY_RUN no lock and no write,
 * one `planned` event with the checks' before values, in a read-only
 * transaction. now_s: the time MG_JOB_IF_DUE compares with.
 *
 * Returns the first failure as mg_run_up() does: MG_ELOCKED when another
 * run of the job holds its lock, MG_ECHECK for a check that failed
 * (rolled back), MG_EDRIVER or MG_ERR for SQL errors and dirty batches,
 * MG_EINVALID for a file the driver refuses. *out says what ran either
 * way.
 */
int mg_job_run(struct mg_job_report *out, struct mg_runner *r,
               const struct mg_job *j, unsigned flags, int64_t now_s,
               struct mg_error *err);

#endif
