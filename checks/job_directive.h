#ifndef MG_JOB_DIRECTIVE_H
#define MG_JOB_DIRECTIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mg_error;

/*
 * A job file's own directives (SPEC.md, "Jobs"), SQL line comments at the
 * start of a line like the others:
 *   -- job:every <N>d | <N>h        how often the job is due
 *   -- job:batch [max <duration>]   repeat the file until its last
 *                                   statement affects no rows, or until
 *                                   the duration has passed
 * A job file takes every migration directive too (checks/directive.h).
 */
struct mg_job_directives {
	int64_t every_s;      /* 0: never due, runs only when named */
	unsigned every_line;  /* 0: no job:every */
	bool batch;           /* job:batch */
	int64_t batch_max_ms; /* 0: no time limit */
	unsigned batch_line;  /* 0: no job:batch */
};

/*
 * Parses the job: lines of `len` bytes of normalised text. MG_EINVALID
 * with err->msg and err->line for a line that does not parse, an unknown
 * job: directive or one given twice. *out is zeroed first.
 */
int mg_job_directives_parse(struct mg_job_directives *out, const char *text,
                            size_t len, struct mg_error *err);

/* The first line (1-based) holding a job: directive, 0 if none: a
 * migration file must not hold one. */
unsigned mg_job_directives_find(const char *text, size_t len);

/* A duration as the contract writes it (a number with ms, s, m or h; a
 * bare number is seconds) in milliseconds; -1 when it is not one, is 0 or
 * is longer than a week. */
int64_t mg_duration_ms(const char *s, size_t len);

#endif
