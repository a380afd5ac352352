/*
 * End to end: every --json line the built binary (MG_BIN) prints is valid
 * JSON to a strict outside reader (Python's json module), even when a
 * migration file holds bytes that are not UTF-8 and the ledger was
 * tampered with. SQLite only: no server, never skipped. Self-contained on
 * purpose (no tests/support), so it needs nothing but MG_BIN and python3.
 */
#include <setjmp.h>
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
#include <sqlite3.h>

struct env {
	char root[64]; /* mkdtemp'd; the binary runs here */
	char cmd[4096];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if ((*state = e) == NULL)
		return -1;
	snprintf(e->root, sizeof(e->root), "/tmp/mg_it_json_XXXXXX");
	if (mkdtemp(e->root) == NULL)
		return -1;
	snprintf(e->cmd, sizeof(e->cmd), "%s/migrations", e->root);
	return mkdir(e->cmd, 0755);
}

static int teardown(void **state)
{
	struct env *e = *state;

	snprintf(e->cmd, sizeof(e->cmd), "rm -rf '%s'", e->root);
	if (system(e->cmd) != 0)
		fprintf(stderr, "could not remove %s\n", e->root);
	free(e);
	return 0;
}

static void write_file(const struct env *e, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/migrations/%s", e->root, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Runs `migrate -d sqlite:t.db -m migrations ARGS > out` in e->root and
 * returns its exit code. */
static int mg(struct env *e, const char *args, const char *out)
{
	const char *bin = getenv("MG_BIN");
	int st;

	snprintf(e->cmd, sizeof(e->cmd),
	         "cd '%s' && '%s' -d sqlite:t.db -m migrations %s >%s "
	         "2>/dev/null",
	         e->root, bin && *bin ? bin : "migrate", args, out);
	st = system(e->cmd);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Runs python3 with `script` on e->root/`file` as stdin; its exit code. */
static int py(struct env *e, const char *script, const char *file)
{
	int st;

	snprintf(e->cmd, sizeof(e->cmd), "cd '%s' && python3 -c '%s' <%s",
	         e->root, script, file);
	st = system(e->cmd);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Every line parses, and there is at least one. */
#define ALL_JSON                                                               \
	"import json,sys; ls=[json.loads(l) for l in sys.stdin]; "             \
	"sys.exit(0 if ls else 1)"

static void sql(const struct env *e, const char *stmt)
{
	char path[128];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/t.db", e->root);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, stmt, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* A check line saved in Latin-1: "café" as the single byte E9. */
static void latin1_pair(const struct env *e)
{
	write_file(e, "0001_latin.up.sql",
	           "-- check: empty SELECT 1 WHERE 'caf\xE9' <> 'caf\xE9'\n"
	           "CREATE TABLE t (id INTEGER, note TEXT);\n"
	           "INSERT INTO t VALUES (1, 'caf\xE9');\n");
	write_file(e, "0001_latin.down.sql", "DROP TABLE t;\n");
}

static void test_latin1_check_line_gives_valid_json(void **state)
{
	struct env *e = *state;

	latin1_pair(e);
	assert_int_equal(mg(e, "up --dry-run --json", "dry.out"), 0);
	assert_int_equal(py(e, ALL_JSON, "dry.out"), 0);
	assert_int_equal(mg(e, "up --json", "up.out"), 0);
	assert_int_equal(py(e, ALL_JSON, "up.out"), 0);
	/* the byte is U+FFFD in the event's evidence */
	assert_int_equal(py(e,
	                    "import json,sys; "
	                    "ev=[v for v in map(json.loads, sys.stdin) "
	                    "if v.get(\"event\") == \"migration\"][0]; "
	                    "c=ev[\"checks\"][0][\"check\"]; "
	                    "sys.exit(0 if \"caf\\ufffd\" in c else 1)",
	                    "up.out"),
	                 0);
	assert_int_equal(mg(e, "status --json", "status.out"), 0);
	assert_int_equal(py(e, ALL_JSON, "status.out"), 0);
	assert_int_equal(mg(e, "verify --json", "verify.out"), 0);
	assert_int_equal(py(e, ALL_JSON, "verify.out"), 0);
	assert_int_equal(mg(e, "down --json", "down.out"), 0);
	assert_int_equal(py(e, ALL_JSON, "down.out"), 0);
}

static void test_ledger_json_checks_is_an_array(void **state)
{
	struct env *e = *state;

	latin1_pair(e);
	assert_int_equal(mg(e, "up", "/dev/null"), 0);
	assert_int_equal(mg(e, "ledger --json", "ledger.out"), 0);
	assert_int_equal(py(e, ALL_JSON, "ledger.out"), 0);
	/* an array, not a string holding JSON; numbers are numbers */
	assert_int_equal(py(e,
	                    "import json,sys; r=json.loads(sys.stdin.read()); "
	                    "ok=isinstance(r[\"checks\"],list) and "
	                    "r[\"checks\"][0][\"verdict\"]==\"ok\" and "
	                    "r[\"id\"]==1 and r[\"version\"]==1; "
	                    "sys.exit(0 if ok else 1)",
	                    "ledger.out"),
	                 0);
	/* the auditor's recipe of MIGRATING.md: the checks text that the
	 * entry hash covers is the array written back compactly */
	assert_int_equal(
	        py(e,
	           "import hashlib,json,sys\n"
	           "fs=[\"prev_hash\",\"id\",\"version\",\"name\","
	           "\"direction\",\"status\",\"up_checksum\","
	           "\"down_checksum\",\"started_at\",\"finished_at\","
	           "\"duration_ms\",\"db_user\",\"os_user\",\"host\","
	           "\"tool_version\",\"checks\",\"error\",\"reason\"]\n"
	           "for l in sys.stdin:\n"
	           " r=json.loads(l); form=b\"\"\n"
	           " for f in fs:\n"
	           "  v=r[f]\n"
	           "  if v is None: form+=b\"-\\n\"; continue\n"
	           "  if not isinstance(v,str): v=json.dumps(v,"
	           "ensure_ascii=False,separators=(\",\",\":\"))\n"
	           "  v=v.encode(); form+=b\"%d:%s\\n\"%(len(v),v)\n"
	           " h=hashlib.blake2b(form,digest_size=32).hexdigest()\n"
	           " sys.exit(0 if h==r[\"entry_hash\"] else 1)\n",
	           "ledger.out"),
	        0);
}

static void test_tampered_ledger_still_gives_valid_json(void **state)
{
	struct env *e = *state;

	latin1_pair(e);
	assert_int_equal(mg(e, "up", "/dev/null"), 0);
	/* checks that are not JSON, with a Latin-1 byte; a duration that
	 * is not a number (SQLite columns take any text) */
	sql(e, "UPDATE migrate_ledger SET checks = '[{\"verdict\":\"caf'"
	       " || char(233) || '\"', name = 'x' || cast(x'E9' AS TEXT),"
	       " duration_ms = 'slow'");
	assert_int_equal(mg(e, "ledger --json", "ledger.out"), 0);
	assert_int_equal(py(e, ALL_JSON, "ledger.out"), 0);
	assert_int_equal(py(e,
	                    "import json,sys; r=json.loads(sys.stdin.read()); "
	                    "ok=isinstance(r[\"checks\"],str) and "
	                    "r[\"duration_ms\"]==\"slow\" and "
	                    "r[\"name\"]==\"x\\ufffd\"; "
	                    "sys.exit(0 if ok else 1)",
	                    "ledger.out"),
	                 0);
	/* verify finds the tampering and still prints valid JSON */
	assert_int_equal(mg(e, "verify --json", "verify.out"), 4);
	assert_int_equal(py(e, ALL_JSON, "verify.out"), 0);
}

/* An older migrate stored check text byte for byte: the array still
 * reads, its Latin-1 byte as U+FFFD, and the table counts its verdicts. */
static void test_legacy_latin1_checks_still_read(void **state)
{
	struct env *e = *state;

	latin1_pair(e);
	assert_int_equal(mg(e, "up", "/dev/null"), 0);
	sql(e, "UPDATE migrate_ledger SET checks = '[{\"check\":\"caf'"
	       " || cast(x'E9' AS TEXT) || '\",\"verdict\":\"ok\"}]'");
	assert_int_equal(mg(e, "ledger --json", "ledger.out"), 0);
	assert_int_equal(py(e,
	                    "import json,sys; r=json.loads(sys.stdin.read()); "
	                    "c=r[\"checks\"]; "
	                    "sys.exit(0 if c[0][\"check\"]==\"caf\ufffd\" "
	                    "else 1)",
	                    "ledger.out"),
	                 0);
	assert_int_equal(mg(e, "ledger", "table.out"), 0);
	assert_int_equal(py(e,
	                    "import sys; t=sys.stdin.read(); "
	                    "sys.exit(0 if \" 1/1 ok \" in t else 1)",
	                    "table.out"),
	                 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		        test_latin1_check_line_gives_valid_json, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(
		        test_ledger_json_checks_is_an_array, setup, teardown),
		cmocka_unit_test_setup_teardown(
		        test_tampered_ledger_still_gives_valid_json, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(
		        test_legacy_latin1_checks_still_read, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
