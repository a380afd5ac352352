/*
 * How migrate reports: library error codes to the exit codes of SPEC.md,
 * errors as error:/detail:/hint: lines on stderr, and the summary line of
 * a --json run. Every other file of cmd/ uses this one; it uses none of
 * them.
 */
#include "cmd/report.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/opts.h"
#include "migrator/buf.h"
#include "migrator/drivers/url.h"
#include "migrator/json.h"

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

int version_arg(int64_t *out, const struct opts *o)
{
	const char *v;
	size_t n;

	if (o->nargs != 1)
		return usage_error(o, "%s takes one version", o->command);
	/* strtoll() alone took " 5" and "+5", and saturated a 20-digit
	 * typo to INT64_MAX, so that `baseline` recorded every file as
	 * applied */
	v = o->args[0];
	n = strspn(v, "0123456789");
	if (n == 0 || n > 18 || v[n] != '\0')
		return usage_error(o,
		                   "'%s' is not a version number (1 to 18 "
		                   "digits)",
		                   v);
	*out = strtoll(v, NULL, 10);
	return 0;
}

/* Each part is one line; a multi-line detail keeps its own lines. */
static void print_part(const char *label, const char *text)
{
	const char *p = text, *nl;

	if (text == NULL || *text == '\0')
		return;
	while (p && *p) {
		nl = strchr(p, '\n');
		/* continuation lines are indented under the first */
		if (p == text)
			fprintf(stderr, "%s: ", label);
		else
			fprintf(stderr, "%*s", (int)strlen(label) + 2, "");
		fprintf(stderr, "%.*s\n",
		        (int)(nl ? (size_t)(nl - p) : strlen(p)), p);
		p = nl ? nl + 1 : NULL;
	}
}

void scrub_secrets(const struct opts *o, char *text, size_t size)
{
	static const char *const vars[] = { "PGPASSWORD", "MYSQL_PWD" };
	size_t i;

	/* the drivers scrub what they build from server messages; this is
	 * the last look before anything is printed */
	if (o != NULL && o->database != NULL)
		mg_url_scrub(text, size, o->database);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		mg_scrub(text, size, getenv(vars[i]));
}

int report(const struct opts *o, const struct mg_error *err_in)
{
	struct mg_error e = *err_in, *err = &e;
	int code = exit_code_for(err->code);
	struct mg_buf b = MG_BUF_INIT, msg = MG_BUF_INIT;
	char where[sizeof(err->path) + 16];
	struct mg_json w;

	scrub_secrets(o, e.msg, sizeof(e.msg));
	scrub_secrets(o, e.detail, sizeof(e.detail));
	scrub_secrets(o, e.hint, sizeof(e.hint));
	scrub_secrets(o, e.path, sizeof(e.path));
	/* "FILE:LINE: message", the form editors jump to */
	mg_error_where(where, sizeof(where), err);
	mg_buf_addf(&msg, "%s%s", where, err->msg);
	print_part("error", mg_buf_cstr(&msg));
	print_part("detail", err->detail);
	print_part("hint", err->hint);
	if (o != NULL && o->json) {
		summary_begin(&w, &b, o, "error", code);
		mg_json_string(&w, "error", mg_buf_cstr(&msg));
		if (err->sqlstate[0])
			mg_json_string(&w, "sqlstate", err->sqlstate);
		if (err->detail[0])
			mg_json_string(&w, "detail", err->detail);
		mg_json_end(&w);
		print_json_line(&b);
	}
	mg_buf_dispose(&msg);
	return code;
}

void summary_begin(struct mg_json *w, struct mg_buf *b, const struct opts *o,
                   const char *status, int exit_code)
{
	mg_json_init(w, b);
	mg_json_object_begin(w, NULL);
	mg_json_string(w, "event", "summary");
	mg_json_string(w, "command", o->command);
	mg_json_string(w, "status", status);
	mg_json_int(w, "exit_code", exit_code);
}

void print_json_line(struct mg_buf *b)
{
	/* out of memory: no line rather than a broken one */
	if (!b->failed)
		printf("%s\n", mg_buf_cstr(b));
	fflush(stdout);
	mg_buf_dispose(b);
}

void say(const struct opts *o, const char *fmt, ...)
{
	va_list ap;

	/* with --json, stderr carries only errors (SPEC.md "JSON
	 * output"): what a person reads is in the JSON lines */
	if (o != NULL && (o->quiet || o->json))
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* Colour only for a person at a terminal: not in a pipe or a file, not
 * with NO_COLOR (no-color.org) or TERM=dumb. */
static bool colourful(FILE *f)
{
	const char *term = getenv("TERM");

	return isatty(fileno(f)) && getenv("NO_COLOR") == NULL &&
	       (term == NULL || strcmp(term, "dumb") != 0);
}

const char *colour_on(FILE *f, const char *word)
{
	static const struct {
		const char *word, *sgr;
	} colours[] = {
		{ "ok", "\033[32m" },          { "applied", "\033[32m" },
		{ "pending", "\033[33m" },     { "planned", "\033[33m" },
		{ "skipped", "\033[33m" },     { "failed", "\033[31m" },
		{ "dirty", "\033[1;31m" },     { "rolled_back", "\033[31m" },
		{ "drifted", "\033[1;31m" },   { "missing", "\033[1;31m" },
	};
	size_t i;

	if (!colourful(f))
		return "";
	for (i = 0; i < sizeof(colours) / sizeof(colours[0]); i++)
		if (strcmp(word, colours[i].word) == 0)
			return colours[i].sgr;
	return "";
}

const char *colour_off(FILE *f, const char *word)
{
	return *colour_on(f, word) ? "\033[0m" : "";
}
