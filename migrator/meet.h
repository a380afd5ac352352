#ifndef MG_MEET_H
#define MG_MEET_H

#include <stdbool.h>
#include <stddef.h>

struct mg_conn;
struct mg_error;
struct mg_ledger_row;

/*
 * Runners that meet each other (issue 12, SPEC.md "Topologies"): wherever
 * a runner finds another one active other than at the run lock, it stops
 * with MG_ELOCKED (exit 5) naming the other one, never with a plain
 * failure; and a version whose dirty marker belongs to a runner that still
 * holds the lock is "in progress", not half-applied.
 */

/*
 * Whether a failed ledger write (err as the driver filled it) is of the
 * kind that another runner causes: a unique violation (SQLSTATE 23505,
 * MySQL's 23000) or a transaction that lost to another (40001
 * serialization failure or MySQL/Galera deadlock, 40P01). The runner then
 * re-reads the ledger: only if it moved on meanwhile did it meet one.
 */
bool mg_meet_conflict(const struct mg_error *err);

/*
 * Turns err into "another migrate run is active" (MG_ELOCKED), keeping the
 * server's message in the detail and adding who holds the run lock of
 * ledger `table` where the driver can tell. Returns MG_ELOCKED.
 */
int mg_meet_report(struct mg_error *err, struct mg_conn *conn,
                   const char *table);

/* The dirty marker's error text of a file started outside a transaction,
 * naming this process (pid) and `host`: into out (size bytes). */
void mg_meet_marker(char *out, size_t size, const char *host);

/*
 * For `status`: when `last` (a version's latest event) is a dirty marker
 * whose runner still holds the run lock of ledger `table`, writes "in
 * progress by pid X on host Y since T" to out and returns true.
 */
bool mg_meet_in_progress(char *out, size_t size, struct mg_conn *conn,
                         const char *table, const struct mg_ledger_row *last);

#endif
