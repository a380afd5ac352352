#ifndef MG_MONITOR_H
#define MG_MONITOR_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_buf;
struct mg_conn;
struct mg_script_hooks;
struct mg_error;

/*
 * Production safety (issue 14): a second session and a watcher thread
 * beside the runner's session. While a file runs, the thread
 *  - samples who blocks the runner's session (every second), so that a
 *    lock wait that times out can name the sessions that held the lock
 *    (after the timeout nothing blocks it any more);
 *  - reports progress: a "running" report every `progress_ms` while a
 *    statement runs longer than that, with what it waits on;
 *  - cancels the running statement on the server when *stop is set (a
 *    signal), over the second session where the database needs one;
 *  - sends a heartbeat over the second session, with a client-side
 *    timeout, so that a frozen server is told from a long statement.
 * The runner tells it where things are with mg_monitor_file() and
 * mg_monitor_at(); its reports go to a callback, called from the watcher
 * thread (the callback must be safe to call from another thread).
 */
struct mg_monitor;

struct mg_progress {
	const char *phase; /* "start", "running", "retry", "frozen" */
	const char *file;
	unsigned line;       /* 0: not known */
	int64_t elapsed_ms;  /* since the file started */
	int attempt;         /* 1 for the first */
	int64_t backoff_ms;  /* "retry": the wait before the next attempt */
	const char *waits;   /* what the statement waits on, or NULL */
	const char *blocked; /* who blocks it, one line each, or NULL */
};

struct mg_monitor_opts {
	int64_t progress_ms;  /* "running" reports; 0: 10 s */
	int64_t heartbeat_ms; /* heartbeat period; 0: 10 s. A heartbeat
	                         not answered within MG_WATCH_ANSWER_MS
	                         (driver.h) means a frozen server */
	int64_t frozen_ms;    /* unused; 0 */
	/* set by the caller's signal handler to the signal's number */
	volatile sig_atomic_t *stop;
	void (*on_progress)(void *ctx, const struct mg_progress *p);
	void *ctx;
};

/*
 * Opens the second session to `url` (read-only) and starts the thread.
 * Where the driver has no blockers() nor cancel() slot (SQLite), no
 * session is opened and the thread only reports progress. *out is NULL
 * on failure; err says why (a second connection refused: the caller may
 * go on without one).
 */
int mg_monitor_start(struct mg_monitor **out, struct mg_conn *conn,
                     const char *url, const struct mg_monitor_opts *opts,
                     struct mg_error *err);
/* Stops the thread and closes the second session; accepts NULL. */
void mg_monitor_stop(struct mg_monitor *mon);

/* A file starts (attempt 1, 2, ...): a "start" report, and watching
 * begins. Clears what the last file's watch saw. */
void mg_monitor_file(struct mg_monitor *mon, const char *path, int attempt);
/* The statement at `line` of `path` starts: the evidence hook's call
 * (issue 10's stmt_start) once both are on main. */
void mg_monitor_at(struct mg_monitor *mon, const char *path, unsigned line);
/* Hooks for the runner (struct mg_runner's hooks) whose stmt_start
 * calls mg_monitor_at(): progress lines then name the statement's line.
 * Lent; valid until mg_monitor_stop(). */
const struct mg_script_hooks *mg_monitor_hooks(struct mg_monitor *mon);
/* The file ended: watching stops. */
void mg_monitor_idle(struct mg_monitor *mon);
/* A "retry" report: the attempt failed on a lock wait, and the next one
 * starts after backoff_ms. */
void mg_monitor_retry(struct mg_monitor *mon, const char *path, int attempt,
                      int64_t backoff_ms);

/*
 * Appends what the last watch saw block the runner's session, one line
 * a session ("pid 4242, user app, application 'psql', idle in
 * transaction since 2026-...Z, last query: SELECT ..."), and what it
 * waited on; nothing if it saw nothing. For the error of a lock wait
 * that timed out.
 */
void mg_monitor_blockers(struct mg_monitor *mon, struct mg_buf *out);
/* The same as a JSON array of objects (id, user, application, state,
 * since, query) for the evidence; "[]" if none. */
void mg_monitor_blockers_json(struct mg_monitor *mon, struct mg_buf *out);

/* The signal that made the monitor cancel a statement; 0: none. */
int mg_monitor_cancelled(struct mg_monitor *mon);
/* A heartbeat went unanswered (and the runner's session was cut). */
bool mg_monitor_frozen(struct mg_monitor *mon);

#endif
