/*
 * Integration tests of backups (SPEC.md, "Backups"; issue 15): the
 * `-- backup:` and `-- restore:` directives, the `rows <table> delta
 * -backup` check, `migrate restore`, `migrate backups`, `migrate prune`,
 * retention, `status`, `--dry-run` and `migrate test`. The built binary
 * (MG_BIN) runs against SQLite (never skipped), PostgreSQL
 * (MG_TEST_PG_DSN) and MariaDB (MG_TEST_MYSQL_DSN), one body per
 * behaviour registered once per backend, as in it_core.c, asserting on
 * exit codes, the ledger's rows and evidence, and the tables themselves.
 *
 * The example is the cleanup the issue starts from: delete the staff
 * leads, with a backup, a delta check and a restore.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "migrator/driver.h"
#include "support/it.h"

static enum backend backend(const struct it_state *st)
{
	return st->bk;
}

/* SQL written with "quoted" names, as MySQL wants them: `quoted`. The
 * test's state owns the copy. */
static char *q(struct it_state *st, const char *sql)
{
	char *s = it_own(st, strdup(sql)), *p;

	assert_non_null(s);
	for (p = s; backend(st) == BK_MYSQL && *p; p++)
		if (*p == '"')
			*p = '`';
	return s;
}

/* Writes a pair with q() applied to both files. */
static void pair(struct it_state *st, const char *base, const char *up,
		 const char *down)
{
	assert_int_equal(it_pair(&st->e, base, q(st, up),
				 down ? q(st, down) : NULL),
			 0);
}

/* A query's rows as "a|b|c\n" lines (NULL as "-"); owned by the state. */
static char *rows_text(struct it_state *st, const char *sql)
{
	struct mg_rows *r = it_own_rows(st, it_query(&st->e, q(st, sql)));
	size_t i, j, n = 1;
	char *out, *p;

	assert_non_null(r);
	for (i = 0; i < r->nrows * r->ncols; i++)
		n += (r->cells[i] ? strlen(r->cells[i]) : 1) + 1;
	out = it_own(st, calloc(1, n));
	assert_non_null(out);
	for (i = 0, p = out; i < r->nrows; i++)
		for (j = 0; j < r->ncols; j++) {
			const char *v = mg_rows_get(r, i, j);

			p += sprintf(p, "%s%c", v ? v : "-",
				     j + 1 == r->ncols ? '\n' : '|');
		}
	return out;
}

/* ---- the example ---- */

/* A table with a composite key of an int and a text, a quoted name with
 * a capital and a space, and a NULL among the values that a lead keeps. */
static const char STAFF_UP[] =
	"CREATE TABLE \"Staff Leads\" (org int NOT NULL, code varchar(20) "
	"NOT NULL, email varchar(40), role varchar(10), PRIMARY KEY (org, "
	"code));\n"
	"INSERT INTO \"Staff Leads\" VALUES (1, 'a', 'a@x', 'lead'), "
	"(1, 'b', NULL, 'lead'), (2, 'a', 'c@x', 'dev'), (2, 'b', 'd@x', "
	"'dev');\n";
static const char STAFF_DOWN[] = "DROP TABLE \"Staff Leads\";\n";
static const char STAFF_ROWS[] =
	"SELECT org, code, email, role FROM \"Staff Leads\" ORDER BY org, "
	"code";
static const char STAFF_ALL[] = "1|a|a@x|lead\n1|b|-|lead\n"
				"2|a|c@x|dev\n2|b|d@x|dev\n";
#define BK_STAFF_TEXT "migrate_ledger_bk_v2_staff_leads"
static const char BK_STAFF[] = BK_STAFF_TEXT;

static const char CLEANUP_UP[] =
	"-- backup: \"Staff Leads\" keep 30d where role = 'lead'\n"
	"-- check: rows \"Staff Leads\" delta -backup\n"
	"-- check: rows \"Staff Leads\" delta -(SELECT count(*) FROM "
	"\"Staff Leads\" WHERE role = 'lead')\n"
	"DELETE FROM \"Staff Leads\" WHERE role = 'lead';\n";
static const char CLEANUP_DOWN[] = "-- restore: \"Staff Leads\"\n"
				   "-- check: rows \"Staff Leads\" delta "
				   "+backup\n";

static void staff(struct it_state *st)
{
	pair(st, "0001_staff", STAFF_UP, STAFF_DOWN);
}

/* The checks column of the latest ledger row matching `where`. */
static char *evidence(struct it_state *st, const char *where)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "SELECT checks FROM migrate_ledger WHERE %s ORDER BY id DESC",
		 where);
	return it_own(st, it_value(&st->e, sql));
}

/* ---- the behaviours ---- */

/* backup + delta -backup + -- restore:, the whole cleanup and its undo */
static void cleanup_backup_and_restore(void **state)
{
	IT_BEGIN;
	char *ev, *line;

	staff(st);
	pair(st, "0002_cleanup", CLEANUP_UP, CLEANUP_DOWN);
	MG(r, "up");
	assert_exit(r, 0);
	assert_string_equal(rows_text(st, STAFF_ROWS),
			    "2|a|c@x|dev\n2|b|d@x|dev\n");
	/* the backup: a table of its own with exactly the leads */
	assert_table(e, BK_STAFF);
	assert_string_equal(rows_text(st, "SELECT org, code, email, role "
					  "FROM migrate_ledger_bk_v2_staff_"
					  "leads ORDER BY org, code"),
			    "1|a|a@x|lead\n1|b|-|lead\n");
	ev = evidence(st, "version = 2 AND direction = 'up' AND status = "
			  "'ok'");
	assert_contains(ev, "\"kind\":\"backup\"");
	assert_contains(ev, "\"backup_table\":\"migrate_ledger_bk_v2_staff_"
			    "leads\"");
	assert_contains(ev, "\"rows\":2");
	assert_contains(ev, "\"where\":\"role = 'lead'\"");
	assert_contains(ev, "\"keep_days\":30");
	assert_contains(ev, "\"key\":[\"org\",\"code\"]");
	/* the faster fingerprint (fp2) on all three: typed on PostgreSQL
	 * and SQLite, CRC-32 and CRC-32C of the row on MariaDB */
	assert_contains(ev, "\"fingerprint_format\":\"fp2\"");
	/* -backup and -(query) both expected the two leads */
	assert_int_equal(count_of(ev, "\"expected_delta\":-2"), 2);
	assert_contains(r->err, "backup ");
	/* the listing */
	MG(r, "--json", "backups");
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, false));
	line = it_own(st, it_line_with(r->out, BK_STAFF));
	assert_non_null(line);
	assert_contains(line, "\"version\":2");
	assert_contains(line, "\"rows\":2,");
	assert_contains(line, "\"state\":\"kept\"");
	assert_contains(line, "\"expires_at\":\"20");
	MG(r, "status");
	assert_exit(r, 0);
	assert_contains(r->err, "backups: 1 kept, 0 expired");

	/* the undo: the rows come back, proven */
	MG(r, "--json", "down");
	assert_exit(r, 0);
	assert_contains(r->out, "\"kind\":\"restore\"");
	assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
	ev = evidence(st, "version = 2 AND direction = 'down'");
	assert_contains(ev, "\"kind\":\"restore\"");
	assert_contains(ev, "\"inserted\":2");
	assert_contains(ev, "\"verdict\":\"ok\"");
	assert_contains(ev, "\"expected_delta\":2");
	assert_state(e, 2, "pending");
	/* the backup stays, for the record, until pruned */
	assert_table(e, BK_STAFF);
}

/* migrate restore V: after later migrations, for rows that were updated
 * (not deleted); the version's state does not change */
static void restore_command_after_later_migrations(void **state)
{
	IT_BEGIN;
	char *ev;

	staff(st);
	pair(st, "0002_blank",
	     "-- backup: \"Staff Leads\" where role = 'lead'\n"
	     "UPDATE \"Staff Leads\" SET email = 'gone', role = 'ex' WHERE "
	     "role = 'lead';\n",
	     "SELECT 1;\n");
	pair(st, "0003_note",
	     "ALTER TABLE \"Staff Leads\" ADD COLUMN note varchar(10);\n",
	     "ALTER TABLE \"Staff Leads\" DROP COLUMN note;\n");
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, q(st, "SELECT count(*) FROM \"Staff "
					   "Leads\" WHERE email = 'gone'")),
			 2);
	MG(r, "restore", "2", "--dry-run");
	assert_exit(r, 0);
	assert_contains(r->err, "0 to insert");
	assert_contains(r->err, "2 to set back");
	assert_int_equal(it_ledger_count(e, "direction = 'restore'"), 0);

	MG(r, "restore", "2", "--reason", "the leads were needed");
	assert_exit(r, 0);
	assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
	assert_int_equal(it_count(e, q(st, "SELECT count(*) FROM \"Staff "
					   "Leads\" WHERE note IS NULL")),
			 4);
	assert_int_equal(it_ledger_count(e, "direction = 'restore' AND "
					    "status = 'ok' AND version = 2 "
					    "AND reason = 'the leads were "
					    "needed'"),
			 1);
	ev = evidence(st, "direction = 'restore'");
	assert_contains(ev, "\"updated\":2");
	assert_contains(ev, "\"inserted\":0");
	assert_contains(ev, "\"fingerprint_after\"");
	assert_contains(ev, "\"verdict\":\"ok\"");
	/* restore events never change a version's state */
	assert_state(e, 2, "applied");
	assert_state(e, 3, "applied");
	MG(r, "verify");
	assert_exit(r, 0);
	MG(r, "backups");
	assert_exit(r, 0);
	assert_contains(r->out, "restored");
	/* a restore of the same rows again changes nothing and proves */
	MG(r, "restore", "2", "--table", q(st, "\"Staff Leads\""));
	assert_exit(r, 0);
	assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
}

/* a column the backup saved is gone: exit 2 naming it, nothing changed */
static void restore_refuses_missing_columns(void **state)
{
	IT_BEGIN;

	staff(st);
	pair(st, "0002_cleanup", CLEANUP_UP, CLEANUP_DOWN);
	pair(st, "0003_drop_email",
	     "ALTER TABLE \"Staff Leads\" DROP COLUMN email;\n",
	     "ALTER TABLE \"Staff Leads\" ADD COLUMN email varchar(40);\n");
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "restore", "2");
	assert_exit(r, 2);
	assert_contains(r->err, "no longer exist: email");
	assert_int_equal(it_count(e, q(st, "SELECT count(*) FROM \"Staff "
					   "Leads\"")),
			 2);
	assert_int_equal(it_ledger_count(e, "direction = 'restore'"), 0);
	/* and nothing about version 9 */
	MG(r, "restore", "9");
	assert_exit(r, 2);
	assert_contains(r->err, "version 9 has no backups");
}

/* A restore whose proof fails (a trigger changes the rows it puts back):
 * rolled back, exit 3, where DDL rolls back; on MySQL a dirty restore
 * event, exit 1. Either way the version's state stays. */
static void restore_that_does_not_prove_is_not_kept(void **state)
{
	IT_BEGIN;
	char *ev;

	staff(st);
	pair(st, "0002_cleanup", CLEANUP_UP, CLEANUP_DOWN);
	MG(r, "up");
	assert_exit(r, 0);
	switch (backend(st)) {
	case BK_POSTGRES:
		assert_int_equal(it_sql(e, "CREATE FUNCTION shout() RETURNS "
					   "trigger AS $$ BEGIN NEW.email := "
					   "upper(NEW.email); RETURN NEW; END "
					   "$$ LANGUAGE plpgsql;\n"
					   "CREATE TRIGGER shout BEFORE INSERT "
					   "ON \"Staff Leads\" FOR EACH ROW "
					   "EXECUTE FUNCTION shout();\n"),
				 0);
		break;
	case BK_MYSQL:
		assert_int_equal(it_sql(e, "CREATE TRIGGER shout BEFORE INSERT "
					   "ON `Staff Leads` FOR EACH ROW SET "
					   "NEW.email = UPPER(NEW.email)"),
				 0);
		break;
	case BK_SQLITE:
		assert_int_equal(it_sql(e, "CREATE TRIGGER shout AFTER INSERT "
					   "ON \"Staff Leads\" BEGIN UPDATE "
					   "\"Staff Leads\" SET email = "
					   "upper(email) WHERE org = NEW.org "
					   "AND code = NEW.code; END"),
				 0);
		break;
	}
	MG(r, "restore", "2");
	ev = evidence(st, "direction = 'restore'");
	assert_contains(ev, "\"verdict\":\"failed\"");
	assert_contains(ev, "\"fingerprint_after\":\"");
	assert_state(e, 2, "applied");
	if (backend(st) == BK_MYSQL) {
		assert_exit(r, 1);
		assert_contains(r->err, "not proven");
		assert_int_equal(it_ledger_count(e, "direction = 'restore' AND "
						    "status = 'dirty'"),
				 1);
		/* what it did stays, for the operator to look at */
		assert_int_equal(it_count(e, "SELECT count(*) FROM `Staff "
					     "Leads` WHERE email = 'A@X'"),
				 1);
		return;
	}
	assert_exit(r, 3);
	assert_contains(r->err, "not proven");
	assert_contains(r->err, "rolled back");
	assert_int_equal(it_ledger_count(e, "direction = 'restore' AND status "
					    "= 'rolled_back'"),
			 1);
	assert_string_equal(rows_text(st, STAFF_ROWS),
			    "2|a|c@x|dev\n2|b|d@x|dev\n");
	/* the -- restore: of the down file fails the same way */
	MG(r, "down");
	assert_exit(r, 3);
	assert_state(e, 2, "applied");
	assert_string_equal(rows_text(st, STAFF_ROWS),
			    "2|a|c@x|dev\n2|b|d@x|dev\n");
}

/* no primary key, no unique key over NOT NULL columns: exit 2 before
 * anything of the file runs, naming the table and the line */
static void table_without_key_is_refused(void **state)
{
	IT_BEGIN;

	pair(st, "0001_nokey",
	     "CREATE TABLE nokey (x int, y varchar(10) UNIQUE);\n"
	     "INSERT INTO nokey VALUES (1, 'a'), (2, 'b');\n",
	     "DROP TABLE nokey;\n");
	pair(st, "0002_purge",
	     "-- backup: nokey\n"
	     "DELETE FROM nokey;\n",
	     "-- restore: nokey\n");
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "0002_purge.up.sql:1:");
	assert_contains(r->err, "nokey has no primary key");
	assert_int_equal(it_count(e, "SELECT count(*) FROM nokey"), 2);
	assert_no_table(e, "migrate_ledger_bk_v2_nokey");
	assert_state(e, 1, "applied");
	assert_state(e, 2, "failed");

	/* the table exists before the run: refused before any file of the
	 * plan runs, the earlier 0002 included */
	assert_int_equal(it_remove(e, "0002_purge.up.sql"), 0);
	assert_int_equal(it_remove(e, "0002_purge.down.sql"), 0);
	pair(st, "0002_other", "CREATE TABLE other (x int);\n",
	     "DROP TABLE other;\n");
	pair(st, "0003_purge", "-- backup: nokey where x = 1\n"
			       "DELETE FROM nokey WHERE x = 1;\n",
	     "-- restore: nokey\n");
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "0003_purge.up.sql:1:");
	assert_no_table(e, "other");
	assert_int_equal(it_count(e, "SELECT count(*) FROM nokey"), 2);
}

/* malformed directives, a bad predicate, a table backed up twice: exit
 * 2 with file:line, nothing applied */
static void bad_backup_input(void **state)
{
	IT_BEGIN;
	static const struct {
		const char *up, *want;
	} cases[] = {
		{ "SELECT 1;\n-- backup: \"Staff Leads\" keep\n",
		  "0002_bad.up.sql:2: 'keep' needs a number of days" },
		{ "-- backup: \"Staff Leads\" keep 3w\n",
		  "0002_bad.up.sql:1: 'keep' needs a number of days" },
		{ "-- backup: \"Staff Leads\" where\n",
		  "0002_bad.up.sql:1: 'where' needs a predicate" },
		{ "-- backup: \"Staff Leads\" forever\n",
		  "0002_bad.up.sql:1: unknown word in backup:" },
		{ "-- backup: \"Staff Leads\"\n-- backup: \"Staff Leads\"\n",
		  "0002_bad.up.sql:2: a second backup: of the same table" },
		{ "-- check: rows \"Staff Leads\" delta -backup\nSELECT 1;\n",
		  "0002_bad.up.sql:1: 'rows" },
		{ "-- restore: \"Staff Leads\"\nSELECT 1;\n",
		  "0002_bad.up.sql:1: restore: belongs in the down file" },
	};
	size_t i;

	staff(st);
	MG(r, "up");
	assert_exit(r, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pair(st, "0002_bad", cases[i].up, "SELECT 1;\n");
		MG(r, "up");
		assert_exit(r, 2);
		assert_contains(r->err, cases[i].want);
	}
	/* a predicate that is not valid SQL: exit 2, nothing runs */
	pair(st, "0002_bad",
	     "-- backup: \"Staff Leads\" where nosuch_column = 1\n"
	     "DELETE FROM \"Staff Leads\";\n",
	     "SELECT 1;\n");
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "0002_bad.up.sql:1:");
	assert_contains(r->err, "nosuch_column");
	assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
	assert_no_table(e, "migrate_ledger_bk_v2_staff_leads");
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = 'ok'"),
			 0);
	/* a down file's restore: of a backup that was never taken */
	pair(st, "0002_bad", "SELECT 1;\n", "-- restore: \"Staff Leads\"\n");
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "down");
	assert_exit(r, 2);
	assert_contains(r->err, "0002_bad.down.sql:1:");
	assert_contains(r->err, "has no backup of it");
	assert_state(e, 2, "applied");
}

/* The file deletes more than it saved: the delta check fails. Where DDL
 * rolls back, nothing stays (no backup either); on MySQL the backup was
 * committed first, the version is dirty, and restore repairs the data. */
static void delta_backup_catches_a_wider_delete(void **state)
{
	IT_BEGIN;

	staff(st);
	pair(st, "0002_cleanup",
	     "-- backup: \"Staff Leads\" where role = 'lead'\n"
	     "-- check: rows \"Staff Leads\" delta -backup\n"
	     "DELETE FROM \"Staff Leads\" WHERE org = 1 OR code = 'b';\n",
	     CLEANUP_DOWN);
	MG(r, "up");
	if (backend(st) != BK_MYSQL) {
		assert_exit(r, 3);
		assert_contains(r->err, "expected -2");
		assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
		assert_no_table(e, BK_STAFF);
		MG(r, "backups", "--json");
		assert_exit(r, 0);
		assert_string_equal(r->out, "");
		return;
	}
	assert_exit(r, 1);
	assert_state(e, 2, "dirty");
	assert_table(e, BK_STAFF);
	MG(r, "backups", "--json");
	assert_exit(r, 0);
	assert_contains(r->out, "\"rows\":2,");
	/* the deleted dev row is not in the backup: restore brings back
	 * the two leads, and says so */
	MG(r, "restore", "2");
	assert_exit(r, 0);
	assert_string_equal(rows_text(st, STAFF_ROWS),
			    "1|a|a@x|lead\n1|b|-|lead\n2|a|c@x|dev\n");
	assert_state(e, 2, "dirty");
}

/* Deleting rows that other tables reference: ON DELETE CASCADE and SET
 * NULL, each caught by a check and put back by a restore: in order. */
static void cleanup_with_foreign_keys(void **state)
{
	IT_BEGIN;
	char up[1024];

	pair(st, "0001_leads",
	     "CREATE TABLE leads (id int PRIMARY KEY, stale int NOT NULL);\n"
	     "CREATE TABLE notes (id int PRIMARY KEY, lead_id int NOT NULL "
	     "REFERENCES leads (id) ON DELETE CASCADE, body varchar(20));\n"
	     "CREATE TABLE deals (id int PRIMARY KEY, lead_id int "
	     "REFERENCES leads (id) ON DELETE SET NULL, meta json);\n"
	     "INSERT INTO leads VALUES (1, 1), (2, 0), (3, 1);\n"
	     "INSERT INTO notes VALUES (10, 1, 'x'), (11, 1, 'y'), "
	     "(12, 2, 'z'), (13, 3, 'w');\n"
	     "INSERT INTO deals (id, lead_id) VALUES (20, 1), (21, 2), (22, 3);\n",
	     "DROP TABLE deals;\nDROP TABLE notes;\nDROP TABLE leads;\n");
	/* SQLite enforces foreign keys only on a connection that turns
	 * them on, which migrate leaves off (SQLite's default, which its
	 * table rebuilds need), and PRAGMA foreign_keys does nothing inside
	 * a transaction: a SQLite cleanup that relies on its cascades turns
	 * them on in a no-transaction file */
	snprintf(up, sizeof(up), "%s%s%s%s",
		 backend(st) == BK_SQLITE ? "-- migrate:no-transaction\n" : "",
	     "-- backup: leads keep 30d where stale = 1\n"
	     "-- backup: notes keep 30d where lead_id IN (SELECT id FROM "
	     "leads WHERE stale = 1)\n"
	     "-- backup: deals keep 30d where lead_id IN (SELECT id FROM "
	     "leads WHERE stale = 1)\n"
	     "-- check: rows leads delta -backup\n"
	     "-- check: rows notes delta -backup\n"
	     "-- check: rows deals unchanged\n"
	     "-- check: true SELECT count(*) = 3 FROM deals WHERE lead_id IS "
	     "NULL OR lead_id = 2\n",
	     backend(st) == BK_SQLITE ? "PRAGMA foreign_keys = ON;\n" : "",
	     "DELETE FROM leads WHERE stale = 1;\n");
	pair(st, "0002_purge", up,
	     "-- restore: leads\n"
	     "-- restore: notes\n"
	     "-- restore: deals\n"
	     "-- check: rows leads delta +backup\n"
	     "-- check: rows notes delta +backup\n"
	     "-- check: empty SELECT * FROM deals WHERE lead_id IS NULL\n");
	MG(r, "up");
	assert_exit(r, 0);
	/* a json column: PostgreSQL's typed fingerprint has no hash for
	 * it, so that backup keeps the text one (fp1), and restores */
	assert_int_equal(count_of(evidence(st, "version = 2 AND direction = "
					       "'up'"),
				  "\"fingerprint_format\":\"fp1\""),
			 backend(st) == BK_POSTGRES ? 1 : 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM notes"), 1);
	assert_int_equal(it_count(e, "SELECT count(*) FROM deals WHERE "
				     "lead_id IS NULL"),
			 2);
	MG(r, "down");
	assert_exit(r, 0);
	assert_string_equal(rows_text(st, "SELECT id, lead_id, body FROM "
					  "notes ORDER BY id"),
			    "10|1|x\n11|1|y\n12|2|z\n13|3|w\n");
	assert_string_equal(rows_text(st, "SELECT id, lead_id FROM deals "
					  "ORDER BY id"),
			    "20|1\n21|2\n22|3\n");
	assert_int_equal(it_ledger_count(e, "version = 2 AND direction = "
					    "'down' AND status = 'ok'"),
			 1);
}

/* keep 0d expires at once; prune drops it with a prune event; a pruned
 * backup cannot be restored, and a down file that needs it is refused */
static void retention_prune_and_status(void **state)
{
	IT_BEGIN;
	char *ev;

	staff(st);
	pair(st, "0002_cleanup",
	     "-- backup: \"Staff Leads\" keep 0d where role = 'lead'\n"
	     "DELETE FROM \"Staff Leads\" WHERE role = 'lead';\n",
	     CLEANUP_DOWN);
	pair(st, "0003_forever",
	     "-- backup: \"Staff Leads\" where role = 'dev'\n"
	     "SELECT 1;\n",
	     "SELECT 1;\n");
	MG(r, "up");
	assert_exit(r, 0);
	MG(r, "--json", "backups");
	assert_exit(r, 0);
	assert_contains(r->out, "\"state\":\"expired\"");
	assert_contains(r->out, "\"expires_at\":null");
	MG(r, "status");
	assert_exit(r, 0);
	assert_contains(r->err, "backups: 2 kept, 1 expired");
	/* and with --json, a last object after the migrations' */
	MG(r, "--json", "status");
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, false));
	assert_int_equal(count_of(r->out, "\n"), 4);
	assert_contains(r->out, "\"}\n{\"event\":\"backups\",\"exist\":2,"
				"\"expired\":1}\n");
	assert_int_equal(count_of(r->out, "\"state\":\"applied\""), 3);
	assert_not_contains(r->err, "backups:");
	/* an expiry never blocks up or down */
	MG(r, "up");
	assert_exit(r, 0);

	MG(r, "prune", "--dry-run");
	assert_exit(r, 0);
	assert_contains(r->err, "would drop migrate_ledger_bk_v2_staff_leads");
	assert_not_contains(r->err, "bk_v3");
	assert_table(e, BK_STAFF);
	assert_int_equal(it_ledger_count(e, "direction = 'prune'"), 0);

	MG(r, "prune", "--reason", "30 days passed");
	assert_exit(r, 0);
	assert_no_table(e, BK_STAFF);
	assert_table(e, "migrate_ledger_bk_v3_staff_leads");
	assert_int_equal(it_ledger_count(e, "direction = 'prune' AND status "
					    "= 'ok' AND version = 2 AND "
					    "reason = '30 days passed'"),
			 1);
	ev = evidence(st, "direction = 'prune'");
	assert_contains(ev, "\"rows\":2");
	assert_contains(ev, "\"fingerprint\":\"");
	assert_state(e, 2, "applied");
	MG(r, "--json", "backups");
	assert_exit(r, 0);
	assert_contains(r->out, "\"state\":\"pruned\"");

	MG(r, "restore", "2");
	assert_exit(r, 2);
	assert_contains(r->err, "pruned");
	/* a pruned backup no longer exists: 1 left, none expired */
	MG(r, "--json", "status");
	assert_exit(r, 0);
	assert_contains(r->out, "{\"event\":\"backups\",\"exist\":1,"
				"\"expired\":0}\n");
	MG(r, "status");
	assert_exit(r, 0);
	assert_contains(r->err, "backups: 1 kept, 0 expired\n");
	/* down 3 fine, then down 2 needs the pruned backup: refused */
	MG(r, "down");
	assert_exit(r, 0);
	MG(r, "down");
	assert_exit(r, 2);
	assert_contains(r->err, "0002_cleanup.down.sql:1:");
	assert_contains(r->err, "pruned");
	assert_state(e, 2, "applied");
	/* V's backups go with --version, kept or not */
	MG(r, "prune", "--version", "3");
	assert_exit(r, 0);
	assert_no_table(e, "migrate_ledger_bk_v3_staff_leads");
	MG(r, "verify");
	assert_exit(r, 0);
}

/* an existing backup table is never overwritten; a table nobody
 * recorded is an orphan, which prune drops */
static void existing_backup_table_is_not_overwritten(void **state)
{
	IT_BEGIN;

	staff(st);
	pair(st, "0002_cleanup", CLEANUP_UP, CLEANUP_DOWN);
	MG(r, "up", "--to", "1");
	assert_exit(r, 0);
	assert_int_equal(it_sql(e, "CREATE TABLE migrate_ledger_bk_v2_staff_"
				   "leads (x int)"),
			 0);
	assert_int_equal(it_sql(e, "INSERT INTO migrate_ledger_bk_v2_staff_"
				   "leads VALUES (42)"),
			 0);
	MG(r, "up");
	assert_exit(r, 1);
	assert_contains(r->err, "exists already");
	assert_contains(r->err, "prune");
	assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
	assert_int_equal(it_count(e, "SELECT x FROM migrate_ledger_bk_v2_"
				     "staff_leads"),
			 42);
	MG(r, "--json", "backups");
	assert_exit(r, 0);
	assert_contains(r->out, "\"state\":\"orphan\"");
	MG(r, "prune");
	assert_exit(r, 0);
	assert_no_table(e, BK_STAFF);
	assert_state(e, 2, "failed");
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, BK_STAFF);
}

/* --dry-run says how many rows each backup would save; changes nothing */
static void dry_run_counts_backup_rows(void **state)
{
	IT_BEGIN;
	long long bytes = 0;
	char want[128];

	staff(st);
	pair(st, "0002_cleanup", CLEANUP_UP, CLEANUP_DOWN);
	MG(r, "up", "--to", "1");
	assert_exit(r, 0);
	MG(r, "up", "--dry-run");
	assert_exit(r, 0);
	assert_contains(r->out,
			q(st, "backup \"Staff Leads\": would save 2 rows"));
	assert_contains(r->out, "(expected -2)");
	assert_no_table(e, BK_STAFF);
	assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
	MG(r, "--json", "up", "--dry-run");
	assert_exit(r, 0);
	assert_contains(r->out, "\"dry_run\":true");
	assert_contains(r->out, "\"rows\":2");
	/* and their size, as the database measures the two rows (1, 'a',
	 * 'a@x', 'lead') and (1, 'b', NULL, 'lead'): SQLite by storage
	 * class (an integer 8 bytes, text its bytes: 16 + 13), MySQL by
	 * LENGTH() (9 + 6), PostgreSQL by pg_column_size() of the row,
	 * its header included */
	switch (backend(st)) {
	case BK_SQLITE:
		bytes = 29;
		break;
	case BK_MYSQL:
		bytes = 15;
		break;
	case BK_POSTGRES:
		bytes = it_count(e, "SELECT sum(pg_column_size(s.*)) FROM "
				    "(SELECT * FROM \"Staff Leads\" WHERE "
				    "role = 'lead') AS s");
		assert_true(bytes > 2 * 24); /* two headers and values */
		break;
	}
	snprintf(want, sizeof(want), "\"bytes\":%lld,", bytes);
	assert_contains(r->out, want);
	MG(r, "up", "--dry-run");
	assert_exit(r, 0);
	snprintf(want, sizeof(want), "would save 2 rows (%lld bytes)", bytes);
	assert_contains(r->out, want);
	/* and so does the plan an approver signs off (issue 10) */
	MG(r, "plan");
	assert_exit(r, 0);
	snprintf(want, sizeof(want), "would save 2 rows (%lld bytes) now",
		 bytes);
	assert_contains(r->out, want);
	MG(r, "plan", "--format", "json");
	assert_exit(r, 0);
	assert_contains(r->out, "\"backups\":[{\"table\":");
	snprintf(want, sizeof(want), "\"rows\":2,\"bytes\":%lld}]", bytes);
	assert_contains(r->out, want);
	assert_no_table(e, BK_STAFF);
	/* one row is "1 row" */
	pair(st, "0002_cleanup",
	     "-- backup: \"Staff Leads\" where org = 1 AND code = 'a'\n"
	     "DELETE FROM \"Staff Leads\" WHERE org = 1 AND code = 'a';\n",
	     CLEANUP_DOWN);
	MG(r, "up", "--dry-run");
	assert_exit(r, 0);
	assert_contains(r->out, "would save 1 row (");
	MG(r, "up");
	assert_exit(r, 0);
	assert_contains(r->err, ": 1 row in " BK_STAFF_TEXT);
	MG(r, "restore", "2", "--dry-run");
	assert_exit(r, 0);
	assert_contains(r->err, ": 1 row saved, 1 to insert");
}

/* migrate test: backup tables are managed, and the data round trip of a
 * restored table is proven */
static void migrate_test_proves_the_data_round_trip(void **state)
{
	IT_BEGIN;

	staff(st);
	pair(st, "0002_cleanup", CLEANUP_UP, CLEANUP_DOWN);
	MG(r, "test");
	assert_exit(r, 0);
	assert_contains(r->err, "down restores the schema");
	assert_string_equal(rows_text(st, STAFF_ROWS),
			    "2|a|c@x|dev\n2|b|d@x|dev\n");
	assert_state(e, 2, "applied");
	if (backend(st) == BK_MYSQL)
		return;
	/* a down file that does not bring back all the up changed: the
	 * proof fails and is rolled back */
	pair(st, "0003_more",
	     "-- backup: \"Staff Leads\" where org = 2 AND code = 'a'\n"
	     "DELETE FROM \"Staff Leads\" WHERE org = 2 AND code = 'a';\n"
	     "UPDATE \"Staff Leads\" SET email = 'changed' WHERE code = "
	     "'b';\n",
	     "-- restore: \"Staff Leads\"\n");
	MG(r, "test");
	assert_exit(r, 4);
	assert_contains(r->err, "does not bring back the data");
	assert_state(e, 3, "pending");
	assert_string_equal(rows_text(st, STAFF_ROWS),
			    "2|a|c@x|dev\n2|b|d@x|dev\n");
}

/* A runner killed while it copies: a complete backup recorded in the
 * ledger, or none; on MySQL a leftover table is an orphan that prune
 * drops. */
static void killed_runner_mid_backup(void **state)
{
	IT_BEGIN;
	/* SQLite has no sleep: a count to three million, which takes
	 * about a second (once: the subquery does not depend on the row) */
	const char *slow =
		backend(st) == BK_POSTGRES
			? "(SELECT count(*) FROM pg_sleep(1.5)) = 1"
		: backend(st) == BK_MYSQL
			? "SLEEP(1.5) = 0"
			: "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT "
			  "i + 1 FROM n WHERE i < 3000000) SELECT count(*) "
			  "FROM n) > 0";
	char up[512], journal[512];
	int waited;
	const char *const args[] = { "up", NULL };
	pid_t pid;

	staff(st);
	MG(r, "up");
	assert_exit(r, 0);
	snprintf(up, sizeof(up),
		 "-- backup: \"Staff Leads\" where role = 'lead' AND %s\n"
		 "DELETE FROM \"Staff Leads\" WHERE role = 'lead';\n",
		 slow);
	pair(st, "0002_cleanup", up, CLEANUP_DOWN);
	pid = it_mg_bg(e, "killed", NULL, args);
	assert_true(pid > 0);
	if (backend(st) == BK_SQLITE) {
		/* the copy's write transaction has begun once the rollback
		 * journal is there (the ledger's own writes are quick) */
		snprintf(journal, sizeof(journal), "%s-journal",
			 e->url + strlen("sqlite:"));
		for (waited = 0; !it_exists(journal) && waited < 10000;
		     waited += 20)
			it_sleep_ms(20);
		it_sleep_ms(300);
	} else {
		it_sleep_ms(700);
	}
	kill(pid, SIGKILL);
	assert_int_equal(it_wait(pid, 10000), 128 + SIGKILL);
	it_sleep_ms(2500); /* the server finishes or drops the copy */
	assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
	assert_int_equal(it_ledger_count(e, "version = 2 AND checks LIKE "
					    "'%backup_table%'"),
			 0);
	if (backend(st) != BK_MYSQL) {
		assert_no_table(e, BK_STAFF);
		MG(r, "up");
		assert_exit(r, 0);
		assert_table(e, BK_STAFF);
		return;
	}
	/* MySQL: the copy may have committed before the kill */
	MG(r, "--json", "backups");
	assert_exit(r, 0);
	if (it_table_exists(e, BK_STAFF))
		assert_contains(r->out, "\"state\":\"orphan\"");
	MG(r, "prune");
	assert_exit(r, 0);
	assert_no_table(e, BK_STAFF);
	MG(r, "repair", "2", "--reason", "killed while backing up");
	assert_exit(r, 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, BK_STAFF);
}

/* Generated columns (stored, and virtual where the database has them)
 * and a PostgreSQL identity ALWAYS key: restore neither inserts nor sets
 * what the table computes (it recomputes from the restored values, and
 * the proof covers it), and inserts an identity ALWAYS key with
 * OVERRIDING SYSTEM VALUE. */
static void restore_with_generated_and_identity_columns(void **state)
{
	IT_BEGIN;
	static const char ROWS[] = "SELECT id, price, qty, total FROM gen "
				   "ORDER BY id";
	static const char ALL[] = "1|2|3|6\n2|5|7|35\n3|1|1|1\n";

	switch (backend(st)) {
	case BK_POSTGRES:
		pair(st, "0001_gen",
		     "CREATE TABLE gen (id int GENERATED ALWAYS AS IDENTITY "
		     "PRIMARY KEY, price int NOT NULL, qty int NOT NULL, total "
		     "int GENERATED ALWAYS AS (price * qty) STORED);\n"
		     "INSERT INTO gen (price, qty) VALUES (2, 3), (5, 7), "
		     "(1, 1);\n",
		     "DROP TABLE gen;\n");
		break;
	case BK_MYSQL:
		pair(st, "0001_gen",
		     "CREATE TABLE gen (id int PRIMARY KEY, price int NOT "
		     "NULL, qty int NOT NULL, total int GENERATED ALWAYS AS "
		     "(price * qty) STORED, half int GENERATED ALWAYS AS "
		     "(price DIV 2) VIRTUAL);\n"
		     "INSERT INTO gen (id, price, qty) VALUES (1, 2, 3), "
		     "(2, 5, 7), (3, 1, 1);\n",
		     "DROP TABLE gen;\n");
		break;
	case BK_SQLITE:
		pair(st, "0001_gen",
		     "CREATE TABLE gen (id INTEGER PRIMARY KEY, price int NOT "
		     "NULL, qty int NOT NULL, total int GENERATED ALWAYS AS "
		     "(price * qty) STORED, half int GENERATED ALWAYS AS "
		     "(price / 2) VIRTUAL);\n"
		     "INSERT INTO gen (id, price, qty) VALUES (1, 2, 3), "
		     "(2, 5, 7), (3, 1, 1);\n",
		     "DROP TABLE gen;\n");
		break;
	}
	/* one row deleted (inserted back), one updated (set back) */
	pair(st, "0002_change",
	     "-- backup: gen keep 30d where price > 1\n"
	     "-- check: rows gen delta -1\n"
	     "DELETE FROM gen WHERE price = 2;\n"
	     "UPDATE gen SET qty = qty + 10 WHERE price = 5;\n",
	     "-- restore: gen\n"
	     "-- check: rows gen delta +1\n");
	MG(r, "up");
	assert_exit(r, 0);
	assert_string_equal(rows_text(st, ROWS), "2|5|17|85\n3|1|1|1\n");
	assert_contains(evidence(st, "version = 2 AND direction = 'up'"),
			"\"rows\":2");
	MG(r, "down");
	assert_exit(r, 0);
	assert_string_equal(rows_text(st, ROWS), ALL);
	if (backend(st) != BK_POSTGRES)
		assert_string_equal(rows_text(st, "SELECT id, half FROM gen "
						  "ORDER BY id"),
				    "1|1\n2|2\n3|0\n");
	assert_contains(evidence(st, "version = 2 AND direction = 'down'"),
			"\"verdict\":\"ok\"");
	/* up again reuses the backup (its table still matches), then the
	 * command restores after the change */
	MG(r, "up");
	assert_exit(r, 0);
	assert_contains(evidence(st, "version = 2 AND direction = 'up' AND "
				     "status = 'ok'"),
			"\"reused\":true");
	MG(r, "restore", "2");
	assert_exit(r, 0);
	assert_string_equal(rows_text(st, ROWS), ALL);
	if (backend(st) == BK_POSTGRES) {
		/* the identity keeps counting past the restored keys */
		assert_int_equal(it_sql(e, "INSERT INTO gen (price, qty) "
					   "VALUES (4, 4)"),
				 0);
		assert_int_equal(it_count(e, "SELECT max(id) FROM gen"), 4);
	}
	MG(r, "verify");
	assert_exit(r, 0);
}

/* The key check of a table that an earlier file of the same run creates
 * (so it cannot be judged before the run): judged when the file's turn
 * comes, before its SQL and before any of its backups is taken, so the
 * earlier files stay applied and the refused file leaves nothing (no
 * backup table, on MySQL either). */
static void key_check_of_a_table_an_earlier_file_creates(void **state)
{
	IT_BEGIN;

	staff(st);
	pair(st, "0002_loose",
	     "CREATE TABLE loose (x int, y varchar(10));\n"
	     "INSERT INTO loose VALUES (1, 'a'), (2, 'b');\n",
	     "DROP TABLE loose;\n");
	pair(st, "0003_purge",
	     "-- backup: \"Staff Leads\" where role = 'lead'\n"
	     "-- backup: loose where x = 1\n"
	     "DELETE FROM \"Staff Leads\" WHERE role = 'lead';\n"
	     "DELETE FROM loose WHERE x = 1;\n",
	     "-- restore: loose\n-- restore: \"Staff Leads\"\n");
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "0003_purge.up.sql:2:");
	assert_contains(r->err, "loose has no primary key");
	assert_state(e, 1, "applied");
	assert_state(e, 2, "applied");
	assert_state(e, 3, "failed");
	assert_int_equal(it_count(e, "SELECT count(*) FROM loose"), 2);
	assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
	/* the keyed table's backup, first in the file, was not taken */
	assert_no_table(e, "migrate_ledger_bk_v3_staff_leads");
	assert_no_table(e, "migrate_ledger_bk_v3_loose");
	MG(r, "--json", "backups");
	assert_exit(r, 0);
	assert_not_contains(r->out, "bk_v3");
	/* fixed (the keyless table's backup dropped), the next up retries
	 * the failed file */
	assert_int_equal(it_remove(e, "0003_purge.up.sql"), 0);
	assert_int_equal(it_write_str(e, "0003_purge.up.sql",
				      q(st, "-- backup: \"Staff Leads\" "
					    "where role = 'lead'\n"
					    "-- check: rows \"Staff Leads\" "
					    "delta -backup\n"
					    "DELETE FROM \"Staff Leads\" "
					    "WHERE role = 'lead';\n")),
			 0);
	assert_int_equal(it_remove(e, "0003_purge.down.sql"), 0);
	assert_int_equal(it_write_str(e, "0003_purge.down.sql",
				      q(st, "-- restore: \"Staff Leads\"\n")),
			 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "migrate_ledger_bk_v3_staff_leads");
	MG(r, "down");
	assert_exit(r, 0);
	assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
}

/* Outside a transaction (MySQL always; a no-transaction file anywhere)
 * a failed check is answered by the down file: its restore: lines put
 * back what the up file's backups had just saved, so the undo proves
 * itself (exit 3, rolled_back, not dirty), and the backup stays for
 * the file's next run to reuse. */
static void undo_outside_a_transaction_restores(void **state)
{
	IT_BEGIN;
	char *ev;

	staff(st);
	pair(st, "0002_cleanup",
	     "-- migrate:no-transaction\n"
	     "-- backup: \"Staff Leads\" keep 30d where role = 'lead'\n"
	     "-- check: rows \"Staff Leads\" delta -3\n"
	     "DELETE FROM \"Staff Leads\" WHERE role = 'lead';\n",
	     CLEANUP_DOWN);
	MG(r, "up");
	assert_exit(r, 3);
	assert_contains(r->err, "every before value was restored");
	assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
	assert_int_equal(it_ledger_count(e, "version = 2 AND status = "
					    "'rolled_back'"),
			 1);
	/* the event keeps both: the backup, and the undo's proven restore */
	ev = evidence(st, "version = 2 AND status = 'rolled_back'");
	assert_contains(ev, "\"kind\":\"backup\"");
	assert_contains(ev, "\"kind\":\"restore\"");
	assert_contains(ev, "\"inserted\":2");
	assert_contains(ev, "\"verdict\":\"ok\"");
	assert_state(e, 2, "failed");
	assert_table(e, BK_STAFF);
	/* fixed, the file runs again and reuses its backup */
	pair(st, "0002_cleanup",
	     "-- migrate:no-transaction\n"
	     "-- backup: \"Staff Leads\" keep 30d where role = 'lead'\n"
	     "-- check: rows \"Staff Leads\" delta -backup\n"
	     "DELETE FROM \"Staff Leads\" WHERE role = 'lead';\n",
	     CLEANUP_DOWN);
	MG(r, "up");
	assert_exit(r, 0);
	assert_contains(evidence(st, "version = 2 AND status = 'ok'"),
			"\"reused\":true");
	MG(r, "down");
	assert_exit(r, 0);
	assert_string_equal(rows_text(st, STAFF_ROWS), STAFF_ALL);
}

/* ---- registration ---- */

#define BODIES(X)                                                             \
	X(cleanup_backup_and_restore)                                         \
	X(restore_command_after_later_migrations)                             \
	X(restore_refuses_missing_columns)                                    \
	X(restore_that_does_not_prove_is_not_kept)                            \
	X(table_without_key_is_refused)                                       \
	X(bad_backup_input)                                                   \
	X(delta_backup_catches_a_wider_delete)                                \
	X(retention_prune_and_status)                                         \
	X(existing_backup_table_is_not_overwritten)                           \
	X(dry_run_counts_backup_rows)                                         \
	X(migrate_test_proves_the_data_round_trip)                            \
	X(restore_with_generated_and_identity_columns)                        \
	X(key_check_of_a_table_an_earlier_file_creates)                       \
	X(cleanup_with_foreign_keys)                                          \
	X(killed_runner_mid_backup)                                           \
	X(undo_outside_a_transaction_restores)

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

#define T(body, bk)                                                           \
	cmocka_unit_test_setup_teardown(test_##body##_##bk, it_setup,         \
					it_teardown),
#define T_SQLITE(body) T(body, sqlite)
#define T_POSTGRES(body) T(body, postgres)
#define T_MYSQL(body) T(body, mysql)

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = { BODIES(T_SQLITE) };
	const struct CMUnitTest postgres_tests[] = {
		BODIES(T_POSTGRES)
	};
	const struct CMUnitTest mysql_tests[] = {
		BODIES(T_MYSQL)
	};
	return IT_RUN_ENGINES("it_backup", sqlite_tests, postgres_tests, mysql_tests);
}
