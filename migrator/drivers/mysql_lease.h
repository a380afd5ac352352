#ifndef MG_MYSQL_LEASE_H
#define MG_MYSQL_LEASE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The run lock on a MariaDB Galera cluster (issue 12), private to the
 * MySQL driver. GET_LOCK() is per node there, so the lock is a lease on a
 * row of a replicated InnoDB table, `migrate_lease` in the ledger's
 * database, one row per lock name:
 *
 *   name (PK) | token | host | pid | counter | ttl_ms | since | renewed_at
 *
 * - Taking it is an autocommitted compare-and-set (token IS NULL -> ours).
 *   Certification makes the commit cluster-wide: the runner that loses
 *   sees error 1213 (its write set failed certification) or a statement
 *   that changed no row (Galera retried it after the winner's commit).
 *   Both mean "held".
 * - While held, a thread renews it on the lease's own session: counter + 1
 *   every second. A waiting runner judges expiry by its own monotonic
 *   clock, watching the counter stand still for ttl_ms; it never compares
 *   NOW() across nodes. It then takes the row over with a compare-and-set
 *   on the (token, counter) it watched.
 * - my_lease_guard() makes a transaction on another session (the ledger
 *   writes) conditional on still holding it: it bumps the counter where
 *   token is ours, in that transaction, so a runner that took the lease
 *   over makes the commit fail certification or change no row.
 * - Released by setting token back to NULL; a killed runner's lease
 *   expires ttl_ms after its last renewal.
 */

struct st_mysql;
struct mg_error;
struct my_lease;

/* The lease's lifetime without renewal, and how often it is renewed. */
#define MY_LEASE_TTL_MS 10000
#define MY_LEASE_RENEW_MS 1000

/*
 * Takes the lease `name` in database `db` on `session` (a connection of
 * its own, which the lease then owns and closes), creating the table if
 * needed, waiting up to timeout_s seconds (0: try once). `label`: who we
 * are, for others' messages ("host" and pid are stored apart). MG_ELOCKED
 * naming the holder (pid, host, since) on timeout; on any failure the
 * session is closed.
 */
int my_lease_acquire(struct my_lease **out, struct st_mysql *session,
                     const char *db, const char *name, int timeout_s,
                     struct mg_error *err);

/* 0 while held; MG_ELOCKED once the renewal found it taken or could not
 * renew it for longer than its ttl. */
int my_lease_held(struct my_lease *l, struct mg_error *err);

/*
 * Inside a transaction open on `main`: bumps the lease's counter where the
 * token is ours, so that the transaction commits only while we hold the
 * lease. MG_ELOCKED if it is not ours any more (the caller rolls back).
 */
int my_lease_guard(struct my_lease *l, struct st_mysql *main,
                   struct mg_error *err);

/*
 * Around each transaction of the main session, from before its BEGIN to
 * after its COMMIT or ROLLBACK: the renewal waits meanwhile, since a
 * renewal committed while the transaction is open would make it fail
 * Galera's certification. The transaction's own guard bumps the counter
 * instead. Both accept being called twice.
 */
void my_lease_txn_begin(struct my_lease *l);
void my_lease_txn_end(struct my_lease *l);

/*
 * Who holds lease `name` in `db`, read on `session`, as "pid X on host Y
 * since T" into out (empty if free or unknown). For status: *held says
 * whether a holder is set and renewed within its ttl by the server's
 * clock (a hint for display only, never for taking the lease).
 */
void my_lease_holder(char *out, size_t size, bool *held,
                     struct st_mysql *session, const char *db,
                     const char *name);

/* Stops the renewal, clears the row if still ours, closes the session;
 * accepts NULL. */
void my_lease_release(struct my_lease *l);

#endif
