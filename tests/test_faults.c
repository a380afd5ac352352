/*
 * The in-process half of the fault campaign (issue 9; tests/faults/ is
 * the half against real servers): with the fake driver, fail the Nth
 * exec, query, ledger write, commit, begin or lock, in every position a
 * run reaches, with and without transactional DDL, and check after each
 * the invariants that do not trust migrate's own word:
 *
 *  - the ledger's committed rows form an unbroken hash chain;
 *  - each file's effect is committed at most once, and where DDL rolls
 *    back, exactly when the ledger says the version is applied; without
 *    it, an effect the ledger does not call applied is marked dirty;
 *  - the code returned is one the contract knows, and 0 only when every
 *    version is applied;
 *  - a rerun without the fault (after repair where a version is dirty)
 *    ends with every version applied exactly once, and the chain intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "fake_driver.h"
#include "migrator/error.h"
#include "migrator/ledger.h"
#include "migrator/plan.h"
#include "migrator/runner.h"
#include "migrator/source.h"
#include "rollback/roundtrip.h"

#define NFILES 3

struct world {
	char dir[64];
	struct fake_db *db;
	struct mg_conn *conn;
	struct mg_source *src;
	struct mg_runner r;
	/* how often each file's effect ran: pending in the open
	 * transaction, and committed */
	int pending[NFILES + 1], committed[NFILES + 1];
};

static int answer(void *ctx, const char *sql, struct mg_rows **out,
                  struct mg_error *err)
{
	struct world *w = ctx;
	int v;

	(void)err;
	if (strcmp(sql, "SCHEMA") == 0) { /* a table per effect present */
		*out = mg_rows_new(3);
		for (v = 1; v <= NFILES; v++) {
			char name[8];
			const char *row[3] = { "table", name, "" };

			snprintf(name, sizeof(name), "t%d", v);
			if (w->committed[v] + w->pending[v] > 0)
				mg_rows_add(*out, row, 3);
		}
		return 0;
	}
	if (strstr(sql, "count(*) FROM users") != NULL) {
		*out = fake_value("5");
		return 0;
	}
	return 1;
}

static void on_exec(void *ctx, const char *sql)
{
	struct world *w = ctx;
	int v;

	int d = 1;

	/* a down file undoes its up, as a correct one does: the undo
	 * after a failed check relies on that */
	if (sscanf(sql, "-- undo v%d", &v) == 1)
		d = -1;
	else if (sscanf(sql, "-- v%d", &v) != 1)
		return;
	if (v < 1 || v > NFILES)
		return;
	if (w->db->in_txn)
		w->pending[v] += d;
	else
		w->committed[v] += d; /* outside a transaction: for good */
}

static void on_end(void *ctx, bool committed)
{
	struct world *w = ctx;
	int v;

	for (v = 1; v <= NFILES; v++) {
		if (committed)
			w->committed[v] += w->pending[v];
		w->pending[v] = 0;
	}
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static struct world *world_new(bool txn_ddl)
{
	struct world *w = calloc(1, sizeof(*w));
	struct mg_problems pr = { 0 };
	struct mg_error err = { 0 };

	assert_non_null(w);
	snprintf(w->dir, sizeof(w->dir), "/tmp/mg_faults_XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	write_file(w->dir, "0001_a.up.sql", "-- v1\nCREATE TABLE a (x int);\n");
	write_file(w->dir, "0001_a.down.sql", "-- undo v1\nDROP TABLE a;\n");
	write_file(w->dir, "0002_b.up.sql",
	           "-- v2\n-- check: rows users unchanged\n"
	           "UPDATE users SET x = 1;\n");
	write_file(w->dir, "0002_b.down.sql", "-- undo v2\nSELECT 1;\n");
	write_file(w->dir, "0003_c.up.sql", "-- v3\nCREATE TABLE c (x int);\n");
	write_file(w->dir, "0003_c.down.sql", "-- undo v3\nDROP TABLE c;\n");
	assert_int_equal(mg_source_load(&w->src, w->dir, &pr, &err), 0);
	mg_problems_dispose(&pr);
	assert_non_null(w->db = fake_db_new());
	if (!txn_ddl)
		w->db->drv.caps &= ~MG_CAP_TXN_DDL;
	w->db->answer = answer;
	w->db->on_exec = on_exec;
	w->db->on_end = on_end;
	w->db->ctx = w;
	assert_non_null(w->conn = fake_connect(w->db));
	w->r.conn = w->conn;
	w->r.src = w->src;
	w->r.table = "migrate_ledger";
	return w;
}

static void world_free(struct world *w)
{
	char cmd[128];

	w->conn->drv->close(w->conn);
	mg_source_free(w->src);
	fake_db_free(w->db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
	assert_int_equal(system(cmd), 0);
	free(w);
}

/* The chain, recomputed from the committed rows alone. */
static void assert_chain(const struct world *w, const char *what)
{
	char prev[MG_HASH_HEX_LEN], hash[MG_HASH_HEX_LEN], id[32];
	size_t i, n = fake_ledger_rows(w->db);

	memcpy(prev, mg_ledger_genesis, sizeof(prev));
	for (i = 0; i < n; i++) {
		struct mg_ledger_row row = { 0 };
		int f;

		for (f = 0; f < MG_LF_COUNT; f++)
			mg_ledger_row_set(&row, f,
			                  fake_ledger_get(w->db, i, f));
		snprintf(id, sizeof(id), "%zu", i + 1);
		mg_ledger_entry_hash(hash, &row);
		if (strcmp(row.f[MG_LF_ID], id) != 0 ||
		    strcmp(row.f[MG_LF_PREV_HASH], prev) != 0 ||
		    strcmp(row.f[MG_LF_ENTRY_HASH], hash) != 0)
			fail_msg("%s: the chain breaks at row %zu", what, i + 1);
		memcpy(prev, hash, sizeof(prev));
		mg_ledger_row_dispose(&row);
	}
}

/* What the ledger says of each version: applied, dirty, or neither. */
static void states(struct world *w, bool applied[NFILES + 1],
                   bool dirty[NFILES + 1])
{
	struct mg_ledger *l = NULL;
	struct mg_status st;
	struct mg_error err = { 0 };
	size_t i;

	memset(applied, 0, (NFILES + 1) * sizeof(*applied));
	memset(dirty, 0, (NFILES + 1) * sizeof(*dirty));
	if (!w->db->table_exists)
		return;
	assert_int_equal(mg_ledger_load(&l, w->conn, "migrate_ledger", true,
	                                &err),
	                 0);
	assert_int_equal(mg_status_build(&st, w->src, l, &err), 0);
	for (i = 0; i < st.n; i++) {
		applied[st.v[i].version] = st.v[i].applied;
		dirty[st.v[i].version] = st.v[i].state == MG_STATE_DIRTY;
	}
	mg_status_dispose(&st);
	mg_ledger_free(l);
}

static void assert_invariants(struct world *w, int rc, bool txn_ddl,
                              const char *what)
{
	bool applied[NFILES + 1], dirty[NFILES + 1];
	int v;

	if (rc != 0 && rc != MG_ERR && rc != MG_EDRIVER && rc != MG_ECHECK &&
	    rc != MG_ELOCKED && rc != MG_ENOMEM)
		fail_msg("%s: unexpected code %d", what, rc);
	assert_chain(w, what);
	states(w, applied, dirty);
	for (v = 1; v <= NFILES; v++) {
		if (w->committed[v] > 1 || w->committed[v] < 0)
			fail_msg("%s: file %d's effect is there %d times", what,
			         v, w->committed[v]);
		if (txn_ddl && (w->committed[v] == 1) != applied[v])
			fail_msg("%s: file %d committed %d, applied %d", what,
			         v, w->committed[v], applied[v]);
		if (!txn_ddl && w->committed[v] == 1 && !applied[v] &&
		    !dirty[v])
			fail_msg("%s: file %d ran but is neither applied nor "
			         "dirty",
			         what, v);
		if (rc == 0 && !applied[v])
			fail_msg("%s: exit 0 but file %d is not applied", what,
			         v);
	}
}

/* Without the fault, repair what is dirty (as an operator would, from
 * what the database holds) and run again: all applied, once. */
static void assert_converges(struct world *w, bool txn_ddl, const char *what)
{
	struct mg_up_opts o = { .to = -1 };
	struct mg_error err = { 0 };
	bool applied[NFILES + 1], dirty[NFILES + 1];
	int v, rc;

	memset(w->db->fail_at, 0, sizeof(w->db->fail_at));
	states(w, applied, dirty);
	for (v = 1; v <= NFILES; v++)
		if (dirty[v])
			assert_int_equal(mg_run_repair(&w->r, v, "sweep",
			                               w->committed[v] == 1,
			                               &err),
			                 0);
	rc = mg_run_up(&w->r, &o, false, &err);
	if (rc != 0)
		fail_msg("%s: rerun gave %d: %s", what, rc, err.msg);
	assert_invariants(w, rc, txn_ddl, what);
	for (v = 1; v <= NFILES; v++)
		if (w->committed[v] != 1)
			fail_msg("%s: after the rerun file %d ran %d times",
			         what, v, w->committed[v]);
}

static const char *const op_names[FAKE_OP_COUNT] = {
	"exec", "query", "ledger write", "commit", "begin", "lock",
};

/* The commands swept: up, and migrate test's up-down-up proofs. */
static int run(struct world *w, bool roundtrip, struct mg_error *err)
{
	struct mg_up_opts o = { .to = -1 };

	return roundtrip ? mg_roundtrip_run(&w->r, &o, err)
	                 : mg_run_up(&w->r, &o, false, err);
}

static void sweep(bool txn_ddl, bool roundtrip)
{
	char what[96];
	int op, n, positions = 0;

	for (op = 0; op < FAKE_OP_COUNT; op++) {
		for (n = 1;; n++) {
			struct world *w = world_new(txn_ddl);
			struct mg_error err = { 0 };
			int rc;

			w->db->fail_at[op] = (unsigned)n;
			rc = run(w, roundtrip, &err);
			/* past the last call of this kind: nothing failed */
			if (w->db->calls[op] < (unsigned)n) {
				assert_int_equal(rc, 0);
				world_free(w);
				break;
			}
			snprintf(what, sizeof(what), "%s %s, %s #%d",
			         roundtrip ? "test" : "up",
			         txn_ddl ? "transactional" : "no transaction",
			         op_names[op], n);
			assert_invariants(w, rc, txn_ddl, what);
			assert_converges(w, txn_ddl, what);
			world_free(w);
			positions++;
		}
	}
	/* every kind was reached somewhere (lock once, the rest more) */
	assert_true(positions >= FAKE_OP_COUNT + 6);
	print_message("%s, %s: %d failure positions swept\n",
	              roundtrip ? "test" : "up",
	              txn_ddl ? "transactional" : "no transaction", positions);
}

static void test_up_transactional(void **state)
{
	(void)state;
	sweep(true, false);
}

static void test_up_without_transactions(void **state)
{
	(void)state;
	sweep(false, false);
}

static void test_roundtrip_transactional(void **state)
{
	(void)state;
	sweep(true, true);
}

static void test_roundtrip_without_transactions(void **state)
{
	(void)state;
	sweep(false, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_up_transactional),
		cmocka_unit_test(test_up_without_transactions),
		cmocka_unit_test(test_roundtrip_transactional),
		cmocka_unit_test(test_roundtrip_without_transactions),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
