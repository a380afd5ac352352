#ifndef MG_TARGETS_H
#define MG_TARGETS_H

#include <stddef.h>

struct mg_error;

/*
 * The databases of a fleet (SPEC.md, "Topologies": --targets FILE and
 * --targets-query SQL), checked before anything connects to any of them.
 * Only the URLs: running a command on each is cmd/fleet.c's business.
 */
struct mg_target {
	char *url;     /* as written, password and all; owned */
	char *label;   /* the URL with every password hidden (mg_url_redact):
	                  the only form ever shown; owned */
	unsigned line; /* 1-based line of the targets file; 0: none */
};

struct mg_targets {
	struct mg_target *v;
	size_t n;
};

/*
 * Adds one target, refusing (MG_EINVALID, never quoting the URL) one that
 * no driver of this build serves (or, for postgres:// and mysql://, one
 * its driver would misread: mg_url_check(), mg_url_parse()) and one that
 * names the same database as an earlier target: the same URL once its
 * passwords are hidden (err->line: that target's line). MG_ENOMEM.
 */
int mg_targets_add(struct mg_targets *t, const char *url, unsigned line,
                   struct mg_error *err);

/*
 * A targets file's text: one URL or libpq keyword string a line; a line
 * whose first non-blank character is '#' is a comment (so a '#' inside a
 * URL or a value stays its own); blank lines are skipped; leading and
 * trailing blanks and a CR before the LF are dropped. Stops at the first
 * bad line: MG_EINVALID with err located at path:line. The caller
 * disposes `out` in every case.
 */
int mg_targets_parse(struct mg_targets *out, const char *path,
                     const char *text, size_t len, struct mg_error *err);

void mg_targets_dispose(struct mg_targets *t);

/*
 * url with its database replaced by db: for --targets-query, whose rows
 * name databases on the -d server. A scheme://[userinfo@]hosts[/db][?query]
 * URL gets /db (percent-encoded) in place of its path; a libpq keyword
 * string gets dbname='db' appended (libpq takes a keyword's last value).
 * MG_EINVALID for sqlite: (a file, not a server) and an empty db;
 * MG_ENOMEM. *out: the caller frees.
 */
int mg_url_with_database(char **out, const char *url, const char *db,
                         struct mg_error *err);

#endif
