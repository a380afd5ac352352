/*
 * The option table (in the spirit of git's parse-options): each option is
 * one entry, and the entries drive parsing, the checks of values, which
 * command may take which option, and the help text.
 */
#include "cmd/options.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

enum kind {
	K_BOOL,    /* sets a bool; takes no value */
	K_STRING,  /* sets a const char * to the argument (borrowed) */
	K_INT,     /* sets an int64_t, from min to max */
	K_SECONDS, /* sets an int64_t: a duration in whole seconds */
	K_HELP,    /* o->help */
	K_VERSION, /* o->version, and parsing stops */
};

struct option {
	const char *lng;
	char shrt; /* 0: none */
	enum kind kind;
	size_t dest;      /* offsetof(struct opts, ...) */
	int64_t min, max; /* K_INT */
	const char *what; /* K_INT: "--to takes <what>, not 'x'" */
	const char *arg;  /* the value's placeholder in the help: "URL" */
	unsigned bit;     /* O_*; 0: a global option */
	const char *help; /* one line */
	/* the only command it is for, where a global option has the same
	 * name (prune --version V, global --version); NULL: any */
	const char *only;
};

/* The field's offset; comparing pointers of two types does not compile
 * (-Werror), so a field of the wrong type for its kind is caught here. */
#define DEST(type, field)                                                      \
	(offsetof(struct opts, field) +                                        \
	 0 * sizeof(&((struct opts *)0)->field == (type *)0))
#define OPT_BOOL(s, l, field, bit, help)                                       \
	{                                                                      \
		l, s, K_BOOL, DEST(bool, field), 0, 0, NULL, NULL, bit, help,  \
		        NULL                                                   \
	}
#define OPT_STRING(s, l, field, arg, bit, help)                                \
	{                                                                      \
		l, s, K_STRING, DEST(const char *, field), 0, 0, NULL, arg,    \
		        bit, help, NULL                                        \
	}
#define OPT_INT(s, l, field, min, max, what, arg, bit, help)                   \
	{                                                                      \
		l, s, K_INT, DEST(int64_t, field), min, max, what, arg, bit,   \
		        help, NULL                                             \
	}
#define OPT_SECONDS(s, l, field, arg, bit, help)                               \
	{                                                                      \
		l, s, K_SECONDS, DEST(int64_t, field), 0, 0, NULL, arg, bit,   \
		        help, NULL                                             \
	}
#define OPT_FLAG(s, l, kind, help)                                             \
	{                                                                      \
		l, s, kind, 0, 0, 0, NULL, NULL, 0, help, NULL                 \
	}

static const struct option options[] = {
	/* global: every command takes these */
	OPT_STRING('d', "database", database, "URL", 0,
	           "postgres://, mysql://, sqlite:PATH (env DATABASE_URL)"),
	OPT_STRING('m', "dir", dir, "DIR", 0,
	           "migrations (env MIGRATE_DIR; default ./migrations)"),
	OPT_BOOL(0, "json", json, 0, "one JSON object per line on stdout"),
	OPT_BOOL('q', "quiet", quiet, 0, "errors, warnings and findings only"),
	OPT_BOOL('v', "verbose", verbose, 0,
	         "also each setting and where it came from"),
	OPT_STRING(0, "ledger-table", table, "NAME", 0,
	           "ledger table (default migrate_ledger)"),
	OPT_SECONDS(0, "lock-timeout", lock_timeout, "TIME", 0,
	            "run lock wait: 30s, 2m; 0 tries once (default 60s)"),
	/* production safety */
	OPT_STRING(0, "ddl-lock-timeout", ddl_lock_timeout, "TIME", 0,
	           "a statement's lock wait: 2s, off (default 5s)"),
	OPT_STRING(0, "statement-timeout", statement_timeout, "TIME", 0,
	           "a statement's run time: 10m, off (default none)"),
	OPT_INT(0, "retries", retries, 0, 10, "a count from 0 to 10", "N", 0,
	        "retry a file whose lock wait timed out (default 3)"),
	OPT_STRING(0, "env", env, "NAME", 0,
	           "use the [env NAME] section of the config file"),
	OPT_STRING(0, "config", config_file, "FILE", 0,
	           "config file (default ./migrate.conf, if there)"),
	OPT_FLAG('h', "help", K_HELP,
	         "this text; 'migrate CMD --help' for one command"),
	OPT_FLAG('V', "version", K_VERSION, "print the version"),
	/* the commands' own; struct command's `accepts` says whose */
	OPT_INT(0, "to", to, 0, INT64_MAX, "a version number", "V", O_TO,
	        "up, test: last version to apply; down: last to keep"),
	OPT_INT(0, "steps", steps, 1, INT64_MAX, "a count of 1 or more", "N",
	        O_STEPS, "roll back the last N applied migrations"),
	OPT_BOOL(0, "all", all, O_ALL, "roll back every applied migration"),
	OPT_BOOL(0, "dry-run", dry_run, O_DRY_RUN,
	         "show the plan and the checks' before values only"),
	OPT_BOOL(0, "show-sql", show_sql, O_SHOW_SQL,
	         "with --dry-run: each file's SQL as it will run"),
	OPT_BOOL(0, "allow-out-of-order", allow_out_of_order, O_OUT_OF_ORDER,
	         "apply versions older than the latest applied too"),
	OPT_STRING(0, "reason", reason, "TEXT", O_REASON,
	           "why: kept in the ledger rows this run writes"),
	OPT_BOOL(0, "applied", applied, O_APPLIED,
	         "mark the version applied (default: not applied)"),
	OPT_STRING(0, "format", format, "FORMAT", O_FORMAT,
	           "ledger: table, json, csv, html; plan: md, json"),
	OPT_STRING(0, "public-key", public_key, "FILE", O_PUBLIC_KEY,
	           "check each row's signature with this public key"),
	OPT_STRING(0, "out", out, "FILE", O_OUT,
	           "keygen: key file (+ FILE.pub); plan: write to FILE"),
	OPT_BOOL(0, "allow-changed-down", allow_changed_down,
	         O_ALLOW_CHANGED_DOWN,
	         "run down files changed since their up ran (recorded)"),
	OPT_STRING(0, "from", from, "TOOL", O_FROM,
	           "read V from golang-migrate's, dbmate's or flyway's table"),
	OPT_STRING(0, "table", from_table, "NAME", O_TABLE,
	           "baseline: that tool's history table; restore: that table's"),
	OPT_BOOL(0, "timestamp", timestamp, O_TIMESTAMP,
	         "version the pair YYYYMMDDHHMMSS (UTC), not the next number"),
	OPT_BOOL(0, "exit-code", exit_code, O_EXIT_CODE,
	         "exit 0 all applied, 6 pending, 1 failed/dirty, 4 drifted"),
	OPT_BOOL(0, "locks", locks, O_LOCKS,
	         "first report the locks each statement takes (PostgreSQL)"),
	OPT_BOOL(0, "strict", strict, O_STRICT,
	         "with --locks: exit 4 on a blocking lock not allowed"),
	OPT_STRING(0, "checkpoint", checkpoint, "FILE", O_CHECKPOINT,
	           "ledger: write its head to FILE; verify: check against it"),
	/* jobs (issue 11) */
	OPT_BOOL(0, "due", due, O_DUE,
	         "job run: every job whose interval has passed"),
	OPT_STRING(0, "jobs-dir", jobs_dir, "DIR", O_JOBS_DIR,
	           "job files (default: jobs/ in the migrations directory)"),
	/* issue 10: preview and plans */
	OPT_BOOL(0, "preview", preview, O_PREVIEW,
	         "rehearse in a rolled-back transaction (not MySQL)"),
	OPT_STRING(0, "plan", plan_file, "FILE", O_PLAN,
	           "run only if FILE (from 'migrate plan') still holds"),
	/* backups */
	{ "version", 0, K_INT, DEST(int64_t, prune_version), 0, INT64_MAX,
	  "a version number", "V", O_PRUNE_VERSION,
	  "prune: that version's backups, expired or not", "prune" },
	/* a job's backups (issue 11) */
	OPT_STRING(0, "job", backup_job, "NAME", O_JOB_BACKUP,
	           "restore, prune: that job's backups (prune: all of them)"),
	OPT_INT(0, "event", backup_event, 1, INT64_MAX, "an event id", "ID",
	        O_JOB_EVENT, "restore --job: that run's (default: the latest)"),
	/* fleets (issue 12): cmd/fleet.c runs the command once per target */
	OPT_STRING(0, "targets", targets, "FILE", O_TARGETS,
	           "run on each database of FILE (a URL a line), not -d"),
	OPT_STRING(0, "targets-query", targets_query, "SQL", O_TARGETS,
	           "run on each database the query on -d names"),
	OPT_INT('j', "jobs", jobs, 1, 64, "a count from 1 to 64", "N",
	        O_TARGETS, "with targets: run N targets at once (default 1)"),
	OPT_STRING(0, "on-failure", on_failure, "POLICY", O_TARGETS,
	           "with targets: stop or continue after a target fails"),
	OPT_INT(0, "canary", canary, 1, INT64_MAX, "a count of 1 or more", "N",
	        O_TARGETS, "with targets: the first N first; stop if one fails"),
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/* `command` (NULL: not seen yet) picks a command's own option over a
 * global one of the same name. */
static const struct option *find_long(const char *name, size_t len,
                                      const char *command)
{
	const struct option *found = NULL;
	size_t k;

	for (k = 0; k < NOPTIONS; k++) {
		const struct option *opt = &options[k];

		if (strlen(opt->lng) != len || strncmp(opt->lng, name, len))
			continue;
		if (opt->only == NULL && found == NULL)
			found = opt;
		else if (opt->only != NULL && command != NULL &&
		         strcmp(opt->only, command) == 0)
			found = opt;
	}
	return found;
}

static const struct option *find_short(char c)
{
	size_t k;

	for (k = 0; k < NOPTIONS; k++)
		if (options[k].shrt != 0 && options[k].shrt == c)
			return &options[k];
	return NULL;
}

static bool takes_value(const struct option *opt)
{
	return opt->kind == K_STRING || opt->kind == K_INT ||
	       opt->kind == K_SECONDS;
}

int64_t duration_seconds(const char *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	/* a day is the longest wait that makes sense; MySQL's lock waits
	 * stop at about 12 days anyway */
	if (errno != 0 || end == v || *v == '-' || *v == '+' || n > 86400)
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		return n;
	if (strcmp(end, "ms") == 0)
		return (n + 999) / 1000;
	if (strcmp(end, "m") == 0 && n <= 1440)
		return n * 60;
	if (strcmp(end, "h") == 0 && n <= 24)
		return n * 3600;
	return -1;
}

static int parse_int(int64_t *out, const char *s, int64_t min, int64_t max)
{
	char *e;
	long long v;

	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno || e == s || *e != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int set(struct opts *o, const struct option *opt, const char *v)
{
	char *dest = (char *)o + opt->dest;

	switch (opt->kind) {
	case K_BOOL:
		*(bool *)(void *)dest = true;
		break;
	case K_STRING:
		*(const char **)(void *)dest = v;
		break;
	case K_SECONDS:
		if ((*(int64_t *)(void *)dest = duration_seconds(v)) < 0)
			return usage_error(o,
			                   "--%s takes a duration such as 30s, "
			                   "500ms, 2m or 1h, not '%s'",
			                   opt->lng, v);
		break;
	case K_INT:
		if (parse_int((int64_t *)(void *)dest, v, opt->min, opt->max) <
		    0)
			return usage_error(o, "--%s takes %s, not '%s'",
			                   opt->lng, opt->what, v);
		break;
	case K_HELP:
		o->help = true;
		break;
	case K_VERSION:
		o->version = true;
		break;
	}
	o->given |= opt->bit;
	return 0;
}

static int positional(struct opts *o, const char *a)
{
	if (o->command == NULL)
		o->command = a;
	else if (o->nargs < (int)(sizeof(o->args) / sizeof(o->args[0])))
		o->args[o->nargs++] = a;
	else
		return usage_error(o, "too many arguments");
	return 0;
}

int parse_options(struct opts *o, int argc, char **argv)
{
	bool only_args = false;
	int i, rc;

	for (i = 1; i < argc && !o->version; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		const struct option *opt;

		if (!only_args && strcmp(a, "--") == 0) {
			only_args = true;
			continue;
		}
		if (only_args || a[0] != '-' || a[1] == '\0') {
			if ((rc = positional(o, a)) != 0)
				return rc;
			continue;
		}
		if (a[1] == '-') { /* --name, --name=value */
			eq = strchr(a + 2, '=');
			opt = find_long(a + 2,
			                eq ? (size_t)(eq - a - 2) : strlen(a + 2),
			                o->command);
			val = eq ? eq + 1 : NULL;
		} else { /* -x, -xVALUE */
			opt = find_short(a[1]);
			val = a[2] != '\0' ? a + 2 : NULL;
		}
		if (opt == NULL)
			return usage_error(o, "unknown option '%s'", a);
		if (takes_value(opt) && val == NULL) {
			if (i + 1 >= argc)
				return usage_error(o,
				                   "option '%s' needs a "
				                   "value",
				                   a);
			val = argv[++i];
		} else if (!takes_value(opt) && val != NULL) {
			if (a[1] == '-')
				return usage_error(o,
				                   "option '--%s' takes no "
				                   "value",
				                   opt->lng);
			return usage_error(o, "option '-%c' takes no value",
			                   opt->shrt);
		}
		if ((rc = set(o, opt, val)) != 0)
			return rc;
	}
	return 0;
}

int check_accepted(const struct opts *o, const struct command *c)
{
	size_t k;

	for (k = 0; k < NOPTIONS; k++)
		if (options[k].bit & o->given & ~c->accepts)
			return usage_error(o, "'%s' does not take --%s",
			                   c->name, options[k].lng);
	return 0;
}

/* "  -d, --database URL      postgres://..." */
static void print_option(FILE *f, const struct option *opt)
{
	char left[64];

	snprintf(left, sizeof(left), "%c%c%c --%s%s%s", opt->shrt ? '-' : ' ',
	         opt->shrt ? opt->shrt : ' ', opt->shrt ? ',' : ' ', opt->lng,
	         opt->arg ? " " : "", opt->arg ? opt->arg : "");
	fprintf(f, "  %-24s %s\n", left, opt->help);
}

static void print_global_options(FILE *f)
{
	size_t k;

	for (k = 0; k < NOPTIONS; k++)
		if (options[k].bit == 0)
			print_option(f, &options[k]);
}

void print_usage(FILE *f, const struct command *commands)
{
	const struct command *c;

	fprintf(f, "usage: migrate [options] <command> [args]\n\n"
	           "commands:\n");
	for (c = commands; c->name; c++)
		fprintf(f, "  %-9s %s\n", c->name, c->summary);
	fprintf(f, "\noptions:\n");
	print_global_options(f);
	fprintf(f, "\nexit codes: 0 ok, 1 runtime failure, 2 usage or invalid "
	           "files, 3 check failed\n(rolled back), 4 verification "
	           "failed, 5 lock not acquired or lost, 6 pending\n(status "
	           "--exit-code only), 130/143 stopped by SIGINT/SIGTERM. See "
	           "MIGRATING.md.\n");
}

/* "--name" stands in args as a whole word ("--due)" yes, "--dry" no) */
static bool in_synopsis(const char *args, const char *lng)
{
	size_t n = strlen(lng);
	const char *p;

	for (p = strstr(args, "--"); p != NULL; p = strstr(p + 2, "--"))
		if (strncmp(p + 2, lng, n) == 0 && p[2 + n] != '-' &&
		    !isalnum((unsigned char)p[2 + n]))
			return true;
	return false;
}

void print_command_usage(FILE *f, const struct command *c)
{
	char word[96];
	size_t k, col, indent;

	col = (size_t)fprintf(f, "usage: migrate %s", c->name);
	indent = col + 1; /* continuation lines line up after the name */
	if (*c->args)
		col += (size_t)fprintf(f, " %s", c->args);
	for (k = 0; k < NOPTIONS; k++) {
		const struct option *opt = &options[k];
		bool req = opt->bit & c->required;

		if (!(opt->bit & c->accepts))
			continue;
		/* an option the synopsis already shows in its place */
		if (in_synopsis(c->args, opt->lng))
			continue;
		snprintf(word, sizeof(word), "%s--%s%s%s%s", req ? "" : "[",
		         opt->lng, opt->arg ? " " : "",
		         opt->arg ? opt->arg : "", req ? "" : "]");
		if (col + 1 + strlen(word) > 80) { /* wrap within 80 columns */
			fprintf(f, "\n%*s", (int)indent - 1, "");
			col = indent - 1;
		}
		col += (size_t)fprintf(f, " %s", word);
	}
	fprintf(f, "\n\n%s.\n", c->summary);
	if (c->accepts) {
		fprintf(f, "\noptions:\n");
		for (k = 0; k < NOPTIONS; k++)
			if (options[k].bit & c->accepts)
				print_option(f, &options[k]);
	}
	fprintf(f, "\nglobal options:\n");
	print_global_options(f);
}

bool option_doc(struct option_doc *out, size_t k)
{
	if (k >= NOPTIONS)
		return false;
	out->lng = options[k].lng;
	out->shrt = options[k].shrt;
	out->arg = takes_value(&options[k]) ? options[k].arg : NULL;
	out->bit = options[k].bit;
	out->help = options[k].help;
	return true;
}
