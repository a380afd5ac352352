/*
 * Unit tests of migrator/plan.h and rollback/rollback.h: states from files
 * and ledger rows, and what `up` and `down` plan to run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "migrator/error.h"
#include "migrator/ledger.h"
#include "migrator/plan.h"
#include "migrator/source.h"
#include "rollback/rollback.h"

/*
 * MIGRATING.md: a dirty version blocking `up` is exit 1, i.e. MG_ERR.
 * (plan.h and rollback.h still say MG_EINVALID; see the report.)
 */
#define DIRTY_CODE MG_ERR

struct fx {
	struct mg_source *src;
	struct mg_ledger *ledger;
	struct mg_status st;
	struct mg_plan plan;
	struct mg_error err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if ((*state = f) == NULL)
		return -1;
	if ((f->src = calloc(1, sizeof(*f->src))) == NULL ||
	    (f->src->dir = strdup("migrations")) == NULL ||
	    (f->ledger = calloc(1, sizeof(*f->ledger))) == NULL ||
	    (f->ledger->name = strdup("migrate_ledger")) == NULL ||
	    (f->ledger->table = strdup("\"migrate_ledger\"")) == NULL)
		return -1;
	f->ledger->exists = true;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	mg_plan_dispose(&f->plan);
	mg_status_dispose(&f->st);
	mg_ledger_free(f->ledger);
	mg_source_free(f->src);
	free(f);
	return 0;
}

/* The up file's checksum as the files have it now. */
static void file_sum(char out[MG_HASH_HEX_LEN], int64_t version)
{
	snprintf(out, MG_HASH_HEX_LEN, "%064lld", (long long)version);
}

enum { REVERSIBLE, IRREVERSIBLE, NO_DOWN };

/* Adds a migration to the source; keep versions ascending. */
static void add_file(struct fx *f, int64_t version, const char *name,
		     int kind)
{
	struct mg_migration *v, *m;
	char path[128];

	v = realloc(f->src->v, (f->src->n + 1) * sizeof(*v));
	assert_non_null(v);
	f->src->v = v;
	m = &v[f->src->n++];
	memset(m, 0, sizeof(*m));
	m->version = version;
	assert_non_null(m->name = strdup(name));
	snprintf(path, sizeof(path), "migrations/%04lld_%s.up.sql",
		 (long long)version, name);
	assert_non_null(m->up.path = strdup(path));
	assert_non_null(m->up.text = strdup("SELECT 1;\n"));
	m->up.len = 10;
	file_sum(m->up.checksum, version);
	m->up.dir.irreversible = kind == IRREVERSIBLE;
	if (kind != REVERSIBLE)
		return;
	snprintf(path, sizeof(path), "migrations/%04lld_%s.down.sql",
		 (long long)version, name);
	assert_non_null(m->down.path = strdup(path));
	assert_non_null(m->down.text = strdup("SELECT 2;\n"));
	m->down.len = 10;
	file_sum(m->down.checksum, -version);
}

/* Appends a ledger event; up_sum NULL: the file's current checksum. */
static void add_event_sum(struct fx *f, int64_t version, const char *name,
			  const char *direction, const char *status,
			  const char *up_sum)
{
	struct mg_ledger *l = f->ledger;
	struct mg_ledger_row *rows, *row;
	char num[32], sum[MG_HASH_HEX_LEN];

	rows = realloc(l->rows, (l->n + 1) * sizeof(*rows));
	assert_non_null(rows);
	l->rows = rows;
	row = &rows[l->n++];
	memset(row, 0, sizeof(*row));
	row->id = (int64_t)l->n;
	row->version = version;
	file_sum(sum, version);
	snprintf(num, sizeof(num), "%lld", (long long)row->id);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_ID, num), 0);
	snprintf(num, sizeof(num), "%lld", (long long)version);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_VERSION, num), 0);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_NAME, name), 0);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_DIRECTION, direction),
			 0);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_STATUS, status), 0);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_UP_CHECKSUM,
					   up_sum ? up_sum : sum), 0);
	/* as the runner records it: the down file of the time */
	file_sum(sum, -version);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_DOWN_CHECKSUM, sum), 0);
	l->last_id = row->id;
}

static void add_event(struct fx *f, int64_t version, const char *direction,
		      const char *status)
{
	const struct mg_migration *m = NULL;
	size_t i;

	for (i = 0; i < f->src->n; i++)
		if (f->src->v[i].version == version)
			m = &f->src->v[i];
	add_event_sum(f, version, m ? m->name : "gone", direction, status,
		      NULL);
}

static void applied(struct fx *f, int64_t version)
{
	add_event(f, version, "up", "ok");
}

static int build(struct fx *f)
{
	int rc;

	mg_status_dispose(&f->st);
	memset(&f->err, 0, sizeof(f->err));
	rc = mg_status_build(&f->st, f->src, f->ledger, &f->err);
	assert_int_equal(rc, 0);
	return rc;
}

static const struct mg_status_entry *entry(struct fx *f, int64_t version)
{
	size_t i;

	for (i = 0; i < f->st.n; i++)
		if (f->st.v[i].version == version)
			return &f->st.v[i];
	return NULL;
}

static void assert_state(struct fx *f, int64_t version, enum mg_state want)
{
	const struct mg_status_entry *e = entry(f, version);

	if (e == NULL)
		fail_msg("version %lld not in the status", (long long)version);
	if (e->state != want)
		print_error("version %lld is %s, want %s\n",
			    (long long)version, mg_state_name(e->state),
			    mg_state_name(want));
	assert_int_equal(e->state, want);
}

static int plan_up(struct fx *f, int64_t to, bool out_of_order)
{
	struct mg_up_opts o = { .to = to, .allow_out_of_order = out_of_order };

	mg_plan_dispose(&f->plan);
	memset(&f->err, 0, sizeof(f->err));
	return mg_plan_up(&f->plan, &f->st, &o, &f->err);
}

static int plan_down(struct fx *f, int64_t steps, int64_t to, bool all)
{
	struct mg_down_opts o = { .steps = steps, .to = to, .all = all };

	mg_plan_dispose(&f->plan);
	memset(&f->err, 0, sizeof(f->err));
	return mg_rollback_plan(&f->plan, &f->st, &o, &f->err);
}

/* The plan runs exactly these versions, in this order (-1 ends). */
static void assert_plan(struct fx *f, const int64_t *want)
{
	size_t n = 0;

	while (want[n] >= 0)
		n++;
	if (f->plan.n != n)
		print_error("plan has %zu entries, want %zu\n", f->plan.n, n);
	assert_int_equal(f->plan.n, n);
	for (n = 0; n < f->plan.n; n++) {
		assert_non_null(f->plan.v[n]);
		assert_int_equal(f->plan.v[n]->version, want[n]);
	}
}

#define PLAN(f, ...) assert_plan(f, (const int64_t[]){ __VA_ARGS__, -1 })
#define EMPTY_PLAN(f) assert_plan(f, (const int64_t[]){ -1 })

/* Three reversible migrations: 1, 2, 3. */
static void three(struct fx *f)
{
	add_file(f, 1, "one", REVERSIBLE);
	add_file(f, 2, "two", REVERSIBLE);
	add_file(f, 3, "three", REVERSIBLE);
}

/* ---- mg_status_build ---- */

static void test_status_without_events_is_pending(void **state)
{
	struct fx *f = *state;

	three(f);
	build(f);
	assert_int_equal(f->st.n, 3);
	assert_state(f, 1, MG_STATE_PENDING);
	assert_state(f, 3, MG_STATE_PENDING);
	assert_false(entry(f, 1)->applied);
	assert_null(entry(f, 1)->last);
	assert_null(entry(f, 1)->last_ok);
	assert_ptr_equal(entry(f, 2)->m, &f->src->v[1]);
	assert_string_equal(entry(f, 2)->name, "two");
	assert_int_equal(f->st.max_applied, -1);
}

static void test_status_after_up_ok_is_applied(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	applied(f, 2);
	build(f);
	assert_state(f, 1, MG_STATE_APPLIED);
	assert_state(f, 2, MG_STATE_APPLIED);
	assert_state(f, 3, MG_STATE_PENDING);
	assert_true(entry(f, 2)->applied);
	assert_ptr_equal(entry(f, 2)->last, &f->ledger->rows[1]);
	assert_ptr_equal(entry(f, 2)->last_ok, &f->ledger->rows[1]);
	assert_int_equal(f->st.max_applied, 2);
}

static void test_status_after_failed_up_is_failed(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	add_event(f, 2, "up", "failed");
	add_event(f, 3, "up", "rolled_back"); /* a check failed */
	build(f);
	assert_state(f, 1, MG_STATE_APPLIED);
	assert_state(f, 2, MG_STATE_FAILED);
	assert_state(f, 3, MG_STATE_FAILED);
	assert_false(entry(f, 2)->applied);
	assert_null(entry(f, 2)->last_ok);
	assert_int_equal(f->st.max_applied, 1);
}

static void test_status_failed_again_after_earlier_rollback(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	add_event(f, 1, "down", "ok");
	add_event(f, 1, "up", "failed");
	build(f);
	assert_state(f, 1, MG_STATE_FAILED);
}

static void test_status_failed_down_leaves_applied(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	add_event(f, 1, "down", "failed");
	build(f);
	assert_state(f, 1, MG_STATE_APPLIED);
	assert_true(entry(f, 1)->applied);
}

static void test_status_dirty(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	add_event(f, 2, "up", "dirty");
	build(f);
	assert_state(f, 2, MG_STATE_DIRTY);
	assert_false(entry(f, 2)->applied);
}

static void test_status_dirty_down_of_applied_version(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	add_event(f, 1, "down", "dirty");
	build(f);
	assert_state(f, 1, MG_STATE_DIRTY);
}

static void test_status_drifted_when_up_checksum_differs(void **state)
{
	struct fx *f = *state;

	three(f);
	add_event_sum(f, 1, "one", "up", "ok",
		      "ffffffffffffffffffffffffffffffff"
		      "ffffffffffffffffffffffffffffffff");
	applied(f, 2);
	build(f);
	assert_state(f, 1, MG_STATE_DRIFTED);
	assert_true(entry(f, 1)->applied);
	assert_state(f, 2, MG_STATE_APPLIED);
}

static void test_status_missing_when_applied_without_files(void **state)
{
	struct fx *f = *state;

	add_file(f, 1, "one", REVERSIBLE);
	applied(f, 1);
	add_event_sum(f, 2, "deleted_later", "up", "ok", NULL);
	build(f);
	assert_int_equal(f->st.n, 2);
	assert_state(f, 2, MG_STATE_MISSING);
	assert_null(entry(f, 2)->m);
	assert_true(entry(f, 2)->applied);
	assert_string_equal(entry(f, 2)->name, "deleted_later");
	assert_int_equal(f->st.max_applied, 2);
}

static void test_status_history_only_versions_are_left_out(void **state)
{
	struct fx *f = *state;

	add_file(f, 1, "one", REVERSIBLE);
	add_event_sum(f, 2, "gone", "up", "ok", NULL);
	add_event_sum(f, 2, "gone", "down", "ok", NULL);
	add_event_sum(f, 3, "gone_too", "up", "failed", NULL);
	build(f);
	assert_int_equal(f->st.n, 1);
	assert_null(entry(f, 2));
	assert_null(entry(f, 3));
}

static void test_status_dirty_without_files_is_kept(void **state)
{
	struct fx *f = *state;

	add_file(f, 1, "one", REVERSIBLE);
	add_event_sum(f, 2, "gone", "up", "dirty", NULL);
	build(f);
	assert_state(f, 2, MG_STATE_DIRTY);
	assert_null(entry(f, 2)->m);
}

static void test_status_applied_then_down_is_pending(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	applied(f, 2);
	add_event(f, 2, "down", "ok");
	build(f);
	assert_state(f, 1, MG_STATE_APPLIED);
	assert_state(f, 2, MG_STATE_PENDING);
	assert_false(entry(f, 2)->applied);
	assert_int_equal(f->st.max_applied, 1);
}

static void test_status_down_then_up_again_is_applied(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	add_event(f, 1, "down", "ok");
	applied(f, 1);
	build(f);
	assert_state(f, 1, MG_STATE_APPLIED);
	assert_ptr_equal(entry(f, 1)->last_ok, &f->ledger->rows[2]);
}

static void test_status_repair_makes_failed_or_dirty_pending(void **state)
{
	struct fx *f = *state;

	three(f);
	add_event(f, 1, "up", "dirty");
	add_event(f, 1, "repair", "ok");
	add_event(f, 2, "up", "failed");
	add_event(f, 2, "repair", "ok");
	build(f);
	assert_state(f, 1, MG_STATE_PENDING);
	assert_state(f, 2, MG_STATE_PENDING);
	assert_false(entry(f, 1)->applied);
}

static void test_status_repair_applied_is_applied(void **state)
{
	struct fx *f = *state;

	three(f);
	add_event(f, 1, "up", "dirty");
	/* repair --applied: a repair event, then a baseline event */
	add_event(f, 1, "repair", "ok");
	add_event(f, 1, "baseline", "ok");
	build(f);
	assert_state(f, 1, MG_STATE_APPLIED);
}

static void test_status_baseline_is_applied(void **state)
{
	struct fx *f = *state;

	three(f);
	add_event(f, 1, "baseline", "ok");
	add_event(f, 2, "baseline", "ok");
	build(f);
	assert_state(f, 1, MG_STATE_APPLIED);
	assert_state(f, 2, MG_STATE_APPLIED);
	assert_state(f, 3, MG_STATE_PENDING);
	assert_int_equal(f->st.max_applied, 2);
}

static void test_status_is_sorted_by_version(void **state)
{
	struct fx *f = *state;
	size_t i;

	add_file(f, 2, "two", REVERSIBLE);
	add_file(f, 5, "five", REVERSIBLE);
	applied(f, 5);
	add_event_sum(f, 9, "nine", "up", "ok", NULL);
	applied(f, 2);
	add_event_sum(f, 1, "first", "baseline", "ok", NULL);
	build(f);
	assert_int_equal(f->st.n, 4);
	for (i = 1; i < f->st.n; i++)
		assert_true(f->st.v[i - 1].version < f->st.v[i].version);
	assert_int_equal(f->st.v[0].version, 1);
	assert_int_equal(f->st.v[3].version, 9);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(mg_state_name(MG_STATE_PENDING), "pending");
	assert_string_equal(mg_state_name(MG_STATE_APPLIED), "applied");
	assert_string_equal(mg_state_name(MG_STATE_FAILED), "failed");
	assert_string_equal(mg_state_name(MG_STATE_DIRTY), "dirty");
	assert_string_equal(mg_state_name(MG_STATE_DRIFTED), "drifted");
	assert_string_equal(mg_state_name(MG_STATE_MISSING), "missing");
}

/* ---- mg_plan_up ---- */

static void test_up_plans_all_pending_in_order(void **state)
{
	struct fx *f = *state;

	three(f);
	build(f);
	assert_int_equal(plan_up(f, -1, false), 0);
	PLAN(f, 1, 2, 3);
	assert_ptr_equal(f->plan.v[0], &f->src->v[0]);
}

static void test_up_skips_applied(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	build(f);
	assert_int_equal(plan_up(f, -1, false), 0);
	PLAN(f, 2, 3);
}

static void test_up_with_nothing_pending_is_empty(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	applied(f, 2);
	applied(f, 3);
	build(f);
	assert_int_equal(plan_up(f, -1, false), 0);
	EMPTY_PLAN(f);
}

static void test_up_to_stops_after_that_version(void **state)
{
	struct fx *f = *state;

	three(f);
	build(f);
	assert_int_equal(plan_up(f, 2, false), 0);
	PLAN(f, 1, 2);
	assert_int_equal(plan_up(f, 1, false), 0);
	PLAN(f, 1);
}

static void test_up_to_an_applied_version_is_empty(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	applied(f, 2);
	build(f);
	assert_int_equal(plan_up(f, 1, false), 0);
	EMPTY_PLAN(f);
}

static void test_up_to_unknown_version_refuses(void **state)
{
	struct fx *f = *state;

	three(f);
	build(f);
	assert_int_equal(plan_up(f, 7, false), MG_EINVALID);
	assert_int_equal(f->err.code, MG_EINVALID);
	assert_non_null(strstr(f->err.msg, "7"));
	assert_int_equal(f->plan.n, 0);
}

static void test_up_refuses_when_dirty(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	add_event(f, 2, "up", "dirty");
	build(f);
	assert_int_equal(plan_up(f, -1, false), DIRTY_CODE);
	assert_int_equal(f->err.code, DIRTY_CODE);
	assert_non_null(strstr(f->err.msg, "2"));
	assert_non_null(strstr(f->err.hint, "repair"));
	assert_int_equal(f->plan.n, 0);
	/* also when --to stops before the dirty version */
	assert_int_equal(plan_up(f, 1, false), DIRTY_CODE);
}

static void test_up_refuses_drift(void **state)
{
	struct fx *f = *state;

	three(f);
	add_event_sum(f, 1, "one", "up", "ok",
		      "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
		      "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
	build(f);
	assert_int_equal(plan_up(f, -1, false), MG_ECHECKSUM);
	assert_int_equal(f->err.code, MG_ECHECKSUM);
	assert_non_null(strstr(f->err.msg, "1_one"));
	assert_int_equal(f->plan.n, 0);
	/* --allow-out-of-order does not excuse drift */
	assert_int_equal(plan_up(f, -1, true), MG_ECHECKSUM);
}

static void test_up_refuses_out_of_order_unless_allowed(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	applied(f, 3); /* 2 came from a branch merged late */
	build(f);
	assert_int_equal(plan_up(f, -1, false), MG_EINVALID);
	assert_int_equal(f->err.code, MG_EINVALID);
	assert_non_null(strstr(f->err.msg, "2_two"));
	assert_int_equal(f->plan.n, 0);
	assert_int_equal(plan_up(f, -1, true), 0);
	PLAN(f, 2);
}

static void test_up_retries_failed(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	add_event(f, 2, "up", "failed");
	add_event(f, 3, "up", "rolled_back");
	build(f);
	assert_int_equal(plan_up(f, -1, false), 0);
	PLAN(f, 2, 3);
}

static void test_up_ignores_missing_applied_versions(void **state)
{
	struct fx *f = *state;

	add_file(f, 2, "two", REVERSIBLE);
	add_event_sum(f, 1, "gone", "up", "ok", NULL);
	build(f);
	assert_int_equal(plan_up(f, -1, false), 0);
	PLAN(f, 2);
}

static void test_up_after_baseline_runs_the_rest(void **state)
{
	struct fx *f = *state;

	three(f);
	add_event(f, 1, "baseline", "ok");
	add_event(f, 2, "baseline", "ok");
	build(f);
	assert_int_equal(plan_up(f, -1, false), 0);
	PLAN(f, 3);
}

/* ---- mg_rollback_plan ---- */

static void test_down_default_is_one_step(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	applied(f, 2);
	applied(f, 3);
	build(f);
	/* what `migrate down` passes with no option (cmd/, runner.c) */
	assert_int_equal(plan_down(f, 1, -1, false), 0);
	PLAN(f, 3);
}

static void test_down_steps_n_newest_first(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	applied(f, 2);
	applied(f, 3);
	build(f);
	assert_int_equal(plan_down(f, 2, -1, false), 0);
	PLAN(f, 3, 2);
	assert_int_equal(plan_down(f, 10, -1, false), 0);
	PLAN(f, 3, 2, 1);
}

static void test_down_steps_below_one_refuses(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	build(f);
	assert_int_equal(plan_down(f, 0, -1, false), MG_EINVALID);
	assert_int_equal(plan_down(f, -3, -1, false), MG_EINVALID);
	assert_int_equal(f->plan.n, 0);
}

static void test_down_steps_skip_versions_not_applied(void **state)
{
	struct fx *f = *state;

	add_file(f, 1, "one", REVERSIBLE);
	add_file(f, 2, "two", REVERSIBLE);
	add_file(f, 3, "three", REVERSIBLE);
	add_file(f, 4, "four", REVERSIBLE);
	applied(f, 1);
	applied(f, 2);
	add_event(f, 3, "up", "failed");
	build(f);
	assert_int_equal(plan_down(f, 1, -1, false), 0);
	PLAN(f, 2);
}

static void test_down_to_leaves_that_version_applied(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	applied(f, 2);
	applied(f, 3);
	build(f);
	assert_int_equal(plan_down(f, 0, 1, false), 0);
	PLAN(f, 3, 2);
	assert_int_equal(plan_down(f, 0, 3, false), 0);
	EMPTY_PLAN(f);
	assert_int_equal(plan_down(f, 0, 0, false), 0);
	PLAN(f, 3, 2, 1);
}

static void test_down_all(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	applied(f, 2);
	applied(f, 3);
	add_event(f, 3, "down", "ok");
	build(f);
	assert_int_equal(plan_down(f, 0, -1, true), 0);
	PLAN(f, 2, 1);
}

static void test_down_refuses_irreversible(void **state)
{
	struct fx *f = *state;

	add_file(f, 1, "one", REVERSIBLE);
	add_file(f, 2, "drop_legacy", IRREVERSIBLE);
	add_file(f, 3, "three", REVERSIBLE);
	applied(f, 1);
	applied(f, 2);
	applied(f, 3);
	build(f);
	/* one step does not reach it */
	assert_int_equal(plan_down(f, 1, -1, false), 0);
	PLAN(f, 3);
	assert_int_equal(plan_down(f, 2, -1, false), MG_EINVALID);
	assert_int_equal(f->err.code, MG_EINVALID);
	assert_non_null(strstr(f->err.msg, "0002_drop_legacy.up.sql"));
	assert_int_equal(f->plan.n, 0);
	assert_int_equal(plan_down(f, 0, -1, true), MG_EINVALID);
	assert_int_equal(plan_down(f, 0, 1, false), MG_EINVALID);
	assert_int_equal(plan_down(f, 0, 2, false), 0);
	PLAN(f, 3);
}

static void test_down_refuses_missing_files(void **state)
{
	struct fx *f = *state;

	add_file(f, 1, "one", REVERSIBLE);
	applied(f, 1);
	add_event_sum(f, 2, "deleted", "up", "ok", NULL);
	build(f);
	assert_int_equal(plan_down(f, 1, -1, false), MG_EINVALID);
	assert_int_equal(f->err.code, MG_EINVALID);
	assert_non_null(strstr(f->err.msg, "2_deleted"));
	assert_int_equal(f->plan.n, 0);
}

static void test_down_refuses_version_without_down_file(void **state)
{
	struct fx *f = *state;

	/* mg_source_load never yields this; rollback.h promises the
	 * refusal anyway, so a hand-built source must not slip through */
	add_file(f, 1, "one", REVERSIBLE);
	add_file(f, 2, "no_down", NO_DOWN);
	applied(f, 1);
	applied(f, 2);
	build(f);
	assert_int_equal(plan_down(f, 1, -1, false), MG_EINVALID);
	assert_int_equal(f->plan.n, 0);
}

static void test_down_refuses_when_dirty(void **state)
{
	struct fx *f = *state;

	three(f);
	applied(f, 1);
	applied(f, 2);
	add_event(f, 3, "up", "dirty");
	build(f);
	assert_int_equal(plan_down(f, 1, -1, false), DIRTY_CODE);
	assert_int_equal(f->err.code, DIRTY_CODE);
	assert_non_null(strstr(f->err.hint, "repair"));
	assert_int_equal(f->plan.n, 0);
}

static void test_down_with_nothing_applied_is_empty(void **state)
{
	struct fx *f = *state;

	three(f);
	add_event(f, 1, "up", "failed");
	build(f);
	assert_int_equal(plan_down(f, 1, -1, false), 0);
	EMPTY_PLAN(f);
	assert_int_equal(plan_down(f, 0, -1, true), 0);
	EMPTY_PLAN(f);
	assert_int_equal(plan_down(f, 0, 0, false), 0);
	EMPTY_PLAN(f);
}

static void test_down_after_baseline_runs_down_files(void **state)
{
	struct fx *f = *state;

	three(f);
	add_event(f, 1, "baseline", "ok");
	add_event(f, 2, "baseline", "ok");
	build(f);
	assert_int_equal(plan_down(f, 1, -1, false), 0);
	PLAN(f, 2);
}

/* Job events (issue 11) are version 0 and no version's state: not a
 * version 0 migration's, not a version of their own, and a dirty one
 * blocks nothing. */
static void test_job_events_change_no_state(void **state)
{
	struct fx *f = *state;

	add_file(f, 0, "init", REVERSIBLE);
	add_file(f, 1, "a", REVERSIBLE);
	applied(f, 0);
	add_event_sum(f, 0, "purge", "job", "ok", NULL);
	add_event_sum(f, 0, "purge", "job", "dirty", NULL);
	add_event_sum(f, 0, "purge", "job", "rolled_back", NULL);
	build(f);
	assert_int_equal(f->st.n, 2);
	assert_state(f, 0, MG_STATE_APPLIED);
	assert_state(f, 1, MG_STATE_PENDING);
	assert_int_equal(plan_up(f, -1, false), 0);
	assert_int_equal(f->plan.n, 1);
	assert_int_equal(f->plan.v[0]->version, 1);
}

/* Without a version 0 file, job events make no version 0 appear (as
 * "missing" or "dirty"). */
static void test_job_events_make_no_version(void **state)
{
	struct fx *f = *state;

	add_file(f, 1, "a", REVERSIBLE);
	add_event_sum(f, 0, "purge", "job", "ok", NULL);
	add_event_sum(f, 0, "purge", "job", "dirty", NULL);
	build(f);
	assert_int_equal(f->st.n, 1);
	assert_state(f, 1, MG_STATE_PENDING);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* Events in any version order, files and ledger-only versions mixed:
 * each event lands on its own version (status looks files up by binary
 * search, then among the versions found only in the ledger). */
static void test_status_joins_events_to_versions_in_any_order(void **state)
{
	struct fx *f = *state;
	int64_t v;

	for (v = 2; v <= 40; v += 2)
		add_file(f, v, "even", REVERSIBLE);
	for (v = 41; v >= 1; v--)
		applied(f, v);
	add_event(f, 7, "up", "dirty");
	add_event(f, 20, "down", "ok");
	add_event(f, 21, "down", "ok");
	build(f);
	for (v = 1; v <= 41; v++) {
		if (v == 7)
			assert_state(f, v, MG_STATE_DIRTY);
		else if (v == 20)
			assert_state(f, v, MG_STATE_PENDING);
		else if (v == 21) /* no files and not applied: history only */
			assert_null(entry(f, v));
		else if (v % 2 == 0)
			assert_state(f, v, MG_STATE_APPLIED);
		else
			assert_state(f, v, MG_STATE_MISSING);
	}
	assert_int_equal(f->st.n, 40);
	assert_int_equal(f->st.max_applied, 41);
	for (v = 1; v < (int64_t)f->st.n; v++)
		assert_true(f->st.v[v - 1].version < f->st.v[v].version);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_status_without_events_is_pending),
		T(test_status_after_up_ok_is_applied),
		T(test_status_after_failed_up_is_failed),
		T(test_status_failed_again_after_earlier_rollback),
		T(test_status_failed_down_leaves_applied),
		T(test_status_dirty),
		T(test_status_dirty_down_of_applied_version),
		T(test_status_drifted_when_up_checksum_differs),
		T(test_status_missing_when_applied_without_files),
		T(test_status_history_only_versions_are_left_out),
		T(test_status_dirty_without_files_is_kept),
		T(test_status_applied_then_down_is_pending),
		T(test_status_down_then_up_again_is_applied),
		T(test_status_repair_makes_failed_or_dirty_pending),
		T(test_status_repair_applied_is_applied),
		T(test_status_baseline_is_applied),
		T(test_status_is_sorted_by_version),
		T(test_job_events_change_no_state),
		T(test_job_events_make_no_version),
		cmocka_unit_test(test_state_names),
		T(test_up_plans_all_pending_in_order),
		T(test_up_skips_applied),
		T(test_up_with_nothing_pending_is_empty),
		T(test_up_to_stops_after_that_version),
		T(test_up_to_an_applied_version_is_empty),
		T(test_up_to_unknown_version_refuses),
		T(test_up_refuses_when_dirty),
		T(test_up_refuses_drift),
		T(test_up_refuses_out_of_order_unless_allowed),
		T(test_up_retries_failed),
		T(test_up_ignores_missing_applied_versions),
		T(test_up_after_baseline_runs_the_rest),
		T(test_down_default_is_one_step),
		T(test_down_steps_n_newest_first),
		T(test_down_steps_below_one_refuses),
		T(test_down_steps_skip_versions_not_applied),
		T(test_down_to_leaves_that_version_applied),
		T(test_down_all),
		T(test_down_refuses_irreversible),
		T(test_down_refuses_missing_files),
		T(test_down_refuses_version_without_down_file),
		T(test_down_refuses_when_dirty),
		T(test_down_with_nothing_applied_is_empty),
		T(test_down_after_baseline_runs_down_files),
		T(test_status_joins_events_to_versions_in_any_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
