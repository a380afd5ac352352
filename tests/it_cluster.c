/*
 * Integration tests of the run lock on the topologies of issue 12: a
 * 3-node MariaDB Galera cluster (MG_TEST_GALERA_DSN1..3), pgbouncer in
 * transaction pooling mode in front of PostgreSQL (MG_TEST_PGBOUNCER_DSN),
 * both from scripts/with-cluster.sh, plain MariaDB (MG_TEST_MYSQL_DSN)
 * and PostgreSQL (MG_TEST_PG_DSN) for racing runners, first runs and a
 * libpq multi-host URL. Runners race on different nodes, or through the
 * pooler, and the database's own state shows that each migration ran
 * exactly once, and that the runners that met another one exited 5, never
 * 1.
 *
 * One body per behaviour, registered for each topology it applies to.
 * Without the cluster's variables the Galera and pgbouncer groups skip,
 * unless MG_TEST_REQUIRE_CLUSTER is set (scripts/test.sh runs them).
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "migrator/driver.h"
#include "support/it.h"

enum topo { TP_GALERA, TP_PGBOUNCER, TP_MARIADB, TP_POSTGRES };

#define NRUN 3

struct cl_state {
	struct it_state it;
	enum topo tp;
	const char *admin;  /* where the test's database is made */
	char *urls[NRUN];   /* the test database on each node / route */
	pid_t bg[NRUN * 2]; /* background runners, killed in teardown */
	size_t nbg;
};

/* The migrations every test starts from: each records its run in
 * `runs`, so that a double apply shows as a second row; the second one
 * is slow enough that runners overlap. */
static const char *const RUNS_UP[] = {
	/* 0001 */
	"CREATE TABLE runs (id INT PRIMARY KEY, v INT NOT NULL);\n",
	/* 0002 */
	NULL, /* per database: slow_up() */
	/* 0003 */
	"INSERT INTO runs (id, v) SELECT COALESCE(MAX(id), 0) + 1, 3 FROM "
	"runs;\n",
};

static bool is_pg(const struct cl_state *cs)
{
	return cs->tp == TP_PGBOUNCER || cs->tp == TP_POSTGRES;
}

/* 0002: a row in runs, then a pause of `secs`. */
static int write_files(struct cl_state *cs, const char *secs)
{
	const struct it_env *e = &cs->it.e;
	char up2[300], pause[64];

	snprintf(pause, sizeof(pause), "SELECT %s(%s);\n",
	         is_pg(cs) ? "pg_sleep" : "SLEEP", secs);
	snprintf(up2, sizeof(up2),
	         "INSERT INTO runs (id, v) SELECT COALESCE(MAX(id), 0) + 1, 2 "
	         "FROM runs;\n%s",
	         pause);
	if (it_pair(e, "0001_runs", RUNS_UP[0], "DROP TABLE runs;\n") < 0 ||
	    it_pair(e, "0002_slow", up2, "DELETE FROM runs WHERE v = 2;\n") <
	            0 ||
	    it_pair(e, "0003_more", RUNS_UP[2],
	            "DELETE FROM runs WHERE v = 3;\n") < 0)
		return -1;
	return 0;
}

static const char *env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

static int group_setup_tp(void **state, enum topo tp)
{
	struct cl_state *cs = calloc(1, sizeof(*cs));
	const char *need = NULL;

	if ((*state = cs) == NULL)
		return -1;
	cs->tp = tp;
	switch (tp) {
	case TP_GALERA:
		cs->admin = env_or_null("MG_TEST_GALERA_DSN1");
		need = "MG_TEST_REQUIRE_CLUSTER";
		break;
	case TP_PGBOUNCER:
		/* the database is made on the server; runners go through
		 * the pooler */
		cs->admin = env_or_null("MG_TEST_PGBOUNCER_DSN") != NULL
		                    ? env_or_null("MG_TEST_PG_DSN")
		                    : NULL;
		need = "MG_TEST_REQUIRE_CLUSTER";
		break;
	case TP_MARIADB:
		cs->admin = env_or_null("MG_TEST_MYSQL_DSN");
		need = "MG_TEST_REQUIRE_SERVERS";
		break;
	case TP_POSTGRES:
		cs->admin = env_or_null("MG_TEST_PG_DSN");
		need = "MG_TEST_REQUIRE_SERVERS";
		break;
	}
	cs->it.dsn = cs->admin;
	cs->it.no_server = cs->admin == NULL;
	if (cs->it.no_server)
		fprintf(stderr, "it_cluster: topology %d not available\n", tp);
	return cs->it.no_server && getenv(need) ? -1 : 0;
}

static int group_setup_galera(void **state)
{
	return group_setup_tp(state, TP_GALERA);
}

static int group_setup_pgbouncer(void **state)
{
	return group_setup_tp(state, TP_PGBOUNCER);
}

static int group_setup_mariadb(void **state)
{
	return group_setup_tp(state, TP_MARIADB);
}

static int group_setup_postgres(void **state)
{
	return group_setup_tp(state, TP_POSTGRES);
}

static int group_teardown(void **state)
{
	free(*state);
	return 0;
}

static int setup(void **state)
{
	struct cl_state *cs = *state;
	struct it_env *e = &cs->it.e;
	int i;

	if (cs->it.no_server)
		return 0;
	if (is_pg(cs)) {
		if (it_env_setup_pg(e, cs->admin) < 0)
			return -1;
		for (i = 0; i < NRUN; i++)
			cs->urls[i] = it_pg_url(cs->tp == TP_PGBOUNCER
			                                ? getenv("MG_TEST_PGBOUNCER_DSN")
			                                : cs->admin,
			                        e->dbname, NULL);
	} else {
		if (it_env_setup_mysql(e, cs->admin) < 0)
			return -1;
		for (i = 0; i < NRUN; i++) {
			char var[32];
			const char *dsn = cs->admin;

			if (cs->tp == TP_GALERA) {
				snprintf(var, sizeof(var),
				         "MG_TEST_GALERA_DSN%d", i + 1);
				dsn = getenv(var);
			}
			cs->urls[i] = it_mysql_url(dsn, e->dbname);
		}
	}
	for (i = 0; i < NRUN; i++)
		if (cs->urls[i] == NULL)
			return -1;
	return 0;
}

static int teardown(void **state)
{
	struct cl_state *cs = *state;
	int i;

	while (cs->nbg > 0) {
		pid_t pid = cs->bg[--cs->nbg];

		kill(pid, SIGCONT);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	it_state_reset(&cs->it);
	it_env_teardown(&cs->it.e);
	for (i = 0; i < NRUN; i++) {
		free(cs->urls[i]);
		cs->urls[i] = NULL;
	}
	return 0;
}

/* `migrate ARGS...` in the background against route i. */
static pid_t start_on(struct cl_state *cs, int i, const char *tag,
                      const char *const *args)
{
	struct it_env *e = &cs->it.e;
	char *own = e->url;
	pid_t pid;

	e->url = cs->urls[i]; /* it_mg_bg copies it before returning */
	pid = it_mg_bg(e, tag, NULL, args);
	e->url = own;
	if (pid > 0)
		cs->bg[cs->nbg++] = pid;
	return pid;
}

/* Waits for a background runner; drops it from the kill list. */
static int finish(struct cl_state *cs, pid_t pid)
{
	size_t i;
	int code = it_wait(pid, 120000);

	for (i = 0; i < cs->nbg; i++)
		if (cs->bg[i] == pid)
			cs->bg[i] = cs->bg[--cs->nbg];
	return code;
}

/* Runs migrate ARGS... against route i in the foreground. */
static int run_on(struct cl_state *cs, int i, const char *const *args,
                  char **err_out)
{
	pid_t pid = start_on(cs, i, "fg", args);
	int code;

	assert_true(pid > 0);
	code = finish(cs, pid);
	*err_out = it_own(&cs->it, it_bg_output(&cs->it.e, "fg", true));
	return code;
}

/* Each migration ran exactly once, by the database's own state: one row
 * per file in `runs`, and one 'up' 'ok' event per version. */
static void assert_once(struct cl_state *cs, long long nfiles)
{
	const struct it_env *e = &cs->it.e;

	assert_int_equal(it_count(e, "SELECT COUNT(*) FROM runs WHERE v = 2"),
	                 1);
	assert_int_equal(it_count(e, "SELECT COUNT(*) FROM runs WHERE v = 3"),
	                 1);
	assert_int_equal(it_ledger_count(e, "direction = 'up' AND status = "
	                                    "'ok'"),
	                 nfiles);
	assert_int_equal(it_ledger_count(e, "status IN ('failed', "
	                                    "'rolled_back')"),
	                 0);
}

/*
 * Three runners at once, one per node (or through the pooler), with
 * --lock-timeout 0: whoever loses exits 5 naming the holder, nobody
 * exits 1, and each migration ran once.
 */
static void race_try_once(void **state)
{
	IT_BEGIN;
	struct cl_state *cs = *state;
	static const char *const args[] = { "up", "--lock-timeout", "0",
		                            NULL };
	char tag[16];
	pid_t pid[NRUN];
	int i, code, ok = 0, locked = 0;

	assert_int_equal(write_files(cs, "2"), 0);
	for (i = 0; i < NRUN; i++) {
		snprintf(tag, sizeof(tag), "r%d", i);
		assert_true((pid[i] = start_on(cs, i, tag, args)) > 0);
	}
	for (i = 0; i < NRUN; i++) {
		code = finish(cs, pid[i]);
		snprintf(tag, sizeof(tag), "r%d", i);
		char *err = it_own(st, it_bg_output(e, tag, true));

		if (code != 0 && code != 5)
			print_error("runner %d: exit %d\n%s\n", i, code, err);
		assert_true(code == 0 || code == 5);
		if (code == 5) {
			locked++;
			assert_contains(err, "another migrate run");
		} else {
			ok++;
		}
	}
	assert_true(ok >= 1);
	(void)locked; /* one that started after the winner ended exits 0 */
	assert_once(cs, 3);
}

/*
 * Racing first runs on an empty database, each waiting for the lock:
 * all exit 0, the ledger (and its index) was made once without an error,
 * and each migration ran once.
 */
static void race_first_runs(void **state)
{
	IT_BEGIN;
	struct cl_state *cs = *state;
	static const char *const args[] = { "up", NULL };
	char tag[16];
	pid_t pid[NRUN];
	int i, code;

	assert_int_equal(write_files(cs, "1"), 0);
	for (i = 0; i < NRUN; i++) {
		snprintf(tag, sizeof(tag), "f%d", i);
		assert_true((pid[i] = start_on(cs, i, tag, args)) > 0);
	}
	for (i = 0; i < NRUN; i++) {
		code = finish(cs, pid[i]);
		snprintf(tag, sizeof(tag), "f%d", i);
		if (code != 0)
			print_error("runner %d: exit %d\n%s\n", i, code,
			            (char *)it_own(st,
			                           it_bg_output(e, tag, true)));
		assert_int_equal(code, 0);
	}
	assert_once(cs, 3);
	/* and what a second run sees: nothing to do */
	MG(r, "up");
	assert_exit(r, 0);
	assert_once(cs, 3);
}

/* Polls until version 2's dirty marker is in the ledger (the runner is
 * inside the slow file); false after 30 s. */
static bool wait_inside_slow(const struct it_env *e)
{
	long long t0 = it_now_ms();

	while (it_now_ms() - t0 < 30000) {
		if (it_ledger_count(e, "version = 2 AND status = 'dirty'") > 0)
			return true;
		it_sleep_ms(100);
	}
	return false;
}

/*
 * Galera: a runner SIGKILLed while it holds the lease. While it lives,
 * `status` on another node says "in progress by pid X"; once killed, a
 * runner with a short wait exits 5 naming it, and one that waits longer
 * than the lease's life takes the lease over (its own clock watching
 * the renewals stop) and meets the dirty version (exit 1, not 5).
 */
static void test_galera_killed_runner(void **state)
{
	IT_BEGIN;
	struct cl_state *cs = *state;
	static const char *const up[] = { "up", NULL };
	static const char *const up_short[] = { "up", "--lock-timeout", "2",
		                                NULL };
	static const char *const up_long[] = { "up", "--lock-timeout", "40",
		                               NULL };
	static const char *const status[] = { "status", NULL };
	static const char *const repair[] = { "repair",   "2",
		                              "--applied", "--reason",
		                              "killed",   NULL };
	char *err, *out, want[64];
	long long t0, waited;
	pid_t a;

	assert_int_equal(write_files(cs, "30"), 0);
	assert_true((a = start_on(cs, 0, "a", up)) > 0);
	assert_true(wait_inside_slow(e));
	snprintf(want, sizeof(want), "in progress by pid %ld", (long)a);
	assert_int_equal(run_on(cs, 1, status, &err), 0);
	out = it_own(st, it_bg_output(e, "fg", false));
	assert_contains(out, want);

	kill(a, SIGKILL);
	assert_int_equal(finish(cs, a), 128 + SIGKILL);
	snprintf(want, sizeof(want), "held by pid %ld", (long)a);
	assert_int_equal(run_on(cs, 2, up_short, &err), 5);
	assert_contains(err, want);

	t0 = it_now_ms();
	assert_int_equal(run_on(cs, 2, up_long, &err), 1);
	waited = it_now_ms() - t0;
	assert_contains(err, "half-applied");
	/* the lease lives 10 s after its last renewal */
	assert_true(waited >= 4000);
	assert_true(waited < 30000);
	assert_int_equal(run_on(cs, 1, status, &err), 0);
	out = it_own(st, it_bg_output(e, "fg", false));
	assert_not_contains(out, "in progress");

	assert_int_equal(run_on(cs, 1, repair, &err), 0);
	assert_int_equal(run_on(cs, 2, up, &err), 0);
	assert_int_equal(it_count(e, "SELECT COUNT(*) FROM runs WHERE v = 3"),
	                 1);
}

/*
 * Galera: every ledger write is conditional on still holding the lease.
 * A runner paused (SIGSTOP) inside a slow file for longer than the
 * lease's life loses it to another runner; resumed, it must not write
 * its 'ok' row, and stops with exit 5.
 */
static void test_galera_ledger_write_needs_lease(void **state)
{
	IT_BEGIN;
	struct cl_state *cs = *state;
	static const char *const up[] = { "up", NULL };
	static const char *const up_long[] = { "up", "--lock-timeout", "40",
		                               NULL };
	char *err;
	pid_t a;
	int code;

	assert_int_equal(write_files(cs, "2"), 0);
	assert_true((a = start_on(cs, 0, "a", up)) > 0);
	assert_true(wait_inside_slow(e));
	kill(a, SIGSTOP);
	/* B takes the lease over once A's renewals stood still for its
	 * life, finds version 2 dirty, and releases the lease */
	assert_int_equal(run_on(cs, 1, up_long, &err), 1);
	assert_contains(err, "half-applied");
	kill(a, SIGCONT);
	code = finish(cs, a);
	err = it_own(st, it_bg_output(e, "a", true));
	if (code != 5)
		print_error("exit %d\n%s\n", code, err);
	assert_int_equal(code, 5);
	assert_contains(err, "another migrate run is active");
	/* no 'ok' row for 2: its marker stays the last word */
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok'"),
	                 0);
}

/* pgbouncer: a no-transaction file cannot hold the per-transaction
 * lock, and is refused before anything runs (exit 2, naming it). */
static void test_pgbouncer_no_transaction_refused(void **state)
{
	IT_BEGIN;
	struct cl_state *cs = *state;
	static const char *const up[] = { "up", NULL };
	char *err;

	assert_int_equal(write_files(cs, "0"), 0);
	assert_int_equal(it_pair(e, "0004_idx",
	                         "-- migrate:no-transaction\n"
	                         "CREATE INDEX CONCURRENTLY runs_v ON runs "
	                         "(v);\n",
	                         "DROP INDEX runs_v;\n"),
	                 0);
	assert_int_equal(run_on(cs, 0, up, &err), 2);
	assert_contains(err, "0004_idx.up.sql");
	assert_contains(err, "connection pooler");
	assert_false(it_table_exists(e, "runs"));
	/* the same files straight to the server run */
	MG(r, "up");
	assert_exit(r, 0);
	assert_once(cs, 4);
}

/*
 * PostgreSQL: a libpq multi-host URL with target_session_attrs=read-write
 * (the first host down here) reaches the writable one, and the run lock
 * and ledger work there as with one host.
 */
static void test_pg_multi_host_url(void **state)
{
	IT_BEGIN;
	struct cl_state *cs = *state;
	static const char *const up[] = { "up", NULL };
	char url[512], *err;

	snprintf(url, sizeof(url),
	         "postgres://mg_test:%s@127.0.0.1:1,127.0.0.1:%s/%s?"
	         "target_session_attrs=read-write",
	         getenv("MG_TEST_PG_PASSWORD"), getenv("MG_TEST_PG_PORT"),
	         e->dbname);
	free(cs->urls[0]);
	assert_non_null(cs->urls[0] = strdup(url));
	assert_int_equal(write_files(cs, "0"), 0);
	assert_int_equal(run_on(cs, 0, up, &err), 0);
	assert_once(cs, 3);
	assert_not_contains(err, getenv("MG_TEST_PG_PASSWORD"));
}

/*
 * PostgreSQL: pg_advisory_unlock's result is checked. A file that drops
 * every advisory lock of the session leaves the run unguarded: the run
 * ends saying so, not silently.
 */
static void test_pg_lost_session_lock_is_reported(void **state)
{
	IT_BEGIN;
	struct cl_state *cs = *state;
	static const char *const up[] = { "up", NULL };
	char *err;

	(void)cs;
	assert_int_equal(it_pair(e, "0001_unlock",
	                         "SELECT pg_advisory_unlock_all();\n",
	                         "SELECT 1;\n"),
	                 0);
	assert_int_equal(run_on(cs, 0, up, &err), 0);
	assert_contains(err, "the run lock was no longer held");
}

/*
 * Jobs (issue 11) beside `up` on Galera: the ledger's append lock is
 * GET_LOCK, which holds on one node only, so a job's batches on node 1
 * and `up`'s files on node 2 may take the same ledger id at once. The id
 * is the ledger's primary key: the database lets one of them in, and the
 * other appends again on the new tail. Both runs end 0, the chain
 * verifies (no fork, no gap), every batch and every file has exactly one
 * outcome, and nothing is left dirty.
 */
#define JOB_FILES 12
static void test_galera_job_beside_up_one_chain(void **state)
{
	IT_BEGIN;
	struct cl_state *cs = *state;
	static const char *const up1[] = { "up", "--to", "1", NULL };
	static const char *const up[] = { "up", "--lock-timeout", "60", NULL };
	static const char *const job[] = { "job", "run", "tick",
		                           "--lock-timeout", "60", NULL };
	static const char *const verify[] = { "verify", NULL };
	char name[32], sql[200], jobs[400], *err;
	pid_t a, b;
	int i, ca, cb;

	assert_int_equal(
	        it_pair(e, "0001_jt",
	                "CREATE TABLE jt (id INT PRIMARY KEY, done INT NOT "
	                "NULL DEFAULT 0);\n"
	                "INSERT INTO jt (id) SELECT a.x + 10 * b.x + 1 FROM "
	                "(SELECT 0 AS x UNION ALL SELECT 1 UNION ALL SELECT 2 "
	                "UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT "
	                "5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL "
	                "SELECT 8 UNION ALL SELECT 9) a, (SELECT 0 AS x UNION "
	                "ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 "
	                "UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT "
	                "6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL "
	                "SELECT 9) b;\n"
	                "CREATE TABLE runs (id INT PRIMARY KEY, v INT NOT "
	                "NULL);\n",
	                "DROP TABLE runs;\nDROP TABLE jt;\n"),
	        0);
	assert_int_equal(run_on(cs, 0, up1, &err), 0);
	/* many small files and batches: each appends twice (MySQL's
	 * marker, then the outcome), so the two runs meet often */
	for (i = 2; i < 2 + JOB_FILES; i++) {
		snprintf(name, sizeof(name), "%04d_r%d", i, i);
		snprintf(sql, sizeof(sql),
		         "INSERT INTO runs (id, v) VALUES (%d, %d);\n", i, i);
		assert_int_equal(it_pair(e, name, sql, "SELECT 1;\n"), 0);
	}
	snprintf(jobs, sizeof(jobs), "%s/jobs", e->mig);
	assert_int_equal(mkdir(jobs, 0755), 0);
	assert_int_equal(it_write_str(e, "jobs/tick.sql",
	                              "-- job:batch\n"
	                              "UPDATE jt SET done = 1 WHERE done = 0 "
	                              "ORDER BY id LIMIT 4;\n"),
	                 0);
	assert_true((a = start_on(cs, 0, "job", job)) > 0);
	assert_true((b = start_on(cs, 1, "up", up)) > 0);
	ca = finish(cs, a);
	cb = finish(cs, b);
	err = it_own(st, it_bg_output(e, "job", true));
	if (ca != 0)
		print_error("job: exit %d\n%s\n", ca, err);
	err = it_own(st, it_bg_output(e, "up", true));
	if (cb != 0)
		print_error("up: exit %d\n%s\n--- job:\n%s\n", cb, err,
		            (char *)it_own(st, it_bg_output(e, "job", true)));
	assert_int_equal(ca, 0);
	assert_int_equal(cb, 0);
	/* every file once, every row done, one outcome each */
	assert_int_equal(it_count(e, "SELECT COUNT(*) FROM runs"), JOB_FILES);
	assert_int_equal(it_count(e, "SELECT COUNT(*) FROM jt WHERE done = 0"),
	                 0);
	assert_int_equal(it_ledger_count(e, "direction = 'up' AND status = "
	                                    "'ok'"),
	                 JOB_FILES + 1);
	/* 100 rows, 4 a batch: 25 batches and the one that finds none */
	assert_int_equal(it_ledger_count(e, "direction = 'job' AND status = "
	                                    "'ok'"),
	                 26);
	/* each outcome has its marker before it, and nothing else */
	assert_int_equal(it_ledger_count(e, "status = 'dirty'"),
	                 JOB_FILES + 1 + 26);
	assert_int_equal(it_ledger_count(e, "status NOT IN ('ok', 'dirty')"),
	                 0);
	/* one chain: ids without a gap, and it verifies */
	assert_int_equal(it_count(e, "SELECT MAX(id) - COUNT(*) FROM "
	                             "migrate_ledger"),
	                 0);
	assert_int_equal(run_on(cs, 2, verify, &err), 0);
	assert_contains(err, "0 problems");
}

#define CL_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest galera[] = {
		CL_TEST(race_try_once),
		CL_TEST(race_first_runs),
		CL_TEST(test_galera_killed_runner),
		CL_TEST(test_galera_ledger_write_needs_lease),
		CL_TEST(test_galera_job_beside_up_one_chain),
	};
	const struct CMUnitTest pgbouncer[] = {
		CL_TEST(race_try_once),
		CL_TEST(race_first_runs),
		CL_TEST(test_pgbouncer_no_transaction_refused),
	};
	const struct CMUnitTest mariadb[] = {
		CL_TEST(race_try_once),
		CL_TEST(race_first_runs),
	};
	const struct CMUnitTest postgres[] = {
		CL_TEST(race_try_once),
		CL_TEST(race_first_runs),
		CL_TEST(test_pg_multi_host_url),
		CL_TEST(test_pg_lost_session_lock_is_reported),
	};
	int rc = 0;

	if (mg_drivers_init() < 0)
		return 1;
	rc |= cmocka_run_group_tests_name("galera", galera,
	                                  group_setup_galera, group_teardown);
	rc |= cmocka_run_group_tests_name("pgbouncer", pgbouncer,
	                                  group_setup_pgbouncer,
	                                  group_teardown);
	rc |= cmocka_run_group_tests_name("mariadb", mariadb,
	                                  group_setup_mariadb, group_teardown);
	rc |= cmocka_run_group_tests_name("postgres", postgres,
	                                  group_setup_postgres, group_teardown);
	mg_drivers_end();
	return rc;
}
