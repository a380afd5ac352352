#ifndef MG_URL_H
#define MG_URL_H

#include <stdbool.h>

struct mg_error;

/*
 * Database URLs (SPEC.md, "Commands"): postgres://, postgresql://,
 * mysql://user:pass@host:port/db[?socket=/path&...], sqlite:PATH.
 */

/* Whether url starts with scheme ("postgres://", "sqlite:"), ignoring
 * case: what a driver's `schemes` are matched with. */
bool mg_url_has_scheme(const char *url, const char *scheme);

/* Whether url is a libpq keyword/value string, as psql takes
 * ("host=db dbname=app"): an '=' and no "://". */
bool mg_url_is_keywords(const char *url);

/*
 * A copy of url that is safe to print: the password of a URL's userinfo
 * and any password=... query or keyword parameter become "***".
 * NULL on out-of-memory. The caller frees.
 */
char *mg_url_redact(const char *url);

/* Whether the user or password holds an unencoded '@', '/', '?' or '#',
 * which libpq and URL parsers split differently (and may then show part
 * of the password as a host name or port in an error message). */
bool mg_url_userinfo_ambiguous(const char *url);

/* Overwrites every occurrence of secret (if not NULL or empty) in text
 * with '*', in place. */
void mg_redact_secret(char *text, const char *secret);

/* The path of a sqlite: URL (sqlite:PATH, sqlite://PATH); lends into url. */
const char *mg_url_sqlite_path(const char *url);

/*
 * The parts of a mysql:// URL, percent-decoded; each string owned and
 * NULL when absent. params holds the query's key=value pairs in order.
 */
struct mg_url {
	char *user, *password, *host, *db, *socket;
	unsigned port; /* 0: default */
	char **keys, **values;
	unsigned nparams;
};

/* Errors: MG_EINVALID naming what is wrong (never the password). */
int mg_url_parse(struct mg_url *out, const char *url, struct mg_error *err);
void mg_url_dispose(struct mg_url *u);

#endif
