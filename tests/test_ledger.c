/*
 * Unit tests of migrator/ledger.h: the canonical entry hash of a row, and
 * mg_ledger_refresh() against an SQLite file (embedded: no server).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <unistd.h>

#include "migrator/ledger.h"

#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/plan.h"
#include "migrator/source.h"

/* One fixed row, field by field in table order (enum mg_lf). */
static const char *const fixed[MG_LF_COUNT] = {
	[MG_LF_ID] = "7",
	[MG_LF_VERSION] = "3",
	[MG_LF_NAME] = "create_users",
	[MG_LF_DIRECTION] = "up",
	[MG_LF_STATUS] = "ok",
	[MG_LF_UP_CHECKSUM] = "a04eae571777ee447866e8dbdc57659f952dfeea"
			      "72451ae514de4cba39eb99c4",
	[MG_LF_DOWN_CHECKSUM] = NULL,
	[MG_LF_STARTED_AT] = "2026-01-31T12:00:00.000000Z",
	[MG_LF_FINISHED_AT] = "2026-01-31T12:00:00.250000Z",
	[MG_LF_DURATION_MS] = "250",
	[MG_LF_DB_USER] = "app",
	[MG_LF_OS_USER] = "deploy",
	[MG_LF_HOST] = "ci-1",
	[MG_LF_TOOL_VERSION] = "0.1.0",
	[MG_LF_CHECKS] = "[]",
	[MG_LF_ERROR] = NULL,
	[MG_LF_REASON] = "caf\xC3\xA9", /* 5 bytes, 4 characters */
	[MG_LF_PREV_HASH] = "00000000000000000000000000000000"
			    "00000000000000000000000000000000",
	[MG_LF_ENTRY_HASH] = NULL,
	[MG_LF_SIGNATURE] = NULL,
};

/*
 * The expected hash of `fixed`, computed independently of the C code:
 *
 * python3 -c "
 * import hashlib
 * f=['0'*64,'7','3','create_users','up','ok',
 *    'a04eae571777ee447866e8dbdc57659f952dfeea72451ae514de4cba39eb99c4',
 *    None,'2026-01-31T12:00:00.000000Z','2026-01-31T12:00:00.250000Z',
 *    '250','app','deploy','ci-1','0.1.0','[]',None,'caf\u00e9']
 * c=b''.join(b'-\n' if v is None else
 *            b'%d:%s\n'%(len(v.encode()),v.encode()) for v in f)
 * print(hashlib.blake2b(c,digest_size=32).hexdigest())"
 */
static const char fixed_hash[] =
	"2be3e04064770b4b4013db832c7dc48a47368a933d98e34d4a664dc3faf2f24a";

static int setup(void **state)
{
	struct mg_ledger_row *row = calloc(1, sizeof(*row));
	int f;

	if ((*state = row) == NULL)
		return -1;
	for (f = 0; f < MG_LF_COUNT; f++)
		if (mg_ledger_row_set(row, f, fixed[f]) < 0)
			return -1;
	row->id = 7;
	row->version = 3;
	return 0;
}

static int teardown(void **state)
{
	struct mg_ledger_row *row = *state;

	mg_ledger_row_dispose(row);
	free(row);
	return 0;
}

static void hash(char out[MG_HASH_HEX_LEN], const struct mg_ledger_row *row)
{
	memset(out, 'X', MG_HASH_HEX_LEN);
	mg_ledger_entry_hash(out, row);
	assert_int_equal(strlen(out), 64);
}

static void test_entry_hash_matches_independent_computation(void **state)
{
	char h[MG_HASH_HEX_LEN];

	hash(h, *state);
	assert_string_equal(h, fixed_hash);
}

static void test_entry_hash_is_deterministic(void **state)
{
	char a[MG_HASH_HEX_LEN], b[MG_HASH_HEX_LEN];

	hash(a, *state);
	hash(b, *state);
	assert_string_equal(a, b);
}

static void test_entry_hash_changes_when_any_hashed_field_changes(void **state)
{
	struct mg_ledger_row *row = *state;
	char base[MG_HASH_HEX_LEN], h[MG_HASH_HEX_LEN];
	int f;

	hash(base, row);
	for (f = 0; f < MG_LF_COUNT; f++) {
		char *saved;

		if (f == MG_LF_ENTRY_HASH || f == MG_LF_SIGNATURE)
			continue;
		saved = row->f[f] ? strdup(row->f[f]) : NULL;
		assert_int_equal(mg_ledger_row_set(row, f, "changed"), 0);
		hash(h, row);
		if (strcmp(h, base) == 0)
			print_error("field %s does not affect the hash\n",
				    mg_ledger_field_name(f));
		assert_string_not_equal(h, base);
		assert_int_equal(mg_ledger_row_set(row, f, saved), 0);
		free(saved);
		hash(h, row);
		assert_string_equal(h, base);
	}
}

static void test_entry_hash_ignores_entry_hash_and_signature(void **state)
{
	struct mg_ledger_row *row = *state;
	char base[MG_HASH_HEX_LEN], h[MG_HASH_HEX_LEN];

	hash(base, row);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_ENTRY_HASH, base), 0);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_SIGNATURE, "abcd"), 0);
	hash(h, row);
	assert_string_equal(h, base);
}

static void test_entry_hash_null_differs_from_empty_string(void **state)
{
	struct mg_ledger_row *row = *state;
	char null_h[MG_HASH_HEX_LEN], empty_h[MG_HASH_HEX_LEN];
	char dash_h[MG_HASH_HEX_LEN];

	assert_null(row->f[MG_LF_ERROR]);
	hash(null_h, row);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_ERROR, ""), 0);
	hash(empty_h, row);
	assert_string_not_equal(null_h, empty_h);
	/* nor is NULL the text "-" */
	assert_int_equal(mg_ledger_row_set(row, MG_LF_ERROR, "-"), 0);
	hash(dash_h, row);
	assert_string_not_equal(null_h, dash_h);
	assert_string_not_equal(empty_h, dash_h);
}

static void test_entry_hash_is_unambiguous_across_field_boundaries(
	void **state)
{
	struct mg_ledger_row *row = *state;
	char a[MG_HASH_HEX_LEN], b[MG_HASH_HEX_LEN];

	/* moving bytes from one field into the next must change the hash */
	assert_int_equal(mg_ledger_row_set(row, MG_LF_DB_USER, "ab"), 0);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_OS_USER, "c"), 0);
	hash(a, row);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_DB_USER, "a"), 0);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_OS_USER, "bc"), 0);
	hash(b, row);
	assert_string_not_equal(a, b);
	/* and a value holding the separators cannot fake two fields */
	assert_int_equal(mg_ledger_row_set(row, MG_LF_DB_USER, "a\n1:b"), 0);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_OS_USER, NULL), 0);
	hash(a, row);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_DB_USER, "a"), 0);
	assert_int_equal(mg_ledger_row_set(row, MG_LF_OS_USER, "b"), 0);
	hash(b, row);
	assert_string_not_equal(a, b);
}

static void test_row_set_copies_and_accepts_null(void **state)
{
	struct mg_ledger_row *row = *state;
	char value[] = "original";

	assert_int_equal(mg_ledger_row_set(row, MG_LF_REASON, value), 0);
	value[0] = 'X';
	assert_string_equal(row->f[MG_LF_REASON], "original");
	assert_int_equal(mg_ledger_row_set(row, MG_LF_REASON, NULL), 0);
	assert_null(row->f[MG_LF_REASON]);
}

static void test_field_names_follow_table_order(void **state)
{
	(void)state;
	assert_string_equal(mg_ledger_field_name(MG_LF_ID), "id");
	assert_string_equal(mg_ledger_field_name(MG_LF_UP_CHECKSUM),
			    "up_checksum");
	assert_string_equal(mg_ledger_field_name(MG_LF_REASON), "reason");
	assert_string_equal(mg_ledger_field_name(MG_LF_PREV_HASH),
			    "prev_hash");
	assert_string_equal(mg_ledger_field_name(MG_LF_SIGNATURE),
			    "signature");
}

static void test_genesis_is_64_zeros(void **state)
{
	(void)state;
	assert_int_equal(strlen(mg_ledger_genesis), 64);
	assert_int_equal(strspn(mg_ledger_genesis, "0"), 64);
}

/* Two connections to one SQLite file: this runner, and another one. */
struct db {
	char dir[64], path[96];
	struct mg_conn *us, *them;
	struct mg_error err;
};

static int db_setup(void **state)
{
	struct db *d = calloc(1, sizeof(*d));
	const struct mg_driver *drv;
	char url[128];

	if ((*state = d) == NULL)
		return -1;
	snprintf(d->dir, sizeof(d->dir), "/tmp/mg_test_ledger_XXXXXX");
	if (mkdtemp(d->dir) == NULL)
		return -1;
	snprintf(d->path, sizeof(d->path), "%s/l.db", d->dir);
	snprintf(url, sizeof(url), "sqlite:%s", d->path);
	if ((drv = mg_driver_for_url(url, &d->err)) == NULL ||
	    drv->connect(&d->us, url, 0, &d->err) < 0 ||
	    drv->connect(&d->them, url, 0, &d->err) < 0)
		return -1;
	return 0;
}

static int db_teardown(void **state)
{
	struct db *d = *state;

	if (d->us != NULL)
		d->us->drv->close(d->us);
	if (d->them != NULL)
		d->them->drv->close(d->them);
	unlink(d->path);
	rmdir(d->dir);
	free(d);
	return 0;
}

static struct mg_ledger *load(struct db *d, struct mg_conn *conn)
{
	struct mg_ledger *l = NULL;

	assert_int_equal(mg_ledger_load(&l, conn, "migrate_ledger", false,
					&d->err),
			 0);
	assert_int_equal(mg_ledger_ensure(l, conn, &d->err), 0);
	return l;
}

/* Appends one event through `l`, as the runner does. */
static void event(struct db *d, struct mg_ledger *l, struct mg_conn *conn,
		  int64_t version, const char *direction, const char *status)
{
	struct mg_ledger_row row = { 0 };
	char num[32];

	snprintf(num, sizeof(num), "%lld", (long long)version);
	row.version = version;
	assert_int_equal(mg_ledger_row_set(&row, MG_LF_VERSION, num) |
				 mg_ledger_row_set(&row, MG_LF_NAME, "m") |
				 mg_ledger_row_set(&row, MG_LF_DIRECTION,
						   direction) |
				 mg_ledger_row_set(&row, MG_LF_STATUS, status) |
				 mg_ledger_row_set(&row, MG_LF_STARTED_AT,
						   fixed[MG_LF_STARTED_AT]) |
				 mg_ledger_row_set(&row, MG_LF_FINISHED_AT,
						   fixed[MG_LF_FINISHED_AT]) |
				 mg_ledger_row_set(&row, MG_LF_DURATION_MS,
						   "1") |
				 mg_ledger_row_set(&row, MG_LF_TOOL_VERSION,
						   "t"),
			 0);
	assert_int_equal(mg_ledger_append(l, conn, &row, NULL, 0, &d->err), 0);
	mg_ledger_row_dispose(&row);
}

static void test_refresh_reads_only_rows_appended_since(void **state)
{
	struct db *d = *state;
	struct mg_ledger *l = load(d, d->us);

	event(d, l, d->us, 1, "up", "ok");
	event(d, l, d->us, 2, "up", "ok");
	assert_int_equal(l->n, 0); /* append does not read back */
	assert_int_equal(mg_ledger_refresh(l, d->us, &d->err), 0);
	assert_int_equal(l->n, 2);
	assert_int_equal(l->rows[0].id, 1);
	assert_int_equal(l->rows[1].id, 2);
	assert_int_equal(l->rows[1].version, 2);
	/* nothing new: nothing added, the tail stays */
	assert_int_equal(mg_ledger_refresh(l, d->us, &d->err), 0);
	assert_int_equal(l->n, 2);
	assert_int_equal(l->last_id, 2);
	mg_ledger_free(l);
}

/* Another runner's rows move the tail, so that our next row chains on
 * theirs (and the runner sees last_id move: it plans again). */
static void test_refresh_moves_tail_to_another_runners_rows(void **state)
{
	struct db *d = *state;
	struct mg_ledger *l = load(d, d->us), *other;
	char their_hash[MG_HASH_HEX_LEN];

	event(d, l, d->us, 1, "up", "ok");
	other = load(d, d->them);
	event(d, other, d->them, 2, "up", "ok");
	event(d, other, d->them, 3, "up", "failed");
	memcpy(their_hash, other->last_hash, sizeof(their_hash));
	assert_int_equal(l->last_id, 1);
	assert_int_equal(mg_ledger_refresh(l, d->us, &d->err), 0);
	assert_int_equal(l->n, 3);
	assert_int_equal(l->last_id, 3);
	assert_string_equal(l->last_hash, their_hash);
	event(d, l, d->us, 3, "up", "ok");
	assert_int_equal(l->last_id, 4);
	mg_ledger_free(other);
	other = load(d, d->them); /* the chain holds: 4 follows 3 */
	assert_int_equal(other->last_id, 4);
	assert_string_equal(other->rows[other->n - 1].f[MG_LF_PREV_HASH],
			    their_hash);
	mg_ledger_free(other);
	mg_ledger_free(l);
}

/* A refreshed ledger plans as a fresh load does, superseded rows and
 * all: the state of each version is the same. */
static void test_refresh_gives_the_status_of_a_fresh_load(void **state)
{
	struct db *d = *state;
	struct mg_ledger *l = load(d, d->us), *fresh;
	struct mg_source src = { 0 };
	struct mg_status a, b;
	size_t i;

	event(d, l, d->us, 1, "up", "ok");
	event(d, l, d->us, 2, "up", "failed");
	assert_int_equal(mg_ledger_refresh(l, d->us, &d->err), 0);
	event(d, l, d->us, 2, "up", "ok");
	event(d, l, d->us, 1, "down", "ok");
	event(d, l, d->us, 3, "up", "dirty");
	event(d, l, d->us, 4, "up", "ok");
	event(d, l, d->us, 4, "down", "failed");
	assert_int_equal(mg_ledger_refresh(l, d->us, &d->err), 0);
	assert_int_equal(mg_ledger_load(&fresh, d->us, "migrate_ledger", false,
					&d->err),
			 0);
	assert_true(fresh->n < l->n); /* the load skips superseded rows */
	assert_int_equal(mg_status_build(&a, &src, l, &d->err), 0);
	assert_int_equal(mg_status_build(&b, &src, fresh, &d->err), 0);
	assert_int_equal(a.n, b.n);
	assert_int_equal(a.max_applied, b.max_applied);
	for (i = 0; i < a.n; i++) {
		assert_int_equal(a.v[i].version, b.v[i].version);
		assert_int_equal(a.v[i].state, b.v[i].state);
		assert_int_equal(a.v[i].applied, b.v[i].applied);
		assert_int_equal(a.v[i].last->id, b.v[i].last->id);
	}
	assert_int_equal(l->last_id, fresh->last_id);
	assert_string_equal(l->last_hash, fresh->last_hash);
	mg_status_dispose(&a);
	mg_status_dispose(&b);
	mg_ledger_free(fresh);
	mg_ledger_free(l);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define D(f) cmocka_unit_test_setup_teardown(f, db_setup, db_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_entry_hash_matches_independent_computation),
		T(test_entry_hash_is_deterministic),
		T(test_entry_hash_changes_when_any_hashed_field_changes),
		T(test_entry_hash_ignores_entry_hash_and_signature),
		T(test_entry_hash_null_differs_from_empty_string),
		T(test_entry_hash_is_unambiguous_across_field_boundaries),
		T(test_row_set_copies_and_accepts_null),
		T(test_field_names_follow_table_order),
		T(test_genesis_is_64_zeros),
		D(test_refresh_reads_only_rows_appended_since),
		D(test_refresh_moves_tail_to_another_runners_rows),
		D(test_refresh_gives_the_status_of_a_fresh_load),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
