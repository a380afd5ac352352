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

#endif
