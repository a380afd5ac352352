/*
 * Integration tests of jobs (SPEC.md, "Jobs"; issue 11) on SQLite,
 * PostgreSQL and MariaDB/MySQL: one body per behaviour, registered once
 * per backend as tests/it_core.c does. The built binary runs `migrate job
 * list` and `migrate job run` against a database of the test's own; the
 * assertions read exit codes, the ledger and the data.
 *
 * Where the databases differ (how to make 10,000 rows, a batch's UPDATE
 * with its LIMIT, a pause, MySQL's 'dirty' marker before each batch, a
 * failed check that cannot be rolled back there) the test asks dialect().
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "migrator/driver.h"
#include "support/it.h"

struct dialect {
	/* a migration making table t: 10,000 rows, id 1..10000, done 0 */
	const char *make_t;
	/* one batch: 1,000 rows of t set done = 1 */
	const char *batch;
	/* 500 rows whose id % 3 is k set done = 1: the text before k and
	 * the text after it */
	const char *batch_of[2];
	/* a statement that takes about 0.1 s, and one of about 2 s */
	const char *pause, *long_pause;
	/* a job batch's ledger rows: its outcome, and on MySQL, where a
	 * job runs outside a transaction, a 'dirty' marker before it */
	int rows_per_batch;
	/* a failed check undoes the batch (DDL and DML roll back) */
	bool rolls_back;
};

#define T_TABLE "CREATE TABLE t (id int PRIMARY KEY, done int NOT NULL DEFAULT 0);\n"

#define DIGITS                                                                \
	"(SELECT 0 AS x UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL "     \
	"SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 "   \
	"UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)"

static const struct dialect dialects[] = {
	[BK_SQLITE] = {
		.make_t = T_TABLE
			  "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT "
			  "x + 1 FROM n WHERE x < 10000) INSERT INTO t (id) "
			  "SELECT x FROM n;\n",
		.batch = "UPDATE t SET done = 1 WHERE id IN (SELECT id FROM "
			 "t WHERE done = 0 ORDER BY id LIMIT 1000);\n",
		.batch_of = { "UPDATE t SET done = 1 WHERE id IN (SELECT id "
			      "FROM t WHERE done = 0 AND id % 3 = ",
			      " ORDER BY id LIMIT 500);\n" },
		/* no sleep(): counting keeps it busy */
		.pause = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT "
			 "x + 1 FROM n WHERE x < 300000) SELECT count(*) FROM "
			 "n;\n",
		/* a second or more; many more under a loaded machine */
		.long_pause = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL "
			      "SELECT x + 1 FROM n WHERE x < 1500000) SELECT "
			      "count(*) FROM n;\n",
		.rows_per_batch = 1,
		.rolls_back = true,
	},
	[BK_POSTGRES] = {
		.make_t = T_TABLE "INSERT INTO t (id) SELECT "
			  "generate_series(1, 10000);\n",
		.batch = "UPDATE t SET done = 1 WHERE id IN (SELECT id FROM "
			 "t WHERE done = 0 ORDER BY id LIMIT 1000);\n",
		.batch_of = { "UPDATE t SET done = 1 WHERE id IN (SELECT id "
			      "FROM t WHERE done = 0 AND id % 3 = ",
			      " ORDER BY id LIMIT 500);\n" },
		.pause = "SELECT pg_sleep(0.1);\n",
		.long_pause = "SELECT pg_sleep(2);\n",
		.rows_per_batch = 1,
		.rolls_back = true,
	},
	[BK_MYSQL] = {
		/* no recursion: MariaDB may stop it at 1000 rows
		 * (max_recursive_iterations) */
		.make_t = T_TABLE
			  "INSERT INTO t (id) SELECT a.x + 10 * b.x + 100 * c.x "
			  "+ 1000 * d.x + 1 FROM " DIGITS " a, " DIGITS " b, "
			  DIGITS " c, " DIGITS " d;\n",
		/* MySQL takes no LIMIT in an IN subquery of the same
		 * table; its UPDATE takes one itself */
		.batch = "UPDATE t SET done = 1 WHERE done = 0 ORDER BY id "
			 "LIMIT 1000;\n",
		.batch_of = { "UPDATE t SET done = 1 WHERE done = 0 AND id % 3 "
			      "= ",
			      " ORDER BY id LIMIT 500;\n" },
		.pause = "SELECT SLEEP(0.1);\n",
		.long_pause = "SELECT SLEEP(2);\n",
		.rows_per_batch = 2,
		.rolls_back = false,
	},
};

static const struct dialect *dialect(const struct it_state *st)
{
	return &dialects[st->bk];
}

/* Each test: its env, and migrations/jobs/ in it. */
static int setup(void **state)
{
	struct it_state *st = *state;
	char jobs[400];

	if (it_setup(state) < 0)
		return -1;
	if (st->no_server)
		return 0;
	snprintf(jobs, sizeof(jobs), "%s/jobs", st->e.mig);
	return mkdir(jobs, 0755);
}

/* ---- helpers ---- */

/* Writes migrations/jobs/<name>.sql from the NULL-terminated parts. */
static void job_file(const struct it_env *e, const char *name, ...)
{
	char path[200];
	char *text = NULL;
	size_t len = 0;
	const char *part;
	va_list ap;

	va_start(ap, name);
	while ((part = va_arg(ap, const char *)) != NULL) {
		char *t = realloc(text, len + strlen(part) + 1);

		assert_non_null(t);
		text = t;
		memcpy(text + len, part, strlen(part) + 1);
		len += strlen(part);
	}
	va_end(ap);
	snprintf(path, sizeof(path), "jobs/%s.sql", name);
	assert_int_equal(it_write(e, path, text ? text : "", len), 0);
	free(text);
}

/* Table t of 10,000 rows, made by migration 0001 (applied). */
static void table_t(struct it_state *st)
{
	struct it_env *e = &st->e;
	struct it_run *r = &st->r;

	assert_int_equal(it_pair(e, "0001_t", dialect(st)->make_t,
				 "DROP TABLE t;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t"), 10000);
}

static long long done_rows(const struct it_env *e)
{
	return it_count(e, "SELECT count(*) FROM t WHERE done = 1");
}

/* The job's ledger events with this status. */
static long long job_events(const struct it_env *e, const char *job,
			    const char *status)
{
	char where[200];

	snprintf(where, sizeof(where),
		 "direction = 'job' AND version = 0 AND name = '%s'%s%s%s",
		 job, status ? " AND status = '" : "", status ? status : "",
		 status ? "'" : "");
	return it_ledger_count(e, where);
}

/* The line of the last run's stdout holding `needle`; the test's state
 * frees it. */
static const char *line(struct it_state *st, const char *needle)
{
	return it_own(st, it_line_with(st->r.out, needle));
}

/* The value of "key": N in the line of `text` holding `needle`. */
static long long json_number(const char *text, const char *needle,
			     const char *key)
{
	char *line = it_line_with(text, needle), *at, pat[64];
	long long v = -1;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (line != NULL && (at = strstr(line, pat)) != NULL)
		v = strtoll(at + strlen(pat), NULL, 10);
	free(line);
	return v;
}

/* ---- tests ---- */

/*
 * 10,000 rows in batches of 1,000, each batch slowed to 0.1 s, with a
 * limit of 0.25 s: the first run stops at the limit with work left (exit
 * 0, saying so); the second, with room, finishes. Every batch has its
 * ledger event, the last one affecting no rows.
 */
static void batched_job_stops_at_its_time_limit_and_continues(void **state)
{
	IT_BEGIN;
	const struct dialect *d = dialect(st);
	long long first, second, left;

	table_t(st);
	job_file(e, "backfill", "-- job:batch max 250ms\n", d->pause, d->batch,
		 NULL);
	MG(r, "job", "run", "backfill");
	assert_exit(r, 0);
	assert_contains(r->err, "job backfill: stopped at the time limit");
	assert_contains(r->err, "run again to continue");
	first = done_rows(e);
	/* half-way: at least one batch, and not all of them */
	assert_true(first >= 1000 && first < 10000 && first % 1000 == 0);
	assert_int_equal(job_events(e, "backfill", "ok"), first / 1000);
	assert_int_equal(job_events(e, "backfill", NULL),
			 first / 1000 * d->rows_per_batch);

	/* the same job with room enough: it goes on from where the data
	 * stands, until a batch affects no rows */
	job_file(e, "backfill", "-- job:batch max 1h\n", d->pause, d->batch,
		 NULL);
	MG(r, "--json", "job", "run", "backfill");
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, true));
	left = 10000 - first;
	assert_int_equal(done_rows(e), 10000);
	second = left / 1000 + 1; /* the last batch found nothing */
	assert_int_equal(job_events(e, "backfill", "ok"), first / 1000 + second);
	assert_int_equal(json_number(r->out, "\"summary\"", "batches"), second);
	assert_int_equal(json_number(r->out, "\"summary\"", "rows"), left);
	assert_contains(r->out, "\"stopped_at_time_limit\":false");
	/* the last batch's event says it affected nothing */
	assert_contains(line(st, "\"rows\":0,"), "\"event\":\"job\"");

	/* job list: the last run is the second one */
	MG(r, "--json", "job", "list");
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, false));
	assert_int_equal(json_number(r->out, "\"backfill\"", "batches"), second);
	assert_int_equal(json_number(r->out, "\"backfill\"", "rows"), left);
	assert_contains(r->out, "\"status\":\"ok\"");
	assert_contains(r->out, "\"due\":false");

	/* the jobs' events are in the chain, and no version's state */
	MG(r, "verify");
	assert_exit(r, 0);
	assert_state(e, 1, "applied");
	MG(r, "status", "--exit-code");
	assert_exit(r, 0);
}

/* Two runs of the same job at once: one runs, the other exits 5 at once
 * (--lock-timeout 0). And a job does not hold the migrations' run lock:
 * `up` runs beside it where the database has a run lock of its own. */
static void concurrent_runs_of_a_job_one_exits_5(void **state)
{
	IT_BEGIN;
	const struct dialect *d = dialect(st);
	const char *args[] = { "job", "run", "slow", "--lock-timeout", "0",
			       NULL };
	struct it_run up = { 0 };
	int a, b;
	pid_t pid;

	table_t(st);
	job_file(e, "slow", d->long_pause, d->batch, NULL);
	pid = it_mg_bg(e, "first", NULL, args);
	assert_true(pid > 0);
	it_sleep_ms(300);
	MG(r, "job", "run", "slow", "--lock-timeout", "0");
	b = r->code;
	if (st->bk != BK_SQLITE) {
		/* a new migration while the job runs: the run lock is free
		 * (SQLite has one writer: the job's batch holds it) */
		assert_int_equal(it_pair(e, "0002_u", "CREATE TABLE u(x int);\n",
					 "DROP TABLE u;\n"),
				 0);
		it_mg(&up, e, "up", "--lock-timeout", "0", (const char *)NULL);
		if (up.code != 0)
			print_error("up beside a job: exit %d\n%s\n", up.code,
				    up.err);
		assert_int_equal(up.code, 0);
		it_run_dispose(&up);
	}
	a = it_wait(pid, 120000);
	if (!((a == 0 && b == 5) || (a == 5 && b == 0))) {
		char *err = it_bg_output(e, "first", true);

		print_error("exits %d and %d, want 0 and 5\nfirst:\n%s\n"
			    "second:\n%s\n",
			    a, b, err, r->err);
		free(err);
	}
	assert_true((a == 0 && b == 5) || (a == 5 && b == 0));
	if (b == 5)
		assert_contains(r->err, "job 'slow' is running elsewhere");
	/* one batch ran, once */
	assert_int_equal(done_rows(e), 1000);
	assert_int_equal(job_events(e, "slow", "ok"), 1);
	MG(r, "verify");
	assert_exit(r, 0);
}

/*
 * Three jobs of different names at once, and `up` beside them where the
 * database has a run lock: nobody waits for anybody's lock, and each
 * appends its events under the ledger's tail lock, so the hash chain
 * stays one (verify) and every batch is recorded once.
 */
static void jobs_side_by_side_keep_one_chain(void **state)
{
	IT_BEGIN;
	const struct dialect *d = dialect(st);
	char name[3][16], update[300], tag[16];
	const char *args[3][4];
	pid_t pids[3];
	int k, code;

	table_t(st);
	for (k = 0; k < 3; k++) {
		snprintf(name[k], sizeof(name[k]), "part%d", k);
		snprintf(update, sizeof(update), "%s%d%s", d->batch_of[0], k,
			 d->batch_of[1]);
		job_file(e, name[k], "-- job:batch\n", d->pause, update, NULL);
		args[k][0] = "job";
		args[k][1] = "run";
		args[k][2] = name[k];
		args[k][3] = NULL;
	}
	for (k = 0; k < 3; k++) {
		snprintf(tag, sizeof(tag), "job%d", k);
		pids[k] = it_mg_bg(e, tag, NULL, args[k]);
		assert_true(pids[k] > 0);
	}
	if (st->bk != BK_SQLITE) {
		it_sleep_ms(200);
		assert_int_equal(it_pair(e, "0002_u", "CREATE TABLE u(x int);\n",
					 "DROP TABLE u;\n"),
				 0);
		MG(r, "up");
		assert_exit(r, 0);
	}
	for (k = 0; k < 3; k++) {
		code = it_wait(pids[k], 180000);
		if (code != 0) {
			char *err;

			snprintf(tag, sizeof(tag), "job%d", k);
			err = it_bg_output(e, tag, true);
			print_error("job %d: exit %d\n%s\n", k, code, err);
			free(err);
		}
		assert_int_equal(code, 0);
	}
	assert_int_equal(done_rows(e), 10000);
	/* 3,333 or 3,334 rows: 7 batches of up to 500, then one of none */
	for (k = 0; k < 3; k++)
		assert_int_equal(job_events(e, name[k], "ok"), 8);
	assert_int_equal(it_count(e, "SELECT count(DISTINCT id) FROM "
				     "migrate_ledger"),
			 it_ledger_count(e, NULL));
	MG(r, "verify");
	assert_exit(r, 0);
}

/*
 * A run killed mid-way (SIGKILL, between or inside batches): every batch
 * that committed has its event, and the next run goes on from where the
 * data stands. On MySQL, which commits a batch's statements before its
 * event, the batch that was cut may be in the data and marked 'dirty'.
 */
static void killed_job_continues_from_the_data(void **state)
{
	IT_BEGIN;
	const struct dialect *d = dialect(st);
	static const char *const args[] = { "job", "run", "backfill", NULL };
	long long ok, done, t0;
	pid_t pid;

	table_t(st);
	job_file(e, "backfill", "-- job:batch\n", d->pause, d->pause,
		 d->batch, NULL);
	pid = it_mg_bg(e, "killed", NULL, args);
	assert_true(pid > 0);
	/* two batches recorded: the third is under way */
	for (t0 = it_now_ms(); job_events(e, "backfill", "ok") < 2 &&
			       it_now_ms() - t0 < 60000;)
		it_sleep_ms(20);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(it_wait(pid, 10000), 128 + SIGKILL);
	ok = job_events(e, "backfill", "ok");
	done = done_rows(e);
	assert_true(ok >= 2 && ok < 10);
	if (d->rolls_back)
		assert_int_equal(done, ok * 1000);
	else
		assert_true(done == ok * 1000 || done == (ok + 1) * 1000);

	/* the next run finishes the work, whatever the killed one left */
	MG(r, "job", "run", "backfill");
	assert_exit(r, 0);
	assert_int_equal(done_rows(e), 10000);
	assert_contains(r->err, "job backfill: done");
	MG(r, "--json", "job", "list");
	assert_exit(r, 0);
	assert_contains(r->out, "\"status\":\"ok\"");
	assert_int_equal(json_number(r->out, "\"backfill\"", "rows"),
			 10000 - done);
	MG(r, "verify");
	assert_exit(r, 0);
}

/* --due runs the jobs whose interval has passed since their last ok
 * run (never run counts), and no other. */
static void due_runs_only_the_jobs_that_are_due(void **state)
{
	IT_BEGIN;

	table_t(st);
	job_file(e, "daily", "-- job:every 1d\n",
		 "UPDATE t SET done = 1 WHERE id = 1;\n", NULL);
	job_file(e, "hourly", "-- job:every 6h\n",
		 "UPDATE t SET done = 1 WHERE id = 2;\n", NULL);
	job_file(e, "manual", "UPDATE t SET done = 1 WHERE id = 3;\n", NULL);
	/* hourly ran just now: not due for six hours */
	MG(r, "job", "run", "hourly");
	assert_exit(r, 0);
	assert_int_equal(job_events(e, "hourly", "ok"), 1);
	MG(r, "--json", "job", "list");
	assert_exit(r, 0);
	assert_contains(line(st, "\"daily\""), "\"due\":true");
	assert_contains(line(st, "\"hourly\""), "\"due\":false");
	assert_contains(line(st, "\"hourly\""), "\"next_due_at\":\"");
	assert_contains(line(st, "\"manual\""), "\"due\":false");
	assert_contains(line(st, "\"manual\""), "\"every\":null");
	assert_contains(line(st, "\"manual\""), "\"last_run\":null");

	MG(r, "job", "list");
	assert_exit(r, 0);
	assert_contains(line(st, "manual"), "never (run by name)");
	assert_contains(line(st, "daily"), " yes");
	assert_contains(line(st, "hourly"), "no (at ");
	MG(r, "job", "run", "--due", "--reason", "cron");
	assert_exit(r, 0);
	assert_int_equal(job_events(e, "daily", "ok"), 1);
	assert_int_equal(job_events(e, "hourly", "ok"), 1);
	assert_int_equal(job_events(e, "manual", NULL), 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM t WHERE done = 1 "
				     "AND id = 3"),
			 0);
	assert_int_equal(it_ledger_count(e, "name = 'daily' AND status = 'ok' "
					    "AND reason = 'cron'"),
			 1);
	/* nothing is due any more */
	MG(r, "job", "run", "--due");
	assert_exit(r, 0);
	assert_contains(r->err, "0 jobs ran");
	assert_int_equal(job_events(e, "daily", NULL),
			 dialect(st)->rows_per_batch);
	/* a job without job:every runs when named */
	MG(r, "job", "run", "manual");
	assert_exit(r, 0);
	assert_int_equal(job_events(e, "manual", "ok"), 1);
}

/*
 * A check that fails in batch 3: batches 1 and 2 stay committed and
 * recorded; batch 3 is rolled back where the database can (exit 3), and
 * on MySQL, which committed it statement by statement, is dirty (exit 1).
 */
static void failing_check_in_batch_3(void **state)
{
	IT_BEGIN;
	const struct dialect *d = dialect(st);

	table_t(st);
	job_file(e, "capped", "-- job:batch\n",
		 "-- check: true SELECT count(*) <= 2000 FROM t WHERE done = 1\n",
		 d->batch, NULL);
	MG(r, "job", "run", "capped");
	if (d->rolls_back) {
		assert_exit(r, 3);
		assert_int_equal(done_rows(e), 2000);
		assert_int_equal(job_events(e, "capped", "rolled_back"), 1);
	} else {
		assert_exit(r, 1);
		assert_int_equal(done_rows(e), 3000);
		/* three markers, and batch 3's outcome */
		assert_int_equal(job_events(e, "capped", "dirty"), 4);
	}
	assert_contains(r->err, "capped.sql:2: check failed");
	assert_int_equal(job_events(e, "capped", "ok"), 2);
	assert_int_equal(job_events(e, "capped", NULL),
			 3 * d->rows_per_batch);
	/* the failed batch is the job's last run; the version is fine */
	MG(r, "--json", "job", "list");
	assert_exit(r, 0);
	assert_contains(r->out, d->rolls_back ? "\"status\":\"rolled_back\""
					      : "\"status\":\"dirty\"");
	assert_int_equal(json_number(r->out, "\"capped\"", "batches"), 3);
	assert_state(e, 1, "applied");
	MG(r, "verify");
	assert_exit(r, 0);
}

/* Every bad job file is named with its line before anything runs. */
static void bad_job_files_exit_2(void **state)
{
	IT_BEGIN;
	static const char nul[] = "SELECT 1;\nSELECT 2;\0\n";

	table_t(st);
	job_file(e, "good", "UPDATE t SET done = 1 WHERE id = 1;\n", NULL);
	assert_int_equal(it_write_str(e, "jobs/bad name.sql", "SELECT 1;\n"),
			 0);
	assert_int_equal(it_write_str(e, "jobs/shout.SQL", "SELECT 1;\n"), 0);
	assert_int_equal(it_write(e, "jobs/nul.sql", nul, sizeof(nul) - 1),
			 0);
	job_file(e, "every", "SELECT 1;\n-- job:every 5x\n", NULL);
	job_file(e, "unknown", "-- job:sometimes\nSELECT 1;\n", NULL);
	job_file(e, "twice", "-- job:batch\n-- job:batch max 1m\n", NULL);
	job_file(e, "maxless", "-- job:batch max\n", NULL);
	job_file(e, "check", "\n\n-- check: rows\n", NULL);
	assert_int_equal(it_write_str(e, "jobs/0002_x.up.sql", "SELECT 1;\n"),
			 0);
	MG(r, "job", "list");
	assert_exit(r, 2);
	assert_contains(r->err, "jobs/bad name.sql: not a job file name");
	assert_contains(r->err, "jobs/shout.SQL: not a job file name");
	assert_contains(r->err, "jobs/nul.sql:2: a NUL byte");
	assert_contains(r->err, "jobs/every.sql:2: job:every takes");
	assert_contains(r->err, "jobs/unknown.sql:1: unknown directive");
	assert_contains(r->err, "jobs/twice.sql:2: job:batch is given twice");
	assert_contains(r->err, "jobs/maxless.sql:1: job:batch max takes");
	assert_contains(r->err, "jobs/check.sql:3:");
	assert_contains(r->err, "jobs/0002_x.up.sql: a migration file in the "
				"jobs directory");
	assert_contains(r->err, "9 invalid job files");
	/* nothing runs, not even the good job */
	MG(r, "job", "run", "good");
	assert_exit(r, 2);
	assert_int_equal(job_events(e, "good", NULL), 0);
	assert_int_equal(done_rows(e), 0);

	/* usage: names or --due, names that exist */
	assert_int_equal(it_remove(e, "jobs/bad name.sql"), 0);
	assert_int_equal(it_remove(e, "jobs/shout.SQL"), 0);
	assert_int_equal(it_remove(e, "jobs/nul.sql"), 0);
	assert_int_equal(it_remove(e, "jobs/every.sql"), 0);
	assert_int_equal(it_remove(e, "jobs/unknown.sql"), 0);
	assert_int_equal(it_remove(e, "jobs/twice.sql"), 0);
	assert_int_equal(it_remove(e, "jobs/maxless.sql"), 0);
	assert_int_equal(it_remove(e, "jobs/check.sql"), 0);
	assert_int_equal(it_remove(e, "jobs/0002_x.up.sql"), 0);
	MG(r, "job", "run");
	assert_exit(r, 2);
	MG(r, "job", "run", "good", "--due");
	assert_exit(r, 2);
	MG(r, "job", "run", "nosuch");
	assert_exit(r, 2);
	assert_contains(r->err, "no job 'nosuch'");
	MG(r, "job", "sideways");
	assert_exit(r, 2);
	MG(r, "job", "run", "good", "--jobs-dir", "nowhere");
	assert_exit(r, 2);
	assert_contains(r->err, "no jobs directory 'nowhere'");
	assert_int_equal(job_events(e, "good", NULL), 0);

	/* a schedule in a migration would be ignored: refused */
	assert_int_equal(it_pair(e, "0002_m", "SELECT 1;\n-- job:every 1d\n",
				 "SELECT 1;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "0002_m.up.sql:2: job: directives belong in a "
				"job file");
}

/* A dry run reads the checks' before values and changes nothing. */
static void dry_run_changes_nothing(void **state)
{
	IT_BEGIN;
	long long rows;

	table_t(st);
	job_file(e, "purge", "-- job:every 1d\n",
		 "-- check: rows t delta -0\n",
		 "DELETE FROM t WHERE id > 100000;\n", NULL);
	rows = it_ledger_count(e, NULL);
	MG(r, "job", "run", "purge", "--dry-run");
	assert_exit(r, 0);
	assert_contains(r->out, "would run job purge");
	assert_contains(r->out, "rows t: 10000");
	assert_int_equal(it_ledger_count(e, NULL), rows);
	MG(r, "--json", "job", "run", "purge");
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, true));
	assert_int_equal(job_events(e, "purge", "ok"), 1);
}

/* The jobs directory: jobs/ in the migrations directory by default,
 * else --jobs-dir or migrate.conf's jobs-dir. */
static void jobs_dir_from_flag_or_config(void **state)
{
	IT_BEGIN;
	char path[600];
	FILE *f;

	job_file(e, "inside", "SELECT 1;\n", NULL);
	MG(r, "config");
	assert_exit(r, 0);
	assert_contains(line(st, "jobs-dir"), "/migrations/jobs");
	assert_contains(line(st, "jobs-dir"), "default");
	snprintf(path, sizeof(path), "%s/elsewhere", e->root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/elsewhere/outside.sql", e->root);
	assert_non_null(f = fopen(path, "w"));
	fputs("-- job:every 2h\nSELECT 1;\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/migrate.conf", e->root);
	assert_non_null(f = fopen(path, "w"));
	fputs("jobs-dir = elsewhere\n", f);
	fclose(f);
	MG(r, "config");
	assert_exit(r, 0);
	assert_contains(line(st, "jobs-dir"), "elsewhere");
	assert_contains(line(st, "jobs-dir"), "migrate.conf:1");
	MG(r, "--json", "job", "list");
	assert_exit(r, 0);
	assert_contains(r->out, "\"job\":\"outside\"");
	assert_contains(r->out, "\"every\":\"2h\"");
	assert_not_contains(r->out, "inside");
	/* the flag wins */
	MG(r, "job", "run", "inside", "--jobs-dir", "migrations/jobs");
	assert_exit(r, 0);
	assert_int_equal(job_events(e, "inside", "ok"), 1);
}

/*
 * First runs racing on a database with no ledger yet: `up` and six jobs,
 * each under a lock of its own, all create the ledger at once (the fault
 * campaign's seed 20262204: on PostgreSQL `up` beside a job failed with
 * "duplicate key value violates unique constraint
 * pg_type_typname_nsp_index"). Every run succeeds and the chain
 * verifies; ten rounds, the ledger dropped between them (the race is a
 * matter of milliseconds: four rounds in ten failed before the fix).
 */
static void first_runs_racing_create_one_ledger(void **state)
{
	IT_BEGIN;
	const struct dialect *d = dialect(st);
	static const char *const up[] = { "up", NULL };
	const char *args[7][4];
	char name[6][16], tag[32];
	pid_t pids[7];
	int round, k, code;

	assert_int_equal(it_pair(e, "0001_a", "CREATE TABLE a (x int);\n",
				 "DROP TABLE a;\n"),
			 0);
	for (k = 0; k < 6; k++) {
		snprintf(name[k], sizeof(name[k]), "race%d", k);
		job_file(e, name[k], "SELECT 1;\n", NULL);
		args[k][0] = "job";
		args[k][1] = "run";
		args[k][2] = name[k];
		args[k][3] = NULL;
	}
	for (round = 0; round < 10; round++) {
		for (k = 0; k < 7; k++) {
			snprintf(tag, sizeof(tag), "race%d_%d", round, k);
			pids[k] = it_mg_bg(e, tag, NULL, k < 6 ? args[k] : up);
			assert_true(pids[k] > 0);
		}
		for (k = 0; k < 7; k++) {
			code = it_wait(pids[k], 120000);
			if (code != 0) {
				char *err;

				snprintf(tag, sizeof(tag), "race%d_%d", round,
					 k);
				err = it_bg_output(e, tag, true);
				print_error("round %d, %s: exit %d\n%s\n",
					    round, k < 6 ? name[k] : "up",
					    code, err);
				free(err);
			}
			assert_int_equal(code, 0);
		}
		/* one event a job (on MySQL its 'dirty' marker too) */
		assert_int_equal(it_ledger_count(e, "direction = 'job'"),
				 6 * d->rows_per_batch);
		MG(r, "verify");
		assert_exit(r, 0);
		assert_int_equal(it_sql(e, "DROP TABLE migrate_ledger"), 0);
		assert_int_equal(it_sql(e, "DROP TABLE a"), 0);
	}
}

/* A migration of version 0 keeps its own state beside jobs' events,
 * which are version 0 too. */
static void version_zero_migration_ignores_job_events(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0000_init", "CREATE TABLE t (id int "
						 "PRIMARY KEY, done int NOT "
						 "NULL DEFAULT 0);\n",
				 "DROP TABLE t;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 0);
	job_file(e, "touch", "UPDATE t SET done = 1;\n", NULL);
	MG(r, "job", "run", "touch");
	assert_exit(r, 0);
	assert_state(e, 0, "applied");
	MG(r, "down");
	assert_exit(r, 0);
	assert_state(e, 0, "pending");
	assert_false(it_table_exists(e, "t"));
	MG(r, "up");
	assert_exit(r, 0);
	assert_state(e, 0, "applied");
	MG(r, "verify");
	assert_exit(r, 0);
}

/* ---- a job's backups (SPEC.md, "Jobs" and "Backups") ---- */

#define USERS_TABLE                                                           \
	"CREATE TABLE users (id int PRIMARY KEY, name varchar(20), "          \
	"deleted_at int);\n"                                                  \
	"INSERT INTO users VALUES (1, 'a', 5), (2, 'b', NULL), (3, 'c', 7), " \
	"(4, 'd', NULL);\n"

/* The purge job of migrations/jobs/, kept `keep` days. */
static void purge_job(const struct it_env *e, const char *keep)
{
	char backup[120];

	snprintf(backup, sizeof(backup),
		 "-- backup: users keep %s where deleted_at IS NOT NULL\n",
		 keep);
	job_file(e, "purge", "-- job:every 1d\n", backup,
		 "-- check: rows users delta -backup\n",
		 "DELETE FROM users WHERE deleted_at IS NOT NULL;\n", NULL);
}

/* The backup table and event of the newest purge backup whose table is
 * not `other`, from `migrate backups --json`. */
static long long purge_backup(struct it_state *st, char *name, size_t size,
			      const char *other)
{
	struct it_env *e = &st->e;
	struct it_run *r = &st->r;
	const char *at = NULL, *p;
	long long event = -1;

	MG(r, "--json", "backups");
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, true));
	for (p = r->out; (p = strstr(p, "\"job\":\"purge\"")) != NULL; p++) {
		const char *bt = strstr(p, "\"backup_table\":\"");

		assert_non_null(bt);
		bt += strlen("\"backup_table\":\"");
		if (other == NULL || strncmp(bt, other, strlen(other)) != 0 ||
		    bt[strlen(other)] != '"')
			at = p;
	}
	assert_non_null(at);
	assert_true(sscanf(at, "\"job\":\"purge\",\"event\":%lld", &event) ==
		    1);
	p = strstr(at, "\"backup_table\":\"") + strlen("\"backup_table\":\"");
	snprintf(name, size, "%.*s", (int)(strchr(p, '"') - p), p);
	return event;
}

/*
 * The purge of migrations/jobs/ with its backup and delta check, run on
 * two "days": each run keeps its own backup, named from its event (the
 * ledger links them); `backups` lists both; `prune` retires the first
 * (kept 0 days, so expired at once) and not the second; `restore --job`
 * brings the second's rows back with proof; the pruned one is refused.
 */
static void purge_with_backup_run_prune_restore(void **state)
{
	IT_BEGIN;
	const struct dialect *d = dialect(st);
	char bk1[64], bk2[64], where[300], spelled[64];
	long long e1, e2;

	assert_int_equal(it_pair(e, "0001_users", USERS_TABLE,
				 "DROP TABLE users;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 0);

	/* day 1: kept 0 days */
	purge_job(e, "0d");
	MG(r, "job", "run", "purge");
	assert_exit(r, 0);
	assert_contains(r->err, "rows users: 4 -> 2 (expected -2) ok");
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 2);
	e1 = purge_backup(st, bk1, sizeof(bk1), NULL);
	snprintf(spelled, sizeof(spelled), "migrate_ledger_bk_j%lld_purge_users",
		 e1);
	assert_string_equal(bk1, spelled);
	snprintf(where, sizeof(where), "SELECT count(*) FROM %s", bk1);
	assert_int_equal(it_count(e, where), 2);
	/* the event its name carries is the batch's own: in a transaction
	 * the one event, with the backup in its evidence; outside one
	 * (MySQL) its 'dirty' marker, then the outcome that records it */
	snprintf(where, sizeof(where),
		 "id = %lld AND direction = 'job' AND name = 'purge' AND "
		 "status = '%s'",
		 e1, d->rows_per_batch == 1 ? "ok" : "dirty");
	assert_int_equal(it_ledger_count(e, where), 1);
	snprintf(where, sizeof(where),
		 "id >= %lld AND direction = 'job' AND status = 'ok' AND "
		 "checks LIKE '%%\"backup_table\":\"%s\"%%'",
		 e1, bk1);
	assert_int_equal(it_ledger_count(e, where), 1);

	/* day 2: another user soft-deleted; kept 30 days */
	assert_int_equal(
		it_sql(e, "UPDATE users SET deleted_at = 9 WHERE id = 4"), 0);
	purge_job(e, "30d");
	MG(r, "job", "run", "purge");
	assert_exit(r, 0);
	assert_contains(r->err, "rows users: 2 -> 1 (expected -1) ok");
	e2 = purge_backup(st, bk2, sizeof(bk2), bk1);
	assert_true(e2 > e1);
	assert_string_not_equal(bk1, bk2);
	snprintf(spelled, sizeof(spelled), "migrate_ledger_bk_j%lld_purge_users",
		 e2);
	assert_string_equal(bk2, spelled);
	snprintf(where, sizeof(where), "SELECT count(*) FROM %s", bk2);
	assert_int_equal(it_count(e, where), 1);

	/* both listed, one expired */
	MG(r, "backups");
	assert_exit(r, 0);
	assert_contains(r->out, bk1);
	assert_contains(r->out, bk2);
	assert_contains(r->err, "2 backups kept, 1 expired");

	/* prune retires the expired one only */
	MG(r, "prune");
	assert_exit(r, 0);
	assert_contains(r->err, bk1);
	assert_contains(r->err, "1 backup dropped");
	snprintf(where, sizeof(where), "SELECT count(*) FROM %s", bk1);
	assert_int_equal(it_count(e, where), -1);
	snprintf(where, sizeof(where), "SELECT count(*) FROM %s", bk2);
	assert_int_equal(it_count(e, where), 1);
	snprintf(where, sizeof(where),
		 "direction = 'prune' AND status = 'ok' AND name = 'purge' "
		 "AND checks LIKE '%%%s%%'",
		 bk1);
	assert_int_equal(it_ledger_count(e, where), 1);

	/* restore: the latest by default, proven */
	MG(r, "restore", "--job", "purge");
	assert_exit(r, 0);
	assert_contains(r->err, bk2);
	assert_int_equal(it_count(e, "SELECT count(*) FROM users WHERE id = 4 "
				     "AND deleted_at = 9"),
			 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 2);
	snprintf(where, sizeof(where),
		 "direction = 'restore' AND status = 'ok' AND version = 0 AND "
		 "name = 'purge' AND checks LIKE '%%%s%%'",
		 bk2);
	assert_int_equal(it_ledger_count(e, where), 1);

	/* the pruned one is refused, and nothing changes */
	{
		char event[32];

		snprintf(event, sizeof(event), "%lld", e1);
		MG(r, "restore", "--job", "purge", "--event", event);
		assert_exit(r, 2);
		assert_contains(r->err, "was pruned: it cannot be restored");
	}
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 2);
	assert_int_equal(it_ledger_count(e, "direction = 'restore'"), 1);
	MG(r, "restore", "--job", "nosuch");
	assert_exit(r, 2);
	assert_contains(r->err, "job 'nosuch' has no backups");
	MG(r, "restore", "--event", "3");
	assert_exit(r, 2);
	MG(r, "restore", "1", "--job", "purge");
	assert_exit(r, 2);
	MG(r, "prune", "--job", "purge", "--version", "1");
	assert_exit(r, 2);

	/* prune --job drops the rest of the job's, whatever their keep */
	MG(r, "prune", "--job", "purge");
	assert_exit(r, 0);
	assert_contains(r->err, "1 backup dropped");
	snprintf(where, sizeof(where), "SELECT count(*) FROM %s", bk2);
	assert_int_equal(it_count(e, where), -1);
	MG(r, "verify");
	assert_exit(r, 0);
	MG(r, "status");
	assert_exit(r, 0);
}

/* A job's dry run says what its backup would save, and takes none. */
static void dry_run_counts_a_backup(void **state)
{
	IT_BEGIN;
	long long rows;

	assert_int_equal(it_pair(e, "0001_users", USERS_TABLE,
				 "DROP TABLE users;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 0);
	purge_job(e, "30d");
	rows = it_ledger_count(e, NULL);
	MG(r, "job", "run", "purge", "--dry-run");
	assert_exit(r, 0);
	assert_contains(r->out, "backup users: would save 2 rows");
	assert_int_equal(it_ledger_count(e, NULL), rows);
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 4);
	MG(r, "--json", "backups");
	assert_exit(r, 0);
	assert_null(strstr(r->out, "purge"));
}

/* What a job file's backups cannot be: exit 2 with file:line, nothing
 * run; a table without a key is refused when the batch comes, and the
 * batch changes nothing. */
static void bad_backup_directives_in_job_files(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_users",
				 USERS_TABLE "CREATE TABLE nokey (a int);\n"
					     "INSERT INTO nokey VALUES (1);\n",
				 "DROP TABLE nokey;\nDROP TABLE users;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 0);
	job_file(e, "restores", "-- job:every 1d\n", "-- restore: users\n",
		 "SELECT 1;\n", NULL);
	job_file(e, "keepless", "-- backup: users keep 30\n", "SELECT 1;\n",
		 NULL);
	job_file(e, "deltaless", "\n-- check: rows users delta -backup\n",
		 "DELETE FROM users WHERE deleted_at IS NOT NULL;\n", NULL);
	MG(r, "job", "list");
	assert_exit(r, 2);
	assert_contains(r->err, "jobs/restores.sql:2: restore: is for down "
				"files");
	assert_contains(r->err, "jobs/keepless.sql:1: 'keep' needs a number");
	assert_contains(r->err, "jobs/deltaless.sql:2:");
	assert_contains(r->err, "3 invalid job files");
	assert_int_equal(it_remove(e, "jobs/restores.sql"), 0);
	assert_int_equal(it_remove(e, "jobs/keepless.sql"), 0);
	assert_int_equal(it_remove(e, "jobs/deltaless.sql"), 0);

	job_file(e, "keyless", "-- backup: nokey\n", "DELETE FROM nokey;\n",
		 NULL);
	MG(r, "job", "run", "keyless");
	assert_exit(r, 2);
	assert_contains(r->err, "jobs/keyless.sql:1: backup: nokey has no "
				"primary key");
	assert_int_equal(it_count(e, "SELECT count(*) FROM nokey"), 1);
	assert_int_equal(job_events(e, "keyless", "ok"), 0);
}

/*
 * job run --preview: the first batch rehearsed with its backup and checks
 * in a transaction that is rolled back: the evidence is shown, and the
 * data, the ledger and the backups are as before. A failing check exits
 * 3 as a real batch would. MySQL cannot roll DDL back: refused (exit 2).
 */
static void preview_rehearses_the_first_batch_and_keeps_nothing(void **state)
{
	IT_BEGIN;
	const struct dialect *d = dialect(st);
	long long events;

	table_t(st);
	assert_int_equal(it_pair(e, "0002_users", USERS_TABLE,
				 "DROP TABLE users;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 0);
	job_file(e, "backfill", "-- job:batch\n", "-- check: rows t unchanged\n",
		 d->batch, NULL);
	purge_job(e, "30d");
	events = it_ledger_count(e, NULL);
	MG(r, "job", "run", "backfill", "purge", "--preview");
	if (!d->rolls_back) {
		assert_exit(r, 2);
		assert_contains(r->err, "--preview needs a database whose DDL "
					"rolls back");
		assert_int_equal(done_rows(e), 0);
		assert_int_equal(it_ledger_count(e, NULL), events);
		return;
	}
	assert_exit(r, 0);
	assert_contains(r->err, "job backfill: rehearsed batch 1: ok, 1000 "
				"rows");
	assert_contains(r->err, "line 3: UPDATE, 1000 rows");
	assert_contains(r->err, "job backfill: rehearsed its first batch "
				"only, rolled back: nothing was kept");
	assert_contains(r->err, "job purge: rehearsed batch 1: ok, 2 rows");
	assert_contains(r->err, "rows users: 4 -> 2 (expected -2) ok");
	assert_contains(r->err, "backup users: 2 rows in "
				"migrate_ledger_bk_j");
	assert_contains(r->err, "job purge: rehearsed its batch, rolled back");
	/* nothing kept: data, ledger, backups */
	assert_int_equal(done_rows(e), 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 4);
	assert_int_equal(it_ledger_count(e, NULL), events);
	MG(r, "--json", "backups");
	assert_exit(r, 0);
	assert_null(strstr(r->out, "purge"));
	/* JSON: each rehearsed batch, marked */
	MG(r, "--json", "job", "run", "purge", "--preview");
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, true));
	assert_contains(r->out, "\"preview\":true");
	assert_contains(r->out, "\"kind\":\"backup\"");
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 4);
	/* a check that fails: exit 3, as a real batch, nothing kept */
	job_file(e, "wrong", "-- check: rows t delta -5\n", d->batch, NULL);
	MG(r, "job", "run", "wrong", "--preview");
	assert_exit(r, 3);
	assert_contains(r->err, "check failed: rows t");
	assert_int_equal(done_rows(e), 0);
	assert_int_equal(it_ledger_count(e, NULL), events);
	/* a preview is not a dry run */
	MG(r, "job", "run", "purge", "--preview", "--dry-run");
	assert_exit(r, 2);
}

/*
 * A batched job with a backup: each batch keeps its own (named from its
 * own event), the last batch, with nothing left to save, keeps none, and
 * restore --event brings back one batch's rows.
 */
static void batched_job_keeps_a_backup_per_batch(void **state)
{
	IT_BEGIN;
	static const char *const batch =
		"id IN (SELECT id FROM (SELECT id FROM users WHERE "
		"deleted_at IS NOT NULL ORDER BY id LIMIT 1) AS b)";
	char backup[300], del[300], first[64], where[200];
	const char *p;
	long long n = 0, e1 = -1;

	assert_int_equal(it_pair(e, "0001_users", USERS_TABLE,
				 "DROP TABLE users;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 0);
	snprintf(backup, sizeof(backup), "-- backup: users keep 7d where %s\n",
		 batch);
	snprintf(del, sizeof(del), "DELETE FROM users WHERE %s;\n", batch);
	job_file(e, "drip", "-- job:batch\n", backup,
		 "-- check: rows users delta -backup\n", del, NULL);
	MG(r, "job", "run", "drip");
	assert_exit(r, 0);
	assert_contains(r->err, "job drip: done, 3 batches, 2 rows");
	assert_contains(r->err, "backup users: no rows to save, no table kept");
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 2);
	/* two backups, one row each, each its own event */
	MG(r, "--json", "backups");
	assert_exit(r, 0);
	for (p = r->out; (p = strstr(p, "\"job\":\"drip\"")) != NULL; p++) {
		long long ev = -1;

		assert_true(sscanf(p, "\"job\":\"drip\",\"event\":%lld", &ev) ==
			    1);
		assert_non_null(strstr(p, "\"rows\":1,"));
		if (e1 < 0)
			e1 = ev;
		else
			assert_true(ev > e1);
		n++;
	}
	assert_int_equal(n, 2);
	snprintf(where, sizeof(where),
		 "direction = 'job' AND checks LIKE '%%\"empty\":true%%'");
	assert_int_equal(it_ledger_count(e, where), 1);
	/* the first batch's row back, and only it */
	snprintf(first, sizeof(first), "%lld", e1);
	MG(r, "restore", "--job", "drip", "--event", first);
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM users"), 3);
	assert_int_equal(it_count(e, "SELECT count(*) FROM users WHERE id = 1"),
			 1);
}

#define BODIES(X)                                                             \
	X(batched_job_stops_at_its_time_limit_and_continues)                  \
	X(concurrent_runs_of_a_job_one_exits_5)                               \
	X(jobs_side_by_side_keep_one_chain)                                   \
	X(killed_job_continues_from_the_data)                                 \
	X(due_runs_only_the_jobs_that_are_due)                                \
	X(failing_check_in_batch_3)                                           \
	X(bad_job_files_exit_2)                                               \
	X(dry_run_changes_nothing)                                            \
	X(jobs_dir_from_flag_or_config)                                       \
	X(version_zero_migration_ignores_job_events)                          \
	X(first_runs_racing_create_one_ledger)                                \
	X(purge_with_backup_run_prune_restore)                                \
	X(dry_run_counts_a_backup)                                            \
	X(bad_backup_directives_in_job_files)                                 \
	X(preview_rehearses_the_first_batch_and_keeps_nothing)                \
	X(batched_job_keeps_a_backup_per_batch)

#define EACH(body)                                                            \
	static void test_##body##_sqlite(void **state)                        \
	{                                                                     \
		body(state);                                                  \
	}                                                                     \
	static void test_##body##_postgres(void **state)                      \
	{                                                                     \
		body(state);                                                  \
	}                                                                     \
	static void test_##body##_mysql(void **state)                         \
	{                                                                     \
		body(state);                                                  \
	}

BODIES(EACH)

#define T_SQLITE(body)                                                        \
	cmocka_unit_test_setup_teardown(test_##body##_sqlite, setup,          \
					it_teardown),
#define T_POSTGRES(body)                                                      \
	cmocka_unit_test_setup_teardown(test_##body##_postgres, setup,        \
					it_teardown),
#define T_MYSQL(body)                                                         \
	cmocka_unit_test_setup_teardown(test_##body##_mysql, setup,           \
					it_teardown),

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = { BODIES(T_SQLITE) };
	const struct CMUnitTest postgres_tests[] = { BODIES(T_POSTGRES) };
	const struct CMUnitTest mysql_tests[] = { BODIES(T_MYSQL) };
	return IT_RUN_ENGINES("it_jobs", sqlite_tests, postgres_tests, mysql_tests);
}
