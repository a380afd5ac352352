#ifndef MG_CMD_FLEET_H
#define MG_CMD_FLEET_H

#include <stdbool.h>

struct command;
struct opts;

/*
 * Fleets (SPEC.md, "Topologies"; issue 12): `up`, `down`, `status`,
 * `verify` and `test` on every database of --targets FILE (or config
 * `targets`) or of --targets-query SQL, each in a child process running
 * the command's own cmd_* function, so the core never hears of fleets.
 */

/* Whether c runs as a fleet: it takes --targets, and targets, a query or
 * one of -j, --on-failure, --canary were given (those alone are then a
 * usage error naming what is missing). */
bool fleet_wanted(const struct opts *o, const struct command *c);

/*
 * Reads and checks the targets and the migration files once, checks every
 * target before any runs (write commands), runs c on each (-j at once,
 * --canary first, --on-failure), prints a line per target and a summary.
 * Returns the worst target's exit code (see MIGRATING.md, "Fleets").
 */
int fleet_run(const struct opts *o, const struct command *c);

#endif
