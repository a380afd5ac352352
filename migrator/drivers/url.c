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

/* What follows "scheme://" at the start of url (a letter, then letters,
 * digits, '+', '-' or '.'), or NULL: "password=a://b" is no URL. */
static const char *after_scheme(const char *url)
{
	const char *p = url;

	if (!isalpha((unsigned char)*p))
		return NULL;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	       *p == '.')
		p++;
	return strncmp(p, "://", 3) == 0 ? p + 3 : NULL;
}

bool mg_url_is_keywords(const char *url)
{
	return after_scheme(url) == NULL && strchr(url, '=') != NULL;
}

const char *mg_url_sqlite_path(const char *url)
{
	const char *p = strchr(url, ':') + 1;

	/* sqlite://rel.db and sqlite:///abs.db, as other tools write them */
	if (strncmp(p, "//", 2) == 0)
		p += 2;
	return p;
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

/* libpq's conninfo_parse() separates keywords with isspace() */
static bool is_space(char c)
{
	return isspace((unsigned char)c);
}

/*
 * libpq's split of scheme://[user[:password]@]hosts[/db][?query]
 * (conninfo_uri_parse_options): there is a userinfo when an '@' comes
 * before any '/', and nothing else ends it, so a '?' or '#' before that
 * '@' is the user's or the password's. Returns where the userinfo or
 * the host starts (NULL without "://"); *at is the userinfo's '@' or
 * NULL.
 */
static const char *split_userinfo(const char *url, const char **at)
{
	const char *p = after_scheme(url), *q;

	*at = NULL;
	if (p == NULL)
		return NULL;
	q = p + strcspn(p, "@/");
	if (*q == '@')
		*at = q;
	return p;
}

/* Where libpq's query starts in what follows the userinfo, or NULL: the
 * first '?' after the hosts, where a '[...]' IPv6 host may hold one. */
static const char *query_start(const char *rest)
{
	const char *p = rest, *q;

	while (*p != '\0' && *p != '/' && *p != '?') {
		if (*p == '[' && (q = strchr(p, ']')) != NULL)
			p = q + 1;
		else
			p++;
	}
	if (*p == '/')
		return strchr(p, '?');
	return *p == '?' ? p : NULL;
}

/* Whether a key of n bytes names a secret: "password" or "sslpassword"
 * in any case, percent-escapes decoded as libpq decodes URL query keys
 * (pass%77ord is password). */
static bool secret_key(const char *k, size_t n)
{
	char name[16];
	size_t len = 0;
	int hi, lo;

	while (n > 0) {
		if (len + 1 == sizeof(name))
			return false;
		if (k[0] == '%' && n >= 3 && (hi = hexval(k[1])) >= 0 &&
		    (lo = hexval(k[2])) >= 0) {
			name[len++] = (char)(hi * 16 + lo);
			k += 3;
			n -= 3;
		} else {
			name[len++] = *k++;
			n--;
		}
	}
	name[len] = '\0';
	return strcasecmp(name, "password") == 0 ||
	       strcasecmp(name, "sslpassword") == 0;
}

/* One key=value of a keyword string or URL query; val NULL: no '='.
 * val and val_len take in the quotes of a quoted keyword value. */
struct pair {
	const char *key, *val;
	size_t key_len, val_len;
};

/*
 * The next key=value of a libpq keyword string at *pp, as libpq's
 * conninfo_parse() reads it: blanks (isspace) around '=' and between
 * pairs, a value either a word with backslash escapes or a '...'
 * string with them. False at the end, or with *bad set where libpq
 * would refuse the rest (no '=', an unterminated quote).
 */
static bool next_keyword(const char **pp, struct pair *kv, bool *bad)
{
	const char *p = *pp;

	while (is_space(*p))
		p++;
	if (*p == '\0')
		return false;
	kv->key = p;
	while (*p != '\0' && *p != '=' && !is_space(*p))
		p++;
	kv->key_len = (size_t)(p - kv->key);
	while (is_space(*p))
		p++;
	if (*p++ != '=') {
		*bad = true;
		return false;
	}
	while (is_space(*p))
		p++;
	kv->val = p;
	if (*p == '\'') {
		for (p++; *p != '\''; p++) {
			if (*p == '\0') {
				*bad = true;
				return false;
			}
			if (*p == '\\' && p[1] != '\0')
				p++;
		}
		p++;
	} else {
		while (*p != '\0' && !is_space(*p))
			p += *p == '\\' && p[1] != '\0' ? 2 : 1;
	}
	kv->val_len = (size_t)(p - kv->val);
	*pp = p;
	return true;
}

/* The next '&'-separated parameter of a URL query at *pp (libpq ends a
 * value at '&' only: a '#' or ' ' is part of it). */
static bool next_param(const char **pp, struct pair *kv)
{
	const char *p = *pp, *e, *eq;

	if (*p == '\0')
		return false;
	e = p + strcspn(p, "&");
	eq = memchr(p, '=', (size_t)(e - p));
	kv->key = p;
	kv->key_len = (size_t)((eq ? eq : e) - p);
	kv->val = eq ? eq + 1 : NULL;
	kv->val_len = eq ? (size_t)(e - eq - 1) : 0;
	*pp = *e == '&' ? e + 1 : e;
	return true;
}

static void redact_keywords(struct mg_buf *b, const char *s)
{
	struct pair kv;
	bool bad = false, first = true;

	while (next_keyword(&s, &kv, &bad)) {
		if (!first)
			mg_buf_addc(b, ' ');
		first = false;
		mg_buf_addn(b, kv.key, kv.key_len);
		mg_buf_addc(b, '=');
		if (secret_key(kv.key, kv.key_len))
			mg_buf_add(b, "***");
		else
			mg_buf_addn(b, kv.val, kv.val_len);
	}
	if (bad) /* libpq refuses the rest: it is not shown */
		mg_buf_add(b, first ? "..." : " ...");
}

/*
 * The next password= or sslpassword= value after a '?' or '&' anywhere in
 * what follows a URL's userinfo, from *pp on: where libpq's query starts
 * is not always plain ('[' ... ']' may hold a '?', a refused URL may put
 * it anywhere), so every place one could start is taken. Sets the value
 * [*val, *val + *n) and *pp past it; false when there is none.
 */
static bool next_secret_param(const char **pp, const char **val, size_t *n)
{
	const char *p, *k, *eq;

	for (p = *pp; *p != '\0'; p++) {
		if (*p != '?' && *p != '&')
			continue;
		k = p + 1;
		eq = k + strcspn(k, "=&");
		if (*eq == '=' && secret_key(k, (size_t)(eq - k))) {
			*val = eq + 1;
			*n = strcspn(eq + 1, "&");
			/* password=&x: a password starting with a raw '&' */
			if (*n == 0 && eq[1] == '&')
				*n = 1 + strcspn(eq + 2, "&");
			*pp = *val + *n;
			return true;
		}
	}
	return false;
}

char *mg_url_redact(const char *url)
{
	struct mg_buf b = MG_BUF_INIT;
	const char *at, *auth = split_userinfo(url, &at), *q, *v;
	size_t user, n, len, i;
	char *hide;

	if (auth == NULL) {
		if (mg_url_is_keywords(url))
			redact_keywords(&b, url);
		else
			mg_buf_add(&b, url);
		return mg_buf_detach(&b);
	}
	/* which bytes after "://" are a password: the userinfo's, and every
	 * password= value any reading finds */
	len = strlen(auth);
	if ((hide = calloc(len + 1, 1)) == NULL)
		return NULL;
	/* refused anyway; hide all that any reading takes for a password */
	if (mg_url_userinfo_ambiguous(url))
		at = strrchr(auth, '@');
	user = strcspn(auth, ":@");
	if (at != NULL && auth + user < at)
		memset(hide + user + 1, 1, (size_t)(at - auth) - user - 1);
	for (q = auth; next_secret_param(&q, &v, &n);)
		memset(hide + (v - auth), 1, n);
	mg_buf_addn(&b, url, (size_t)(auth - url));
	for (i = 0; i < len; i++) {
		if (!hide[i]) {
			mg_buf_addc(&b, auth[i]);
			continue;
		}
		mg_buf_add(&b, "***");
		while (hide[i + 1])
			i++;
	}
	free(hide);
	return mg_buf_detach(&b);
}

int mg_url_check(const char *url, struct mg_error *err)
{
	const char *at, *auth = split_userinfo(url, &at), *rest, *q, *v, *e;
	struct pair kv;
	size_t n;

	if (mg_url_userinfo_ambiguous(url))
		return mg_error_set(err, MG_EINVALID,
		                    "the URL's user or password holds '@', "
		                    "'/', '?' or '#': percent-encode them "
		                    "(%%40, %%2F, %%3F, %%23)");
	if (auth == NULL)
		return 0;
	rest = at ? at + 1 : auth;
	/* libpq reads an IPv6 host to its ']', wherever that is, then
	 * quotes the whole URL in its complaint */
	for (q = rest; *q != '\0' && *q != '/' && *q != '?'; q++) {
		if (*q != '[')
			continue;
		/* an address, and maybe a zone: [fe80::1%25eth0] */
		e = q + 1 +
		    strspn(q + 1, "0123456789:.%-_"
		                  "abcdefghijklmnopqrstuvwxyz"
		                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
		if (*e != ']')
			return mg_error_set(err, MG_EINVALID,
			                    "bad IPv6 host in the URL: "
			                    "expected [address]");
		q = e;
	}
	/* a password=&... wherever a query could start: a password
	 * beginning with an unencoded '&' */
	for (q = rest; next_secret_param(&q, &v, &n);)
		if (n == 0 || *v == '&')
			return mg_error_set(
			        err, MG_EINVALID,
			        "empty password= in the URL: "
			        "percent-encode a '&' in it (%%26)");
	if ((q = query_start(rest)) == NULL)
		return 0;
	for (q++; next_param(&q, &kv);) {
		/* what libpq refuses after quoting it */
		if (kv.val == NULL || kv.key_len == 0 ||
		    memchr(kv.key, '@', kv.key_len) ||
		    memchr(kv.val, '=', kv.val_len))
			return mg_error_set(err, MG_EINVALID,
			                    "bad URL parameter: expected "
			                    "key=value, with '&', '=' and '@' "
			                    "in a value percent-encoded (%%26, "
			                    "%%3D, %%40)");
	}
	return 0;
}

/* Whether every byte of [s, e) is a decimal digit (true when empty). */
static bool all_digits(const char *s, const char *e)
{
	for (; s < e; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/*
 * Whether, in a URL without libpq's userinfo, a ':' that is not a
 * port's (digits up to ',', '/', '?' or the end) comes before an '@':
 * "u?x:pa/ss@h" is a userinfo to its writer, a host "u" and a query to
 * libpq.
 */
static bool colon_before_at(const char *rest)
{
	const char *last = strrchr(rest, '@'), *p, *d;

	for (p = rest; last != NULL && p < last; p++) {
		if (*p == '[' && (d = strchr(p, ']')) != NULL && d < last)
			p = d; /* [::1] */
		if (*p != ':')
			continue;
		d = p + 1 + strspn(p + 1, "0123456789");
		if (d == p + 1 || (*d != '\0' && !strchr(",/?", *d)))
			return true;
	}
	return false;
}

bool mg_url_userinfo_ambiguous(const char *url)
{
	const char *at, *auth = split_userinfo(url, &at), *rest, *h, *e, *q;

	if (auth == NULL)
		return false;
	if (at != NULL && strcspn(auth, "?#") < (size_t)(at - auth))
		return true;
	rest = at ? at + 1 : auth;
	/* an '@' in the host or the database: a password holding '@', or
	 * '/' (which ends libpq's userinfo before its '@') */
	q = query_start(rest);
	if (memchr(rest, '@', q ? (size_t)(q - rest) : strlen(rest)) != NULL)
		return true;
	/* or in the query, but not in a key=value's value, nor after a key
	 * holding ':' or '/', which no libpq keyword does: the rest of a
	 * userinfo ("u?x:pa/ss@h", "u?x:p=w@h" read as host "u") */
	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q + 1, "&"), k = strcspn(q + 1, "=&");

		if (memchr(q + 1, '@', k) != NULL ||
		    (memchr(q + 1, '@', n) != NULL &&
		     (memchr(q + 1, ':', k) || memchr(q + 1, '/', k))))
			return true;
		q = q[1 + n] == '&' ? q + 1 + n : NULL;
	}
	if (at != NULL)
		return false;
	if (colon_before_at(rest))
		return true;
	/* "user:pass" cut short by a '/' or '?' in the password stands where
	 * the hosts go, and libpq would show the rest as a port */
	for (h = rest; *h != '\0' && *h != '/' && *h != '?'; h = e) {
		const char *colon;

		e = h + strcspn(h, ",/?");
		/* [::1]:5432; a missing ']' is libpq's to refuse */
		if (*h == '[' && (colon = memchr(h, ']', (size_t)(e - h))))
			h = colon;
		else if (*h == '[')
			h = e;
		colon = memchr(h, ':', (size_t)(e - h));
		if (colon != NULL && !all_digits(colon + 1, e))
			return true;
		if (*e == ',')
			e++;
	}
	return false;
}

static bool is_word(unsigned char c)
{
	return isalnum(c) || c == '_' || c >= 0x80;
}

/* How many bytes of text at t spell secret, each byte as itself or as a
 * %XX escape (either case); 0 if they do not. */
static size_t spelt_at(const char *t, const char *secret)
{
	const char *t0 = t;
	int hi, lo;

	for (; *secret; secret++) {
		if (*t == *secret)
			t++;
		else if (t[0] == '%' && (hi = hexval(t[1])) >= 0 &&
		         (lo = hexval(t[2])) >= 0 &&
		         hi * 16 + lo == (unsigned char)*secret)
			t += 3;
		else
			return 0;
	}
	return (size_t)(t - t0);
}

/* Whether [t + i, t + i + n), spelling secret, is a whole occurrence of
 * it (see url.h). */
static bool whole_at(const char *t, size_t i, size_t n, const char *secret)
{
	unsigned char first = (unsigned char)secret[0];
	unsigned char last = (unsigned char)secret[strlen(secret) - 1];

	if (i > 0 && is_word((unsigned char)t[i - 1]) && is_word(first))
		return false;
	if (is_word((unsigned char)t[i + n]) && is_word(last))
		return false;
	/* a URL's scheme, and its user name before ":password@" */
	if (strncmp(t + i + n, "://", 3) == 0)
		return false;
	return !(i >= 2 && t[i - 2] == '/' && t[i - 1] == '/' &&
	         t[i + n] == ':');
}

/* Replaces n bytes at p with min(n, 3) stars; the text only shrinks. */
static size_t star(char *p, size_t n)
{
	size_t r = n < 3 ? n : 3;

	memset(p, '*', r);
	memmove(p + r, p + n, strlen(p + n) + 1);
	return r;
}

void mg_scrub(char *text, size_t size, const char *secret)
{
	size_t len, i, n, k;

	if (text == NULL || size == 0 || secret == NULL || *secret == '\0')
		return;
	len = strnlen(text, size);
	if (len == size) /* not terminated: cut it where it must end */
		text[--len] = '\0';
	for (i = 0; text[i] != '\0'; i++) {
		if ((n = spelt_at(text + i, secret)) > 0 &&
		    whole_at(text, i, n, secret))
			i += star(text + i, n) - 1;
	}
	/* a text that fills its buffer may have been cut inside the
	 * password: hide a start of it left at the very end */
	len = strlen(text);
	if (len + 1 < size)
		return;
	for (k = strlen(secret) - 1; k > 0; k--) {
		if (k <= len && strncmp(text + len - k, secret, k) == 0 &&
		    (len == k || !is_word((unsigned char)text[len - k - 1]) ||
		     !is_word((unsigned char)secret[0]))) {
			star(text + len - k, k);
			return;
		}
	}
}

static char *decode(const char *s, const char *e, bool *bad);

/* Scrubs text of the n bytes at s, as written and percent-decoded (or,
 * in a keyword string, unquoted and unescaped). */
static void scrub_span(char *text, size_t size, const char *s, size_t n,
                       bool keyword)
{
	char *raw, *plain = NULL, *o;
	const char *p, *e;
	bool bad = false;

	if (keyword && n >= 2 && *s == '\'') { /* as written inside them */
		s++;
		n -= 2;
	}
	e = s + n;
	if ((raw = malloc(n + 1)) == NULL)
		return;
	memcpy(raw, s, n);
	raw[n] = '\0';
	mg_scrub(text, size, raw);
	if (!keyword) {
		plain = decode(s, e, &bad);
	} else if ((plain = malloc(n + 1)) != NULL) {
		for (o = plain, p = s; p < e; p++) {
			if (*p == '\\' && p + 1 < e)
				p++;
			*o++ = *p;
		}
		*o = '\0';
	}
	if (plain != NULL) {
		mg_scrub(text, size, plain);
		memset(plain, 0, strlen(plain));
		free(plain);
	}
	memset(raw, 0, n);
	free(raw);
}

void mg_url_scrub(char *text, size_t size, const char *url)
{
	const char *at, *auth = split_userinfo(url, &at), *colon, *q, *v;
	struct pair kv;
	bool bad = false;
	size_t n;

	if (auth == NULL) {
		while (next_keyword(&url, &kv, &bad))
			if (secret_key(kv.key, kv.key_len))
				scrub_span(text, size, kv.val, kv.val_len,
				           true);
		return;
	}
	if (at != NULL && (colon = memchr(auth, ':', (size_t)(at - auth))))
		scrub_span(text, size, colon + 1, (size_t)(at - colon - 1),
		           false);
	for (q = at ? at + 1 : auth; next_secret_param(&q, &v, &n);)
		scrub_span(text, size, v, n, false);
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
	if (split_userinfo(url, &at) != NULL && at != NULL) {
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

int mg_url_from_golang_migrate(char **out, char **table, const char *url,
                               struct mg_error *err)
{
	static const char *const dropped[] = { "x-multi-statement",
		                               "x-multi-statement-max-size" };
	struct mg_buf b = MG_BUF_INIT;
	const char *tcp = strstr(url, "@tcp("), *q = strchr(url, '?'), *p;
	bool changed = false, first = true;
	size_t i, klen;
	int rc;

	*out = NULL;
	*table = NULL;
	if (!mg_url_has_scheme(url, "mysql://") &&
	    !mg_url_has_scheme(url, "postgres://") &&
	    !mg_url_has_scheme(url, "postgresql://"))
		return 0;
	if (q == NULL)
		q = url + strlen(url);
	if (tcp != NULL && tcp < q && mg_url_has_scheme(url, "mysql://")) {
		const char *close = strchr(tcp, ')');

		if (close == NULL || close > q)
			return mg_error_set(err, MG_EINVALID,
			                    "tcp( without its ')' in the URL");
		mg_buf_addn(&b, url, (size_t)(tcp - url) + 1);
		mg_buf_addn(&b, tcp + 5, (size_t)(close - tcp - 5));
		mg_buf_addn(&b, close + 1, (size_t)(q - close - 1));
		changed = true;
	} else {
		mg_buf_addn(&b, url, (size_t)(q - url));
	}
	for (p = *q ? q + 1 : q; *p; p += klen + (p[klen] == '&')) {
		const char *eq;

		klen = strcspn(p, "&");
		eq = memchr(p, '=', klen);
		if (klen < 2 || strncmp(p, "x-", 2) != 0) {
			mg_buf_addf(&b, "%c%.*s", first ? '?' : '&', (int)klen,
			            p);
			first = false;
			continue;
		}
		changed = true;
		if (eq != NULL && (size_t)(eq - p) == strlen("x-migrations-table") &&
		    strncmp(p, "x-migrations-table", (size_t)(eq - p)) == 0) {
			free(*table);
			if ((*table = strndup(eq + 1, klen - (size_t)(eq - p) - 1)) ==
			    NULL) {
				rc = mg_error_set(err, MG_ENOMEM, "out of memory");
				goto fail;
			}
			continue;
		}
		for (i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
			if ((size_t)((eq ? eq : p + klen) - p) ==
			            strlen(dropped[i]) &&
			    strncmp(p, dropped[i], strlen(dropped[i])) == 0)
				break;
		if (i == sizeof(dropped) / sizeof(dropped[0])) {
			rc = mg_error_set(err, MG_EINVALID,
			                  "golang-migrate's URL parameter '%.*s' "
			                  "has no meaning here",
			                  (int)((eq ? eq : p + klen) - p), p);
			mg_error_hint(err, "remove it; x-migrations-table, "
			                   "x-multi-statement and "
			                   "x-multi-statement-max-size are "
			                   "understood");
			goto fail;
		}
	}
	if ((rc = mg_buf_check(&b, err)) < 0)
		goto fail;
	if (changed)
		*out = mg_buf_detach(&b);
	mg_buf_dispose(&b);
	return 0;
fail:
	free(*table);
	*table = NULL;
	mg_buf_dispose(&b);
	return rc;
}
