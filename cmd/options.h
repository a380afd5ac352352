#ifndef MG_CMD_OPTIONS_H
#define MG_CMD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct opts;

/*
 * The options that belong to some commands only (bits of a command's
 * `accepts`); the global ones (-d, -m, --json, --ledger-table,
 * --lock-timeout, -h, -V) go with every command.
 */
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
	O_ALLOW_CHANGED_DOWN = 1u << 10,
	O_CHECKPOINT = 1u << 11,
	O_EXIT_CODE = 1u << 12,
	O_TIMESTAMP = 1u << 13,
	O_FROM = 1u << 14,
	O_TABLE = 1u << 15,
	O_SHOW_SQL = 1u << 16,
	/* jobs (issue 11) */
	O_DUE = 1u << 18,
	O_JOBS_DIR = 1u << 19,
	/* production safety: migrate test --locks [--strict] */
	O_LOCKS = 1u << 20,
	O_STRICT = 1u << 21,
	/* backups */
	O_PRUNE_VERSION = 1u << 17,
	/* a job's backups (issue 11): restore and prune --job NAME,
	 * restore --event ID */
	O_JOB_BACKUP = 1u << 26,
	/* issue 10: preview and plans */
	O_PREVIEW = 1u << 24,
	O_PLAN = 1u << 25,
	/* fleets (issue 12): --targets, --targets-query, -j, --on-failure,
	 * --canary */
	O_TARGETS = 1u << 30,
};

#define NEED_DB (1u << 0) /* a command's flags: needs -d or DATABASE_URL */

/* A subcommand, as in git.c: { "up", cmd_up, NEED_DB, ... }. */
struct command {
	const char *name;
	int (*fn)(const struct opts *o);
	unsigned flags;      /* NEED_DB */
	unsigned accepts;    /* O_*: the command's own options */
	unsigned required;   /* O_* it cannot run without: shown unbracketed
	                      * in its synopsis (the command checks them) */
	const char *args;    /* its positional arguments: "NAME", "V", "" */
	const char *summary; /* one line */
};

/*
 * Parses argv (the program name first) into o, driven by the option
 * table of options.c: `--opt=value`, `--opt value`, `-dVALUE`, `-d VALUE`,
 * `--` (every later argument is positional). The first positional
 * argument is the command. --help sets o->help; --version sets
 * o->version and stops. Returns 0, or an exit code after reporting a
 * usage error.
 */
int parse_options(struct opts *o, int argc, char **argv);

/* A duration as the contract writes it (a number with ms, s, m or h; a
 * bare number is seconds) in whole seconds, rounded up; -1 when it is
 * none or longer than a day. */
int64_t duration_seconds(const char *v);

/* Refuses (exit 2) an option of another command: baseline --dry-run must
 * not write rows that an append-only ledger cannot take back. 0 if fine. */
int check_accepted(const struct opts *o, const struct command *c);

/* `migrate --help`: the commands of the NULL-terminated table and the
 * global options. */
void print_usage(FILE *f, const struct command *commands);
/* `migrate help CMD` and `migrate CMD --help`: its synopsis, its own
 * options and the global ones, one line each. */
void print_command_usage(FILE *f, const struct command *c);

/* One entry of the option table, lent to the generators of cmd/doc.c (the
 * man page, the completions) so that they list what --help lists. */
struct option_doc {
	const char *lng;
	char shrt;       /* 0: none */
	const char *arg; /* the value's placeholder ("URL"); NULL: no value */
	unsigned bit;    /* O_*; 0: a global option */
	const char *help;
};

/* Fills out with the k-th option of the table, from 0; false past the last. */
bool option_doc(struct option_doc *out, size_t k);

#endif
