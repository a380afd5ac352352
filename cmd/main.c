/*
 * migrate: the command line. Parses argv and the environment into struct
 * opts (cmd/options.c), dispatches through the command table, and leaves
 * reporting and exit codes to cmd/report.c. The only code that exits.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "cmd/cmd.h"
#include "cmd/config.h"
#include "cmd/doc.h"
#include "cmd/fleet.h"
#include "cmd/options.h"
#include "migrator/driver.h"
#include "migrator/drivers/url.h"

static const struct command commands[] = {
	{ "new", cmd_new, 0, O_TIMESTAMP, 0, "NAME",
	  "create the next NNNN_NAME.up.sql / .down.sql pair" },
	{ "status", cmd_status, NEED_DB, O_EXIT_CODE | O_TARGETS, 0, "",
	  "show every migration: applied, pending, failed, dirty, drifted, "
	  "missing" },
	{ "up", cmd_up, NEED_DB,
	  O_TO | O_DRY_RUN | O_SHOW_SQL | O_OUT_OF_ORDER | O_REASON |
	          O_PREVIEW | O_PLAN | O_TARGETS,
	  0, "",
	  "apply pending migrations in version order" },
	{ "down", cmd_down, NEED_DB,
	  O_STEPS | O_TO | O_ALL | O_DRY_RUN | O_SHOW_SQL |
	          O_ALLOW_CHANGED_DOWN | O_REASON | O_TARGETS,
	  0, "",
	  "roll back applied migrations (default: exactly one)" },
	{ "test", cmd_test, NEED_DB, O_TO | O_OUT_OF_ORDER | O_TARGETS |
	          O_LOCKS | O_STRICT,
	  0, "",
	  "prove each pending migration: up, checks, down, schema as before, "
	  "up again" },
	{ "verify", cmd_verify, NEED_DB,
	  O_PUBLIC_KEY | O_CHECKPOINT | O_TARGETS, 0, "",
	  "check applied files against the ledger, its hash chain and "
	  "signatures" },
	{ "ledger", cmd_ledger, NEED_DB,
	  O_FORMAT | O_CHECKPOINT | O_PUBLIC_KEY, 0, "",
	  "print the whole ledger, oldest first" },
	{ "baseline", cmd_baseline, NEED_DB, O_REASON | O_FROM | O_TABLE, 0,
	  "(V --reason TEXT | --from TOOL)",
	  "record versions up to V as applied without running them" },
	{ "repair", cmd_repair, NEED_DB, O_REASON | O_APPLIED, O_REASON, "V",
	  "clear a failed or dirty state after fixing it by hand" },
	{ "plan", cmd_plan, NEED_DB,
	  O_PREVIEW | O_OUT | O_FORMAT | O_TO | O_OUT_OF_ORDER, 0, "",
	  "the plan an approver signs off: files, SQL, live check values" },
	/* backups */
	{ "restore", cmd_restore, NEED_DB,
	  O_TABLE | O_DRY_RUN | O_REASON | O_JOB_BACKUP | O_JOB_EVENT, 0,
	  "(V | --job NAME [--event ID])",
	  "put back the rows version V's (or a job's) backups saved, and "
	  "prove it" },
	{ "backups", cmd_backups, NEED_DB, 0, 0, "",
	  "list every backup: table, rows, fingerprint, expiry, state" },
	{ "prune", cmd_prune, NEED_DB,
	  O_DRY_RUN | O_PRUNE_VERSION | O_REASON | O_JOB_BACKUP, 0, "",
	  "drop expired backups (or version V's, or a job's), a ledger event "
	  "each" },
	{ "keygen", cmd_keygen, 0, O_OUT, O_OUT, "",
	  "create an Ed25519 key pair for signing ledger rows" },
	{ "config", cmd_config, 0, 0, 0, "",
	  "show the effective settings and where each came from" },
	{ "job", cmd_job, NEED_DB,
	  O_DUE | O_DRY_RUN | O_REASON | O_JOBS_DIR | O_PREVIEW,
	  0, "(list | run (NAME... | --due))",
	  "recurring and batched data jobs: list them, run them" },
	{ NULL, NULL, 0, 0, 0, NULL, NULL },
};

static const struct command *find_command(const char *name)
{
	const struct command *c;

	for (c = commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* An unknown command is no command: its hint is 'migrate --help'. */
static int unknown_command(struct opts *o, const char *name)
{
	o->command = NULL;
	return usage_error(o, "unknown command '%s'", name);
}

/* `migrate help [CMD]`: the same text as `migrate [CMD] --help` */
static int help(struct opts *o)
{
	const struct command *c;

	if (o->nargs == 0) {
		print_usage(stdout, commands);
		return EXIT_OK;
	}
	if ((c = find_command(o->args[0])) == NULL)
		return unknown_command(o, o->args[0]);
	if (o->nargs > 1)
		return usage_error(o, "unexpected argument '%s'", o->args[1]);
	print_command_usage(stdout, c);
	return EXIT_OK;
}

/*
 * A -d URL stays readable in /proc/PID/cmdline for the whole run: keep a
 * copy for ourselves, and leave the world the redacted form in argv (as
 * the mysql client blanks its -p). Returns the copy to free, or NULL
 * when the URL is not in argv.
 */
static char *hide_password(struct opts *o, int argc, char **argv)
{
	char *copy, *shown, *at = NULL;
	size_t n, m;
	int i;

	for (i = 1; i < argc && at == NULL; i++)
		if (o->database >= argv[i] &&
		    o->database < argv[i] + strlen(argv[i]))
			at = (char *)o->database;
	if (at == NULL || (copy = strdup(at)) == NULL)
		return NULL;
	if ((shown = mg_url_redact(copy)) != NULL && strcmp(shown, copy) != 0) {
		n = strlen(at);
		m = strlen(shown) < n ? strlen(shown) : n;
		memcpy(at, shown, m);
		memset(at + m, '\0', n - m);
	}
	free(shown);
	o->database = copy;
	return copy;
}

/* Where a core dump would hold the password in several copies: none. */
static void no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static int dispatch(struct opts *o);

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct config cfg = { 0 };
	char *url;
	int rc;

	no_core_dumps();
	o.to = -1;
	o.prune_version = -1;
	o.lock_timeout = -1; /* unset: the config or the default decides */
	o.retries = -1;
	if ((rc = parse_options(&o, argc, argv)) != 0)
		return rc;
	url = o.database ? hide_password(&o, argc, argv) : NULL;
	if (o.version || o.help || o.command == NULL ||
	    (rc = config_load(&cfg, &o)) == 0)
		rc = dispatch(&o);
	config_dispose(&cfg);
	if (url != NULL) {
		sodium_memzero(url, strlen(url));
		free(url);
	}
	return rc;
}

static int dispatch(struct opts *o)
{
	struct mg_error err = { 0 };
	const struct command *c;
	bool fleet;
	int rc;

	if (o->version) {
		printf("migrate %s\n", MG_VERSION);
		return EXIT_OK;
	}
	if (o->command == NULL) {
		print_usage(o->help ? stdout : stderr, commands);
		return o->help ? EXIT_OK : EXIT_USAGE;
	}
	if (strcmp(o->command, "help") == 0)
		return help(o);
	/* hidden: the build writes the man page and completions with these */
	if (strcmp(o->command, "man") == 0 ||
	    strcmp(o->command, "completion") == 0)
		return cmd_doc(o, commands);
	if ((c = find_command(o->command)) == NULL)
		return unknown_command(o, o->command);
	if (o->help) {
		print_command_usage(stdout, c);
		return EXIT_OK;
	}
	if ((rc = check_accepted(o, c)) != 0)
		return rc;
	if (sodium_init() < 0) {
		fprintf(stderr, "error: cannot initialise libsodium\n");
		return EXIT_RUNTIME;
	}
	/* fleets: fleet_run() checks the targets (and -d) itself */
	fleet = fleet_wanted(o, c);
	if ((c->flags & NEED_DB) && !fleet &&
	    (o->database == NULL || !*o->database))
		return usage_error(o, "no database: pass -d URL or set "
		                      "DATABASE_URL");
	if ((c->flags & NEED_DB) && !fleet &&
	    mg_driver_for_url(o->database, &err) == NULL)
		return report(o, &err);
	if (o->table[0] == '\0' || strlen(o->table) > 120)
		return usage_error(o, "--ledger-table needs a name of 1 to "
		                      "120 characters");
	if (mg_drivers_init() < 0) {
		fprintf(stderr, "error: cannot initialise the database "
		                "client libraries\n");
		return EXIT_RUNTIME;
	}
	if (c->fn != cmd_config)
		config_verbose(o);
	rc = fleet ? fleet_run(o, c) : c->fn(o);
	mg_drivers_end();
	return rc;
}
