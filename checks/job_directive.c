#include "checks/job_directive.h"

#include <ctype.h>
#include <string.h>

#include "migrator/error.h"

#define WEEK_MS (7 * 24 * 3600 * INT64_C(1000))

int64_t mg_duration_ms(const char *s, size_t len)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = { { "ms", 1 },
		      { "s", 1000 },
		      { "m", 60000 },
		      { "h", 3600000 },
		      { "", 1000 } };
	const char *p = s, *end = s + len;
	int64_t n = 0;
	size_t i, rest;

	if (p == end || !isdigit((unsigned char)*p))
		return -1;
	for (; p < end && isdigit((unsigned char)*p); p++) {
		n = n * 10 + (*p - '0');
		if (n > WEEK_MS)
			return -1;
	}
	rest = (size_t)(end - p);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (rest == strlen(units[i].unit) &&
		    strncmp(p, units[i].unit, rest) == 0)
			break;
	if (i == sizeof(units) / sizeof(units[0]) || n == 0 ||
	    n > WEEK_MS / units[i].ms)
		return -1;
	return n * units[i].ms;
}

struct cur {
	const char *p, *end;
};

static void skip_ws(struct cur *c)
{
	while (c->p < c->end &&
	       (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
		c->p++;
}

/* The next run of non-blank bytes; its length (0 at the end). */
static size_t token(struct cur *c, const char **start)
{
	skip_ws(c);
	*start = c->p;
	while (c->p < c->end && !isspace((unsigned char)*c->p))
		c->p++;
	return (size_t)(c->p - *start);
}

static bool is(const char *t, size_t n, const char *w)
{
	return n == strlen(w) && strncmp(t, w, n) == 0;
}

static int bad(struct mg_error *err, unsigned line, const char *msg)
{
	mg_error_set(err, MG_EINVALID, "%s", msg);
	if (err != NULL)
		err->line = line;
	return MG_EINVALID;
}

/* "7d" or "12h", at most ten years; seconds, or -1. */
static int64_t interval_s(const char *t, size_t n)
{
	int64_t v = 0;
	size_t i;

	if (n < 2 || (t[n - 1] != 'd' && t[n - 1] != 'h'))
		return -1;
	for (i = 0; i + 1 < n; i++) {
		if (!isdigit((unsigned char)t[i]))
			return -1;
		v = v * 10 + (t[i] - '0');
		if (v > 3650 * 24)
			return -1;
	}
	if (v == 0 || (t[n - 1] == 'd' && v > 3650))
		return -1;
	return v * (t[n - 1] == 'd' ? 86400 : 3600);
}

static int parse_every(struct mg_job_directives *d, struct cur *c,
                       unsigned line, struct mg_error *err)
{
	const char *t;
	size_t n = token(c, &t);

	if (d->every_line != 0)
		return bad(err, line, "job:every is given twice");
	if ((d->every_s = interval_s(t, n)) < 0)
		return bad(err, line,
		           "job:every takes a number of days or hours, such "
		           "as 1d or 6h");
	d->every_line = line;
	return 0;
}

static int parse_batch(struct mg_job_directives *d, struct cur *c,
                       unsigned line, struct mg_error *err)
{
	const char *t;
	size_t n;

	if (d->batch_line != 0)
		return bad(err, line, "job:batch is given twice");
	d->batch = true;
	d->batch_line = line;
	if ((n = token(c, &t)) == 0)
		return 0;
	if (!is(t, n, "max"))
		return bad(err, line,
		           "job:batch takes nothing or 'max <duration>', "
		           "such as max 10m");
	n = token(c, &t);
	if ((d->batch_max_ms = mg_duration_ms(t, n)) < 0)
		return bad(err, line,
		           "job:batch max takes a duration such as 30s, "
		           "500ms, 10m or 1h (at most a week)");
	return 0;
}

/* The directive's word after "job:" on a "--" line, or NULL. */
static const char *job_word(const char *p, const char *end)
{
	p += 2;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p >= 4 && strncmp(p, "job:", 4) == 0)
		return p + 4;
	return NULL;
}

int mg_job_directives_parse(struct mg_job_directives *out, const char *text,
                            size_t len, struct mg_error *err)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct cur c = { p, nl ? nl : end };
		const char *w, *t;
		size_t n;

		line++;
		p = nl ? nl + 1 : end;
		if (c.end - c.p < 2 || c.p[0] != '-' || c.p[1] != '-' ||
		    (w = job_word(c.p, c.end)) == NULL)
			continue;
		c.p = w;
		n = token(&c, &t);
		if (is(t, n, "every"))
			rc = parse_every(out, &c, line, err);
		else if (is(t, n, "batch"))
			rc = parse_batch(out, &c, line, err);
		else
			rc = bad(err, line,
			         "unknown directive: expected job:every or "
			         "job:batch");
		if (rc < 0)
			goto fail;
		skip_ws(&c);
		if (c.p < c.end) {
			rc = bad(err, line,
			         "unexpected text after the directive");
			goto fail;
		}
	}
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	if (err != NULL)
		err->line = line;
	return rc;
}

unsigned mg_job_directives_find(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		line++;
		if (e - p >= 2 && p[0] == '-' && p[1] == '-' &&
		    job_word(p, e) != NULL)
			return line;
		p = nl ? nl + 1 : end;
	}
	return 0;
}
