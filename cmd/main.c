/*
 * migrate: the command line. Parses argv and the environment into struct
 * opts, dispatches through the command table, and maps library errors to
 * the exit codes of SPEC.md. The only code that prints or exits.
 */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "migrator/driver.h"

#define NEED_DB (1u << 0)

/* The options that belong to some commands only; the global ones (-d,
 * -m, --json, --ledger-table, --lock-timeout) go with every command. */
enum {
	O_DRY_RUN = 1u << 0,
	O_ALL = 1u << 1,
	O_APPLIED = 1u << 2,
	O_OUT_OF_ORDER = 1u << 3,
	O_TO = 1u << 4,
	O_STEPS = 1u << 5,
	O_REASON = 1u << 6,
	O_FORMAT = 1u << 7,
	O_PUBLIC_KEY = 1u << 8,
	O_OUT = 1u << 9,
};

struct command {
	const char *name;
	int (*fn)(const struct opts *o);
	unsigned flags;
	unsigned accepts;    /* O_* */
	const char *args;    /* synopsis after the name */
	const char *summary; /* one line */
};

static const struct command commands[] = {
	{ "new", cmd_new, 0, 0, "NAME",
	  "create the next NNNN_NAME.up.sql / .down.sql pair" },
	{ "status", cmd_status, NEED_DB, 0, "",
	  "show every migration: applied, pending, failed, dirty, drifted, "
	  "missing" },
	{ "up", cmd_up, NEED_DB, O_TO | O_DRY_RUN | O_OUT_OF_ORDER,
	  "[--to V] [--dry-run] [--allow-out-of-order]",
	  "apply pending migrations in version order" },
	{ "down", cmd_down, NEED_DB, O_STEPS | O_TO | O_ALL | O_DRY_RUN,
	  "[--steps N | --to V | --all] [--dry-run]",
	  "roll back applied migrations (default: exactly one)" },
	{ "test", cmd_test, NEED_DB, O_TO | O_OUT_OF_ORDER,
	  "[--to V] [--allow-out-of-order]",
	  "prove each pending migration: up, checks, down, schema as before, "
	  "up again" },
	{ "verify", cmd_verify, NEED_DB, O_PUBLIC_KEY, "[--public-key FILE]",
	  "check applied files against the ledger, its hash chain and "
	  "signatures" },
	{ "ledger", cmd_ledger, NEED_DB, O_FORMAT, "[--format table|json|csv]",
	  "print the whole ledger, oldest first" },
	{ "baseline", cmd_baseline, NEED_DB, O_REASON, "V --reason TEXT",
	  "record versions up to V as applied without running them" },
	{ "repair", cmd_repair, NEED_DB, O_REASON | O_APPLIED,
	  "V --reason TEXT [--applied]",
	  "clear a failed or dirty state after fixing it by hand" },
	{ "keygen", cmd_keygen, 0, O_OUT, "--out FILE",
	  "create an Ed25519 key pair for signing ledger rows" },
	{ NULL, NULL, 0, 0, NULL, NULL },
};

static void print_usage(FILE *f)
{
	const struct command *c;

	fprintf(f, "usage: migrate [options] <command> [args]\n\n"
	           "commands:\n");
	for (c = commands; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f,
	        "\noptions:\n"
	        "  -d, --database URL     postgres://..., mysql://..., "
	        "sqlite:PATH (env DATABASE_URL)\n"
	        "  -m, --dir DIR          migrations directory (env "
	        "MIGRATE_DIR; default ./migrations)\n"
	        "      --json             one JSON object per line on stdout\n"
	        "      --ledger-table NAME  ledger table (default "
	        "migrate_ledger)\n"
	        "      --lock-timeout S   seconds to wait for the lock "
	        "(default 60)\n"
	        "  -h, --help             this text; 'migrate <command> "
	        "--help' for one command\n"
	        "  -V, --version          print the version\n"
	        "\nexit codes: 0 ok, 1 runtime failure, 2 usage or invalid "
	        "files, 3 check failed\n(rolled back), 4 verification failed, "
	        "5 lock not acquired. See MIGRATING.md.\n");
}

static void print_command_usage(const struct command *c)
{
	printf("usage: migrate %s %s\n\n%s.\n\nGlobal options (-d, -m, "
	       "--json, --ledger-table, --lock-timeout) apply; see "
	       "'migrate --help'.\n",
	       c->name, c->args, c->summary);
}

int exit_code_for(int rc)
{
	switch (rc) {
	case MG_OK:
		return EXIT_OK;
	case MG_EINVALID:
		return EXIT_USAGE;
	case MG_ECHECK:
		return EXIT_CHECK;
	case MG_ECHECKSUM:
		return EXIT_VERIFY;
	case MG_ELOCKED:
		return EXIT_LOCKED;
	default:
		return EXIT_RUNTIME;
	}
}

int usage_error(const struct opts *o, const char *fmt, ...)
{
	struct mg_error err = { 0 };
	va_list ap;

	err.code = MG_EINVALID;
	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	snprintf(err.hint, sizeof(err.hint), "see 'migrate %s--help'",
	         o && o->command ? o->command : "");
	if (o && o->command)
		snprintf(err.hint, sizeof(err.hint), "see 'migrate %s --help'",
		         o->command);
	return report(o, &err);
}

static int parse_int(int64_t *out, const char *s, int64_t min)
{
	char *e;
	long long v;

	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno || e == s || *e != '\0' || v < min)
		return -1;
	*out = v;
	return 0;
}

/* Options taking a value; the value is the next argument or after '='. */
static const struct {
	const char *lng;
	char shrt;
	bool value;
	unsigned bit; /* O_*; 0: a global option */
} options[] = {
	{ "database", 'd', true, 0 },
	{ "dir", 'm', true, 0 },
	{ "ledger-table", 0, true, 0 },
	{ "lock-timeout", 0, true, 0 },
	{ "json", 0, false, 0 },
	{ "dry-run", 0, false, O_DRY_RUN },
	{ "all", 0, false, O_ALL },
	{ "applied", 0, false, O_APPLIED },
	{ "allow-out-of-order", 0, false, O_OUT_OF_ORDER },
	{ "to", 0, true, O_TO },
	{ "steps", 0, true, O_STEPS },
	{ "reason", 0, true, O_REASON },
	{ "format", 0, true, O_FORMAT },
	{ "public-key", 0, true, O_PUBLIC_KEY },
	{ "out", 0, true, O_OUT },
	{ "help", 'h', false, 0 },
	{ "version", 'V', false, 0 },
};

/* A command refuses what it would ignore: baseline --dry-run must not
 * write rows that an append-only ledger cannot take back. */
static int check_accepted(const struct opts *o, const struct command *c)
{
	size_t k;

	for (k = 0; k < sizeof(options) / sizeof(options[0]); k++)
		if (options[k].bit & o->given & ~c->accepts)
			return usage_error(o, "'%s' does not take --%s",
			                   c->name, options[k].lng);
	return 0;
}

static int set_option(struct opts *o, const char *name, const char *v,
                      bool *help)
{
	int64_t n;

	if (strcmp(name, "database") == 0)
		o->database = v;
	else if (strcmp(name, "dir") == 0)
		o->dir = v;
	else if (strcmp(name, "ledger-table") == 0)
		o->table = v;
	else if (strcmp(name, "lock-timeout") == 0) {
		if (parse_int(&n, v, 0) < 0 || n > INT_MAX / 1000)
			return usage_error(o,
			                   "--lock-timeout takes a number "
			                   "of seconds, not '%s'",
			                   v);
		o->lock_timeout = (int)n;
	} else if (strcmp(name, "json") == 0)
		o->json = true;
	else if (strcmp(name, "dry-run") == 0)
		o->dry_run = true;
	else if (strcmp(name, "all") == 0)
		o->all = true;
	else if (strcmp(name, "applied") == 0)
		o->applied = true;
	else if (strcmp(name, "allow-out-of-order") == 0)
		o->allow_out_of_order = true;
	else if (strcmp(name, "to") == 0) {
		if (parse_int(&o->to, v, 0) < 0)
			return usage_error(o,
			                   "--to takes a version number, "
			                   "not '%s'",
			                   v);
	} else if (strcmp(name, "steps") == 0) {
		if (parse_int(&o->steps, v, 1) < 0)
			return usage_error(o,
			                   "--steps takes a count of 1 or "
			                   "more, not '%s'",
			                   v);
	} else if (strcmp(name, "reason") == 0)
		o->reason = v;
	else if (strcmp(name, "format") == 0)
		o->format = v;
	else if (strcmp(name, "public-key") == 0)
		o->public_key = v;
	else if (strcmp(name, "out") == 0)
		o->out = v;
	else if (strcmp(name, "help") == 0)
		*help = true;
	else if (strcmp(name, "version") == 0) {
		printf("migrate %s\n", MG_VERSION);
		exit(EXIT_OK);
	}
	return 0;
}

static int parse_args(struct opts *o, int argc, char **argv, bool *help)
{
	int i, rc;
	size_t k;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *name = NULL, *val = NULL, *eq;
		size_t nlen = 0;

		if (strcmp(a, "--") == 0 || a[0] != '-' || a[1] == '\0') {
			if (o->command == NULL)
				o->command = a;
			else if (o->nargs < 4)
				o->args[o->nargs++] = a;
			else
				return usage_error(o, "too many arguments");
			continue;
		}
		for (k = 0; k < sizeof(options) / sizeof(options[0]); k++) {
			if (a[1] == '-') {
				eq = strchr(a, '=');
				nlen = eq ? (size_t)(eq - a - 2)
				          : strlen(a + 2);
				if (strlen(options[k].lng) == nlen &&
				    strncmp(a + 2, options[k].lng, nlen) == 0) {
					name = options[k].lng;
					val = eq ? eq + 1 : NULL;
					break;
				}
			} else if (options[k].shrt && a[1] == options[k].shrt &&
			           a[2] == '\0') {
				name = options[k].lng;
				break;
			}
		}
		if (name == NULL)
			return usage_error(o, "unknown option '%s'", a);
		if (options[k].value && val == NULL) {
			if (i + 1 >= argc)
				return usage_error(o,
				                   "option '%s' needs a "
				                   "value",
				                   a);
			val = argv[++i];
		} else if (!options[k].value && val != NULL) {
			return usage_error(o, "option '--%s' takes no value",
			                   name);
		}
		o->given |= options[k].bit;
		if ((rc = set_option(o, name, val, help)) != 0)
			return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct mg_error err = { 0 };
	const struct command *c;
	bool help = false;
	int rc;

	o.to = -1;
	o.lock_timeout = 60;
	o.database = getenv("DATABASE_URL");
	o.dir = getenv("MIGRATE_DIR");
	if (o.dir == NULL || *o.dir == '\0')
		o.dir = "migrations";
	o.table = "migrate_ledger";
	if ((rc = parse_args(&o, argc, argv, &help)) != 0)
		return rc;
	if (o.command == NULL || strcmp(o.command, "help") == 0) {
		if (o.command == NULL && !help) {
			print_usage(stderr);
			return EXIT_USAGE;
		}
		print_usage(stdout);
		return EXIT_OK;
	}
	for (c = commands; c->name; c++)
		if (strcmp(c->name, o.command) == 0)
			break;
	if (c->name == NULL) {
		const char *cmd = o.command;

		o.command = NULL;
		return usage_error(&o, "unknown command '%s'", cmd);
	}
	if (help) {
		print_command_usage(c);
		return EXIT_OK;
	}
	if ((rc = check_accepted(&o, c)) != 0)
		return rc;
	if (sodium_init() < 0) {
		fprintf(stderr, "error: cannot initialise libsodium\n");
		return EXIT_RUNTIME;
	}
	if ((c->flags & NEED_DB) && (o.database == NULL || !*o.database))
		return usage_error(&o, "no database: pass -d URL or set "
		                       "DATABASE_URL");
	if ((c->flags & NEED_DB) && mg_driver_for_url(o.database, &err) == NULL)
		return report(&o, &err);
	if (o.table[0] == '\0' || strlen(o.table) > 120)
		return usage_error(&o, "--ledger-table needs a name of 1 to "
		                       "120 characters");
	if (mg_drivers_init() < 0) {
		fprintf(stderr, "error: cannot initialise the database "
		                "client libraries\n");
		return EXIT_RUNTIME;
	}
	rc = c->fn(&o);
	mg_drivers_end();
	return rc;
}
