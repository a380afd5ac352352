#ifndef MG_RUNNER_H
#define MG_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migrator/driver.h"
#include "migrator/ledger.h"
#include "migrator/plan.h"
#include "rollback/rollback.h"

struct mg_bounds;
struct mg_checks;
struct mg_monitor;
struct mg_conn;
struct mg_error;
struct mg_file;
struct mg_evidence;
struct mg_ledger;
struct mg_migration;
struct mg_source;

/* What happened to one migration; handed to the caller's callback. */
struct mg_event {
	const struct mg_migration *m;
	enum mg_direction direction; /* up, down; roundtrip (migrate test) */
	enum mg_outcome status;      /* planned in a dry run */
	const char *file;            /* the file that ran */
	const char *checksum;        /* of that file; a round trip: the
	                                schema's hash */
	int64_t duration_ms;
	const struct mg_checks *checks; /* values and verdicts, or NULL */
	const char *checks_json;        /* "[]" when the file has no checks */
	const struct mg_error *err;     /* failures, with path and line */
	size_t done, total;             /* statements, when run one by one */
	bool no_transaction;
	bool dry_run;
	/* jobs (issue 11): rows the file's statements affected, all and
	 * the last statement's */
	int64_t rows, last_rows;
	size_t batch; /* a job's batch, from 1; 0 for a migration */
	/* issue 10: each statement of the file, or NULL (a dry run) */
	const struct mg_evidence *evidence;
	bool preview; /* rehearsed in a transaction that was rolled back */
	bool not_rehearsed; /* preview: a no-transaction file, not run */
};

struct mg_runner {
	struct mg_conn *conn;
	const struct mg_source *src;
	const char *table;             /* --ledger-table */
	const char *os_user;           /* may be NULL */
	const char *host;              /* may be NULL */
	const unsigned char *sign_key; /* Ed25519 secret key or NULL */
	int lock_timeout_s;
	const char *reason; /* up, down, job run: --reason, kept in rows */
	void (*on_event)(void *ctx, const struct mg_event *ev);
	void *ctx;
	/* evidence (issue 10): hooks that hear of each statement too (the
	 * progress lines), may be NULL; with up --plan, the plan's hash and
	 * file, recorded in each row as an evidence item of kind "plan" */
	const struct mg_script_hooks *hooks;
	const char *plan_hash;
	const char *plan_file;
	/* may be NULL: hears of the plan before the first file runs (up,
	 * down and a preview, not a dry run), with ctx */
	void (*on_plan)(void *ctx, const struct mg_plan *p);

	/* jobs (issue 11): the batch the next job row records, from 1 */
	size_t job_batch;
	/* production safety (issue 14); all may be left zero */
	const struct mg_bounds *bounds; /* the run's; NULL: the server's */
	int retries;            /* more attempts of a file that only timed out
	                           waiting for a lock, with nothing committed */
	struct mg_monitor *mon; /* blockers, progress, cancel; or NULL */
	/* the caller's signal handler stores the signal here: the run
	 * stops (the running statement is cancelled by mon) */
	volatile sig_atomic_t *stop;
	int attempt;    /* filled by the run: the current file's, from 1 */
	bool retryable; /* filled by the run: the last file may be retried */

	/* filled by the run */
	struct mg_ledger *ledger;
	size_t applied; /* migrations that ran ok */
};

/*
 * `up` and `down`: take the lock, read the ledger, plan, and run each
 * file with its ledger row. Each file and its row commit together where
 * the database allows. Returns the first failure (MG_EDRIVER for SQL
 * errors, MG_ELOCKED, the planners' refusals); r->applied counts what ran.
 */
int mg_run_up(struct mg_runner *r, const struct mg_up_opts *opts, bool dry_run,
              struct mg_error *err);
int mg_run_down(struct mg_runner *r, const struct mg_down_opts *opts,
                bool dry_run, struct mg_error *err);

/*
 * `baseline V`: records every version up to V that is not applied as
 * applied, without running it. `repair V`: clears a failed or dirty state;
 * with `applied` the version then counts as applied. Both refuse with
 * MG_EINVALID or MG_ERR (dirty versions block a baseline); `reason` is
 * required by the caller and goes into each row.
 */
int mg_run_baseline(struct mg_runner *r, int64_t version, const char *reason,
                    struct mg_error *err);
int mg_run_repair(struct mg_runner *r, int64_t version, const char *reason,
                  bool applied, struct mg_error *err);

/* Takes the lock, reads the ledger and creates it if needed; for commands that
 * write the ledger without running files (baseline, repair). */
int mg_runner_begin(struct mg_runner *r, struct mg_error *err);
void mg_runner_end(struct mg_runner *r);

/* The run lock's name and 64-bit key for ledger `table` on conn (issue
 * 12: `status` and mg_meet_* ask who holds it). */
void mg_runner_lock_name(char out[128], int64_t *key, struct mg_conn *conn,
                         const char *table);

/*
 * The steps mg_run_up() is made of, for rollback/roundtrip.c. Plans `up`
 * (call with the lock held, after mg_runner_begin()) and checks every
 * planned file, and with `with_down` its down file too, before any runs.
 */
int mg_runner_plan_up(struct mg_plan *out, struct mg_runner *r,
                      const struct mg_up_opts *opts, bool with_down,
                      struct mg_error *err);
/* mg_runner_apply() flags */
#define MG_APPLY_IN_TXN (1u << 0) /* the caller opened the transaction */
/* an ok file's row is written but not committed: the caller commits or
 * rolls back the whole (migrate test's proof). A failure still rolls
 * back, and records its row in a transaction of its own. */
#define MG_APPLY_NO_COMMIT (1u << 1)

/* Runs one file (the up or down file of m; MG_DIR_JOB: a job's file, m's
 * up) with its checks, in a transaction of its own where it allows,
 * records its ledger row (with r->reason) and emits its event. Returns the outcome's code, with err as shown. */
int mg_runner_apply(struct mg_runner *r, const struct mg_migration *m,
                    enum mg_direction dir, unsigned flags,
                    struct mg_error *err);
/* A dry run of one file (dir: which of m's files; MG_DIR_JOB: a job's):
 * its checks' before values inside a read-only transaction that is
 * rolled back, and a `planned` event. */
int mg_runner_dry_run(struct mg_runner *r, const struct mg_migration *m,
                      enum mg_direction dir, struct mg_error *err);
/* The driver's static check of a file as it will run (no connection):
 * MG_EINVALID located at its path and line; 0 when fine. */
int mg_runner_check_file(struct mg_runner *r, const struct mg_file *f,
                         struct mg_error *err);
/* up --preview (issue 10): runs m's up file with its checks inside the
 * transaction the caller opened and will roll back, writes no ledger
 * row, and emits its event with `preview` set. Returns the code a real
 * run's apply would (MG_ECHECK, MG_EDRIVER, ...). */
/* The same for m's file of direction dir: MG_DIR_JOB rehearses a job's
 * batch (jobs, issue 11: job run --preview). */
int mg_runner_rehearse_dir(struct mg_runner *r, const struct mg_migration *m,
                           enum mg_direction dir, struct mg_error *err);
int mg_runner_rehearse(struct mg_runner *r, const struct mg_migration *m,
                       struct mg_error *err);
/* Commits or rolls back the open transaction (MG_TXN_COMMIT or
 * MG_TXN_ROLLBACK), keeping the ledger's tail in step with it. */
int mg_runner_txn_end(struct mg_runner *r, enum mg_txn op,
                      struct mg_error *err);
/* Appends a row about m that no file run produced, in a transaction of
 * its own: `migrate test` marking a version dirty that its down file
 * did not restore. `error` may be NULL. */
int mg_runner_record(struct mg_runner *r, const struct mg_migration *m,
                     enum mg_direction dir, enum mg_outcome status,
                     const char *error, struct mg_error *err);
/*
 * backups: appends a row that no file run produced (restore, prune) about
 * `version`, with its evidence (`checks_json`, a JSON array), r->reason
 * and `error` (may be NULL). `alone`: in a transaction of its own; else
 * in the open one, which it commits (or rolls back on failure).
 */
int mg_runner_append_event(struct mg_runner *r, int64_t version,
                           const char *name, enum mg_direction dir,
                           enum mg_outcome status, const char *checks_json,
                           const char *error, bool alone,
                           struct mg_error *err);

/* Hands ev to the caller's callback, if any. */
void mg_runner_emit(struct mg_runner *r, const struct mg_event *ev);

#endif
