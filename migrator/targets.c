#include "migrator/targets.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/drivers/url.h"
#include "migrator/error.h"

/* What the drivers would refuse only once they connect, refused now, so
 * that a bad line stops the fleet before any target runs. */
static int check_url(const char *url, struct mg_error *err)
{
	struct mg_url u;
	int rc;

	if (mg_driver_for_url(url, err) == NULL)
		return MG_EINVALID;
	if (mg_url_has_scheme(url, "sqlite:") ||
	    mg_url_has_scheme(url, "sqlite3:"))
		return *mg_url_sqlite_path(url) == '\0'
		               ? mg_error_set(err, MG_EINVALID,
		                              "a sqlite: URL needs a file "
		                              "name")
		               : 0;
	if (mg_url_has_scheme(url, "mysql://") ||
	    mg_url_has_scheme(url, "mariadb://")) {
		rc = mg_url_parse(&u, url, err);
		mg_url_dispose(&u);
		return rc;
	}
	return mg_url_check(url, err);
}

int mg_targets_add(struct mg_targets *t, const char *url, unsigned line,
                   struct mg_error *err)
{
	struct mg_target *grown, nt = { 0 };
	size_t i;
	int rc;

	if ((rc = check_url(url, err)) < 0)
		return rc;
	if ((nt.url = strdup(url)) == NULL ||
	    (nt.label = mg_url_redact(url)) == NULL)
		goto nomem;
	nt.line = line;
	/* the same database twice would run every migration on it twice
	 * at once, the second run waiting for the first's lock */
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].label, nt.label) != 0)
			continue;
		free(nt.url);
		free(nt.label);
		if (t->v[i].line > 0)
			return mg_error_set(err, MG_EINVALID,
			                    "the same target as line %u",
			                    t->v[i].line);
		return mg_error_set(err, MG_EINVALID, "the same target twice");
	}
	if ((grown = realloc(t->v, (t->n + 1) * sizeof(*t->v))) == NULL)
		goto nomem;
	t->v = grown;
	t->v[t->n++] = nt;
	return 0;
nomem:
	free(nt.url);
	free(nt.label);
	return mg_error_set(err, MG_ENOMEM, "out of memory");
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int mg_targets_parse(struct mg_targets *out, const char *path,
                     const char *text, size_t len, struct mg_error *err)
{
	const char *p = text, *end = text + len, *nl, *a, *b;
	struct mg_buf one = MG_BUF_INIT;
	unsigned line = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (; p < end && rc == 0; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		for (a = p; a < nl && blank(*a); a++)
			;
		for (b = nl; b > a && blank(b[-1]); b--)
			;
		if (a == b || *a == '#')
			continue;
		if (memchr(a, '\0', (size_t)(b - a)) != NULL) {
			rc = mg_error_set(err, MG_EINVALID,
			                  "not a database URL: a NUL byte");
			break;
		}
		mg_buf_truncate(&one, 0);
		mg_buf_addn(&one, a, (size_t)(b - a));
		if ((rc = mg_buf_check(&one, err)) < 0)
			break;
		rc = mg_targets_add(out, one.ptr, line, err);
	}
	if (rc == MG_EINVALID) {
		mg_error_locate(err, path, line);
	} else if (rc == 0 && out->n == 0) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "names no target: one database URL a line");
		mg_error_locate(err, path, 0);
	}
	/* the line held a password: leave no copy of it behind */
	if (one.ptr != NULL)
		memset(one.ptr, 0, one.cap);
	mg_buf_dispose(&one);
	return rc;
}

void mg_targets_dispose(struct mg_targets *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->v[i].url != NULL)
			memset(t->v[i].url, 0, strlen(t->v[i].url));
		free(t->v[i].url);
		free(t->v[i].label);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static bool unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

int mg_url_with_database(char **out, const char *url, const char *db,
                         struct mg_error *err)
{
	struct mg_buf b = MG_BUF_INIT;
	const char *p, *at = NULL, *host, *host_end, *path_end, *s;

	*out = NULL;
	if (db == NULL || *db == '\0')
		return mg_error_set(err, MG_EINVALID, "an empty database name");
	if (mg_url_has_scheme(url, "sqlite:") ||
	    mg_url_has_scheme(url, "sqlite3:"))
		return mg_error_set(err, MG_EINVALID,
		                    "a sqlite: URL names a file, not a server "
		                    "with databases");
	if ((p = strstr(url, "://")) == NULL) {
		/* a keyword string: the last dbname= wins in libpq */
		mg_buf_add(&b, url);
		mg_buf_add(&b, " dbname='");
		for (s = db; *s; s++) {
			if (*s == '\'' || *s == '\\')
				mg_buf_addc(&b, '\\');
			mg_buf_addc(&b, *s);
		}
		mg_buf_addc(&b, '\'');
		goto done;
	}
	p += 3;
	/* libpq's split: the userinfo runs to the first '@' before any '/' */
	for (s = p; *s && *s != '/'; s++)
		if (*s == '@') {
			at = s;
			break;
		}
	host = at ? at + 1 : p;
	host_end = host + strcspn(host, "/?");
	path_end = host_end + strcspn(host_end, "?");
	mg_buf_addn(&b, url, (size_t)(host_end - url));
	mg_buf_addc(&b, '/');
	for (s = db; *s; s++) {
		if (unreserved((unsigned char)*s))
			mg_buf_addc(&b, *s);
		else
			mg_buf_addf(&b, "%%%02X", (unsigned)(unsigned char)*s);
	}
	mg_buf_add(&b, path_end);
done:
	if (mg_buf_check(&b, err) < 0) {
		mg_buf_dispose(&b);
		return MG_ENOMEM;
	}
	*out = mg_buf_detach(&b);
	return 0;
}
