#include "migrator/drivers/url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "migrator/buf.h"
#include "migrator/error.h"

bool mg_url_has_scheme(const char *url, const char *scheme)
{
	return strncasecmp(url, scheme, strlen(scheme)) == 0;
}

bool mg_url_is_keywords(const char *url)
{
	return strstr(url, "://") == NULL && strchr(url, '=') != NULL;
}

const char *mg_url_sqlite_path(const char *url)
{
	const char *p = strchr(url, ':') + 1;

	/* sqlite://rel.db and sqlite:///abs.db, as other tools write them */
	if (strncmp(p, "//", 2) == 0)
		p += 2;
	return p;
}

/*
 * The userinfo of scheme://user:pass@host/..., NULL if none. When an '@'
 * comes before the first '/', '?' or '#', it ends at the last such '@'.
 * Otherwise a "user:" followed by an '@' further on may be a password
 * holding '/', '?' or '#' unencoded (which libpq would split elsewhere):
 * then it runs to the last '@' of all, so that it is hidden whole; only
 * "host:5432/db?x=a@b", a port with the '@' in the query, is not one.
 */
static const char *userinfo(const char *url, const char **at)
{
	const char *p = strstr(url, "://"), *q, *seg, *colon, *query;
	size_t digits;

	*at = NULL;
	if (p == NULL)
		return NULL;
	p += 3;
	seg = p + strcspn(p, "/?#");
	for (q = p; q < seg; q++)
		if (*q == '@')
			*at = q;
	if (*at != NULL)
		return p;
	if ((colon = memchr(p, ':', (size_t)(seg - p))) == NULL)
		return NULL;
	for (q = seg; *q; q++)
		if (*q == '@')
			*at = q;
	if (*at == NULL)
		return NULL;
	digits = strspn(colon + 1, "0123456789");
	query = strchr(seg, '?');
	if (digits > 0 && colon + 1 + digits == seg && *seg != '#' &&
	    query != NULL && query < *at) {
		*at = NULL; /* a port, and the '@' is the query's */
		return NULL;
	}
	return p;
}

/*
 * The end of a password=... value: in a URL's query it runs to the next
 * '&' (libpq takes spaces in it as they are); in a keyword string it is a
 * word, or a '...' string with backslash escapes.
 */
static int hexval(char c);

static const char *skip_value(const char *v, bool is_url)
{
	if (is_url)
		return v + strcspn(v, "&#");
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v != '\'') {
		/* libpq takes backslash escapes in bare values too */
		while (*v && *v != ' ' && *v != '\t')
			v += *v == '\\' && v[1] != '\0' ? 2 : 1;
		return v;
	}
	for (v++; *v && *v != '\''; v++)
		if (*v == '\\' && v[1] != '\0')
			v++;
	return *v ? v + 1 : v;
}

/*
 * Whether p starts a "password" key, spelt plainly or percent-encoded
 * (libpq decodes URL query keys: pass%77ord is password). Sets *end past
 * the key.
 */
static bool password_key(const char *p, const char **end)
{
	const char *want = "password";
	int hi, lo;

	for (; *want; want++) {
		if (p[0] == '%' && (hi = hexval(p[1])) >= 0 &&
		    (lo = hexval(p[2])) >= 0 &&
		    tolower(hi * 16 + lo) == *want)
			p += 3;
		else if (tolower((unsigned char)*p) == *want)
			p++;
		else
			return false;
	}
	*end = p;
	return true;
}
char *mg_url_redact(const char *url)
{
	struct mg_buf b = MG_BUF_INIT;
	const char *p = url, *at, *colon = NULL;
	const char *user = userinfo(url, &at);
	bool is_url = strstr(url, "://") != NULL;

	if (user != NULL)
		colon = memchr(user, ':', (size_t)(at - user));
	if (colon != NULL) {
		mg_buf_addn(&b, url, (size_t)(colon + 1 - url));
		mg_buf_add(&b, "***");
		p = at;
	}
	/* password=... in a query string or a libpq keyword string */
	while (*p) {
		const char *v;

		if ((p == url || !isalnum((unsigned char)p[-1])) &&
		    password_key(p, &v)) {
			const char *key = p;

			while (*v == ' ' || *v == '\t')
				v++;
			if (*v == '=') {
				mg_buf_addn(&b, key, (size_t)(v - key));
				mg_buf_add(&b, "=***");
				p = skip_value(v + 1, is_url);
				continue;
			}
		}
		mg_buf_addc(&b, *p++);
	}
	return mg_buf_detach(&b);
}

bool mg_url_userinfo_ambiguous(const char *url)
{
	const char *at, *user = userinfo(url, &at);

	size_t n = user != NULL ? (size_t)(at - user) : 0;

	if (user == NULL)
		return false;
	return memchr(user, '@', n) || memchr(user, '/', n) ||
	       memchr(user, '?', n) || memchr(user, '#', n);
}

void mg_redact_secret(char *text, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *p;

	if (n == 0)
		return;
	while ((p = strstr(text, secret)) != NULL)
		memset(p, '*', n);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decodes [s, e) into a new string; NULL on a bad escape/OOM. */
static char *decode(const char *s, const char *e, bool *bad)
{
	char *r = malloc((size_t)(e - s) + 1), *o = r;

	if (r == NULL)
		return NULL;
	while (s < e) {
		if (*s == '%') {
			int hi, lo;

			if (e - s < 3 || (hi = hexval(s[1])) < 0 ||
			    (lo = hexval(s[2])) < 0) {
				*bad = true;
				free(r);
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			s += 3;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return r;
}

static int add_param(struct mg_url *u, const char *s, const char *e,
                     struct mg_error *err)
{
	const char *eq = memchr(s, '=', (size_t)(e - s));
	char **k, **v;
	bool bad = false;

	if (eq == NULL || eq == s)
		return mg_error_set(err, MG_EINVALID,
		                    "bad URL parameter: "
		                    "expected key=value");
	if ((k = realloc(u->keys, (u->nparams + 1) * sizeof(*k))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	u->keys = k;
	if ((v = realloc(u->values, (u->nparams + 1) * sizeof(*v))) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	u->values = v;
	k[u->nparams] = decode(s, eq, &bad);
	v[u->nparams] = decode(eq + 1, e, &bad);
	u->nparams++;
	if (bad)
		return mg_error_set(err, MG_EINVALID,
		                    "bad percent-escape in "
		                    "a URL parameter");
	if (k[u->nparams - 1] == NULL || v[u->nparams - 1] == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	return 0;
}

static int parse_host(struct mg_url *u, const char *s, const char *e,
                      struct mg_error *err)
{
	const char *colon = NULL, *p;
	bool bad = false;

	if (s < e && *s == '[') { /* [::1]:3306 */
		const char *close = memchr(s, ']', (size_t)(e - s));

		if (close == NULL)
			return mg_error_set(err, MG_EINVALID,
			                    "bad IPv6 host "
			                    "in URL: missing ']'");
		u->host = decode(s + 1, close, &bad);
		if (close + 1 < e && close[1] == ':')
			colon = close + 1;
	} else {
		colon = memchr(s, ':', (size_t)(e - s));
		if ((colon ? colon : e) > s)
			u->host = decode(s, colon ? colon : e, &bad);
	}
	if (colon != NULL) {
		unsigned long port = 0;

		for (p = colon + 1; p < e; p++) {
			if (!isdigit((unsigned char)*p) || port > 65535)
				break;
			port = port * 10 + (unsigned long)(*p - '0');
		}
		/* the text is not shown: a mistyped URL may put part of a
		 * password here */
		if (p != e || p == colon + 1 || port == 0 || port > 65535)
			return mg_error_set(err, MG_EINVALID,
			                    "bad port in the "
			                    "URL: expected 1 to 65535");
		u->port = (unsigned)port;
	}
	if (bad)
		return mg_error_set(err, MG_EINVALID,
		                    "bad percent-escape in "
		                    "URL host");
	return 0;
}

int mg_url_parse(struct mg_url *out, const char *url, struct mg_error *err)
{
	struct mg_url u = { 0 };
	const char *p, *auth_end, *at = NULL, *path_end;
	bool bad = false;
	int rc = 0;
	unsigned i;

	memset(out, 0, sizeof(*out));
	if ((p = strstr(url, "://")) == NULL)
		return mg_error_set(err, MG_EINVALID,
		                    "not a URL: expected "
		                    "scheme://...");
	if (mg_url_userinfo_ambiguous(url))
		return mg_error_set(err, MG_EINVALID,
		                    "the URL's user or "
		                    "password holds '@', '/', '?' or '#': "
		                    "percent-encode them (%%40, %%2F, %%3F, "
		                    "%%23)");
	p += 3;
	if (userinfo(url, &at) != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));

		u.user = decode(p, colon ? colon : at, &bad);
		if (colon != NULL)
			u.password = decode(colon + 1, at, &bad);
		if (bad) {
			rc = mg_error_set(err, MG_EINVALID,
			                  "bad percent-"
			                  "escape in the URL's user or "
			                  "password");
			goto cleanup;
		}
		p = at + 1;
	}
	auth_end = p + strcspn(p, "/?#");
	if ((rc = parse_host(&u, p, auth_end, err)) < 0)
		goto cleanup;
	p = auth_end;
	if (*p == '/') {
		path_end = p + 1 + strcspn(p + 1, "?#");
		if (path_end > p + 1 &&
		    (u.db = decode(p + 1, path_end, &bad)) == NULL && bad) {
			rc = mg_error_set(err, MG_EINVALID,
			                  "bad percent-"
			                  "escape in the URL's database");
			goto cleanup;
		}
		p = path_end;
	}
	if (*p == '?') {
		p++;
		while (*p && *p != '#') {
			const char *e = p + strcspn(p, "&#");

			if (e > p && (rc = add_param(&u, p, e, err)) < 0)
				goto cleanup;
			p = *e == '&' ? e + 1 : e;
		}
	}
	for (i = 0; i < u.nparams; i++) {
		if (strcmp(u.keys[i], "socket") == 0) {
			free(u.socket);
			if ((u.socket = strdup(u.values[i])) == NULL) {
				rc = mg_error_set(err, MG_ENOMEM,
				                  "out of memory");
				goto cleanup;
			}
		}
	}
	*out = u;
	memset(&u, 0, sizeof(u));
cleanup:
	mg_url_dispose(&u);
	return rc;
}

void mg_url_dispose(struct mg_url *u)
{
	unsigned i;

	if (u->password != NULL) /* do not leave it in freed memory */
		memset(u->password, 0, strlen(u->password));
	free(u->user);
	free(u->password);
	free(u->host);
	free(u->db);
	free(u->socket);
	for (i = 0; i < u->nparams; i++) {
		free(u->keys[i]);
		free(u->values[i]);
	}
	free(u->keys);
	free(u->values);
	memset(u, 0, sizeof(u[0]));
}
