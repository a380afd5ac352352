/* Unit tests of backups' pure parts: the backup: / restore: directives and
 * the delta forms (checks/directive.h), backup table names and prefixes
 * (checks/backup.h), name splitting (migrator/drivers/tables.h) and the
 * schema filter of migrate test (rollback/schema.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "checks/backup.h"
#include "checks/directive.h"
#include "fake_driver.h"
#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/drivers/tables.h"
#include "migrator/error.h"
#include "rollback/schema.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int parse(struct mg_directives *d, const char *text,
		 struct mg_error *err)
{
	memset(err, 0, sizeof(*err));
	return mg_directives_parse(d, text, strlen(text), err);
}

struct good {
	const char *text;
	const char *table;
	int keep;
	const char *where; /* NULL: none */
};

static const struct good good[] = {
	{ "-- backup: staff", "staff", -1, NULL },
	{ "-- backup: staff keep 30d", "staff", 30, NULL },
	{ "-- backup: staff keep 0d", "staff", 0, NULL },
	{ "-- backup: app.staff where role = 'lead'", "app.staff", -1,
	  "role = 'lead'" },
	{ "-- backup: \"Staff Leads\" keep 7d where id IN (SELECT x FROM y) ",
	  "\"Staff Leads\"", 7, "id IN (SELECT x FROM y)" },
	{ "--backup: `order` where note = 'a;b'", "`order`", -1,
	  "note = 'a;b'" },
};

static void test_backup_directives_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(good); i++) {
		struct mg_directives d;
		struct mg_error err;
		int rc = parse(&d, good[i].text, &err);

		if (rc != 0)
			print_error("'%s': %s\n", good[i].text, err.msg);
		assert_int_equal(rc, 0);
		assert_int_equal(d.nbackups, 1);
		assert_string_equal(d.backups[0].table, good[i].table);
		assert_int_equal(d.backups[0].keep_days, good[i].keep);
		assert_int_equal(d.backups[0].line, 1);
		if (good[i].where == NULL)
			assert_null(d.backups[0].where);
		else
			assert_string_equal(d.backups[0].where, good[i].where);
		mg_directives_dispose(&d);
	}
}

struct bad {
	const char *text;
	unsigned line;
	const char *msg;
};

static const struct bad bad[] = {
	{ "-- backup: staff keep", 1, "'keep' needs a number of days" },
	{ "-- backup: staff keep d", 1, "'keep' needs a number of days" },
	{ "-- backup: staff keep 30", 1, "'keep' needs a number of days" },
	{ "-- backup: staff keep 30days", 1,
	  "'keep' needs a number of days" },
	{ "-- backup: staff keep -1d", 1, "'keep' needs a number of days" },
	{ "-- backup: staff keep 1d keep 2d", 1, "'keep' given twice" },
	{ "-- backup: staff where", 1, "'where' needs a predicate" },
	{ "-- backup: staff where   ", 1, "'where' needs a predicate" },
	{ "-- backup: staff where a = 1; DROP TABLE t", 1,
	  "one expression" },
	{ "-- backup: staff forever", 1, "unknown word in backup:" },
	{ "-- backup:", 1, "expected a table" },
	{ "SELECT 1;\n-- backup: a\n-- backup: A", 3,
	  "a second backup: of the same table" },
	{ "-- restore: a\n-- restore: a", 2,
	  "a second restore: of the same table" },
	{ "-- restore: a where x = 1", 1, "restore: takes only a table" },
	{ "-- check: rows a delta -backup", 1, "needs a backup:" },
	{ "-- backup: b\n-- check: rows a delta -backup", 2,
	  "needs a backup:" },
	{ "-- check: rows a delta -(SELECT 1", 1, "expected ')'" },
	{ "-- check: rows a delta -()", 1, "the delta's query is empty" },
	{ "-- check: rows a delta -(DELETE FROM a)", 1,
	  "a check's query must read" },
	{ "-- check: rows a delta -(SELECT 1) x", 1, "unexpected text" },
	{ "-- check: rows a delta backup", 1, "delta needs a signed count" },
};

static void test_bad_backup_directives(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(bad); i++) {
		struct mg_directives d;
		struct mg_error err;
		int rc = parse(&d, bad[i].text, &err);

		if (rc != MG_EINVALID || strstr(err.msg, bad[i].msg) == NULL ||
		    err.line != bad[i].line)
			print_error("'%s': rc %d line %u '%s'\n", bad[i].text,
				    rc, err.line, err.msg);
		assert_int_equal(rc, MG_EINVALID);
		assert_int_equal(err.line, bad[i].line);
		assert_non_null(strstr(err.msg, bad[i].msg));
		assert_int_equal(d.nbackups, 0);
	}
}

static void test_delta_forms(void **state)
{
	struct mg_directives d;
	struct mg_error err;

	(void)state;
	assert_int_equal(parse(&d,
			       "-- backup: a\n"
			       "-- check: rows a delta -backup\n"
			       "-- check: rows b delta +(SELECT count(*) "
			       "FROM (SELECT 1) x)\n"
			       "-- check: rows c delta -3\n"
			       "-- restore: a\n"
			       "-- check: rows a delta +backup\n",
			       &err),
			 0);
	assert_int_equal(d.nchecks, 4);
	assert_int_equal(d.checks[0].delta_from, MG_DELTA_BACKUP);
	assert_int_equal(d.checks[0].delta, -1);
	assert_int_equal(d.checks[1].delta_from, MG_DELTA_QUERY);
	assert_int_equal(d.checks[1].delta, 1);
	assert_string_equal(d.checks[1].query,
			    "SELECT count(*) FROM (SELECT 1) x");
	assert_int_equal(d.checks[2].delta_from, MG_DELTA_NUMBER);
	assert_int_equal(d.checks[2].delta, -3);
	assert_int_equal(d.checks[3].delta_from, MG_DELTA_BACKUP);
	assert_int_equal(d.checks[3].delta, 1);
	assert_int_equal(d.nrestores, 1);
	assert_int_equal(d.restores[0].line, 5);
	mg_directives_dispose(&d);
}

static void test_backup_names(void **state)
{
	char name[64], prefix[300];
	char long_table[200];

	(void)state;
	mg_backup_name(name, "migrate_ledger", "v", 3, "staff");
	assert_string_equal(name, "migrate_ledger_bk_v3_staff");
	mg_backup_name(name, "ops.Ledger", "v", 12, "\"App\".\"Staff Leads\"");
	assert_string_equal(name, "ledger_bk_v12_staff_leads");
	mg_backup_name(name, "migrate_ledger", "nightly_purge_e", 7,
		       "`order`");
	assert_string_equal(name, "migrate_ledger_bk_nightly_purge_e7_order");
	/* too long: cut, with a hash of the whole so names stay apart */
	memset(long_table, 'x', sizeof(long_table) - 1);
	long_table[sizeof(long_table) - 1] = '\0';
	mg_backup_name(name, "migrate_ledger", "v", 1, long_table);
	assert_int_equal(strlen(name), 63);
	assert_memory_equal(name, "migrate_ledger_bk_v1_xxx", 24);
	long_table[0] = 'y';
	{
		char other[64];

		mg_backup_name(other, "migrate_ledger", "v", 1, long_table);
		assert_int_equal(strlen(other), 63);
		assert_string_not_equal(name + 55, other + 55);
	}
	mg_backup_prefix(prefix, sizeof(prefix), "ops.Migrate-Ledger");
	assert_string_equal(prefix, "migrate_ledger_bk_");
}

/* A job's backup names (issue 11): from the job and the event id, apart
 * from every version's, within 63 characters. */
static void test_job_backup_names(void **state)
{
	char name[64], other[64], version[64], long_job[100];
	int64_t event;

	(void)state;
	mg_backup_job_name(name, "migrate_ledger", "purge_deleted_users", 812,
			   "users");
	assert_string_equal(name,
			    "migrate_ledger_bk_j812_purge_deleted_users_users");
	/* the job's '.' and '-', the table's schema and quotes */
	mg_backup_job_name(name, "ops.Ledger", "nightly.purge-x", 7,
			   "\"App\".\"Users\"");
	assert_string_equal(name, "ledger_bk_j7_nightly_purge_x_users");
	/* two runs (or batches) of one job never share a name */
	mg_backup_job_name(name, "migrate_ledger", "purge", 12, "users");
	mg_backup_job_name(other, "migrate_ledger", "purge", 13, "users");
	assert_string_not_equal(name, other);
	/* never a version's, whatever the table is called */
	mg_backup_name(version, "migrate_ledger", "v", 12, "purge_users");
	assert_string_not_equal(name, version);
	assert_memory_equal(name, "migrate_ledger_bk_j", 19);
	/* a long job name: cut to 63, the event id kept in what stays, and
	 * each event still its own */
	memset(long_job, 'p', sizeof(long_job) - 1);
	long_job[sizeof(long_job) - 1] = '\0';
	for (event = 1; event < 200; event++) {
		mg_backup_job_name(name, "migrate_ledger", long_job, event,
				   "users");
		mg_backup_job_name(other, "migrate_ledger", long_job,
				   event + 1, "users");
		assert_int_equal(strlen(name), 63);
		assert_string_not_equal(name, other);
	}
	mg_backup_job_name(name, "migrate_ledger", long_job, 4242, "users");
	assert_memory_equal(name, "migrate_ledger_bk_j4242_ppp", 27);
	/* the same job and table in one event: one name (the batch's) */
	mg_backup_job_name(other, "migrate_ledger", long_job, 4242, "users");
	assert_string_equal(name, other);
}

static void test_ident_split(void **state)
{
	static const struct {
		const char *in, *schema, *name;
	} cases[] = {
		{ "staff", NULL, "staff" },
		{ "app.staff", "app", "staff" },
		{ "\"App\".\"Staff Leads\"", "App", "Staff Leads" },
		{ "`db`.`order`", "db", "order" },
		{ "\"a\"\"b\"", NULL, "a\"b" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		char *schema = NULL, *name = NULL;
		struct mg_error err = { 0 };

		assert_int_equal(mg_ident_split(&schema, &name, cases[i].in,
						&err),
				 0);
		if (cases[i].schema == NULL)
			assert_null(schema);
		else
			assert_string_equal(schema, cases[i].schema);
		assert_string_equal(name, cases[i].name);
		free(schema);
		free(name);
	}
}

/* The fake's tables: "keyed" (id, v) keyed by id; "loose" (x) with no
 * key; anything else does not exist. */
static int fake_table_info(struct mg_table_info *out, struct mg_conn *conn,
			   const char *table, struct mg_error *err)
{
	(void)conn;
	memset(out, 0, sizeof(*out));
	if (strcmp(table, "keyed") == 0) {
		assert_int_equal(mg_table_info_add(&out->cols, &out->ncols,
						   "id", err),
				 0);
		assert_int_equal(mg_table_info_add(&out->cols, &out->ncols,
						   "v", err),
				 0);
		assert_int_equal(mg_table_info_add(&out->key, &out->nkey, "id",
						   err),
				 0);
		return 0;
	}
	if (strcmp(table, "loose") == 0) {
		assert_int_equal(mg_table_info_add(&out->cols, &out->ncols,
						   "x", err),
				 0);
		return 0;
	}
	return mg_error_set(err, MG_ENOTFOUND, "no table %s", table);
}

static void fake_row_bytes(struct mg_buf *out, const char *alias,
			   const char *const *cols, size_t ncols)
{
	mg_buf_addf(out, "BYTES(%s, %zu, %s)", alias, ncols, cols[0]);
}

/* Answers the count (and size) of a selection: "2" and "29". */
struct answers {
	char last[512];
	unsigned queries;
};

static int answer(void *ctx, const char *sql, struct mg_rows **out,
		  struct mg_error *err)
{
	struct answers *a = ctx;
	static const char *const v[] = { "2", "29" };

	(void)err;
	a->queries++;
	snprintf(a->last, sizeof(a->last), "%s", sql);
	if ((*out = mg_rows_new(strstr(sql, "BYTES(") ? 2 : 1)) == NULL ||
	    mg_rows_add(*out, v, (*out)->ncols) < 0)
		return MG_ENOMEM;
	return 0;
}

static int take(struct mg_backups *out, struct fake_db *db, const char *text,
		bool dry_run, struct mg_error *err)
{
	struct mg_backup_ctx ctx = { "migrate_ledger", "migrate_ledger", "v",
				     3, "2026-11-28T10:00:00.000000Z", true, NULL };
	struct mg_directives d;
	struct mg_conn *conn = fake_connect(db);
	int rc;

	assert_non_null(conn);
	assert_int_equal(parse(&d, text, err), 0);
	rc = mg_backups_take(out, conn, &ctx, &d, dry_run, err);
	mg_directives_dispose(&d);
	conn->drv->close(conn);
	return rc;
}

/* A file whose second backup names a table without a key is refused
 * before the first is copied: on MySQL a copy commits at once. */
static void test_keys_checked_before_any_copy(void **state)
{
	struct fake_db *db = fake_db_new();
	struct answers a = { 0 };
	struct mg_backups b;
	struct mg_error err = { 0 };

	(void)state;
	assert_non_null(db);
	db->drv.table_info = fake_table_info;
	db->answer = answer;
	db->ctx = &a;
	assert_int_equal(take(&b, db,
			      "-- backup: keyed where v > 1\n"
			      "-- backup: loose\n"
			      "DELETE FROM keyed;\n",
			      false, &err),
			 MG_EINVALID);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "loose has no primary key"));
	assert_null(strstr(db->log, "CREATE TABLE"));
	assert_int_equal(a.queries, 0);
	mg_backups_dispose(&b);
	fake_db_free(db);
}

/* A dry run counts the rows and sums their size in one query over the
 * selection, with the driver's expression for a row's bytes; without
 * one, the size is unknown (-1) and null in the evidence. */
static void test_dry_run_measures_rows_and_bytes(void **state)
{
	struct fake_db *db = fake_db_new();
	struct answers a = { 0 };
	struct mg_backups b;
	struct mg_error err = { 0 };

	(void)state;
	assert_non_null(db);
	db->drv.table_info = fake_table_info;
	db->drv.row_bytes_sql = fake_row_bytes;
	db->answer = answer;
	db->ctx = &a;
	assert_int_equal(take(&b, db, "-- backup: keyed where v > 1\n", true,
			      &err),
			 0);
	assert_int_equal(a.queries, 1);
	assert_non_null(strstr(a.last, "count(*)"));
	assert_non_null(strstr(a.last, "BYTES(mg_sel, 2, \"id\")"));
	assert_non_null(strstr(a.last, "WHERE (v > 1)"));
	assert_int_equal(b.n, 1);
	assert_int_equal(b.v[0].rows, 2);
	assert_int_equal(b.v[0].bytes, 29);
	assert_null(strstr(db->log, "CREATE TABLE"));
	mg_backups_dispose(&b);

	db->drv.row_bytes_sql = NULL;
	a.queries = 0;
	assert_int_equal(take(&b, db, "-- backup: keyed\n", true, &err), 0);
	assert_int_equal(a.queries, 1);
	assert_null(strstr(a.last, "BYTES("));
	assert_int_equal(b.v[0].rows, 2);
	assert_int_equal(b.v[0].bytes, -1);
	mg_backups_dispose(&b);
	fake_db_free(db);
}

static void test_schema_forget_drops_backup_tables_only(void **state)
{
	struct mg_schema s = { 0 };
	char hash_all[sizeof(s.hash)];
	static const char *const items[] = {
		"column public.migrate_ledger_bk_v2_staff.id: integer",
		"column public.staff.id: integer",
		"relation public.migrate_ledger: r",
		"relation public.migrate_ledger_bk_v2_staff: r",
		"table migrate_ledger_bk_v3_x: CREATE TABLE ...",
	};
	size_t i;

	(void)state;
	s.items = calloc(N(items) + 1, sizeof(*s.items));
	assert_non_null(s.items);
	for (i = 0; i < N(items); i++)
		s.items[s.n++] = strdup(items[i]);
	memcpy(hash_all, s.hash, sizeof(hash_all));
	mg_schema_forget(&s, "migrate_ledger_bk_");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.items[0], "column public.staff.id: integer");
	assert_string_equal(s.items[1], "relation public.migrate_ledger: r");
	assert_string_not_equal(s.hash, hash_all);
	mg_schema_dispose(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_directives_parse),
		cmocka_unit_test(test_bad_backup_directives),
		cmocka_unit_test(test_delta_forms),
		cmocka_unit_test(test_backup_names),
		cmocka_unit_test(test_job_backup_names),
		cmocka_unit_test(test_ident_split),
		cmocka_unit_test(test_schema_forget_drops_backup_tables_only),
		cmocka_unit_test(test_keys_checked_before_any_copy),
		cmocka_unit_test(test_dry_run_measures_rows_and_bytes),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
