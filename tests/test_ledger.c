/*
 * Unit tests of migrator/ledger.h: the canonical entry hash of a row,
 * loading and appending through the fake driver (chain, ids, commits that
 * fail, rows that failed to build, signatures), the verification of a
 * chain of rows (mg_ledger_verify), and mg_ledger_refresh() against an
 * SQLite file (embedded: no server).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <unistd.h>

#include "fake_driver.h"
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

static struct mg_ledger *sq_load(struct db *d, struct mg_conn *conn)
{
	struct mg_ledger *l = NULL;

	assert_int_equal(mg_ledger_load(&l, conn, "migrate_ledger", false,
					&d->err),
			 0);
	assert_int_equal(mg_ledger_ensure(l, conn, &d->err), 0);
	return l;
}

/* Appends one event through `l`, as the runner does. */
static void sq_event(struct db *d, struct mg_ledger *l, struct mg_conn *conn,
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
	struct mg_ledger *l = sq_load(d, d->us);

	sq_event(d, l, d->us, 1, "up", "ok");
	sq_event(d, l, d->us, 2, "up", "ok");
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
	struct mg_ledger *l = sq_load(d, d->us), *other;
	char their_hash[MG_HASH_HEX_LEN];

	sq_event(d, l, d->us, 1, "up", "ok");
	other = sq_load(d, d->them);
	sq_event(d, other, d->them, 2, "up", "ok");
	sq_event(d, other, d->them, 3, "up", "failed");
	memcpy(their_hash, other->last_hash, sizeof(their_hash));
	assert_int_equal(l->last_id, 1);
	assert_int_equal(mg_ledger_refresh(l, d->us, &d->err), 0);
	assert_int_equal(l->n, 3);
	assert_int_equal(l->last_id, 3);
	assert_string_equal(l->last_hash, their_hash);
	sq_event(d, l, d->us, 3, "up", "ok");
	assert_int_equal(l->last_id, 4);
	mg_ledger_free(other);
	other = sq_load(d, d->them); /* the chain holds: 4 follows 3 */
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
	struct mg_ledger *l = sq_load(d, d->us), *fresh;
	struct mg_source src = { 0 };
	struct mg_status a, b;
	size_t i;

	sq_event(d, l, d->us, 1, "up", "ok");
	sq_event(d, l, d->us, 2, "up", "failed");
	assert_int_equal(mg_ledger_refresh(l, d->us, &d->err), 0);
	sq_event(d, l, d->us, 2, "up", "ok");
	sq_event(d, l, d->us, 1, "down", "ok");
	sq_event(d, l, d->us, 3, "up", "dirty");
	sq_event(d, l, d->us, 4, "up", "ok");
	sq_event(d, l, d->us, 4, "down", "failed");
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

/* ---- load and append, against the fake driver ---- */

static void fill(struct mg_ledger_row *row, const char *version)
{
	int f;

	memset(row, 0, sizeof(*row));
	for (f = MG_LF_VERSION; f <= MG_LF_REASON; f++)
		mg_ledger_row_set(row, f, fixed[f]);
	mg_ledger_row_set(row, MG_LF_VERSION, version);
}

static struct mg_ledger *load(struct mg_conn *conn)
{
	struct mg_ledger *l = NULL;
	struct mg_error err = { 0 };

	assert_int_equal(mg_ledger_load(&l, conn, "migrate_ledger", true, &err),
	                 0);
	return l;
}

static void test_append_chains_rows_and_load_reads_them_back(void **state)
{
	struct fake_db *db = fake_db_new();
	struct mg_conn *conn = fake_connect(db);
	struct mg_ledger *l = load(conn), *again;
	struct mg_ledger_row row;
	struct mg_error err = { 0 };
	char hash[MG_HASH_HEX_LEN];

	(void)state;
	assert_false(l->exists);
	assert_int_equal(mg_ledger_ensure(l, conn, &err), 0);
	fill(&row, "1");
	assert_int_equal(mg_ledger_append(l, conn, &row, NULL, 0, &err), 0);
	assert_string_equal(row.f[MG_LF_PREV_HASH], mg_ledger_genesis);
	mg_ledger_row_dispose(&row);
	fill(&row, "2");
	assert_int_equal(mg_ledger_append(l, conn, &row, NULL, 0, &err), 0);
	mg_ledger_row_dispose(&row);
	again = load(conn);
	assert_true(again->exists);
	assert_int_equal(again->n, 2);
	assert_int_equal(again->rows[1].id, 2);
	assert_int_equal(again->rows[1].version, 2);
	assert_string_equal(again->rows[1].f[MG_LF_PREV_HASH],
	                    again->rows[0].f[MG_LF_ENTRY_HASH]);
	mg_ledger_entry_hash(hash, &again->rows[1]);
	assert_string_equal(hash, again->rows[1].f[MG_LF_ENTRY_HASH]);
	assert_int_equal(again->last_id, 2);
	assert_string_equal(again->last_hash, l->last_hash);
	mg_ledger_free(again);
	mg_ledger_free(l);
	conn->drv->close(conn);
	fake_db_free(db);
}

static void test_failed_commit_leaves_the_tail_where_it_was(void **state)
{
	struct fake_db *db = fake_db_new();
	struct mg_conn *conn = fake_connect(db);
	struct mg_ledger *l = load(conn);
	struct mg_ledger_row row;
	struct mg_error err = { 0 };
	char tail[MG_HASH_HEX_LEN];

	(void)state;
	assert_int_equal(mg_ledger_ensure(l, conn, &err), 0);
	memcpy(tail, l->last_hash, sizeof(tail));
	db->fail_at[FAKE_COMMIT] = 1;
	fill(&row, "1");
	assert_int_equal(conn->drv->txn(conn, MG_TXN_BEGIN, &err), 0);
	assert_int_equal(
	        mg_ledger_append(l, conn, &row, NULL, MG_Q_COMMIT, &err),
	        MG_EDRIVER);
	assert_int_equal(l->last_id, 0);
	assert_memory_equal(l->last_hash, tail, sizeof(tail));
	assert_int_equal(fake_ledger_rows(db), 0);
	mg_ledger_row_dispose(&row);
	mg_ledger_free(l);
	conn->drv->close(conn);
	fake_db_free(db);
}

static void test_row_that_failed_to_build_is_not_written(void **state)
{
	struct fake_db *db = fake_db_new();
	struct mg_conn *conn = fake_connect(db);
	struct mg_ledger *l = load(conn);
	struct mg_ledger_row row;
	struct mg_error err = { 0 };

	(void)state;
	assert_int_equal(mg_ledger_ensure(l, conn, &err), 0);
	fill(&row, "1");
	row.failed = true; /* as a set that ran out of memory leaves it */
	assert_int_equal(mg_ledger_append(l, conn, &row, NULL, 0, &err),
	                 MG_ENOMEM);
	assert_int_equal(mg_ledger_row_check(&row, NULL), MG_ENOMEM);
	assert_int_equal(fake_ledger_rows(db), 0);
	assert_int_equal(l->last_id, 0);
	mg_ledger_row_dispose(&row);
	assert_false(row.failed); /* reusable after dispose */
	mg_ledger_free(l);
	conn->drv->close(conn);
	fake_db_free(db);
}

static void test_signed_rows_verify_with_the_public_key(void **state)
{
	struct fake_db *db = fake_db_new();
	struct mg_conn *conn = fake_connect(db);
	struct mg_ledger *l = load(conn);
	struct mg_ledger_row row;
	struct mg_error err = { 0 };
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	unsigned char sig[crypto_sign_BYTES];
	const char *hash;

	(void)state;
	crypto_sign_keypair(pk, sk);
	assert_int_equal(mg_ledger_ensure(l, conn, &err), 0);
	fill(&row, "1");
	assert_int_equal(mg_ledger_append(l, conn, &row, sk, 0, &err), 0);
	hash = fake_ledger_get(db, 0, MG_LF_ENTRY_HASH);
	assert_int_equal(sodium_hex2bin(sig, sizeof(sig),
	                                fake_ledger_get(db, 0,
	                                                MG_LF_SIGNATURE),
	                                2 * sizeof(sig), NULL, NULL, NULL),
	                 0);
	assert_int_equal(crypto_sign_verify_detached(
	                         sig, (const unsigned char *)hash,
	                         strlen(hash), pk),
	                 0);
	mg_ledger_row_dispose(&row);
	mg_ledger_free(l);
	conn->drv->close(conn);
	fake_db_free(db);
}

static void test_load_refuses_a_row_with_a_bad_version(void **state)
{
	struct fake_db *db = fake_db_new();
	struct mg_conn *conn = fake_connect(db);
	struct mg_ledger *l = load(conn);
	struct mg_ledger_row row;
	struct mg_error err = { 0 };

	(void)state;
	assert_int_equal(mg_ledger_ensure(l, conn, &err), 0);
	fill(&row, "1");
	assert_int_equal(mg_ledger_append(l, conn, &row, NULL, 0, &err), 0);
	mg_ledger_free(l);
	free(db->rows[0].f[MG_LF_VERSION]);
	db->rows[0].f[MG_LF_VERSION] = strdup("1; DROP");
	assert_int_equal(mg_ledger_load(&l, conn, "migrate_ledger", true, &err),
	                 MG_ECHECKSUM);
	assert_null(l);
	assert_non_null(strstr(err.msg, "bad id or version"));
	mg_ledger_row_dispose(&row);
	conn->drv->close(conn);
	fake_db_free(db);
}

static void test_load_refuses_names_that_need_escaping(void **state)
{
	static const char *const bad[] = {
		"led'ger", "led\"ger", "led`ger", "a.b.c", ".t", "s.", "",
		"led ger", "l;drop", "l?x", "l\\x", "l\nx",
	};
	static const char *const good[] = { "migrate_ledger", "app.ledger",
		                             "l-1$x", "caf\xC3\xA9" };
	struct fake_db *db = fake_db_new();
	struct mg_conn *conn = fake_connect(db);
	struct mg_ledger *l = NULL;
	struct mg_error err = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mg_ledger_load(&l, conn, bad[i], false, &err),
		                 MG_EINVALID);
		assert_null(l);
	}
	/* refused before any SQL */
	assert_null(strstr(db->log, "ledger select"));
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(mg_ledger_load(&l, conn, good[i], false, &err),
		                 0);
		mg_ledger_free(l);
	}
	assert_non_null(strstr(db->log, "ledger select"));
	conn->drv->close(conn);
	fake_db_free(db);
}

/* ---- mg_ledger_verify: a chain built in memory, then tampered with ---- */

#define NROWS 4

struct chain {
	struct mg_ledger l;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
};

/* What the callback saw, in order. */
struct seen {
	size_t n;
	enum mg_ledger_problem kind[16];
	int64_t id[16], version[16];
	char msg[16][256];
};

static void on_problem(void *ctx, enum mg_ledger_problem kind, int64_t id,
                       int64_t version, const char *msg)
{
	struct seen *s = ctx;

	assert_true(s->n < 16);
	s->kind[s->n] = kind;
	s->id[s->n] = id;
	s->version[s->n] = version;
	snprintf(s->msg[s->n], sizeof(s->msg[0]), "%s", msg);
	s->n++;
}

static void sign_row(struct mg_ledger_row *row, const unsigned char *sk)
{
	unsigned char sig[crypto_sign_BYTES];
	char hex[2 * crypto_sign_BYTES + 1];
	const char *eh = row->f[MG_LF_ENTRY_HASH];

	crypto_sign_detached(sig, NULL, (const unsigned char *)eh, strlen(eh),
	                     sk);
	sodium_bin2hex(hex, sizeof(hex), sig, sizeof(sig));
	assert_int_equal(mg_ledger_row_set(row, MG_LF_SIGNATURE, hex), 0);
}

/* prev_hash, entry_hash and (with sk) the signature of rows from..n-1,
 * as mg_ledger_append() writes them; what a tamperer without the signing
 * key can redo */
static void rechain(struct mg_ledger *l, size_t from, const unsigned char *sk)
{
	char h[MG_HASH_HEX_LEN];
	size_t i;

	for (i = from; i < l->n; i++) {
		struct mg_ledger_row *row = &l->rows[i];

		assert_int_equal(
		        mg_ledger_row_set(row, MG_LF_PREV_HASH,
		                          i ? l->rows[i - 1].f[MG_LF_ENTRY_HASH]
		                            : mg_ledger_genesis),
		        0);
		mg_ledger_entry_hash(h, row);
		assert_int_equal(mg_ledger_row_set(row, MG_LF_ENTRY_HASH, h),
		                 0);
		if (sk != NULL)
			sign_row(row, sk);
	}
}

static int chain_setup(void **state)
{
	struct chain *c = calloc(1, sizeof(*c));
	char num[24];
	size_t i;
	int f;

	if ((*state = c) == NULL)
		return -1;
	crypto_sign_keypair(c->pk, c->sk);
	if ((c->l.rows = calloc(NROWS, sizeof(*c->l.rows))) == NULL)
		return -1;
	for (i = 0; i < NROWS; i++) {
		struct mg_ledger_row *row = &c->l.rows[c->l.n++];

		for (f = 0; f < MG_LF_COUNT; f++)
			if (mg_ledger_row_set(row, f, fixed[f]) < 0)
				return -1;
		row->id = (int64_t)i + 1;
		row->version = (int64_t)i + 1;
		snprintf(num, sizeof(num), "%zu", i + 1);
		if (mg_ledger_row_set(row, MG_LF_ID, num) < 0 ||
		    mg_ledger_row_set(row, MG_LF_VERSION, num) < 0)
			return -1;
	}
	rechain(&c->l, 0, c->sk);
	return 0;
}

static int chain_teardown(void **state)
{
	struct chain *c = *state;
	size_t i;

	for (i = 0; i < c->l.n; i++)
		mg_ledger_row_dispose(&c->l.rows[i]);
	free(c->l.rows);
	free(c);
	return 0;
}

static size_t verify(struct seen *s, const struct chain *c, bool with_key)
{
	size_t n;

	memset(s, 0, sizeof(*s));
	n = mg_ledger_verify(&c->l, with_key ? c->pk : NULL, on_problem, s);
	assert_int_equal(n, s->n);
	return n;
}

static void test_verify_accepts_intact_chain(void **state)
{
	struct seen s;

	assert_int_equal(verify(&s, *state, true), 0);
	assert_int_equal(verify(&s, *state, false), 0);
}

static void test_verify_accepts_empty_ledger(void **state)
{
	struct chain *c = *state;
	struct seen s;
	size_t n = c->l.n;

	c->l.n = 0;
	assert_int_equal(verify(&s, c, true), 0);
	c->l.n = n;
}

static void test_verify_finds_edited_field(void **state)
{
	struct chain *c = *state;
	struct seen s;

	assert_int_equal(
	        mg_ledger_row_set(&c->l.rows[1], MG_LF_STATUS, "failed"), 0);
	/* only that row: the next still chains to its stored entry_hash,
	 * and the signature covers the stored entry_hash */
	assert_int_equal(verify(&s, c, true), 1);
	assert_int_equal(s.kind[0], MG_LP_ENTRY_HASH);
	assert_int_equal(s.id[0], 2);
	assert_int_equal(s.version[0], 2);
	assert_string_equal(s.msg[0], "ledger row 2: entry_hash does not "
	                              "match its contents: the row was "
	                              "changed");
}

static void test_verify_finds_rehashed_edit_by_signature(void **state)
{
	struct chain *c = *state;
	struct seen s;

	/* a tamperer who recomputes the chain, but cannot sign */
	assert_int_equal(
	        mg_ledger_row_set(&c->l.rows[1], MG_LF_STATUS, "failed"), 0);
	rechain(&c->l, 1, NULL);
	assert_int_equal(verify(&s, c, false), 0); /* the chain alone holds */
	assert_int_equal(verify(&s, c, true), 3);
	assert_int_equal(s.kind[0], MG_LP_BAD_SIGNATURE);
	assert_int_equal(s.id[0], 2);
	assert_int_equal(s.id[2], 4);
	assert_string_equal(s.msg[0], "ledger row 2: bad signature");
}

static void test_verify_finds_deleted_middle_row(void **state)
{
	struct chain *c = *state;
	struct seen s;

	mg_ledger_row_dispose(&c->l.rows[1]);
	memmove(&c->l.rows[1], &c->l.rows[2], 2 * sizeof(c->l.rows[0]));
	memset(&c->l.rows[3], 0, sizeof(c->l.rows[3]));
	c->l.n = 3;
	assert_int_equal(verify(&s, c, true), 2);
	assert_int_equal(s.kind[0], MG_LP_ID);
	assert_int_equal(s.id[0], 3);
	assert_string_equal(s.msg[0], "ledger row 3: expected id 2: rows "
	                              "were deleted or inserted");
	assert_int_equal(s.kind[1], MG_LP_PREV_HASH);
	assert_int_equal(s.id[1], 3);
	assert_string_equal(s.msg[1], "ledger row 3: prev_hash does not "
	                              "match the entry_hash of the row "
	                              "before it");
}

static void test_verify_finds_reordered_rows(void **state)
{
	struct chain *c = *state;
	struct mg_ledger_row tmp = c->l.rows[1];
	struct seen s;
	size_t i;

	c->l.rows[1] = c->l.rows[2];
	c->l.rows[2] = tmp;
	/* rows 3, 2, 4 after 1: each is out of place and off the chain */
	assert_int_equal(verify(&s, c, true), 6);
	for (i = 0; i < 6; i += 2) {
		assert_int_equal(s.kind[i], MG_LP_ID);
		assert_int_equal(s.kind[i + 1], MG_LP_PREV_HASH);
	}
	assert_int_equal(s.id[0], 3);
	assert_int_equal(s.id[2], 2);
	assert_int_equal(s.id[4], 4);
}

static void test_verify_finds_bad_signature(void **state)
{
	struct chain *c = *state;
	struct seen s;

	/* a valid signature, of another row */
	assert_int_equal(mg_ledger_row_set(&c->l.rows[2], MG_LF_SIGNATURE,
	                                   c->l.rows[0].f[MG_LF_SIGNATURE]),
	                 0);
	/* not even hex */
	assert_int_equal(
	        mg_ledger_row_set(&c->l.rows[3], MG_LF_SIGNATURE, "zz"), 0);
	assert_int_equal(verify(&s, c, true), 2);
	assert_int_equal(s.kind[0], MG_LP_BAD_SIGNATURE);
	assert_int_equal(s.id[0], 3);
	assert_int_equal(s.kind[1], MG_LP_BAD_SIGNATURE);
	assert_int_equal(s.id[1], 4);
	/* without a key, signatures are not looked at */
	assert_int_equal(verify(&s, c, false), 0);
}

static void test_verify_finds_other_key(void **state)
{
	struct chain *c = *state;
	struct seen s;

	crypto_sign_keypair(c->pk, c->sk); /* the key checked is not theirs */
	assert_int_equal(verify(&s, c, true), NROWS);
	assert_int_equal(s.kind[NROWS - 1], MG_LP_BAD_SIGNATURE);
}

static void test_verify_finds_missing_signature(void **state)
{
	struct chain *c = *state;
	struct seen s;

	assert_int_equal(
	        mg_ledger_row_set(&c->l.rows[2], MG_LF_SIGNATURE, NULL), 0);
	assert_int_equal(verify(&s, c, true), 1);
	assert_int_equal(s.kind[0], MG_LP_NOT_SIGNED);
	assert_int_equal(s.id[0], 3);
	assert_string_equal(s.msg[0], "ledger row 3: not signed");
	assert_int_equal(verify(&s, c, false), 0);
}

static void test_verify_finds_non_numeric_version(void **state)
{
	struct chain *c = *state;
	static const char *const bad[] = {
		"v1", "", "+2", " 2", "2x", "-2", "99999999999999999999"
	};
	struct seen s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* even with the chain recomputed over the new text */
		assert_int_equal(
		        mg_ledger_row_set(&c->l.rows[1], MG_LF_VERSION, bad[i]),
		        0);
		rechain(&c->l, 1, c->sk);
		assert_int_equal(verify(&s, c, true), 1);
		assert_int_equal(s.kind[0], MG_LP_VERSION);
		assert_int_equal(s.id[0], 2);
	}
	assert_int_equal(mg_ledger_row_set(&c->l.rows[1], MG_LF_VERSION, NULL),
	                 0);
	rechain(&c->l, 1, c->sk);
	assert_int_equal(verify(&s, c, true), 1);
	assert_int_equal(s.kind[0], MG_LP_VERSION);
	/* the largest version is a number */
	assert_int_equal(mg_ledger_row_set(&c->l.rows[1], MG_LF_VERSION,
	                                   "9223372036854775807"),
	                 0);
	rechain(&c->l, 1, c->sk);
	assert_int_equal(verify(&s, c, true), 0);
}

#define C(f) cmocka_unit_test_setup_teardown(f, chain_setup, chain_teardown)
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
		cmocka_unit_test(
		        test_append_chains_rows_and_load_reads_them_back),
		cmocka_unit_test(test_failed_commit_leaves_the_tail_where_it_was),
		cmocka_unit_test(test_row_that_failed_to_build_is_not_written),
		cmocka_unit_test(test_signed_rows_verify_with_the_public_key),
		cmocka_unit_test(test_load_refuses_a_row_with_a_bad_version),
		cmocka_unit_test(test_load_refuses_names_that_need_escaping),
		C(test_verify_accepts_intact_chain),
		C(test_verify_accepts_empty_ledger),
		C(test_verify_finds_edited_field),
		C(test_verify_finds_rehashed_edit_by_signature),
		C(test_verify_finds_deleted_middle_row),
		C(test_verify_finds_reordered_rows),
		C(test_verify_finds_bad_signature),
		C(test_verify_finds_other_key),
		C(test_verify_finds_missing_signature),
		C(test_verify_finds_non_numeric_version),
		D(test_refresh_reads_only_rows_appended_since),
		D(test_refresh_moves_tail_to_another_runners_rows),
		D(test_refresh_gives_the_status_of_a_fresh_load),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
