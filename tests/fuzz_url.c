/*
 * A fuzzer for password hiding (issue 8): builds PostgreSQL URLs and
 * keyword strings with passwords full of the bytes parsers disagree on
 * ('@', '/', '?', '#', ':', '%', quotes, backslashes, every blank libpq
 * takes), percent-encoded or not, sometimes mangled further, and checks
 * each against libpq's own parse (PQconninfoParse) as the oracle: either
 * our parse refuses the URL (mg_url_check, as pg_connect does), or nothing
 * we show holds the password libpq sees, nor the one the URL was built
 * with (plain or as written): not mg_url_redact(), nor any text of the
 * error of a connect to a closed port (127.0.0.1:1, no DNS). A refused
 * URL's mg_url_redact() is checked too: cmd/ shows it in argv.
 *
 *   fuzz_url [SEED [ITERATIONS]]   (scripts/fuzz-url.sh runs it long)
 *
 * Each failure is printed with its seed and URL; exit 1 if any. The
 * same code runs a bounded number of iterations in tests/test_url.c,
 * which includes this file with MG_FUZZ_NO_MAIN defined.
 */
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"
#include "migrator/drivers/url.h"

struct fz_stats {
	unsigned long urls, refused, unparsed, connects, failures;
};

/* xorshift64*: the same seed gives the same URLs everywhere */
static uint64_t fz_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static unsigned fz_below(uint64_t *s, unsigned n)
{
	return n > 0 ? (unsigned)(fz_next(s) >> 33) % n : 0;
}

static const char fz_alnum[] = "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/* what URL and keyword parsers split on, or decode */
static const char fz_special[] = "@/?#:%&=' \\\f\t\n\v\r,[]\"!$+;_-.~";
static const char fz_blanks[] = " \t\n\v\f\r";

/* A password of 6 to 14 bytes, at least 4 of them letters or digits so
 * that it stands out from any fixed text. */
static void fz_password(char *out, uint64_t *s)
{
	unsigned n = 6 + fz_below(s, 9), i, alnum = 0;

	for (i = 0; i < n; i++) {
		bool special = fz_below(s, 10) < 3 && n - i > 4 - alnum;

		if (special) {
			out[i] =
			        fz_special[fz_below(s, sizeof(fz_special) - 1)];
		} else {
			out[i] = fz_alnum[fz_below(s, sizeof(fz_alnum) - 1)];
			alnum++;
		}
	}
	out[n] = '\0';
}

/* Appends pw for a URL's userinfo or query: specials mostly
 * percent-encoded, sometimes raw; letters now and then encoded too. The
 * first time, also into *cap, which is then set to NULL. */
static void fz_add_encoded(struct mg_buf *b, const char *pw,
                           struct mg_buf **cap, uint64_t *s)
{
	size_t from = b->len;

	for (; *pw; pw++) {
		bool special = strchr(fz_alnum, *pw) == NULL;

		if ((special && fz_below(s, 10) < 8) ||
		    (!special && fz_below(s, 10) == 0))
			mg_buf_addf(b, fz_below(s, 2) ? "%%%02X" : "%%%02x",
			            (unsigned char)*pw);
		else
			mg_buf_addc(b, *pw);
	}
	if (*cap != NULL && !b->failed) {
		mg_buf_addn(*cap, b->ptr + from, b->len - from);
		*cap = NULL;
	}
}

/* Appends pw as a keyword value: bare with backslash escapes, or quoted
 * (and, now and then, raw and likely wrong). */
static void fz_add_keyword_value(struct mg_buf *b, const char *pw, uint64_t *s)
{
	unsigned how = fz_below(s, 10);

	if (how < 4) {
		mg_buf_addc(b, '\'');
		for (; *pw; pw++) {
			if (*pw == '\'' || *pw == '\\')
				mg_buf_addc(b, '\\');
			mg_buf_addc(b, *pw);
		}
		mg_buf_addc(b, '\'');
	} else if (how < 9) {
		if (*pw == '\'')
			mg_buf_addc(b, '\\');
		for (; *pw; pw++) {
			if (strchr(fz_blanks, *pw) || *pw == '\\')
				mg_buf_addc(b, '\\');
			mg_buf_addc(b, *pw);
		}
	} else {
		mg_buf_add(b, pw);
	}
}

static const char *fz_pick(const char *const *v, size_t n, uint64_t *s)
{
	return v[fz_below(s, (unsigned)n)];
}

#define FZ_PICK(v, s) fz_pick((v), sizeof(v) / sizeof((v)[0]), (s))

static void fz_blank(struct mg_buf *b, uint64_t *s)
{
	unsigned n = 1 + fz_below(s, 2);

	while (n-- > 0)
		mg_buf_addc(b, fz_blanks[fz_below(s, sizeof(fz_blanks) - 1)]);
}

/* A postgres URL with password pw (and maybe a second one in the
 * query, pw2). */
static void fz_url(struct mg_buf *b, const char *pw, const char *pw2,
                   struct mg_buf *enc, struct mg_buf *enc2, uint64_t *s)
{
	static const char *const schemes[] = { "postgres://", "postgresql://",
		                               "postgres://", "POSTGRES://" };
	static const char *const users[] = { "u",   "deploy", "",   "u%40x",
		                             "u?x", "u#x",    "a:b" };
	static const char *const hosts[] = { "127.0.0.1:1",
		                             "127.0.0.1:1",
		                             "localhost:1",
		                             "[::1]:1",
		                             "[::1:1",
		                             "127.0.0.1:1,127.0.0.1:2",
		                             "",
		                             ":1",
		                             "127.0.0.1:x1",
		                             "[::1]:65536" };
	static const char *const paths[] = { "/db",    "",     "/",
		                             "/d%zzb", "/d#b", "/d@b" };
	static const char *const params[] = { "sslmode=disable",
		                              "x=1",
		                              "connect_timeout=1",
		                              "host=127.0.0.1",
		                              "port=1",
		                              "application_name=a#b",
		                              "bad",
		                              "a=b=c",
		                              "options=-c%20a=b",
		                              "host=p%zz",
		                              "pass%77ord=",
		                              "PASSWORD=",
		                              "sslpassword=",
		                              "password=",
		                              "dbname=a@b" };
	unsigned i, n;

	mg_buf_add(b, FZ_PICK(schemes, s));
	switch (fz_below(s, 4)) {
	case 0: /* no userinfo */
		break;
	case 1: /* a user only */
		mg_buf_addf(b, "%s@", FZ_PICK(users, s));
		break;
	default:
		mg_buf_addf(b, "%s:", FZ_PICK(users, s));
		fz_add_encoded(b, pw, &enc, s);
		mg_buf_addc(b, '@');
	}
	mg_buf_add(b, FZ_PICK(hosts, s));
	mg_buf_add(b, FZ_PICK(paths, s));
	n = fz_below(s, 4);
	for (i = 0; i < n; i++) {
		const char *p = FZ_PICK(params, s);

		mg_buf_addc(b, i == 0 ? '?' : '&');
		mg_buf_add(b, p);
		if (p[strlen(p) - 1] == '=')
			fz_add_encoded(b, pw2, &enc2, s);
	}
}

/* A libpq keyword string with password pw. */
static void fz_keywords(struct mg_buf *b, const char *pw, uint64_t *s)
{
	static const char *const pairs[] = { "host=127.0.0.1",
		                             "port=1",
		                             "dbname=x",
		                             "user=u",
		                             "connect_timeout=1",
		                             "sslmode=disable",
		                             "host='127.0.0.1'",
		                             "port=1,2",
		                             "host=127.0.0.1,localhost" };
	unsigned i, n = 1 + fz_below(s, 4), at = fz_below(s, n + 1);

	for (i = 0; i <= n; i++) {
		if (i > 0)
			fz_blank(b, s);
		if (i != at) {
			mg_buf_add(b, FZ_PICK(pairs, s));
			continue;
		}
		mg_buf_add(b, fz_below(s, 8) ? "password" : "PASSWORD");
		if (fz_below(s, 3) == 0)
			fz_blank(b, s);
		mg_buf_addc(b, '=');
		if (fz_below(s, 3) == 0)
			fz_blank(b, s);
		fz_add_keyword_value(b, pw, s);
	}
}

/* One to three random edits: insert a special byte, drop a byte, or
 * repeat a piece. */
static void fz_mangle(struct mg_buf *b, uint64_t *s)
{
	unsigned n = 1 + fz_below(s, 3);
	char *t;

	while (n-- > 0 && b->len > 0 && !b->failed) {
		size_t at = fz_below(s, (unsigned)b->len), len = b->len;

		if ((t = mg_buf_detach(b)) == NULL)
			return;
		switch (fz_below(s, 3)) {
		case 0:
			mg_buf_addn(b, t, at);
			mg_buf_addc(b, fz_special[fz_below(
			                       s, sizeof(fz_special) - 1)]);
			mg_buf_add(b, t + at);
			break;
		case 1:
			mg_buf_addn(b, t, at);
			mg_buf_add(b, t + at + 1);
			break;
		default:
			mg_buf_addn(b, t, at + 1);
			mg_buf_addn(b, t + at, len - at > 5 ? 5 : len - at);
			mg_buf_add(b, t + at + 1);
		}
		free(t);
	}
}

/* A host libpq may look up without DNS: a path, a loopback address. */
static bool fz_local_hosts(const char *list)
{
	char *copy, *h, *save = NULL;
	bool ok = true;

	if (list == NULL)
		return true;
	if ((copy = strdup(list)) == NULL)
		return false;
	for (h = strtok_r(copy, ",", &save); h != NULL && ok;
	     h = strtok_r(NULL, ",", &save))
		ok = h[0] == '/' || strcmp(h, "127.0.0.1") == 0 ||
		     strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0;
	free(copy);
	return ok;
}

/* Whether a secret we must hide is in text; prints the failure. */
static bool fz_leaks(FILE *out, uint64_t seed, const char *url,
                     const char *what, const char *text, const char *secret)
{
	if (secret == NULL || strlen(secret) < 4 || text == NULL ||
	    strstr(text, secret) == NULL)
		return false;
	if (out != NULL)
		fprintf(out,
		        "fuzz_url: seed %llu: %s shows '%s'\n  url: %s\n"
		        "  shown: %s\n",
		        (unsigned long long)seed, what, secret, url, text);
	return true;
}

/* Checks one URL against the secrets; returns how many leaks. */
static unsigned fz_check(FILE *out, uint64_t seed, const char *url,
                         const char *const *secrets, size_t nsecrets,
                         struct fz_stats *st)
{
	const struct mg_driver *pg = mg_driver_for_url("postgres://", NULL);
	PQconninfoOption *opts, *o;
	const char *libpq[2] = { NULL, NULL };
	bool connect = true;
	struct mg_error err;
	struct mg_conn *conn = NULL;
	unsigned leaks = 0;
	char *msg = NULL, *shown;
	size_t i, j;

	st->urls++;
	/* pg_connect refuses it before libpq sees it; only what cmd/
	 * shows in argv, mg_url_redact(), is left to check */
	if (mg_url_check(url, NULL) < 0) {
		st->refused++;
		connect = false;
	}
	if ((opts = PQconninfoParse(url, &msg)) == NULL) {
		st->unparsed++;
	} else {
		for (o = opts; o->keyword != NULL; o++) {
			if (strcmp(o->keyword, "password") == 0)
				libpq[0] = o->val;
			else if (strcmp(o->keyword, "sslpassword") == 0)
				libpq[1] = o->val;
			else if (strcmp(o->keyword, "host") == 0 ||
			         strcmp(o->keyword, "hostaddr") == 0)
				connect = connect && fz_local_hosts(o->val);
		}
	}
	PQfreemem(msg);
	memset(&err, 0, sizeof(err));
	if (connect && pg != NULL) {
		st->connects++;
		if (pg->connect(&conn, url, 0, &err) == 0)
			pg->close(conn);
	}
	shown = mg_url_redact(url);
	for (i = 0; i < nsecrets + 2; i++) {
		const char *sec = i < 2 ? libpq[i] : secrets[i - 2];
		const char *texts[] = { shown, err.msg, err.detail, err.hint };
		const char *names[] = { "mg_url_redact", "connect's message",
			                "connect's detail", "connect's hint" };

		for (j = 0; j < 4; j++)
			leaks += fz_leaks(out, seed, url, names[j], texts[j],
			                  sec);
	}
	free(shown);
	PQconninfoFree(opts);
	return leaks;
}

/*
 * Runs iters URLs from seed (each URL's own seed is seed + its number,
 * so a failure can be replayed alone). Failures go to out (may be NULL).
 * Returns how many URLs leaked.
 */
static unsigned long fz_run(uint64_t seed, unsigned long iters, FILE *out,
                            struct fz_stats *st)
{
	unsigned long i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < iters; i++) {
		uint64_t s = (seed + i) * 0x9E3779B97F4A7C15ULL | 1;
		struct mg_buf b = MG_BUF_INIT, enc = MG_BUF_INIT,
		              enc2 = MG_BUF_INIT;
		char pw[16], pw2[16];
		const char *secrets[4];
		size_t n = 0;
		bool mangled;

		fz_password(pw, &s);
		fz_password(pw2, &s);
		if (fz_below(&s, 4) == 0)
			fz_keywords(&b, pw, &s);
		else
			fz_url(&b, pw, pw2, &enc, &enc2, &s);
		mangled = fz_below(&s, 10) < 3;
		if (mangled)
			fz_mangle(&b, &s);
		if (b.failed || enc.failed || enc2.failed) {
			st->failures++; /* out of memory: not a pass */
			goto next;
		}
		/* unmangled, the URL holds what it was built with */
		if (!mangled) {
			secrets[n++] = pw;
			secrets[n++] = pw2;
			secrets[n++] = mg_buf_cstr(&enc);
			secrets[n++] = mg_buf_cstr(&enc2);
		}
		if (fz_check(out, seed + i, mg_buf_cstr(&b), secrets, n, st) >
		    0)
			st->failures++;
	next:
		mg_buf_dispose(&b);
		mg_buf_dispose(&enc);
		mg_buf_dispose(&enc2);
	}
	return st->failures;
}

#ifndef MG_FUZZ_NO_MAIN
int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
	unsigned long iters = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
	struct fz_stats st;

	fz_run(seed, iters, stdout, &st);
	printf("fuzz_url: seed %llu, %lu URLs: %lu refused, %lu libpq could "
	       "not parse, %lu connects, %lu leaked\n",
	       (unsigned long long)seed, st.urls, st.refused, st.unparsed,
	       st.connects, st.failures);
	return st.failures > 0 ? 1 : 0;
}
#endif
