/*
 * The command line of the built binary (MG_BIN): what the option table of
 * cmd/options.c promises. Help: 'migrate help CMD' is 'migrate CMD --help',
 * listing the command's own options and the global ones, one line each.
 * Parsing: --opt=value, --opt value, -dVALUE, -d VALUE, and -- ending the
 * options; and the usage errors (exit 2). SQLite only: no server, never
 * skipped. Self-contained (no tests/support), like it_json.c.
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

struct env {
	char root[64]; /* mkdtemp'd; the binary runs here */
	char cmd[1024];
	char out[8192], err[4096]; /* the last run's stdout and stderr */
};

static const char *const commands[] = { "new",    "status",   "up",
	                                "down",   "test",     "verify",
	                                "ledger", "baseline", "repair",
	                                "keygen", "config" };

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if ((*state = e) == NULL)
		return -1;
	snprintf(e->root, sizeof(e->root), "/tmp/mg_it_cli_XXXXXX");
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

static void slurp(const struct env *e, const char *name, char *out, size_t size)
{
	char path[128];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", e->root, name);
	assert_non_null(f = fopen(path, "r"));
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

/* Runs `VARS migrate ARGS` (no -d or -m added) in e->root, without
 * DATABASE_URL or MIGRATE_DIR; its exit code, e->out and e->err. */
static int mg_with(struct env *e, const char *vars, const char *args)
{
	const char *bin = getenv("MG_BIN");
	int st;

	snprintf(e->cmd, sizeof(e->cmd),
	         "cd '%s' && env -u DATABASE_URL -u MIGRATE_DIR %s '%s' %s "
	         ">out.txt 2>err.txt",
	         e->root, vars, bin && *bin ? bin : "migrate", args);
	st = system(e->cmd);
	assert_true(WIFEXITED(st));
	slurp(e, "out.txt", e->out, sizeof(e->out));
	slurp(e, "err.txt", e->err, sizeof(e->err));
	return WEXITSTATUS(st);
}

/* The same with environment variables: "NAME=value ..." */
static int mg(struct env *e, const char *args)
{
	return mg_with(e, "", args);
}

static void assert_contains(const char *s, const char *needle)
{
	if (strstr(s, needle) == NULL)
		fail_msg("'%s' not in:\n%s", needle, s);
}

static void test_help_cmd_equals_cmd_help(void **state)
{
	struct env *e = *state;
	char via_help[sizeof(e->out)], args[64], want[64];
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		snprintf(args, sizeof(args), "help %s", commands[i]);
		assert_int_equal(mg(e, args), 0);
		memcpy(via_help, e->out, sizeof(via_help));
		snprintf(args, sizeof(args), "%s --help", commands[i]);
		assert_int_equal(mg(e, args), 0);
		assert_string_equal(via_help, e->out);
		snprintf(args, sizeof(args), "-h %s", commands[i]);
		assert_int_equal(mg(e, args), 0);
		assert_string_equal(via_help, e->out);
		snprintf(want, sizeof(want), "usage: migrate %s", commands[i]);
		assert_int_equal(strncmp(e->out, want, strlen(want)), 0);
		/* the global options, with every command */
		assert_contains(e->out, "\n  -d, --database URL ");
		assert_contains(e->out, "\n      --lock-timeout TIME ");
		assert_string_equal(e->err, "");
	}
}

/* Each command lists its own options, one line each, and no other's. */
static void test_help_lists_own_options(void **state)
{
	struct env *e = *state;
	const char *p, *nl;

	assert_int_equal(mg(e, "help up"), 0);
	assert_contains(e->out, "usage: migrate up [--to V] [--dry-run] "
	                        "[--show-sql] [--allow-out-of-order]\n"
	                        "                  [--reason TEXT] [--preview] "
	                        "[--plan FILE]");
	assert_contains(e->out, " [--targets FILE]");
	assert_contains(e->out, "\n  -j, --jobs N ");
	assert_contains(e->out, "\n      --to V ");
	assert_contains(e->out, "\n      --dry-run ");
	assert_contains(e->out, "\n      --allow-out-of-order ");
	assert_null(strstr(e->out, "--steps"));
	assert_null(strstr(e->out, "--applied"));
	for (p = e->out; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		if (nl - p > 80)
			fail_msg("longer than 80 columns: %.*s", (int)(nl - p),
			         p);

	assert_int_equal(mg(e, "help repair"), 0);
	assert_contains(e->out, "usage: migrate repair V --reason TEXT "
	                        "[--applied]\n");
	assert_int_equal(mg(e, "help keygen"), 0);
	assert_contains(e->out, "usage: migrate keygen --out FILE\n");
	assert_int_equal(mg(e, "help status"), 0);
	assert_contains(e->out, "\n      --exit-code ");
	assert_int_equal(mg(e, "help config"), 0);
	assert_null(strstr(e->out, "\noptions:"));
	assert_contains(e->out, "\nglobal options:\n");
	assert_contains(e->out, "\n      --env NAME ");

	/* the whole program's help: every command, to stdout */
	assert_int_equal(mg(e, "help"), 0);
	assert_contains(e->out, "\n  baseline  ");
	assert_int_equal(mg(e, "--help"), 0);
	assert_contains(e->out, "\n  keygen    ");
	/* no command: the same text to stderr, exit 2 */
	assert_int_equal(mg(e, ""), 2);
	assert_contains(e->err, "usage: migrate [options] <command>");
	assert_int_equal(mg(e, "help nope"), 2);
	assert_contains(e->err, "error: unknown command 'nope'\n");
}

static void test_value_forms(void **state)
{
	struct env *e = *state;

	assert_int_equal(mg(e, "-d sqlite:t.db -m migrations status"), 0);
	assert_int_equal(mg(e, "-dsqlite:t.db -mmigrations status"), 0);
	assert_int_equal(mg(e, "--database=sqlite:t.db --dir=migrations "
	                       "status"),
	                 0);
	assert_int_equal(mg(e, "status --database sqlite:t.db --dir "
	                       "migrations --lock-timeout=0"),
	                 0);
	/* an option's value may look like an option */
	assert_int_equal(mg(e, "-m migrations new x --json"), 0);
	assert_contains(e->out, "{\"event\":\"created\"");
}

static void test_double_dash_ends_options(void **state)
{
	struct env *e = *state;
	struct stat sb;
	char path[128];

	/* after --, "-odd" and "--json" are arguments, not options */
	assert_int_equal(mg(e, "-m migrations new -- -odd"), 0);
	snprintf(path, sizeof(path), "%s/migrations/0001_-odd.up.sql", e->root);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(mg(e, "-m migrations new -- --json"), 0);
	assert_null(strstr(e->out, "{"));
	/* "--" itself is no argument */
	assert_int_equal(mg(e, "-m migrations new -- "), 2);
	assert_contains(e->err, "error: new takes one NAME\n");
	/* and the command may follow it */
	assert_int_equal(mg(e, "-d sqlite:t.db -m migrations -- status"), 0);
}

static const struct {
	const char *args;
	const char *err;
} usage_cases[] = {
	{ "up --bogus", "error: unknown option '--bogus'\n"
	                "hint: see 'migrate up --help'\n" },
	{ "-x up", "error: unknown option '-x'\n" },
	{ "up --json=yes", "error: option '--json' takes no value\n" },
	{ "up -hx", "error: option '-h' takes no value\n" },
	{ "up --to", "error: option '--to' needs a value\n" },
	{ "up -d", "error: option '-d' needs a value\n" },
	{ "up --to=x", "error: --to takes a version number, not 'x'\n" },
	{ "up --to -1", "error: --to takes a version number, not '-1'\n" },
	{ "down --steps 0",
	  "error: --steps takes a count of 1 or more, not '0'\n" },
	{ "status --lock-timeout 3000000",
	  "error: --lock-timeout takes a duration such as 30s, 500ms, 2m or "
	  "1h, not '3000000'\n" },
	{ "status --lock-timeout 5x",
	  "error: --lock-timeout takes a duration such as 30s, 500ms, 2m or "
	  "1h, not '5x'\n" },
	{ "baseline 1 --reason r --dry-run",
	  "error: 'baseline' does not take --dry-run\n"
	  "hint: see 'migrate baseline --help'\n" },
	{ "status --to 3", "error: 'status' does not take --to\n" },
	{ "nope", "error: unknown command 'nope'\n"
	          "hint: see 'migrate --help'\n" },
	/* 16 positional arguments at most (job run NAME...) */
	{ "new a b c d e f g h i j k l m n o p q",
	  "error: too many arguments\n" },
};

static void test_usage_errors(void **state)
{
	struct env *e = *state;
	char args[128];
	size_t i;

	for (i = 0; i < sizeof(usage_cases) / sizeof(usage_cases[0]); i++) {
		snprintf(args, sizeof(args), "-d sqlite:t.db %s",
		         usage_cases[i].args);
		if (mg(e, args) != 2)
			fail_msg("'%s' did not exit 2: %s", args, e->err);
		assert_contains(e->err, usage_cases[i].err);
		assert_string_equal(e->out, "");
	}
	/* with --json, a usage error is the summary line too */
	assert_int_equal(mg(e, "--json up --bogus"), 2);
	assert_contains(e->out, "{\"event\":\"summary\",\"command\":\"up\","
	                        "\"status\":\"error\",\"exit_code\":2,");
}

/* ---- migrate.conf ---- */

static void put(const struct env *e, const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", e->root, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static const char CONF[] = "# shared\n"
                           "database = sqlite:top.db\n"
                           "lock-timeout = 2m\n"
                           "\n"
                           "[env staging]\n"
                           "database = sqlite:${STAGE_DB}\n"
                           "ledger-table = stage_ledger\n"
                           "\n"
                           "[env prod]\n"
                           "database = postgres://app:s3cr3tpw@db/app\n";

/* Precedence: flag, environment variable, --env section, top, default;
 * `migrate config` says where each came from. */
static void test_config_precedence(void **state)
{
	struct env *e = *state;

	put(e, "migrate.conf", CONF);
	put(e, "migrations/1_a.up.sql", "CREATE TABLE a (x int);\n");
	put(e, "migrations/1_a.down.sql", "DROP TABLE a;\n");
	assert_int_equal(mg(e, "config"), 0);
	assert_contains(e->out, "sqlite:top.db");
	assert_contains(e->out, "migrate.conf:2");
	assert_contains(e->out, "120s");
	assert_contains(e->out, "migrate.conf:3");
	assert_contains(e->out, "migrate_ledger");
	assert_contains(e->out, "default");
	assert_int_equal(mg(e, "--env staging config"), 2);
	assert_contains(e->err, "migrate.conf:6: ${STAGE_DB} is not set");
	assert_int_equal(mg(e, "--env staging config --json"), 2);
	assert_int_equal(
	        mg(e, "--env staging up"), 2); /* nothing runs without it */
	assert_int_equal(mg_with(e, "STAGE_DB=s.db", "--env staging up"), 0);
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/s.db", e->root);
		assert_int_equal(access(path, F_OK), 0); /* the section's */
		snprintf(path, sizeof(path), "%s/top.db", e->root);
		assert_true(access(path, F_OK) != 0);
	}
	/* the environment beats the file, the flag beats both */
	assert_int_equal(mg_with(e, "STAGE_DB=s.db DATABASE_URL=sqlite:env.db",
	                         "--env staging config"),
	                 0);
	assert_contains(e->out, "sqlite:env.db");
	assert_contains(e->out, "environment (DATABASE_URL)");
	assert_contains(e->out, "migrate.conf:7 [env staging]");
	assert_int_equal(mg(e, "-d sqlite:flag.db --lock-timeout 5 config"), 0);
	assert_contains(e->out, "5s");
	assert_int_equal(mg(e, "-d sqlite:flag.db --lock-timeout 1500ms config"),
	                 0);
	assert_contains(e->out, "2s");
	assert_int_equal(mg(e, "-d sqlite:flag.db --lock-timeout=2m config"), 0);
	assert_contains(e->out, "120s");
	assert_int_equal(mg(e, "-d sqlite:flag.db --lock-timeout 5 config"), 0);
	assert_contains(e->out, "sqlite:flag.db");
	assert_contains(e->out, "5s");
	assert_contains(e->out, "flag");
}

/* A password in the file is never shown, and draws a warning. */
static void test_config_hides_and_warns_of_passwords(void **state)
{
	struct env *e = *state;

	put(e, "migrate.conf", CONF);
	assert_int_equal(mg(e, "--env prod config"), 0);
	assert_contains(e->out, "postgres://app:***@db/app");
	assert_contains(e->err, "migrate.conf:10: warning: the database URL "
	                        "holds its password");
	if (strstr(e->out, "s3cr3tpw") || strstr(e->err, "s3cr3tpw"))
		fail_msg("the password was shown");
	assert_int_equal(mg(e, "--env prod config --json"), 0);
	assert_contains(e->out, "\"value\":\"postgres://app:***@db/app\"");
}

/* Every bad file is exit 2, naming the file and the line. */
static void test_config_errors_name_file_and_line(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "dir = m\nbogus = 1\n", "c.conf:2: unknown key 'bogus'" },
		{ "\n\n[other]\n", "c.conf:3: unknown section" },
		{ "lock-timeout = soon\n", "c.conf:1: lock-timeout takes" },
		{ "retries = many\n", "c.conf:1: retries takes a count" },
		{ "ddl-lock-timeout = 0\n",
		  "c.conf:1: ddl-lock-timeout takes a duration" },
		{ "statement-timeout = 5x\n",
		  "c.conf:1: statement-timeout takes a duration" },
		{ "dir = a\ndir = b\n", "c.conf:2: 'dir' is set twice" },
		{ "[env x]\nwho = 1\n", "c.conf:2: unknown key 'who'" },
		{ "just words\n", "c.conf:1: not a 'key = value' line" },
		{ "ledger-table = l\ndir = ${HOME\n",
		  "c.conf:2: '${' without its '}'" },
	};
	struct env *e = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put(e, "c.conf", cases[i].text);
		assert_int_equal(mg(e, "--config c.conf -d sqlite:x.db status"),
		                 2);
		assert_contains(e->err, cases[i].want);
	}
	/* a NUL byte silently cut its line, and an over-long line was
	 * read as several, each numbered: the error named line 35088 of a
	 * file of one line */
	{
		static const char nul[] = "dir = m\nledger-table = l\0x\n";
		char path[128], *longline;
		FILE *f;

		snprintf(path, sizeof(path), "%s/c.conf", e->root);
		assert_non_null(f = fopen(path, "w"));
		assert_int_equal(fwrite(nul, 1, sizeof(nul) - 1, f),
		                 sizeof(nul) - 1);
		fclose(f);
		assert_int_equal(mg(e, "--config c.conf -d sqlite:x.db status"),
		                 2);
		assert_contains(e->err, "c.conf:2: a NUL byte in the line");
		assert_non_null(longline = malloc(20000));
		memset(longline, 'x', 19998);
		longline[19998] = '\n';
		longline[19999] = '\0';
		put(e, "c.conf", longline);
		free(longline);
		assert_int_equal(mg(e, "--config c.conf -d sqlite:x.db status"),
		                 2);
		assert_contains(e->err, "c.conf:1: a line longer than");
	}
	assert_int_equal(mg(e, "--config missing.conf status"), 2);
	assert_contains(e->err, "cannot read config file 'missing.conf'");
	put(e, "c.conf", "dir = migrations\n");
	assert_int_equal(mg(e, "--config c.conf --env nope status"), 2);
	assert_contains(e->err, "no section [env nope]");
	assert_int_equal(mg(e, "--env nope status"), 2); /* no file at all */
}

/* new: "add orders" becomes add_orders; --timestamp versions by the
 * clock, and two pairs in one second still get two versions. */
static void test_new_names_and_timestamps(void **state)
{
	struct env *e = *state;
	char up[64];

	assert_int_equal(mg(e, "new 'add orders'"), 0);
	assert_contains(e->out, "migrations/0001_add_orders.up.sql\n");
	assert_int_equal(mg(e, "new --timestamp '  two  words '"), 0);
	assert_int_equal(strlen(e->out), strlen("migrations/") + 14 +
	                                         strlen("_two_words.up.sql\n") +
	                                         strlen("migrations/") + 14 +
	                                         strlen("_two_words.down.sql\n"));
	assert_true(strncmp(e->out + strlen("migrations/"), "20", 2) == 0);
	memcpy(up, e->out, sizeof(up) - 1);
	up[sizeof(up) - 1] = '\0';
	assert_int_equal(mg(e, "new --timestamp x"), 0);
	assert_true(strcmp(e->out, up) > 0); /* a later version */
	assert_int_equal(mg(e, "-d sqlite:t.db up"), 0);
	assert_int_equal(mg(e, "new 'bad/name'"), 2);
	assert_contains(e->err, "letters, digits");
	assert_int_equal(mg(e, "new '   '"), 2);
}

/* The plan an approver reads goes to stdout, SQL included on demand. */
static void test_dry_run_plan_on_stdout(void **state)
{
	struct env *e = *state;

	put(e, "migrations/1_a.up.sql", "CREATE TABLE a (x int);\n\n"
	                                "INSERT INTO a VALUES (1);\n");
	put(e, "migrations/1_a.down.sql", "DROP TABLE a;\n");
	assert_int_equal(mg(e, "-d sqlite:t.db up --dry-run"), 0);
	assert_contains(e->out, "would run up migrations/1_a.up.sql\n");
	assert_null(strstr(e->out, "CREATE TABLE"));
	assert_int_equal(mg(e, "-d sqlite:t.db up --dry-run --show-sql"), 0);
	assert_contains(e->out, "  sql:\n    CREATE TABLE a (x int);\n\n"
	                        "    INSERT INTO a VALUES (1);\n");
	assert_int_equal(mg(e, "-d sqlite:t.db --json up --dry-run --show-sql"),
	                 0);
	assert_contains(e->out, "\"sql\":\"CREATE TABLE a (x int);\\n");
	/* with --json, stderr is for errors only (SPEC.md) */
	assert_null(strstr(e->err, "would run up"));
	assert_null(strstr(e->out, "would run up"));
	assert_int_equal(mg(e, "-d sqlite:t.db up --show-sql"), 2);
	assert_contains(e->err, "--show-sql goes with --dry-run");
}

/* `migrate -d sqlite:t.db status` on a terminal: its screen in e->out */
static int tty_status(struct env *e, const char *vars)
{
	const char *bin = getenv("MG_BIN");
	int st;

	snprintf(e->cmd, sizeof(e->cmd),
	         "cd '%s' && script -qec \"env -u NO_COLOR TERM=xterm %s '%s' "
	         "-d sqlite:t.db status\" /dev/null >tty.txt 2>&1",
	         e->root, vars, bin && *bin ? bin : "migrate");
	st = system(e->cmd);
	slurp(e, "tty.txt", e->out, sizeof(e->out));
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* --quiet leaves errors only, --verbose adds the settings; colour only
 * at a terminal, never in a pipe or with NO_COLOR. */
static void test_quiet_verbose_and_colour(void **state)
{
	struct env *e = *state;

	put(e, "migrations/1_a.up.sql", "CREATE TABLE a (x int);\n");
	put(e, "migrations/1_a.down.sql", "DROP TABLE a;\n");
	assert_int_equal(mg(e, "-d sqlite:t.db -q up"), 0);
	assert_string_equal(e->err, "");
	assert_int_equal(mg(e, "-d sqlite:t.db --quiet up --to x"), 2);
	assert_contains(e->err, "error: --to takes a version number");
	assert_int_equal(mg(e, "-d sqlite:t.db -v status"), 0);
	assert_contains(e->err, "setting database = sqlite:t.db (flag)\n");
	assert_contains(e->err, "setting dir = migrations (default)\n");
	assert_contains(e->out, " applied ");
	assert_null(strstr(e->out, "\033[")); /* a file: no colour */
	put(e, "migrate.conf", "new-timestamp = true\n");
	assert_int_equal(mg(e, "new x"), 0);
	assert_contains(e->out, "migrations/20");
	put(e, "migrate.conf", "new-timestamp = yes\n");
	assert_int_equal(mg(e, "new y"), 2);
	assert_contains(e->err, "migrate.conf:1: new-timestamp takes true or "
	                        "false");
	put(e, "migrate.conf", "\n");
	/* at a terminal (script(1) gives one), colour; NO_COLOR: none */
	if (system("command -v script >/dev/null") != 0)
		return;
	assert_int_equal(tty_status(e, ""), 0);
	assert_contains(e->out, "\033[32mapplied");
	assert_int_equal(tty_status(e, "NO_COLOR=1"), 0);
	assert_contains(e->out, "applied");
	assert_null(strstr(e->out, "\033["));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_help_cmd_equals_cmd_help),
		T(test_help_lists_own_options),
		T(test_value_forms),
		T(test_double_dash_ends_options),
		T(test_usage_errors),
		T(test_config_precedence),
		T(test_config_hides_and_warns_of_passwords),
		T(test_config_errors_name_file_and_line),
		T(test_new_names_and_timestamps),
		T(test_dry_run_plan_on_stdout),
		T(test_quiet_verbose_and_colour),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
