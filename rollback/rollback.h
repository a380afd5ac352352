#ifndef MG_ROLLBACK_H
#define MG_ROLLBACK_H

#include <stdbool.h>
#include <stdint.h>

struct mg_error;
struct mg_plan;
struct mg_status;

struct mg_down_opts {
	int64_t steps; /* roll back this many; used when to < 0 and !all */
	int64_t to;    /* roll back everything above this version; -1: unset */
	bool all;
	/* run a down file that changed since its up ran (else refused) */
	bool allow_changed_down;
};

/*
 * Plans `down`: applied versions, newest first. With no option exactly one
 * step, never all. Refuses before anything runs: MG_EINVALID when a
 * version to roll back is irreversible, has no down file or no files;
 * MG_ERR when a version is dirty; MG_ECHECKSUM when its down file is not
 * the one recorded when it was applied (unless allow_changed_down): a
 * down file edited since is a down file nobody has run.
 */
int mg_rollback_plan(struct mg_plan *out, const struct mg_status *st,
                     const struct mg_down_opts *opts, struct mg_error *err);

#endif
