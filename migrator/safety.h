#ifndef MG_SAFETY_H
#define MG_SAFETY_H

#include <stdbool.h>
#include <stddef.h>

struct mg_buf;
struct mg_error;
struct mg_file;
struct mg_runner;

/*
 * Production safety (issue 14), as the runner uses it: the lock and
 * statement bounds, retries of a file whose lock wait timed out, what
 * the monitor saw, and a stop asked for by a signal. Each does nothing
 * where the runner's production safety fields are left zero.
 */

/* After the run lock is taken: the run's bounds as the session's
 * defaults. */
int mg_safety_begin(struct mg_runner *r, struct mg_error *err);

/* Before a file (its checks and statements): its bounds, and the
 * monitor's watch. */
int mg_safety_file(struct mg_runner *r, const struct mg_file *f,
                   struct mg_error *err);

/*
 * After a file ran: ends the watch; a lock wait that timed out gets the
 * sessions that held the lock in its detail, a statement cancelled by a
 * signal says so in its message. ferr NULL: the file went well.
 */
void mg_safety_file_end(struct mg_runner *r, struct mg_error *ferr);

/* After the file's outcome was recorded: whether it may be retried (a
 * lock wait timed out, and `failed_clean`: the outcome is "failed",
 * nothing committed). ferr NULL: the file went well. */
void mg_safety_outcome(struct mg_runner *r, const struct mg_error *ferr,
                       bool failed_clean);

/* Adds the `attempt` evidence item to a file's checks JSON array, when
 * retries are in play (a retry, or a lock wait that timed out). */
void mg_safety_evidence(struct mg_runner *r, struct mg_buf *json,
                        const struct mg_error *ferr);

/*
 * After a file failed: whether to run it again. True after waiting the
 * backoff (1 s, 2 s, 4 s... with jitter), with r->attempt counted up;
 * false when it may not be retried, the attempts are used up (err then
 * says how many were made) or a signal came.
 */
bool mg_safety_retry(struct mg_runner *r, const char *path,
                     struct mg_error *err);

/* MG_ERR naming the signal if one asked the run to stop; 0 otherwise. */
int mg_safety_stopped(struct mg_runner *r, const char *path,
                      struct mg_error *err);

/* "SIGINT", "SIGTERM", or "signal N" into out. */
void mg_signal_name(char *out, size_t size, int sig);

#endif
