/*
 * Integration tests of fleets (issue 12; SPEC.md "Topologies"): one
 * command on many databases with --targets FILE or --targets-query SQL.
 *
 * The fleet is the same in every test: 50 PostgreSQL databases, 3 MariaDB
 * databases and 2 SQLite files, in that order in the targets file, made
 * once by the group setup on the servers scripts/with-servers.sh starts
 * and emptied again before each test. One body runs on all three engines
 * at once, since a fleet mixes them. A "broken" tenant (PostgreSQL number
 * 17) already has the table that 0002_b creates, so its up fails there,
 * at run time, after every target was checked.
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

#include "migrator/driver.h"
#include "migrator/error.h"
#include "support/it.h"

#define NPG 50
#define NMY 3
#define NSQ 2
#define NT (NPG + NMY + NSQ)
#define BROKEN 16 /* the index of PostgreSQL tenant 17 */

struct fleet_state {
	struct it_state it;
	const char *pg, *my; /* the servers' DSNs */
	char *password;      /* the servers' password: never in any output */
	char prefix[32];     /* of the databases' names: mg_fl_<pid>_ */
	char *url[NT];       /* each target's URL, password and all */
	bool used[NT];       /* a test ran on it: empty it before the next */
	char targets[600];   /* the targets file: all of them */
	char small[600];     /* a small fleet: 3 + 1 + 2 */
};

/* The small fleet, for what does not need fifty: PostgreSQL 1 to 3, the
 * first MariaDB database and both SQLite files. */
static const int small_fleet[] = { 0, 1, 2, NPG, NPG + NMY, NPG + NMY + 1 };
#define NSMALL ((int)(sizeof(small_fleet) / sizeof(small_fleet[0])))

/* Opens every test: IT_BEGIN's names, and fs. */
#define FL_BEGIN                                                              \
	struct fleet_state *fs = *state;                                      \
	struct it_state *st = &fs->it;                                        \
	struct it_env *e = &st->e;                                            \
	struct it_run *r = &st->r;                                            \
	(void)st;                                                             \
	(void)e;                                                              \
	if (st->no_server)                                                    \
	skip()

/* The target's URL: PostgreSQL and MariaDB databases by name, SQLite
 * files in the test's directory (made per test). */
static int make_urls(struct fleet_state *fs)
{
	char name[64];
	int i;

	for (i = 0; i < NPG + NMY; i++) {
		snprintf(name, sizeof(name), "%s%02d", fs->prefix, i + 1);
		fs->url[i] = i < NPG ? it_pg_url(fs->pg, name, NULL)
		                     : it_mysql_url(fs->my, name);
		if (fs->url[i] == NULL)
			return -1;
	}
	return 0;
}

/* Runs the statements (the list ends with NULL) on one connection to
 * dsn: a connection each cost 50 more per test on the fleet. */
static int admin_sql(const char *dsn, ...)
{
	const char *sql;
	struct mg_conn *c;
	va_list ap;
	int rc = 0;

	if (it_connect(&c, dsn, false) < 0)
		return -1;
	va_start(ap, dsn);
	while (rc == 0 && (sql = va_arg(ap, const char *)) != NULL)
		rc = it_conn_query(c, sql);
	va_end(ap);
	c->drv->close(c);
	return rc;
}

static int group_setup(void **state)
{
	struct fleet_state *fs = calloc(1, sizeof(*fs));
	struct mg_conn *admin[2] = { NULL, NULL }; /* PostgreSQL, MariaDB */
	char sql[160];
	int i, rc = -1;

	if ((*state = fs) == NULL)
		return -1;
	fs->pg = getenv("MG_TEST_PG_DSN");
	fs->my = getenv("MG_TEST_MYSQL_DSN");
	fs->password = it_pg_url_password(fs->pg ? fs->pg : "");
	if (!it_pg_reachable(fs->pg) || !it_pg_reachable(fs->my) ||
	    fs->password == NULL) {
		fs->it.no_server = true;
		fprintf(stderr, "it_fleet: needs MG_TEST_PG_DSN and "
		                "MG_TEST_MYSQL_DSN\n");
		return getenv("MG_TEST_REQUIRE_SERVERS") ? -1 : 0;
	}
	snprintf(fs->prefix, sizeof(fs->prefix), "mg_fl_%ld_",
	         (long)getpid());
	if (make_urls(fs) < 0 || it_connect(&admin[0], fs->pg, false) < 0 ||
	    it_connect(&admin[1], fs->my, false) < 0)
		goto cleanup;
	for (i = 0; i < NPG + NMY; i++) {
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s%02d", fs->prefix,
		         i + 1);
		if (it_conn_query(admin[i >= NPG], sql) < 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	for (i = 0; i < 2; i++)
		if (admin[i] != NULL)
			admin[i]->drv->close(admin[i]);
	return rc;
}

static int group_teardown(void **state)
{
	struct fleet_state *fs = *state;
	struct mg_conn *pg = NULL, *my = NULL;
	char sql[160], name[64];
	int i;

	if (!fs->it.no_server) {
		/* errors are printed; the rest is dropped all the same */
		it_connect(&pg, fs->pg, false);
		it_connect(&my, fs->my, false);
	}
	for (i = 0; !fs->it.no_server && i < NPG + NMY; i++) {
		snprintf(name, sizeof(name), "%s%02d", fs->prefix, i + 1);
		if (i >= NPG) {
			if (my != NULL)
				it_mysql_drop_database(my, name);
			continue;
		}
		snprintf(sql, sizeof(sql),
		         "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
		if (pg != NULL)
			it_conn_query(pg, sql);
	}
	if (pg != NULL)
		pg->drv->close(pg);
	if (my != NULL)
		my->drv->close(my);
	for (i = 0; i < NT; i++)
		free(fs->url[i]);
	free(fs->password);
	free(fs);
	return 0;
}

/* Every target empty again, the SQLite files new in the test's dir, the
 * three migrations written, and the targets file listing all of them. */
static int setup(void **state)
{
	struct fleet_state *fs = *state;
	struct it_env *e = &fs->it.e;
	struct mg_conn *c;
	char sql[200], sql2[200], name[64];
	FILE *f;
	int i;

	if (fs->it.no_server)
		return 0;
	if (it_env_setup_sqlite(e) < 0)
		return -1;
	if (it_three(e) < 0)
		goto fail;
	for (i = 0; i < NPG; i++)
		if (fs->used[i] &&
		    admin_sql(fs->url[i], "DROP SCHEMA public CASCADE",
		              "CREATE SCHEMA public", (const char *)NULL) < 0)
			goto fail;
	for (i = NPG; i < NPG + NMY; i++) {
		if (!fs->used[i])
			continue;
		snprintf(name, sizeof(name), "%s%02d", fs->prefix, i + 1);
		snprintf(sql, sizeof(sql), "DROP DATABASE %s", name);
		snprintf(sql2, sizeof(sql2), "CREATE DATABASE %s", name);
		if (admin_sql(fs->my, sql, sql2, (const char *)NULL) < 0)
			goto fail;
	}
	for (i = NPG + NMY; i < NT; i++) {
		free(fs->url[i]);
		if ((fs->url[i] = malloc(strlen(e->root) + 32)) == NULL)
			goto fail;
		sprintf(fs->url[i], "sqlite:%s/s%d.db", e->root, i - NPG - NMY);
		if (it_connect(&c, fs->url[i], false) < 0) /* creates it */
			goto fail;
		c->drv->close(c);
	}
	snprintf(fs->targets, sizeof(fs->targets), "%s/targets", e->root);
	if ((f = fopen(fs->targets, "w")) == NULL)
		goto fail;
	fprintf(f, "# the tenants\n\n");
	for (i = 0; i < NT; i++)
		fprintf(f, "%s\n", fs->url[i]);
	if (fclose(f) != 0)
		goto fail;
	snprintf(fs->small, sizeof(fs->small), "%s/small", e->root);
	if ((f = fopen(fs->small, "w")) == NULL)
		goto fail;
	for (i = 0; i < NSMALL; i++)
		fprintf(f, "%s\n", fs->url[small_fleet[i]]);
	if (fclose(f) == 0)
		return 0;
fail: /* cmocka runs no teardown after a failed setup */
	it_env_teardown(e);
	return -1;
}

static int teardown(void **state)
{
	struct fleet_state *fs = *state;

	it_state_reset(&fs->it);
	it_env_teardown(&fs->it.e);
	return 0;
}

/* ---- helpers ---- */

/* The tenant that fails at run time: it has table b already. */
static void break_tenant(struct fleet_state *fs)
{
	fs->used[BROKEN] = true;
	assert_int_equal(admin_sql(fs->url[BROKEN], "CREATE TABLE b(y int)",
	                           (const char *)NULL),
	                 0);
}

/* The targets a run with args may touch, to be emptied for the next
 * test. */
static void mark_used(struct fleet_state *fs, const char *const *args)
{
	size_t k;
	int i;

	for (k = 0; args[k] != NULL; k++) {
		for (i = 0; i < NT; i++)
			if (strcmp(args[k], fs->targets) == 0 ||
			    (i < NPG && strcmp(args[k], "--targets-query") == 0) ||
			    strcmp(args[k], fs->url[i]) == 0)
				fs->used[i] = true;
		for (i = 0; i < NSMALL; i++)
			if (strcmp(args[k], fs->small) == 0)
				fs->used[small_fleet[i]] = true;
	}
}

/* `migrate -m DIR ARGS...` in the test's dir, no -d. */
static int mg(struct fleet_state *fs, ...)
{
	const char *args[32];
	size_t n = 0;
	va_list ap;

	args[n++] = "-m";
	args[n++] = fs->it.e.mig;
	va_start(ap, fs);
	while (n < 31 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	mark_used(fs, args);
	args[n] = NULL;
	return it_exec(&fs->it.r, fs->it.e.root, NULL, 300000, args);
}
#define MGF(...) mg(fs, __VA_ARGS__, (const char *)NULL)

/* How many ok up rows target i's ledger has (its version, while only
 * ups of 1, 2, 3 ran), 0 when it has no ledger; -1 on error. */
static long long version_of(struct fleet_state *fs, int i, bool *has_c)
{
	struct mg_conn *c;
	struct mg_rows *rows = NULL;
	struct mg_error err = { 0 };
	const char *v;
	long long out = -1;

	if (it_connect(&c, fs->url[i], false) < 0)
		return -1;
	if (c->drv->query(&rows, c,
	                  "SELECT count(*) FROM migrate_ledger WHERE "
	                  "direction = 'up' AND status = 'ok'",
	                  NULL, 0, 0, &err) < 0)
		out = 0; /* no ledger: nothing ran there */
	else if ((v = mg_rows_get(rows, 0, 0)) != NULL)
		out = atoll(v);
	/* and the database itself, on the same connection: 0003_c's table */
	*has_c = c->drv->query(NULL, c, "SELECT 1 FROM c WHERE 1 = 0", NULL,
	                       0, 0, NULL) == 0;
	mg_rows_free(rows);
	c->drv->close(c);
	return out;
}

/* Whether target i has table `t`: the database itself, not the ledger. */
static bool has_table(struct fleet_state *fs, int i, const char *t)
{
	struct mg_conn *c;
	char sql[64];
	bool yes;

	if (it_connect(&c, fs->url[i], false) < 0)
		return false;
	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE 1 = 0", t);
	yes = c->drv->query(NULL, c, sql, NULL, 0, 0, NULL) == 0;
	c->drv->close(c);
	return yes;
}

/* Target i has `want` ok ups in its ledger, and (when `up_only`: no
 * down ran) table c exactly when that is all three. */
#define assert_ups(i, want, up_only)                                          \
	do {                                                                  \
		bool c_;                                                      \
		long long got_ = version_of(fs, (i), &c_);                    \
		if (got_ != (want))                                           \
			print_error("target %d: version %lld, want %d\n",     \
			            (i) + 1, got_, (int)(want));              \
		assert_int_equal(got_, (want));                               \
		if (up_only)                                                  \
			assert_true(c_ == ((want) == 3));                     \
	} while (0)
#define assert_version(i, want) assert_ups((i), (want), true)

/* Neither stream holds the password, in any form we know. */
static void assert_no_password(struct fleet_state *fs)
{
	assert_not_contains(fs->it.r.out, fs->password);
	assert_not_contains(fs->it.r.err, fs->password);
}

/* The shown form of target i's URL, what the output names it by: the
 * password replaced by ***. */
static char *label_of(struct fleet_state *fs, int i)
{
	const char *url = fs->url[i], *at = strstr(url, fs->password);
	size_t n = strlen(url) + 8;
	char *l = malloc(n);

	assert_non_null(l);
	if (at == NULL)
		snprintf(l, n, "%s", url);
	else
		snprintf(l, n, "%.*s***%s", (int)(at - url), url,
		         at + strlen(fs->password));
	return it_own(&fs->it, l);
}

/* ---- the behaviours ---- */

/* --on-failure continue: every other target is migrated, the broken one
 * fails alone, the exit code is its; --json: events carry the target,
 * one target event each, a summary at the end. */
static void continue_runs_every_other_target(void **state)
{
	FL_BEGIN;
	char **lines, *line, want[300];
	size_t n, i, targets = 0, migrations = 0;
	int t;

	break_tenant(fs);
	MGF("up", "--targets", fs->targets, "-j", "4", "--on-failure",
	    "continue", "--json");
	assert_exit(r, 1);
	assert_no_password(fs);
	for (t = 0; t < NT; t++) {
		assert_version(t, t == BROKEN ? 1 : 3);
	}
	/* the broken tenant's own error, on stderr, named */
	snprintf(want, sizeof(want), "[%s] error:", label_of(fs, BROKEN));
	assert_contains(r->err, want);
	assert_true(it_json_lines(r->out, true));
	lines = it_own_lines(st, it_lines(r->out, &n));
	for (i = 0; i < n; i++) {
		if (contains(lines[i], "\"event\":\"migration\"")) {
			migrations++;
			assert_contains(lines[i], "\"target\":\"");
		}
		if (contains(lines[i], "\"event\":\"target\""))
			targets++;
	}
	assert_int_equal(targets, NT);
	/* 54 targets x 3 files ok, and the broken one's 0001 ok, 0002
	 * failed */
	assert_int_equal(migrations, (NT - 1) * 3 + 2);
	snprintf(want, sizeof(want),
	         "{\"event\":\"target\",\"target\":\"%s\",\"from\":0,"
	         "\"to\":1,\"status\":\"failed\",\"exit\":1,",
	         label_of(fs, BROKEN));
	line = it_own(st, it_line_with(r->out, want));
	assert_non_null(line);
	assert_contains(line, "already exists");
	snprintf(want, sizeof(want),
	         "{\"event\":\"target\",\"target\":\"%s\",\"from\":0,"
	         "\"to\":3,\"status\":\"ok\",\"exit\":0,",
	         label_of(fs, NPG + 1));
	assert_contains(r->out, want);
	/* the summary is the last line, and the only one */
	assert_int_equal(count_of(r->out, "\"event\":\"summary\""), 1);
	assert_contains(lines[n - 1], "{\"event\":\"summary\",\"command\":"
	                              "\"up\",\"status\":\"failed\","
	                              "\"exit_code\":1,\"targets\":55,"
	                              "\"ok\":54,\"failed\":1,\"refused\":0,"
	                              "\"skipped\":0}");
}

/* --on-failure stop (the default for up), one at a time: the targets
 * before the broken one are migrated, the ones after it are not touched. */
static void stop_leaves_later_targets_alone(void **state)
{
	FL_BEGIN;
	char want[300];
	int t;

	break_tenant(fs);
	MGF("up", "--targets", fs->targets);
	assert_exit(r, 1);
	assert_no_password(fs);
	for (t = 0; t < NT; t++)
		assert_version(t, t < BROKEN ? 3 : t == BROKEN ? 1 : 0);
	assert_false(has_table(fs, BROKEN + 1, "a"));
	assert_false(has_table(fs, NT - 1, "a"));
	snprintf(want, sizeof(want), "target %s: 0 -> 1 failed, exit 1",
	         label_of(fs, BROKEN));
	assert_contains(r->err, want);
	snprintf(want, sizeof(want), "target %s: 0 -> 0 skipped",
	         label_of(fs, BROKEN + 1));
	assert_contains(r->err, want);
	assert_contains(r->err, "55 targets: 17 ran, 0 refused, 38 skipped; "
	                        "exit 1");
}

/* --canary N: the first N go first; one failing among them stops the
 * run, whatever --on-failure says. Passing, the rest follow. */
static void canary_failure_stops_the_fleet(void **state)
{
	FL_BEGIN;
	int t;

	break_tenant(fs);
	MGF("up", "--targets", fs->targets, "--canary", "20", "-j", "4",
	    "--on-failure", "continue");
	assert_exit(r, 1);
	assert_contains(r->err, "canary failed: the other 35 targets are "
	                        "not run");
	assert_version(BROKEN, 1);
	for (t = 20; t < NT; t++)
		assert_version(t, 0);
	assert_version(0, 3);
	assert_no_password(fs);
}

static void canary_passing_lets_the_rest_run(void **state)
{
	FL_BEGIN;
	int t;

	break_tenant(fs);
	MGF("up", "--targets", fs->targets, "--canary", "5", "-j", "4",
	    "--on-failure", "continue", "--json");
	assert_exit(r, 1);
	assert_true(it_json_lines(r->out, true));
	for (t = 0; t < NT; t++)
		assert_version(t, t == BROKEN ? 1 : 3);
	assert_contains(r->out, "\"ok\":54,\"failed\":1");
}

/*
 * Every target is checked before any runs: the last target (a SQLite
 * file) has a version applied whose files are not in the directory, and
 * one PostgreSQL target cannot be reached (wrong password). Stop: nothing
 * runs anywhere. Continue: those two are refused, the rest run. The
 * exit code is the worst: 1 (unreachable) over 4 (not a prefix).
 */
static void targets_are_checked_before_any_runs(void **state)
{
	FL_BEGIN;
	char other[600], *wrong;
	FILE *f;
	int t;

	/* version 5 applied on the last target from another directory */
	snprintf(other, sizeof(other), "%s/other", e->root);
	assert_int_equal(mkdir(other, 0755), 0);
	snprintf(other, sizeof(other), "%s/other/0005_x.up.sql", e->root);
	f = fopen(other, "w");
	assert_non_null(f);
	fputs("CREATE TABLE x(i int);\n", f);
	fclose(f);
	snprintf(other, sizeof(other), "%s/other/0005_x.down.sql", e->root);
	f = fopen(other, "w");
	assert_non_null(f);
	fputs("DROP TABLE x;\n", f);
	fclose(f);
	snprintf(other, sizeof(other), "%s/other", e->root);
	{
		const char *args[] = { "-d", fs->url[NT - 1], "-m", other,
			               "up", NULL };

		mark_used(fs, args);
		assert_int_equal(it_exec(r, e->root, NULL, 0, args), 0);
	}
	/* a target with a password of its own, which is wrong */
	wrong = it_own(st, it_pg_url(fs->pg, "mg_fl_nosuch", "Wr0ngSecret77"));
	f = fopen(fs->small, "a");
	assert_non_null(f);
	fprintf(f, "%s\n", wrong);
	fclose(f);

	MGF("up", "--targets", fs->small, "-j", "4");
	assert_exit(r, 1);
	assert_not_contains(r->err, "Wr0ngSecret77");
	assert_no_password(fs);
	for (t = 0; t < NSMALL - 1; t++)
		assert_version(small_fleet[t], 0);
	assert_contains(r->err, "applied migrations have no files here: "
	                        "5_x");
	assert_contains(r->err, "2 refused, 5 skipped; exit 1");

	MGF("up", "--targets", fs->small, "-j", "4", "--on-failure",
	    "continue", "--json");
	assert_exit(r, 1);
	assert_true(it_json_lines(r->out, true));
	assert_not_contains(r->out, "Wr0ngSecret77");
	assert_not_contains(r->err, "Wr0ngSecret77");
	for (t = 0; t < NSMALL - 1; t++)
		assert_version(small_fleet[t], 3);
	assert_false(has_table(fs, NT - 1, "a"));
	assert_contains(r->out, "\"status\":\"refused\",\"exit\":4");
	assert_contains(r->out, "\"status\":\"refused\",\"exit\":1");
	assert_contains(r->out, "\"ok\":5,\"failed\":0,\"refused\":2,"
	                        "\"skipped\":0}");
}

/* Writes dir/name (dir made if needed) with text; fails the test else. */
static void put(const char *dir, const char *name, const char *text)
{
	char path[700];
	FILE *f;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* A dirty target (MariaDB: a file that failed half-way) and a drifted one
 * (PostgreSQL: 0001 applied from other bytes) are refused by the check,
 * with exit 1 and 4; with --on-failure continue the others run. */
static void dirty_and_drifted_targets_are_refused(void **state)
{
	FL_BEGIN;
	char dirty[600], drift[600];
	int t;

	snprintf(dirty, sizeof(dirty), "%s/dirty", e->root);
	put(dirty, "0001_a.up.sql",
	    "CREATE TABLE a(x int);\nSELECT * FROM nosuch_table;\n");
	put(dirty, "0001_a.down.sql", "DROP TABLE a;\n");
	snprintf(drift, sizeof(drift), "%s/drift", e->root);
	put(drift, "0001_a.up.sql", "CREATE TABLE a(x int, y int);\n");
	put(drift, "0001_a.down.sql", "DROP TABLE a;\n");
	{
		const char *a1[] = { "-d", fs->url[NPG], "-m", dirty, "up",
			             NULL };
		const char *a2[] = { "-d", fs->url[1], "-m", drift, "up",
			             NULL };

		mark_used(fs, a1);
		assert_int_equal(it_exec(r, e->root, NULL, 0, a1), 1);
		mark_used(fs, a2);
		assert_int_equal(it_exec(r, e->root, NULL, 0, a2), 0);
	}
	MGF("up", "--targets", fs->small, "-j", "4", "--on-failure",
	    "continue", "--json");
	assert_exit(r, 1);
	assert_no_password(fs);
	assert_true(it_json_lines(r->out, true));
	assert_contains(r->err, "half-applied");
	assert_contains(r->err, "changed since they ran");
	assert_contains(r->out, "\"from\":0,\"to\":0,\"status\":\"refused\","
	                        "\"exit\":1");
	assert_contains(r->out, "\"from\":1,\"to\":1,\"status\":\"refused\","
	                        "\"exit\":4");
	assert_contains(r->out, "\"ok\":4,\"failed\":0,\"refused\":2");
	for (t = 0; t < NSMALL; t++)
		if (small_fleet[t] != NPG && small_fleet[t] != 1)
			assert_version(small_fleet[t], 3);
	assert_ups(1, 1, false);
	assert_false(has_table(fs, 1, "b"));
	assert_false(has_table(fs, NPG, "b"));
}

/* --targets-query: the databases the query on -d names, each a target
 * on the same server; -j 4. */
static void targets_query_names_the_databases(void **state)
{
	FL_BEGIN;
	char sql[200];
	int t;

	snprintf(sql, sizeof(sql),
	         "SELECT datname FROM pg_database WHERE datname LIKE '%s%%' "
	         "ORDER BY datname",
	         fs->prefix);
	{
		const char *args[] = { "-d", fs->pg, "-m", e->mig, "up",
			               "--targets-query", sql, "-j", "4",
			               "--json", NULL };

		mark_used(fs, args);
		it_exec(r, e->root, NULL, 300000, args);
	}
	assert_exit(r, 0);
	assert_no_password(fs);
	assert_true(it_json_lines(r->out, true));
	for (t = 0; t < NPG; t++)
		assert_version(t, 3);
	assert_version(NPG, 0); /* MariaDB: not in the query */
	assert_int_equal(count_of(r->out, "\"event\":\"target\""), NPG);
	assert_contains(r->out, "\"targets\":50,\"ok\":50");

	/* a query that names nothing, or fails: exit 2, exit 1 */
	{
		const char *args[] = { "-d", fs->pg, "-m", e->mig, "status",
			               "--targets-query",
			               "SELECT datname FROM pg_database "
			               "WHERE false",
			               NULL };

		it_exec(r, e->root, NULL, 0, args);
	}
	assert_exit(r, 2);
	assert_contains(r->err, "returned no database names");
	{
		const char *args[] = { "-m", e->mig, "status",
			               "--targets-query", "SELECT 1", NULL };

		it_exec(r, e->root, NULL, 0, args);
	}
	assert_exit(r, 2);
	assert_contains(r->err, "--targets-query runs on the -d database");
}

/* A bad targets file stops everything before any target runs: exit 2
 * naming the file and line, never quoting a password. */
static void bad_targets_files_are_refused(void **state)
{
	FL_BEGIN;
	char path[600], want[700];
	FILE *f;
	int t;

	snprintf(path, sizeof(path), "%s/bad", e->root);
	MGF("up", "--targets", path);
	assert_exit(r, 2);
	assert_contains(r->err, "cannot read");

	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n# fine\n\nnot a url at all\n%s\n", fs->url[0],
	        fs->url[1]);
	fclose(f);
	MGF("up", "--targets", path);
	assert_exit(r, 2);
	snprintf(want, sizeof(want), "%s:4:", path);
	assert_contains(r->err, want);

	/* the same database twice, even with another password */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n%s\n%s\n", fs->url[0], fs->url[NPG],
	        (char *)it_own(st, it_pg_url(fs->url[0], NULL, "An0therPw")));
	fclose(f);
	MGF("up", "--targets", path, "--json");
	assert_exit(r, 2);
	snprintf(want, sizeof(want), "%s:3: the same target as line 1",
	         path);
	assert_contains(r->err, want);
	assert_not_contains(r->err, "An0therPw");
	assert_not_contains(r->out, "An0therPw");
	assert_no_password(fs);

	/* nothing but comments */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "# nobody\n\n");
	fclose(f);
	MGF("up", "--targets", path);
	assert_exit(r, 2);
	assert_contains(r->err, "names no target");

	/* -d and --targets together */
	{
		const char *args[] = { "-d", fs->url[0], "-m", e->mig, "up",
			               "--targets", fs->small, NULL };

		it_exec(r, e->root, NULL, 0, args);
	}
	assert_exit(r, 2);
	for (t = 0; t < NSMALL; t++)
		assert_version(small_fleet[t], 0);
}

/* status, verify, down and test on the small fleet; status --exit-code is
 * the worst target's; the config key `targets` works as the flag does. */
static void status_verify_down_on_the_fleet(void **state)
{
	FL_BEGIN;
	char conf[600], want[300];
	FILE *f;
	int t;

	MGF("up", "--targets", fs->small, "-j", "4", "--to", "2");
	assert_exit(r, 0);
	MGF("status", "--exit-code", "--targets", fs->small, "-j", "4");
	assert_exit(r, 6);
	/* status's table, each line named by its target, on stdout */
	snprintf(want, sizeof(want), "[%s] 3 ", label_of(fs, NPG));
	assert_contains(r->out, want);
	assert_int_equal(count_of(r->out, "pending"), NSMALL);
	MGF("up", "--targets", fs->small, "-j", "4");
	assert_exit(r, 0);
	MGF("verify", "--targets", fs->small, "-j", "4", "--json");
	assert_exit(r, 0);
	assert_int_equal(count_of(r->out, "\"status\":\"ok\",\"exit\":0"),
	                 NSMALL);

	/* migrate.conf's `targets`, no flag */
	snprintf(conf, sizeof(conf), "%s/migrate.conf", e->root);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "targets = %s\n", fs->small);
	fclose(f);
	MGF("down", "-j", "4");
	assert_exit(r, 0);
	assert_no_password(fs);
	for (t = 0; t < NSMALL; t++) {
		/* ok up rows stay in the ledger */
		assert_ups(small_fleet[t], 3, false);
		assert_false(has_table(fs, small_fleet[t], "c"));
		assert_true(has_table(fs, small_fleet[t], "b"));
	}
	snprintf(want, sizeof(want), "target %s: 3 -> 2 ok",
	         label_of(fs, NT - 1));
	assert_contains(r->err, want);
	MGF("status", "--exit-code");
	assert_exit(r, 6);

	/* test: each target proves 0003's down file and ends with it up */
	MGF("test", "-j", "4");
	assert_exit(r, 0);
	assert_int_equal(count_of(r->err, "down restores the schema"), NSMALL);
	for (t = 0; t < NSMALL; t++)
		assert_true(has_table(fs, small_fleet[t], "c"));
	MGF("status", "--exit-code", "--json");
	assert_exit(r, 0);
	assert_contains(r->out, "\"targets\":6,\"ok\":6");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		        continue_runs_every_other_target, setup, teardown),
		cmocka_unit_test_setup_teardown(
		        stop_leaves_later_targets_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(canary_failure_stops_the_fleet,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		        canary_passing_lets_the_rest_run, setup, teardown),
		cmocka_unit_test_setup_teardown(
		        targets_are_checked_before_any_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(
		        dirty_and_drifted_targets_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		        targets_query_names_the_databases, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_targets_files_are_refused,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		        status_verify_down_on_the_fleet, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
