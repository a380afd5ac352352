/*
 * Unit tests of cmd/fleet_pool.h, the fleet's process pool: lines of jobs
 * running side by side come back whole, each from its own job; results
 * and exit codes (and signals) come back; done() returning false starts
 * no further job; jobs start in the order given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd/fleet_pool.h"

#define NJOBS 8
#define NLINES 40
#define LINE_LEN 3000

struct seen {
	size_t lines[NJOBS][2]; /* stdout, stderr */
	int code[NJOBS];
	char result[NJOBS][16];
	size_t done, running, most;
	size_t stop_after; /* done() returns false after this many; 0: never */
	bool bad_line;
};

static void nap_us(long us)
{
	struct timespec ts = { 0, us * 1000 };

	nanosleep(&ts, NULL);
}

/* A job writes NLINES long lines on stdout and stderr, each in several
 * write()s with pauses, so that jobs' bytes reach the pipes interleaved. */
static int run(void *ctx, size_t job, int fd)
{
	char line[LINE_LEN + 1], res[16];
	size_t i, off, n;
	ssize_t w;

	(void)ctx;
	memset(line, 'a' + (int)job, LINE_LEN);
	line[LINE_LEN] = '\n';
	for (i = 0; i < NLINES; i++) {
		for (off = 0; off <= LINE_LEN; off += n) {
			n = 700 + job * 37;
			if (off + n > LINE_LEN + 1)
				n = LINE_LEN + 1 - off;
			w = write(i % 2 ? STDERR_FILENO : STDOUT_FILENO,
			          line + off, n);
			if (w != (ssize_t)n)
				return 99;
			nap_us(50);
		}
	}
	snprintf(res, sizeof(res), "job%zu", job);
	w = write(fd, res, strlen(res) + 1);
	(void)w;
	if (job == 5)
		raise(SIGKILL);
	return (int)job % 3;
}

static void line(void *ctx, size_t job, bool err, const char *text)
{
	struct seen *s = ctx;
	size_t i, len = strlen(text);

	for (i = 0; i < len && text[i] == 'a' + (int)job; i++)
		;
	if (len != LINE_LEN || i != len)
		s->bad_line = true;
	s->lines[job][err]++;
}

static bool done(void *ctx, size_t job, int code, int64_t ms,
                 const void *result, size_t len)
{
	struct seen *s = ctx;

	(void)ms;
	s->code[job] = code;
	if (len > 0 && len <= sizeof(s->result[job]))
		memcpy(s->result[job], result, len);
	s->done++;
	return s->stop_after == 0 || s->done < s->stop_after;
}

static const struct fleet_pool_ops ops = { run, line, done };

static void test_lines_come_back_whole_and_in_their_job(void **state)
{
	struct seen s = { 0 };
	size_t jobs[NJOBS], started, j;

	(void)state;
	for (j = 0; j < NJOBS; j++)
		jobs[j] = j;
	fleet_pool_run(&started, jobs, NJOBS, 3, &ops, &s);
	assert_int_equal(started, NJOBS);
	assert_int_equal(s.done, NJOBS);
	assert_false(s.bad_line);
	for (j = 0; j < NJOBS; j++) {
		char want[16];

		assert_int_equal(s.lines[j][0], NLINES / 2);
		assert_int_equal(s.lines[j][1], NLINES / 2);
		snprintf(want, sizeof(want), "job%zu", j);
		assert_string_equal(s.result[j], want);
		assert_int_equal(s.code[j], j == 5 ? 128 + SIGKILL
		                                   : (int)j % 3);
	}
}

static void test_done_false_starts_no_further_job(void **state)
{
	struct seen s = { 0 };
	size_t jobs[NJOBS], started, j;

	(void)state;
	for (j = 0; j < NJOBS; j++)
		jobs[j] = j;
	s.stop_after = 1;
	fleet_pool_run(&started, jobs, NJOBS, 2, &ops, &s);
	/* the first two start together; the first to end says stop, the
	 * other finishes */
	assert_int_equal(started, 2);
	assert_int_equal(s.done, 2);
	assert_false(s.bad_line);
	for (j = 2; j < NJOBS; j++)
		assert_int_equal(s.lines[j][0] + s.lines[j][1], 0);
}

/* Jobs in the order given, not by number. */
static void test_jobs_run_in_the_order_given(void **state)
{
	struct seen s = { 0 };
	size_t jobs[] = { 7, 2 }, started;

	(void)state;
	s.stop_after = 1;
	fleet_pool_run(&started, jobs, 2, 1, &ops, &s);
	assert_int_equal(started, 1);
	assert_int_equal(s.lines[7][0], NLINES / 2);
	assert_int_equal(s.lines[2][0], 0);
	assert_int_equal(s.code[7], 7 % 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_come_back_whole_and_in_their_job),
		cmocka_unit_test(test_done_false_starts_no_further_job),
		cmocka_unit_test(test_jobs_run_in_the_order_given),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
