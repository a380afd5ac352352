#ifndef MG_URL_H
#define MG_URL_H

#include <stdbool.h>
#include <stddef.h>

struct mg_error;

/*
 * Database URLs (SPEC.md, "Commands"): postgres://, postgresql://,
 * mysql://user:pass@host:port/db[?socket=/path&...], sqlite:PATH.
 */

/* Whether url starts with scheme ("postgres://", "sqlite:"), ignoring
 * case: what a driver's `schemes` are matched with. */
bool mg_url_has_scheme(const char *url, const char *scheme);

/* Whether url is a libpq keyword/value string, as psql takes
 * ("host=db dbname=app"): an '=', and not scheme://... (a value may
 * hold "://"). */
bool mg_url_is_keywords(const char *url);

/*
 * A copy of url that is safe to print, rebuilt from its parts as libpq
 * splits them (mg_url_parse splits a mysql:// URL the same way, or
 * refuses it): scheme://user:***@hosts/db?query, the userinfo's password
 * and the value
 * of any password= or sslpassword= parameter (key in any case, plain or
 * percent-encoded) replaced by "***"; the rest as written. A keyword
 * string is rebuilt as key=value pairs, one space apart, the same values
 * hidden; where libpq would stop reading it (no '=', an unterminated
 * quote) the rest is shown as "...". A URL that
 * mg_url_userinfo_ambiguous() refuses has everything between its user
 * name (up to the first ':' or '@') and its last '@' hidden. NULL on
 * out-of-memory. The caller frees.
 */
char *mg_url_redact(const char *url);

/*
 * Whether the URL is refused for what its user or password holds, because
 * libpq and a URL parser would split it differently and an error message
 * could then show part of the password as a host name, a port or a query
 * parameter. With libpq's split (the userinfo runs to the first '@' that
 * comes before any '/'): a '?' or '#' in the userinfo; an '@' after it
 * and before the query (a password holding '@' or '/'), or in a query
 * parameter before its '=' or after a key holding ':' or '/' (the rest of
 * a userinfo); or, with no
 * userinfo, a ':' that is not a port's before an '@' ("u?x:pa/ss@h",
 * read as host "u" and a query), or a host's port that is not all digits
 * ("u:pa/ss..." read as host "u", port "pa").
 */
bool mg_url_userinfo_ambiguous(const char *url);

/*
 * Refuses (MG_EINVALID, never quoting url) a postgres:// URL that libpq
 * would read otherwise than its writer meant, or refuse only after
 * quoting it: mg_url_userinfo_ambiguous(); a '[' host that is not an
 * IPv6 address and zone (letters, digits, ":.%-_") up to its ']'; an empty
 * password= (a password starting with an unencoded '&') wherever a '?'
 * or '&' could start one; or a query parameter that is not one key=value
 * with any '@' in the value. 0 for anything else, keyword strings
 * included.
 */
int mg_url_check(const char *url, struct mg_error *err);

/*
 * Scrubbing a password out of text that may quote it (a server's error
 * message, libpq's echo of a URL it cannot parse).
 *
 * A *whole occurrence* of secret in text is a run of bytes that spells
 * secret, each byte either as itself or as a %XX escape of it (so the
 * percent-encoded form a URL held is found too), and that is not part of
 * a longer token:
 *  - if secret starts with a word byte (ASCII letter, digit, '_', or any
 *    byte >= 0x80), the byte before the run is not a word byte;
 *  - if secret ends with a word byte, the byte after the run is not one;
 *  - the run is not a URL's scheme (followed by "://") nor a URL's user
 *    name (preceded by "//" and followed by ':'), which a rebuilt URL
 *    shows beside "***".
 * So a password "p" leaves "port" alone, a password "postgres" leaves
 * "postgres://postgres:***@db" alone but hides 'near "postgres"', and
 * "s3cret" is hidden in "s3cret-host" but not in "s3crets".
 */

/*
 * Replaces each whole occurrence of secret in text (NUL-terminated, in a
 * buffer of size bytes) with "***" (with as many '*' as it had bytes
 * when shorter than 3), in place: the text only shrinks, nothing else in
 * it changes. A text that fills its buffer (strlen == size - 1) may have
 * been cut inside the password, so a start of secret at its very end is
 * hidden too. No-op when text or secret is NULL or secret is "".
 */
void mg_scrub(char *text, size_t size, const char *secret);

/*
 * mg_scrub() with every password url holds, found without connecting, as
 * libpq splits it (mg_url_redact): the userinfo's password and each
 * password= or sslpassword= value, both as written and percent-decoded
 * (or unquoted and unescaped, in a keyword string). For a message that
 * may quote url itself, before libpq could tell what the password is.
 */
void mg_url_scrub(char *text, size_t size, const char *url);

/*
 * golang-migrate's URL forms, made ours: `mysql://u:p@tcp(host:port)/db`
 * becomes `mysql://u:p@host:port/db`, and its `x-` query parameters go:
 * x-migrations-table into *table (NULL when absent; owned), the harmless
 * x-multi-statement and x-multi-statement-max-size (migrate splits files
 * itself) dropped, any other x- refused by name (MG_EINVALID). *out (the
 * caller frees) is NULL when url needs no change.
 */
int mg_url_from_golang_migrate(char **out, char **table, const char *url,
                               struct mg_error *err);

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
