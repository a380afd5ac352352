#ifndef MG_BOUNDS_H
#define MG_BOUNDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_directives;

/*
 * Production safety (issue 14): how long a statement of a migration may
 * wait for a lock, and how long it may run. Milliseconds; MG_BOUND_OFF is
 * "no bound" (wait forever), MG_BOUND_UNSET leaves the server's setting
 * alone (the statement timeout's default).
 */
#define MG_BOUND_UNSET (-1)
#define MG_BOUND_OFF 0

/* The run's default for --ddl-lock-timeout: 5 s (SPEC.md). */
#define MG_DDL_LOCK_TIMEOUT_DEFAULT_MS 5000
/* The longest bound we take: a day, as for --lock-timeout. */
#define MG_BOUND_MAX_MS (86400 * (int64_t)1000)

struct mg_bounds {
	int64_t lock_ms; /* --ddl-lock-timeout; MG_BOUND_OFF: forever */
	int64_t stmt_ms; /* --statement-timeout; MG_BOUND_UNSET: none */
};

/*
 * A duration as the contract writes it: a number with ms, s, m or h (a
 * bare number is seconds), or "off" where `off_ok`. 0 and *out in
 * milliseconds (MG_BOUND_OFF for "off"); -1 for anything else, including
 * 0 ("0" would mean "do not wait" on MySQL and "forever" on PostgreSQL:
 * say `off`, or a real bound) and more than a day.
 */
int mg_bounds_parse(int64_t *out, const char *text, bool off_ok);

/* Writes a bound as text ("5s", "500ms", "off", "none") into out. */
void mg_bounds_format(char *out, size_t size, int64_t ms);

/* The bounds a file runs with: the run's, overridden by its directives. */
void mg_bounds_for_file(struct mg_bounds *out, const struct mg_bounds *run,
                        const struct mg_directives *d);

#endif
