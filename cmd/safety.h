#ifndef MG_CMD_SAFETY_H
#define MG_CMD_SAFETY_H

#include <signal.h>

struct mg_conn;
struct mg_monitor;
struct opts;
struct session;

/*
 * Production safety at the command line (issue 14): read-only targets,
 * the standby's lag, progress lines, and SIGINT/SIGTERM.
 */

/* A write command's check before it plans: exit 1 naming a read-only
 * target (a hot standby), with the hint to reach the primary; 0 if it
 * takes writes. */
int refuse_read_only(const struct opts *o, struct mg_conn *conn);
/* A read command's note on stderr that the target is a standby, and how
 * far it lags; nothing on a primary or where the driver cannot tell. */
void standby_note(const struct opts *o, struct mg_conn *conn);

/*
 * SIGINT and SIGTERM: the first stores the signal in the flag returned
 * (the monitor cancels the running statement, the run stops and records
 * it), the second exits at once (128 + the signal). Installed once.
 */
volatile sig_atomic_t *signals_install(void);
/* The exit code for a run that a signal stopped (130, 143); 0: none. */
int signal_exit_code(void);

/* Starts the watcher for a run (progress, blockers, cancel) on the
 * session s; a second session that cannot be opened is a warning, and
 * the run goes on without blocker names. *out may be NULL after. */
void monitor_open(struct mg_monitor **out, const struct opts *o,
                  struct session *s);

#endif
