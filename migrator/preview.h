#ifndef MG_PREVIEW_H
#define MG_PREVIEW_H

struct mg_error;
struct mg_runner;
struct mg_up_opts;

/*
 * up --preview, plan --preview (issue 10; SPEC.md "Preview and
 * evidence"): takes the run lock, plans `up`, and runs every pending file
 * with its checks inside one transaction that is always rolled back,
 * emitting each file's event with `preview` set (its statements and
 * checks as a real run would record them). A -- migrate:no-transaction
 * file is not run: its event has `not_rehearsed` set. Stops at the first
 * file that fails, and returns the code a real run would have: 0,
 * MG_ECHECK (a check failed), MG_EDRIVER (an SQL error), or the
 * planner's refusals. MG_EINVALID where DDL does not roll back (MySQL):
 * nothing runs there.
 */
int mg_run_preview(struct mg_runner *r, const struct mg_up_opts *opts,
                   struct mg_error *err);

struct mg_migration;

/* 0 where a rehearsal can be rolled back; else MG_EINVALID saying why. */
int mg_preview_possible(const struct mg_runner *r, struct mg_error *err);

/*
 * job run --preview (issue 11): rehearses a job's first batch (a job
 * without job:batch: its one batch) with its backups and checks, inside
 * a transaction that is always rolled back, and emits its event with
 * `preview` and `batch` 1 set. The caller holds the job's lock and has
 * loaded r->ledger. A no-transaction job is not run (`not_rehearsed`).
 * Returns what a real batch would: 0, MG_ECHECK, MG_EDRIVER, ...
 */
int mg_preview_job(struct mg_runner *r, const struct mg_migration *job,
                   struct mg_error *err);

#endif
