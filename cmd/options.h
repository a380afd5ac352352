#ifndef MG_CMD_OPTIONS_H
#define MG_CMD_OPTIONS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct opts;

/*
 * The options that belong to some commands only (bits of a command's
 * `accepts`); the global ones (-d, -m, --json, --ledger-table,
 * --lock-timeout, -h, -V) go with every command.
 *
 * Each is named once, here, and its place in the list is its bit: O_DRY_RUN
 * is 1u << 0, O_ALL 1u << 1, and so on. Numbered by hand, two options got
 * one bit twice in merges; now a new one goes at the end of the list and
 * cannot take another's.
 */
#define MG_COMMAND_OPTIONS(X)                                                 \
	X(DRY_RUN)                                                            \
	X(ALL)                                                                \
	X(APPLIED)                                                            \
	X(OUT_OF_ORDER)                                                       \
	X(TO)                                                                 \
	X(STEPS)                                                              \
	X(REASON)                                                             \
	X(FORMAT)                                                             \
	X(PUBLIC_KEY)                                                         \
	X(OUT)                                                                \
	X(ALLOW_CHANGED_DOWN)                                                 \
	X(CHECKPOINT)                                                         \
	X(EXIT_CODE)                                                          \
	X(TIMESTAMP)                                                          \
	X(FROM)                                                               \
	X(TABLE)                                                              \
	X(SHOW_SQL)                                                           \
	X(PRUNE_VERSION) /* backups */                                        \
	X(DUE)           /* jobs (issue 11) */                                \
	X(JOBS_DIR)                                                           \
	X(LOCKS)         /* production safety: test --locks [--strict] */     \
	X(STRICT)                                                             \
	X(PREVIEW)       /* issue 10: preview and plans */                    \
	X(PLAN)                                                               \
	X(TARGETS) /* fleets (issue 12): --targets, --targets-query, -j,     \
	            * --on-failure, --canary */                               \
	X(JOB_BACKUP) /* a job's backups (issue 11): restore and prune       \
	               * --job NAME */                                        \
	X(JOB_EVENT)  /* restore --job NAME --event ID */

#define MG_OPTION_INDEX_(name) O_INDEX_##name,
#define MG_OPTION_BIT_(name) O_##name = 1u << O_INDEX_##name,
enum { MG_COMMAND_OPTIONS(MG_OPTION_INDEX_) O_NBITS };
enum { MG_COMMAND_OPTIONS(MG_OPTION_BIT_) };
#undef MG_OPTION_INDEX_
#undef MG_OPTION_BIT_

/* The bits go in an unsigned (`accepts`, `required`, opts.given), and an
 * enum constant is an int: the top bit of either is out of reach. */
_Static_assert(O_NBITS < sizeof(unsigned) * CHAR_BIT,
               "more command options than bits in a command's accepts");

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
