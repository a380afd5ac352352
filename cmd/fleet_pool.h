#ifndef MG_CMD_FLEET_POOL_H
#define MG_CMD_FLEET_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Runs jobs in child processes, a few at once (fleets, issue 12). Each
 * child is a fork() of this process, so it starts with everything the
 * parent has read (the migration files, the targets) and needs no exec;
 * its stdout and stderr go into pipes that the parent reads and hands on
 * one whole line at a time, so lines of jobs running side by side never
 * mix; a third pipe carries a small result back.
 */

/* The most bytes a job's result may have. */
#define FLEET_RESULT_MAX 256

struct fleet_pool_ops {
	/* In the child: does job `job`, may write up to FLEET_RESULT_MAX
	 * bytes of result to result_fd, and returns its exit code. */
	int (*run)(void *ctx, size_t job, int result_fd);
	/* In the parent: one line the job wrote, without its '\n', from its
	 * stderr (err) or stdout. A last line without a '\n' comes too. */
	void (*line)(void *ctx, size_t job, bool err, const char *line);
	/* In the parent: the job ended with `code` (128+N when signal N
	 * killed it) after `ms` milliseconds, having written result[0..len).
	 * Returns false to start no further job. */
	bool (*done)(void *ctx, size_t job, int code, int64_t ms,
	             const void *result, size_t len);
};

/*
 * Starts jobs[0..n) in that order, at most `width` at a time, until done()
 * returns false; then waits for those still running. *started is how many
 * jobs (a prefix of jobs[]) were started. A job that cannot be started
 * (no pipe, no fork) is reported through line() and done() with code 1.
 */
void fleet_pool_run(size_t *started, const size_t *jobs, size_t n, int width,
                    const struct fleet_pool_ops *ops, void *ctx);

/* Milliseconds of a monotonic clock. */
int64_t fleet_now_ms(void);

#endif
