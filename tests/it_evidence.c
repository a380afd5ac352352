/*
 * Integration tests of issue 10, "know before it runs, prove after": the
 * evidence of every run (each statement's line, tag, rows and time; a
 * failing check's rows; record: queries), up --preview, migrate plan and
 * up --plan FILE, and ledger --format html. The built binary (MG_BIN)
 * runs against SQLite, PostgreSQL (MG_TEST_PG_DSN) and MariaDB/MySQL
 * (MG_TEST_MYSQL_DSN), one body per behaviour registered once per
 * database, as in it_core.c.
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

#include "migrator/driver.h"
#include "support/it.h"

static enum backend bk_of(const struct it_state *st)
{
	return st->bk;
}

/* The checks column of the latest row with this status for version v. */
static char *evidence_of(struct it_state *st, int v, const char *status)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "SELECT checks FROM migrate_ledger WHERE version = %d AND "
		 "status = '%s' ORDER BY id DESC LIMIT 1",
		 v, status);
	return it_own(st, it_value(&st->e, sql));
}

/* A file path under the test's root, owned by the test. */
static char *root_file(struct it_state *st, const char *name)
{
	char *p = malloc(strlen(st->e.root) + strlen(name) + 2);

	assert_non_null(p);
	sprintf(p, "%s/%s", st->e.root, name);
	return it_own(st, p);
}

static void write_root_file(struct it_state *st, const char *name,
			    const char *text)
{
	FILE *f = fopen(root_file(st, name), "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static const char USERS_UP[] =
	"CREATE TABLE users (id int PRIMARY KEY, status varchar(20));\n"
	"-- three users\n"
	"INSERT INTO users VALUES (1, 'new'), (2, 'new'), (3, 'old');\n"
	"UPDATE users SET status = 'active' WHERE status = 'new';\n";

/* Each statement's line, tag and rows in the ledger, in --json and in
 * the human output. */
static void statements_are_evidence(void **state)
{
	IT_BEGIN;
	char *ev;

	assert_int_equal(it_pair(e, "0001_users", USERS_UP,
				 "DROP TABLE users;\n"),
			 0);
	assert_int_equal(it_pair(e, "0002_more",
				 "INSERT INTO users VALUES (4, 'x');\n"
				 "DELETE FROM users WHERE id > 2;\n",
				 "SELECT 1;\n"),
			 0);
	MG(r, "up", "--to", "1");
	assert_exit(r, 0);
	ev = evidence_of(st, 1, "ok");
	assert_contains(ev, "{\"kind\":\"statement\",\"line\":1,"
			    "\"tag\":\"CREATE TABLE\"");
	assert_contains(ev, "{\"kind\":\"statement\",\"line\":3,"
			    "\"tag\":\"INSERT\",\"rows\":3,\"ms\":");
	assert_contains(ev, "{\"kind\":\"statement\",\"line\":4,"
			    "\"tag\":\"UPDATE\",\"rows\":2,\"ms\":");
	assert_int_equal(count_of(ev, "\"kind\":\"statement\""), 3);
	/* people see it too: a header with the target and the plan, one
	 * line per file, its evidence indented, a summary */
	assert_contains(r->err, "up on ");
	assert_contains(r->err, "plan: 1 file to apply: 0001_users\n");
	assert_contains(r->err, "1 migration applied\n");
	assert_contains(r->err, "  line 3: INSERT, 3 rows (");
	assert_contains(r->err, "  line 4: UPDATE, 2 rows (");

	MG(r, "--json", "up");
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, true));
	assert_contains(r->out, "{\"kind\":\"statement\",\"line\":1,"
				"\"tag\":\"INSERT\",\"rows\":1,\"ms\":");
	assert_contains(r->out, "{\"kind\":\"statement\",\"line\":2,"
				"\"tag\":\"DELETE\",\"rows\":2,\"ms\":");
	ev = evidence_of(st, 2, "ok");
	assert_contains(ev, "\"tag\":\"DELETE\",\"rows\":2");

	/* outside a transaction, statement by statement: the same */
	assert_int_equal(it_pair(e, "0003_nt",
				 "-- migrate:no-transaction\n"
				 "INSERT INTO users VALUES (7, 'n');\n"
				 "\n"
				 "UPDATE users SET status = 'z' WHERE id = 7;\n",
				 "DELETE FROM users WHERE id = 7;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 0);
	ev = evidence_of(st, 3, "ok");
	assert_contains(ev, "{\"kind\":\"statement\",\"line\":2,"
			    "\"tag\":\"INSERT\",\"rows\":1,\"ms\":");
	assert_contains(ev, "{\"kind\":\"statement\",\"line\":4,"
			    "\"tag\":\"UPDATE\",\"rows\":1,\"ms\":");
}

/* A 67-statement file keeps 50 statements and a marker that counts
 * them all; the run does not fail. */
static void many_statements_are_bounded(void **state)
{
	IT_BEGIN;
	char up[8192], *ev;
	size_t len;
	int i;

	len = (size_t)snprintf(up, sizeof(up),
			       "CREATE TABLE n (x int);\n");
	for (i = 0; i < 66; i++)
		len += (size_t)snprintf(up + len, sizeof(up) - len,
					"INSERT INTO n VALUES (%d);\n", i);
	assert_int_equal(it_pair(e, "0001_n", up, "DROP TABLE n;\n"), 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_int_equal(it_count(e, "SELECT count(*) FROM n"), 66);
	ev = evidence_of(st, 1, "ok");
	assert_int_equal(count_of(ev, "\"kind\":\"statement\""), 51);
	assert_contains(ev, "\"truncated\":true,\"statements\":67,"
			    "\"shown\":50,\"rows\":66");
	assert_true(strlen(ev) < 8192);
	assert_contains(r->err, "... 57 more statements (67 in all");
}

/* A failing empty check keeps (up to 10 of) the rows it found, a failing
 * true check the value it saw. */
static void failing_checks_keep_what_they_saw(void **state)
{
	IT_BEGIN;
	char up[1024], *ev;
	size_t len;
	int i;

	len = (size_t)snprintf(up, sizeof(up),
			       "CREATE TABLE t (id int PRIMARY KEY);\n");
	for (i = 1; i <= 12; i++)
		len += (size_t)snprintf(up + len, sizeof(up) - len,
					"INSERT INTO t VALUES (%d);\n", i);
	assert_int_equal(it_pair(e, "0001_t", up, "DROP TABLE t;\n"), 0);
	assert_int_equal(it_pair(e, "0002_bad",
				 "-- check: empty SELECT id FROM t ORDER BY "
				 "id\n"
				 "UPDATE t SET id = id + 100 WHERE id > 11;\n",
				 "UPDATE t SET id = id - 100 WHERE id > 100;\n"),
			 0);
	MG(r, "up", "--to", "1");
	assert_exit(r, 0);
	MG(r, "up");
	assert_exit(r, 3);
	ev = evidence_of(st, 2, "rolled_back");
	assert_non_null(ev);
	assert_contains(ev, "\"kind\":\"empty\"");
	assert_contains(ev, "\"after\":\"12 rows\"");
	assert_contains(ev, "\"rows\":[[\"1\"],[\"2\"],[\"3\"],[\"4\"],"
			    "[\"5\"],[\"6\"],[\"7\"],[\"8\"],[\"9\"],[\"10\"],"
			    "\"truncated: 12 rows of 1 column, 10 rows of 1 "
			    "column shown\"]");

	assert_int_equal(it_remove(e, "0002_bad.up.sql"), 0);
	assert_int_equal(it_remove(e, "0002_bad.down.sql"), 0);
	assert_int_equal(it_pair(e, "0002_t2",
				 "-- check: true SELECT count(*) = 1 FROM t\n"
				 "DELETE FROM t WHERE id = 1;\n",
				 "INSERT INTO t VALUES (1);\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 3);
	ev = evidence_of(st, 2, "rolled_back");
	assert_contains(ev, "\"kind\":\"true\"");
	assert_contains(ev, "\"verdict\":\"failed\"");
	/* the value it saw: false, however the database spells it */
	assert_true(contains(ev, "\"after\":\"f\"") ||
		    contains(ev, "\"after\":\"0\""));
}

/* record: before and after, bounded, never failing; a record that cannot
 * run is exit 2 before the file runs. */
static void record_keeps_before_and_after(void **state)
{
	IT_BEGIN;
	char up[16384], *ev;
	size_t len;
	int i;

	len = (size_t)snprintf(up, sizeof(up),
			       "CREATE TABLE o (id int PRIMARY KEY, st "
			       "varchar(10));\n");
	for (i = 1; i <= 150; i++)
		len += (size_t)snprintf(up + len, sizeof(up) - len,
					"INSERT INTO o VALUES (%d, '%s');\n", i,
					i % 3 ? "open" : "done");
	assert_int_equal(it_pair(e, "0001_o", up, "DROP TABLE o;\n"), 0);
	assert_int_equal(
		it_pair(e, "0002_close",
			"-- record: SELECT st, count(*) FROM o GROUP BY st "
			"ORDER BY st\n"
			"-- record: SELECT id FROM o ORDER BY id\n"
			"UPDATE o SET st = 'done' WHERE id <= 10;\n",
			"SELECT 1;\n"),
		0);
	MG(r, "up");
	assert_exit(r, 0);
	ev = evidence_of(st, 2, "ok");
	assert_contains(ev, "\"kind\":\"record\"");
	assert_contains(ev, "\"rows_before\":2,\"before\":[[\"done\",\"50\"],"
			    "[\"open\",\"100\"]]");
	assert_contains(ev, "\"rows_after\":2,\"after\":[[\"done\",\"57\"],"
			    "[\"open\",\"93\"]]");
	/* 150 rows: 100 kept and a marker */
	assert_contains(ev, "\"rows_before\":150");
	assert_contains(ev, "[\"100\"],\"truncated: 150 rows of 1 column, "
			    "100 rows of 1 column shown\"]");
	assert_contains(r->err, "record SELECT st, count(*) FROM o GROUP BY "
				"st ORDER BY st: 2 rows -> 2 rows recorded");

	/* a record that fails after the file (it dropped the table) keeps
	 * a note and fails nothing */
	assert_int_equal(it_pair(e, "0003_drop",
				 "-- record: SELECT count(*) FROM o\n"
				 "DROP TABLE o;\n"
				 "CREATE TABLE o2 (x int);\n",
				 "CREATE TABLE o (id int PRIMARY KEY, st "
				 "varchar(10));\nDROP TABLE o2;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 0);
	assert_table(e, "o2");
	assert_no_table(e, "o");
	ev = evidence_of(st, 3, "ok");
	assert_contains(ev, "\"rows_before\":1,\"before\":[[\"150\"]],"
			    "\"after\":null,\"verdict\":\"ok\",\"note\":");

	/* a record query that cannot run: exit 2 before the file runs */
	assert_int_equal(it_pair(e, "0004_bad",
				 "-- record: SELECT nope FROM nosuch_table\n"
				 "CREATE TABLE after_bad (x int);\n",
				 "DROP TABLE after_bad;\n"),
			 0);
	MG(r, "up");
	assert_exit(r, 2);
	assert_contains(r->err, "0004_bad.up.sql:1:");
	assert_no_table(e, "after_bad");
}

/* up --preview: per statement and check, the exit code of a real run,
 * and nothing changed. */
static void preview_rehearses_and_changes_nothing(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_users", USERS_UP,
				 "DROP TABLE users;\n"),
			 0);
	assert_int_equal(it_pair(e, "0002_check",
				 "-- check: rows users delta -1\n"
				 "DELETE FROM users WHERE id = 3;\n",
				 "INSERT INTO users VALUES (3, 'old');\n"),
			 0);
	MG(r, "up", "--preview");
	assert_exit(r, 0);
	assert_contains(r->err, "same locks as the real run");
	assert_contains(r->err, "rehearsed up   ");
	assert_contains(r->err, "  line 3: INSERT, 3 rows (");
	assert_contains(r->err, "  rows users: 3 -> 2 (expected -1) ok");
	assert_contains(r->err, "nothing changed; a real run would exit 0");
	assert_no_table(e, "users");
	assert_int_equal(it_ledger_count(e, NULL), 0);

	MG(r, "up", "--preview", "--dry-run");
	assert_exit(r, 2);

	/* a check that would fail: exit 3, still nothing changed */
	assert_int_equal(it_write_str(e, "0002_check.up.sql",
				      "-- check: rows users delta -2\n"
				      "DELETE FROM users WHERE id = 3;\n"),
			 0);
	MG(r, "--json", "up", "--preview");
	assert_exit(r, 3);
	assert_true(it_json_lines(r->out, true));
	assert_contains(r->out, "\"preview\":true");
	assert_contains(r->out, "\"status\":\"rolled_back\"");
	assert_no_table(e, "users");
	assert_int_equal(it_ledger_count(e, NULL), 0);

	/* an SQL error: exit 1 */
	assert_int_equal(it_write_str(e, "0002_check.up.sql",
				      "DELETE FROM nosuch_table;\n"),
			 0);
	MG(r, "up", "--preview");
	assert_exit(r, 1);
	assert_contains(r->err, "a real run would exit 1");
	assert_no_table(e, "users");

	/* a no-transaction file is listed, not run */
	assert_int_equal(it_write_str(e, "0002_check.up.sql",
				      "-- migrate:no-transaction\n"
				      "CREATE TABLE nt (x int);\n"),
			 0);
	MG(r, "up", "--preview");
	assert_exit(r, 0);
	assert_contains(r->err, "not rehearsed");
	assert_no_table(e, "nt");
	assert_no_table(e, "users");
}

/* MySQL: DDL commits, so a rehearsal would apply the files. */
static void preview_refused_where_ddl_commits(void **state)
{
	IT_BEGIN;

	assert_int_equal(it_pair(e, "0001_users", USERS_UP,
				 "DROP TABLE users;\n"),
			 0);
	MG(r, "up", "--preview");
	assert_exit(r, 2);
	assert_contains(r->err, "DDL commits implicitly");
	assert_no_table(e, "users");
	MG(r, "plan", "--preview");
	assert_exit(r, 2);
	assert_no_table(e, "users");
}

/* migrate plan, then up --plan: it runs while the plan holds, and the
 * ledger names the plan's hash; a changed file or before value is exit
 * 4 naming it; a non-plan, a truncated one or another database's, 2. */
static void plan_then_up_with_plan(void **state)
{
	IT_BEGIN;
	char *doc, *json, sum[65], *ev, *wrong;
	size_t len;

	assert_int_equal(it_pair(e, "0001_users", USERS_UP,
				 "DROP TABLE users;\n"),
			 0);
	assert_int_equal(it_pair(e, "0002_check",
				 "-- check: rows users delta -1\n"
				 "DELETE FROM users WHERE id = 3;\n",
				 "INSERT INTO users VALUES (3, 'old');\n"),
			 0);
	MG(r, "up", "--to", "1");
	assert_exit(r, 0);

	MG(r, "plan", "--out", "plan.md");
	assert_exit(r, 0);
	doc = it_own(st, it_read_file(root_file(st, "plan.md"), &len));
	assert_non_null(doc);
	assert_contains(doc, "# Migration plan");
	assert_contains(doc, "0002_check.up.sql");
	assert_contains(doc, "DELETE FROM users WHERE id = 3;");
	assert_contains(doc, "` check: rows users delta -1 ` before value ` 3 `");
	assert_contains(doc, "```json migrate-plan\n{\"migrate_plan\":1");
	assert_not_contains(doc, "0001_users.up.sql");
	it_checksum(sum, doc, len);

	MG(r, "plan", "--format", "json");
	assert_exit(r, 0);
	assert_true(it_json_lines(r->out, false));
	assert_int_equal(count_of(r->out, "\n"), 1);
	assert_contains(r->out, "\"before\":\"3\"");

	/* the data moved since the plan: exit 4 naming the check */
	assert_int_equal(it_sql(e, "INSERT INTO users VALUES (9, 'x')"), 0);
	MG(r, "up", "--plan", "plan.md");
	assert_exit(r, 4);
	assert_contains(r->err, "check 'check: rows users delta -1': its "
				"before value changed since the plan (3 in the "
				"plan, 4 now)");
	assert_state(e, 2, "pending");
	assert_int_equal(it_sql(e, "DELETE FROM users WHERE id = 9"), 0);

	/* a file changed since: exit 4 naming it */
	assert_int_equal(it_write_str(e, "0002_check.up.sql",
				      "-- check: rows users delta -1\n"
				      "DELETE FROM users WHERE id = 2;\n"),
			 0);
	MG(r, "up", "--plan", "plan.md");
	assert_exit(r, 4);
	assert_contains(r->err, "0002_check.up.sql: changed since the plan");
	assert_state(e, 2, "pending");
	assert_int_equal(it_write_str(e, "0002_check.up.sql",
				      "-- check: rows users delta -1\n"
				      "DELETE FROM users WHERE id = 3;\n"),
			 0);

	/* not a plan, truncated, another database's: exit 2 */
	write_root_file(st, "notes.txt", "approved by Ada\n");
	MG(r, "up", "--plan", "notes.txt");
	assert_exit(r, 2);
	assert_contains(r->err, "is not a plan");
	json = strstr(doc, "```json migrate-plan");
	assert_non_null(json);
	json = it_own(st, strndup(doc, (size_t)(json - doc) + 40));
	write_root_file(st, "cut.md", json);
	MG(r, "up", "--plan", "cut.md");
	assert_exit(r, 2);
	assert_contains(r->err, "truncated");
	wrong = it_own(st, strdup(doc));
	{
		/* the same plan, made for another database */
		char *u = strstr(wrong, "\"url\":\"");

		assert_non_null(u);
		memcpy(u + 7, "zz", 2);
	}
	write_root_file(st, "other.md", wrong);
	MG(r, "up", "--plan", "other.md");
	assert_exit(r, 2);
	assert_contains(r->err, "was made for another database");
	MG(r, "up", "--plan", "plan.md", "--dry-run");
	assert_exit(r, 2);
	/* the JSON form is a plan too; cut short, it is no plan */
	MG(r, "plan", "--format", "json", "--out", "plan.json");
	assert_exit(r, 0);
	json = it_own(st, it_read_file(root_file(st, "plan.json"), &len));
	assert_non_null(json);
	json[len / 2] = '\0';
	write_root_file(st, "cut.json", json);
	MG(r, "up", "--plan", "cut.json");
	assert_exit(r, 2);
	assert_contains(r->err, "'cut.json' is not a plan or is truncated");
	assert_state(e, 2, "pending");

	/* as approved: it runs, and the ledger names the plan */
	MG(r, "up", "--plan", "plan.md");
	assert_exit(r, 0);
	assert_state(e, 2, "applied");
	ev = evidence_of(st, 2, "ok");
	assert_contains(ev, "{\"kind\":\"plan\",\"hash\":\"");
	assert_contains(ev, sum);
}

/* plan --preview: the rehearsal in the document, and its exit code. */
static void plan_preview_holds_the_rehearsal(void **state)
{
	IT_BEGIN;
	char *doc;

	assert_int_equal(it_pair(e, "0001_users", USERS_UP,
				 "DROP TABLE users;\n"),
			 0);
	MG(r, "plan", "--preview");
	assert_exit(r, 0);
	doc = r->out;
	assert_contains(doc, "Rehearsal: **ok**");
	assert_contains(doc, "| 3 | INSERT | 3 |");
	assert_contains(doc, "same locks");
	assert_no_table(e, "users");
	assert_int_equal(it_ledger_count(e, NULL), 0);

	assert_int_equal(it_write_str(e, "0001_users.up.sql",
				      "CREATE TABLE users (id int);\n"
				      "-- check: true SELECT count(*) = 1 "
				      "FROM users\n"),
			 0);
	MG(r, "plan", "--preview", "--format", "json");
	assert_exit(r, 3);
	assert_true(it_json_lines(r->out, false));
	assert_int_equal(count_of(r->out, "\n"), 1);
	assert_contains(r->out, "\"exit\":3");
	assert_contains(r->out, "\"status\":\"rolled_back\"");
	assert_no_table(e, "users");
}

/*
 * Headless Chromium on a page of the test's root: `what` is --dump-dom
 * (the DOM goes to root/dom.html) or a --screenshot=PATH. Fresh profile,
 * nothing fetched. Returns system()'s status; skips the test where
 * there is no chromium (a test machine set up by scripts/deps.sh has
 * one; with MG_TEST_REQUIRE_SERVERS a missing one fails instead).
 */
static int chromium(struct it_state *st, const char *page, const char *what)
{
	char cmd[4096];

	if (system("command -v chromium >/dev/null 2>&1") != 0) {
		if (getenv("MG_TEST_REQUIRE_SERVERS"))
			fail_msg("no chromium: scripts/deps.sh test installs "
				 "it");
		skip();
	}
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && timeout 120 chromium --headless --no-sandbox "
		 "--disable-gpu --disable-quic --no-first-run "
		 "--disable-background-networking --disable-component-update "
		 "--disable-sync --user-data-dir='%s/chromium-profile' "
		 "--window-size=1400,900 %s 'file://%s/%s' >'%s/dom.html' "
		 "2>'%s/chromium.err'",
		 st->e.root, st->e.root, what, st->e.root, page, st->e.root,
		 st->e.root);
	return system(cmd);
}

/* ledger --format html: self-contained, escaped, with the verdicts, and
 * a real browser shows them. */
static void html_ledger_renders_in_a_browser(void **state)
{
	IT_BEGIN;
	char *dom, shot[400];
	size_t len;

	assert_int_equal(it_pair(e, "0001_users", USERS_UP,
				 "DROP TABLE users;\n"),
			 0);
	MG(r, "up", "--reason", "<script>alert(1)</script> & \"x\"");
	assert_exit(r, 0);
	MG(r, "ledger", "--format", "html");
	assert_exit(r, 0);
	assert_contains(r->out, "<!DOCTYPE html>");
	assert_not_contains(r->out, "<script");
	assert_not_contains(r->out, "http://");
	assert_not_contains(r->out, "https://");
	assert_not_contains(r->out, "src=");
	assert_contains(r->out, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; "
				"&quot;x&quot;");
	assert_contains(r->out, "Hash chain: intact.");
	assert_contains(r->out, "line 3: <code>INSERT</code>, 3 rows");
	write_root_file(st, "report.html", r->out);

	assert_int_equal(chromium(st, "report.html", "--dump-dom"), 0);
	dom = it_own(st, it_read_file(root_file(st, "dom.html"), &len));
	assert_non_null(dom);
	assert_contains(dom, "<b>Hash chain: intact.</b>");
	assert_contains(dom, "Signatures: not checked.");
	/* the reason is text in the page, not a script */
	assert_contains(dom, "&lt;script&gt;alert(1)&lt;/script&gt;");
	snprintf(shot, sizeof(shot), "--screenshot='%s/shot.png'", e->root);
	assert_int_equal(chromium(st, "report.html", shot), 0);
	dom = it_own(st, it_read_file(root_file(st, "shot.png"), &len));
	assert_non_null(dom);
	assert_true(len > 10000);
	assert_memory_equal(dom, "\x89PNG", 4);

	/* a changed row: the page says so, and the exit code too */
	assert_int_equal(it_sql(e, "UPDATE migrate_ledger SET name = 'other' "
				   "WHERE version = 1"),
			 0);
	MG(r, "ledger", "--format", "html");
	assert_exit(r, 4);
	write_root_file(st, "tampered.html", r->out);
	assert_int_equal(chromium(st, "tampered.html", "--dump-dom"), 0);
	dom = it_own(st, it_read_file(root_file(st, "dom.html"), &len));
	assert_contains(dom, "<b>Hash chain: BROKEN.</b>");
	assert_contains(dom, "class=\"problem\"");
}

/* ---- registration ---- */

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

#define BODIES(X)                                                             \
	X(statements_are_evidence)                                            \
	X(many_statements_are_bounded)                                        \
	X(failing_checks_keep_what_they_saw)                                  \
	X(record_keeps_before_and_after)                                      \
	X(plan_then_up_with_plan)                                             \
	X(html_ledger_renders_in_a_browser)

/* where DDL rolls back */
#define TXN_BODIES(X)                                                         \
	X(preview_rehearses_and_changes_nothing)                              \
	X(plan_preview_holds_the_rehearsal)

#define EACH_TXN(body)                                                        \
	static void test_##body##_sqlite(void **state)                        \
	{                                                                     \
		body(state);                                                  \
	}                                                                     \
	static void test_##body##_postgres(void **state)                      \
	{                                                                     \
		body(state);                                                  \
	}

BODIES(EACH)
TXN_BODIES(EACH_TXN)

static void test_preview_refused_mysql(void **state)
{
	preview_refused_where_ddl_commits(state);
}

#define T_SQLITE(body)                                                        \
	cmocka_unit_test_setup_teardown(test_##body##_sqlite, it_setup,       \
					it_teardown),
#define T_POSTGRES(body)                                                      \
	cmocka_unit_test_setup_teardown(test_##body##_postgres, it_setup,     \
					it_teardown),
#define T_MYSQL(body)                                                         \
	cmocka_unit_test_setup_teardown(test_##body##_mysql, it_setup,        \
					it_teardown),

int main(void)
{
	const struct CMUnitTest sqlite_tests[] = { BODIES(T_SQLITE)
							   TXN_BODIES(T_SQLITE) };
	const struct CMUnitTest postgres_tests[] = {
		BODIES(T_POSTGRES) TXN_BODIES(T_POSTGRES)
	};
	const struct CMUnitTest mysql_tests[] = {
		BODIES(T_MYSQL) cmocka_unit_test_setup_teardown(
			test_preview_refused_mysql, it_setup, it_teardown),
	};
	int failed = 0;

	(void)bk_of;
	if (sodium_init() < 0 || mg_drivers_init() < 0)
		return 1;
	failed += cmocka_run_group_tests_name("it_evidence_sqlite",
					      sqlite_tests, it_group_setup_sqlite,
					      it_group_teardown);
	failed += cmocka_run_group_tests_name("it_evidence_postgres",
					      postgres_tests,
					      it_group_setup_postgres,
					      it_group_teardown);
	failed += cmocka_run_group_tests_name("it_evidence_mysql", mysql_tests,
					      it_group_setup_mysql,
					      it_group_teardown);
	mg_drivers_end();
	return failed;
}
