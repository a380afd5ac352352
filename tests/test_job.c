/*
 * Unit tests of jobs (issue 11): checks/job_directive.h (the job: lines,
 * durations) and migrator/job.h (loading a jobs directory, times, when a
 * job is due). Running jobs needs a database: tests/it_jobs.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "checks/job_directive.h"
#include "migrator/error.h"
#include "migrator/job.h"

static const struct {
	const char *text;
	int64_t every_s, max_ms;
	bool batch;
} good[] = {
	{ "-- job:every 1d\n", 86400, 0, false },
	{ "--job:every 6h\n", 6 * 3600, 0, false },
	{ "-- job:every 36h\r\n", 36 * 3600, 0, false },
	{ "-- job:batch\n", 0, 0, true },
	{ "-- job:batch max 10m\n", 0, 600000, true },
	{ "-- job:batch max 500ms\n", 0, 500, true },
	{ "-- job:batch max 2\n", 0, 2000, true },
	{ "-- job:batch   max 1h  \n-- job:every 7d\n", 7 * 86400, 3600000,
	  true },
	/* not ours: other comments, and text that is not at a line's start */
	{ "-- jobs are fun\n-- job is done\nSELECT '-- job:every x';\n", 0, 0,
	  false },
	{ "", 0, 0, false },
};

static void test_job_directives_parse(void **state)
{
	struct mg_job_directives d;
	struct mg_error err = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rc = mg_job_directives_parse(&d, good[i].text,
		                                 strlen(good[i].text), &err);

		if (rc != 0)
			print_error("%s: %s\n", good[i].text, err.msg);
		assert_int_equal(rc, 0);
		assert_int_equal(d.every_s, good[i].every_s);
		assert_int_equal(d.batch_max_ms, good[i].max_ms);
		assert_int_equal(d.batch, good[i].batch);
	}
}

static const struct {
	const char *text;
	unsigned line;
	const char *msg;
} bad[] = {
	{ "-- job:every 0d\n", 1, "job:every takes" },
	{ "-- job:every 1w\n", 1, "job:every takes" },
	{ "-- job:every\n", 1, "job:every takes" },
	{ "-- job:every d\n", 1, "job:every takes" },
	{ "-- job:every 3651d\n", 1, "job:every takes" },
	{ "SELECT 1;\n-- job:every 1d now\n", 2, "unexpected text" },
	{ "-- job:every 1d\n-- job:every 2d\n", 2, "given twice" },
	{ "-- job:batch\n\n-- job:batch\n", 3, "given twice" },
	{ "-- job:batch max\n", 1, "job:batch max takes" },
	{ "-- job:batch max 0s\n", 1, "job:batch max takes" },
	{ "-- job:batch max 8d\n", 1, "job:batch max takes" },
	{ "-- job:batch max 5x\n", 1, "job:batch max takes" },
	{ "-- job:batch min 5s\n", 1, "job:batch takes nothing" },
	{ "-- job:batch max 5s 6s\n", 1, "unexpected text" },
	{ "-- job:sometimes\n", 1, "unknown directive" },
	{ "-- job:\n", 1, "unknown directive" },
};

static void test_job_directives_refuse(void **state)
{
	struct mg_job_directives d;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mg_error err = { 0 };
		int rc = mg_job_directives_parse(&d, bad[i].text,
		                                 strlen(bad[i].text), &err);

		if (rc != MG_EINVALID || err.line != bad[i].line ||
		    strstr(err.msg, bad[i].msg) == NULL)
			print_error("%s: rc %d line %u '%s'\n", bad[i].text, rc,
			            err.line, err.msg);
		assert_int_equal(rc, MG_EINVALID);
		assert_int_equal(err.line, bad[i].line);
		assert_non_null(strstr(err.msg, bad[i].msg));
		/* nothing half-parsed */
		assert_int_equal(d.every_s, 0);
		assert_false(d.batch);
	}
}

static void test_job_directives_find(void **state)
{
	static const char mig[] = "CREATE TABLE a(x int);\n-- a comment\n"
	                          "  -- job:every 1d\n-- job:every 1d\n";

	(void)state;
	assert_int_equal(mg_job_directives_find(mig, strlen(mig)), 4);
	assert_int_equal(mg_job_directives_find("SELECT 1;\n", 10), 0);
}

static void test_durations(void **state)
{
	(void)state;
	assert_int_equal(mg_duration_ms("250ms", 5), 250);
	assert_int_equal(mg_duration_ms("30s", 3), 30000);
	assert_int_equal(mg_duration_ms("30", 2), 30000);
	assert_int_equal(mg_duration_ms("2m", 2), 120000);
	assert_int_equal(mg_duration_ms("1h", 2), 3600000);
	assert_int_equal(mg_duration_ms("168h", 4), 168 * 3600000LL);
	assert_int_equal(mg_duration_ms("169h", 4), -1);
	assert_int_equal(mg_duration_ms("0s", 2), -1);
	assert_int_equal(mg_duration_ms("", 0), -1);
	assert_int_equal(mg_duration_ms("-1s", 3), -1);
	assert_int_equal(mg_duration_ms("1.5s", 4), -1);
	assert_int_equal(mg_duration_ms("1d", 2), -1);
	assert_int_equal(mg_duration_ms("99999999999999999999", 20), -1);
}

static void test_parse_time(void **state)
{
	(void)state;
	assert_int_equal(mg_job_parse_time("1970-01-01T00:00:00.000000Z"), 0);
	/* date -u -d 2026-01-31T12:00:00Z +%s */
	assert_int_equal(mg_job_parse_time("2026-01-31T12:00:00.000000Z"),
	                 1769860800);
	assert_int_equal(mg_job_parse_time("2024-02-29T23:59:59Z"), 1709251199);
	assert_int_equal(mg_job_parse_time("2026-13-01T00:00:00Z"), -1);
	assert_int_equal(mg_job_parse_time("yesterday"), -1);
	assert_int_equal(mg_job_parse_time(NULL), -1);
}

static void test_due(void **state)
{
	struct mg_job j = { 0 };
	struct mg_job_last last = { 0 };
	int64_t next;

	(void)state;
	/* no job:every: never due, whatever the history */
	assert_false(mg_job_due(&j, &last, 1000000, &next));
	assert_int_equal(next, -1);
	j.job.every_s = 86400;
	/* never ran ok: due now */
	assert_true(mg_job_due(&j, &last, 1000000, &next));
	assert_int_equal(next, 0);
	last.ok_ever = true;
	last.last_ok_s = 1000000 - 3600;
	assert_false(mg_job_due(&j, &last, 1000000, &next));
	assert_int_equal(next, 1000000 - 3600 + 86400);
	/* exactly its interval later: due */
	assert_true(mg_job_due(&j, &last, 1000000 - 3600 + 86400, &next));
	assert_int_equal(next, 0);
}

/* ---- mg_jobs_load on a directory of its own ---- */

struct dir {
	char path[64];
};

static void put(const struct dir *d, const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", d->path, name);
	assert_non_null(f = fopen(p, "wb"));
	fwrite(text, 1, strlen(text), f);
	fclose(f);
}

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if ((*state = d) == NULL)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/mg-test-job-XXXXXX");
	return mkdtemp(d->path) != NULL ? 0 : -1;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	if (system(cmd) != 0)
		return -1;
	free(d);
	return 0;
}

static void test_load_reads_jobs_sorted(void **state)
{
	struct dir *d = *state;
	struct mg_problems pr = { 0 };
	struct mg_error err = { 0 };
	struct mg_jobs *jobs = NULL;
	char sub[128];

	put(d, "purge.sql",
	    "-- job:every 1d\n-- job:batch max 10m\n"
	    "-- check: rows t unchanged\nDELETE FROM t;\n");
	put(d, "archive-leads.v2.sql", "SELECT 1;\n");
	put(d, "README.md", "not a job\n");
	put(d, ".hidden.sql", "not a job either\n");
	snprintf(sub, sizeof(sub), "%s/old.sql", d->path);
	assert_int_equal(mkdir(sub, 0755), 0); /* a directory: skipped */
	assert_int_equal(mg_jobs_load(&jobs, d->path, &pr, &err), 0);
	assert_int_equal(pr.n, 0);
	assert_int_equal(jobs->n, 2);
	assert_string_equal(jobs->v[0].m.name, "archive-leads.v2");
	assert_string_equal(jobs->v[1].m.name, "purge");
	assert_int_equal(jobs->v[1].m.version, 0);
	assert_null(jobs->v[1].m.down.path);
	assert_int_equal(jobs->v[1].job.every_s, 86400);
	assert_int_equal(jobs->v[1].job.batch_max_ms, 600000);
	assert_int_equal(jobs->v[1].m.up.dir.nchecks, 1);
	assert_int_equal(strlen(jobs->v[1].m.up.checksum), 64);
	assert_ptr_equal(mg_jobs_find(jobs, "purge"), &jobs->v[1]);
	assert_null(mg_jobs_find(jobs, "nosuch"));
	mg_jobs_free(jobs);
	mg_problems_dispose(&pr);
}

static void test_load_names_every_problem(void **state)
{
	struct dir *d = *state;
	struct mg_problems pr = { 0 };
	struct mg_error err = { 0 };
	struct mg_jobs *jobs = NULL;
	char all[4096] = "";
	size_t i;

	put(d, "ok.sql", "SELECT 1;\n");
	put(d, "sp ace.sql", "SELECT 1;\n");
	put(d, "loud.SQL", "SELECT 1;\n");
	put(d, "0001_a.up.sql", "SELECT 1;\n");
	put(d, "irr.sql", "-- migrate:irreversible\n");
	put(d, "every.sql", "\n-- job:every soon\n");
	put(d, "check.sql", "-- check: rows\n");
	assert_int_equal(mg_jobs_load(&jobs, d->path, &pr, &err), MG_EINVALID);
	assert_null(jobs);
	for (i = 0; i < pr.n; i++) {
		strncat(all, pr.v[i], sizeof(all) - strlen(all) - 2);
		strcat(all, "\n");
	}
	assert_int_equal(pr.n, 6);
	assert_non_null(strstr(all, "sp ace.sql: not a job file name"));
	assert_non_null(strstr(all, "loud.SQL: not a job file name: the "
	                            "suffix is '.sql', in lower case"));
	assert_non_null(strstr(all, "0001_a.up.sql: a migration file"));
	assert_non_null(strstr(all, "irr.sql: migrate:irreversible"));
	assert_non_null(strstr(all, "every.sql:2: job:every takes"));
	assert_non_null(strstr(all, "check.sql:1:"));
	assert_non_null(strstr(err.msg, "6 invalid job files"));
	mg_problems_dispose(&pr);
}

static void test_load_missing_dir(void **state)
{
	struct mg_problems pr = { 0 };
	struct mg_error err = { 0 };
	struct mg_jobs *jobs = NULL;

	(void)state;
	assert_int_equal(mg_jobs_load(&jobs, "/nonexistent/jobs", &pr, &err),
	                 MG_ENOTFOUND);
	assert_null(jobs);
	assert_non_null(strstr(err.msg, "no jobs directory"));
	mg_problems_dispose(&pr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_directives_parse),
		cmocka_unit_test(test_job_directives_refuse),
		cmocka_unit_test(test_job_directives_find),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_due),
		cmocka_unit_test_setup_teardown(test_load_reads_jobs_sorted,
		                                dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_load_names_every_problem,
		                                dir_setup, dir_teardown),
		cmocka_unit_test(test_load_missing_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
