#ifndef MG_CMD_REPORT_H
#define MG_CMD_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "migrator/error.h"

struct mg_buf;
struct mg_json;
struct opts;

/* Exit codes of SPEC.md */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
	EXIT_CHECK = 3,
	EXIT_VERIFY = 4,
	EXIT_LOCKED = 5,
	EXIT_PENDING = 6, /* status --exit-code only */
};

/* The exit code a library result (MG_OK or an mg_code) maps to. */
int exit_code_for(int rc);

/* Prints err as error:/detail:/hint: lines on stderr, and as the summary
 * object with --json (o may be NULL: no JSON); returns the exit code its
 * code maps to. */
int report(const struct opts *o, const struct mg_error *err);
/* What a person watching reads on stderr (progress, summaries); nothing
 * with --quiet, which leaves errors, warnings and findings only, nor with
 * --json, whose lines on stdout carry it. */
void say(const struct opts *o, const char *fmt, ...) MG_PRINTF(2, 3);
/* The escape that colours a state or verdict word ("applied", "dirty",
 * "ok", ...) on f, and the one that ends it; "" when f is no terminal,
 * NO_COLOR is set or TERM is dumb, or the word has no colour. */
const char *colour_on(FILE *f, const char *word);
const char *colour_off(FILE *f, const char *word);
/* Hides every password the URL (-d, DATABASE_URL, migrate.conf) and the
 * client libraries' environment (PGPASSWORD, MYSQL_PWD) hold in text, in
 * place, as whole occurrences (mg_scrub). */
void scrub_secrets(const struct opts *o, char *text, size_t size);
/* A usage error (exit 2) with the hint to see the command's --help. */
int usage_error(const struct opts *o, const char *fmt, ...) MG_PRINTF(2, 3);
/* The command's one argument as a version, as files write it: 1 to 18
 * digits and nothing else; a usage error (exit 2) otherwise. */
int version_arg(int64_t *out, const struct opts *o);

/* Starts the final {"event":"summary",...} object of a --json run in w,
 * over b: the caller adds its own members, closes it with mg_json_end()
 * and prints it with print_json_line(). */
void summary_begin(struct mg_json *w, struct mg_buf *b, const struct opts *o,
                   const char *status, int exit_code);
/* Prints b, a JSON object, as one stdout line, flushes, disposes b. */
void print_json_line(struct mg_buf *b);

#endif
