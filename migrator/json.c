#include "migrator/json.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "migrator/buf.h"

void mg_json_init(struct mg_json *w, struct mg_buf *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
}

/* Length of the well-formed UTF-8 sequence at p (1 to 4), or 0 when it is
 * ill-formed; *bad is then the length of its maximal subpart (at least 1),
 * which becomes one U+FFFD (Unicode 15, 3.9, "U+FFFD Substitution of
 * Maximal Subparts", as Python and the WHATWG decoder do). */
static size_t utf8_len(const unsigned char *p, size_t *bad)
{
	unsigned char lo = 0x80, hi = 0xBF;
	size_t n, i;

	*bad = 1;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4;
	else
		return 0; /* continuation byte, C0/C1 overlong, F5..FF */
	if (p[0] == 0xE0)
		lo = 0xA0; /* overlong */
	else if (p[0] == 0xED)
		hi = 0x9F; /* UTF-16 surrogates */
	else if (p[0] == 0xF0)
		lo = 0x90; /* overlong */
	else if (p[0] == 0xF4)
		hi = 0x8F; /* past U+10FFFF */
	for (i = 1; i < n; i++) {
		/* the NUL terminator is never a continuation byte */
		if (p[i] < lo || p[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	return n;
}

static void add_quoted(struct mg_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	size_t n, bad = 1;

	mg_buf_addc(b, '"');
	while (*p) {
		const char *esc = NULL;

		if (*p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0x80 && (n = utf8_len(p, &bad)) > 0) {
			p += n;
			continue;
		}
		mg_buf_addn(b, (const char *)run, (size_t)(p - run));
		switch (*p) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		}
		if (esc != NULL) {
			mg_buf_add(b, esc);
			p++;
		} else if (*p < 0x20) {
			mg_buf_addf(b, "\\u%04x", *p);
			p++;
		} else {
			mg_buf_add(b, "\xEF\xBF\xBD"); /* U+FFFD */
			p += bad;
		}
		run = p;
	}
	mg_buf_addn(b, (const char *)run, (size_t)(p - run));
	mg_buf_addc(b, '"');
}

/* The comma and key before a value; every value goes through here. */
static void prefix(struct mg_json *w, const char *key)
{
	if (w->depth == 0) {
		assert(key == NULL);
		return;
	}
	if (!w->level[w->depth - 1].empty)
		mg_buf_addc(w->out, ',');
	w->level[w->depth - 1].empty = false;
	if (w->level[w->depth - 1].array) {
		assert(key == NULL);
		return;
	}
	assert(key != NULL);
	add_quoted(w->out, key);
	mg_buf_addc(w->out, ':');
}

static void begin(struct mg_json *w, const char *key, bool array)
{
	assert(w->depth < MG_JSON_MAX_DEPTH);
	prefix(w, key);
	mg_buf_addc(w->out, array ? '[' : '{');
	w->level[w->depth].array = array;
	w->level[w->depth].empty = true;
	w->depth++;
}

void mg_json_object_begin(struct mg_json *w, const char *key)
{
	begin(w, key, false);
}

void mg_json_array_begin(struct mg_json *w, const char *key)
{
	begin(w, key, true);
}

void mg_json_end(struct mg_json *w)
{
	assert(w->depth > 0);
	w->depth--;
	mg_buf_addc(w->out, w->level[w->depth].array ? ']' : '}');
}

void mg_json_string(struct mg_json *w, const char *key, const char *value)
{
	prefix(w, key);
	if (value == NULL)
		mg_buf_add(w->out, "null");
	else
		add_quoted(w->out, value);
}

void mg_json_int(struct mg_json *w, const char *key, int64_t value)
{
	prefix(w, key);
	mg_buf_addf(w->out, "%" PRId64, value);
}

void mg_json_bool(struct mg_json *w, const char *key, bool value)
{
	prefix(w, key);
	mg_buf_add(w->out, value ? "true" : "false");
}

void mg_json_null(struct mg_json *w, const char *key)
{
	prefix(w, key);
	mg_buf_add(w->out, "null");
}

int mg_json_check(const struct mg_json *w, struct mg_error *err)
{
	if (w->depth != 0)
		return mg_error_set(err, MG_ERR, "unclosed JSON level");
	return mg_buf_check(w->out, err);
}

/* Whether the writer can take v: not deeper than `room` levels, and no
 * real numbers (the writer has none, and reprinting one could change its
 * text). */
static bool writable(const json_t *v, int room)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_real(v))
		return false;
	if (!json_is_array(v) && !json_is_object(v))
		return true;
	if (room <= 0)
		return false;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
		{
			if (!writable(x, room - 1))
				return false;
		}
	} else {
		json_object_foreach((json_t *)v, k, x)
		{
			if (!writable(x, room - 1))
				return false;
		}
	}
	return true;
}

static void write_value(struct mg_json *w, const char *key, const json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		mg_json_object_begin(w, key);
		/* jansson keeps members in the order they were read */
		json_object_foreach((json_t *)v, k, x)
		{
			write_value(w, k, x);
		}
		mg_json_end(w);
		break;
	case JSON_ARRAY:
		mg_json_array_begin(w, key);
		json_array_foreach(v, i, x)
		{
			write_value(w, NULL, x);
		}
		mg_json_end(w);
		break;
	case JSON_STRING:
		mg_json_string(w, key, json_string_value(v));
		break;
	case JSON_INTEGER:
		mg_json_int(w, key, (int64_t)json_integer_value(v));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		mg_json_bool(w, key, json_is_true(v));
		break;
	case JSON_REAL: /* excluded by writable() */
	case JSON_NULL:
		mg_json_null(w, key);
		break;
	}
}

/* s with each invalid UTF-8 sequence replaced as the writer replaces it */
static void add_valid(struct mg_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	size_t n, bad = 1;

	while (*p) {
		if (*p < 0x80 || (n = utf8_len(p, &bad)) > 0) {
			p += *p < 0x80 ? 1 : n;
			continue;
		}
		mg_buf_addn(b, (const char *)run, (size_t)(p - run));
		mg_buf_add(b, "\xEF\xBF\xBD"); /* U+FFFD */
		p += bad;
		run = p;
	}
	mg_buf_addn(b, (const char *)run, (size_t)(p - run));
}

/* jansson rejects invalid UTF-8 outright; we read it as U+FFFD, so that
 * text an older migrate stored unchecked still reads as what it was. */
static json_t *load(const char *text, json_error_t *jerr)
{
	struct mg_buf b = MG_BUF_INIT;
	json_t *v = NULL;

	add_valid(&b, text);
	if (!b.failed)
		v = json_loads(mg_buf_cstr(&b), JSON_REJECT_DUPLICATES, jerr);
	else if (jerr != NULL)
		snprintf(jerr->text, sizeof(jerr->text), "out of memory");
	mg_buf_dispose(&b);
	return v;
}

void mg_json_array_or_string(struct mg_json *w, const char *key,
                             const char *text)
{
	json_t *v = NULL;

	if (text != NULL)
		v = load(text, NULL);
	if (v != NULL && json_is_array(v) &&
	    writable(v, MG_JSON_MAX_DEPTH - w->depth))
		write_value(w, key, v);
	else
		mg_json_string(w, key, text);
	json_decref(v);
}

int mg_json_parse(struct mg_json_value **out, const char *text,
                  struct mg_error *err)
{
	json_error_t jerr = { 0 };
	json_t *v;

	*out = NULL;
	if ((v = load(text, &jerr)) == NULL)
		return mg_error_set(err, MG_EINVALID,
		                    "invalid JSON at line %d, column %d: %s",
		                    jerr.line, jerr.column, jerr.text);
	*out = (struct mg_json_value *)v;
	return 0;
}

void mg_json_value_free(struct mg_json_value *v)
{
	json_decref((json_t *)v);
}

bool mg_json_is_array(const struct mg_json_value *v)
{
	return json_is_array((const json_t *)v);
}

size_t mg_json_array_size(const struct mg_json_value *v)
{
	return json_is_array((const json_t *)v)
	               ? json_array_size((const json_t *)v)
	               : 0;
}

const struct mg_json_value *mg_json_array_get(const struct mg_json_value *v,
                                              size_t i)
{
	assert(i < mg_json_array_size(v));
	return (const struct mg_json_value *)json_array_get((const json_t *)v,
	                                                    i);
}

const char *mg_json_object_string(const struct mg_json_value *v,
                                  const char *key)
{
	const json_t *x;

	if (!json_is_object((const json_t *)v))
		return NULL;
	x = json_object_get((const json_t *)v, key);
	return json_is_string(x) ? json_string_value(x) : NULL;
}

const struct mg_json_value *mg_json_object_get(const struct mg_json_value *v,
                                               const char *key)
{
	if (!json_is_object((const json_t *)v))
		return NULL;
	return (const struct mg_json_value *)json_object_get((const json_t *)v,
	                                                     key);
}

bool mg_json_object_int(const struct mg_json_value *v, const char *key,
                        int64_t *out)
{
	const json_t *x = (const json_t *)mg_json_object_get(v, key);

	if (!json_is_integer(x))
		return false;
	*out = (int64_t)json_integer_value(x);
	return true;
}

/* backups */
const char *mg_json_string_value(const struct mg_json_value *v)
{
	return json_is_string((const json_t *)v)
	               ? json_string_value((const json_t *)v)
	               : NULL;
}

bool mg_json_is_true(const struct mg_json_value *v)
{
	return v != NULL && json_is_true((const json_t *)v);
}
