/* Unit tests of migrator/json.h: the writer's commas and escapes, invalid
 * UTF-8 as U+FFFD, and the reader behind mg_json_array_or_string(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "migrator/buf.h"
#include "migrator/json.h"

#define FFFD "\xEF\xBF\xBD"

static int setup(void **state)
{
	struct mg_buf *b = calloc(1, sizeof(*b));

	*state = b;
	return b == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	mg_buf_dispose(*state);
	free(*state);
	return 0;
}

/* s written as a top-level JSON string */
static const char *quoted(struct mg_buf *b, const char *s)
{
	struct mg_json w;

	mg_buf_truncate(b, 0);
	mg_json_init(&w, b);
	mg_json_string(&w, NULL, s);
	assert_int_equal(mg_json_check(&w, NULL), 0);
	return mg_buf_cstr(b);
}

struct str_case {
	const char *in;
	const char *want;
};

static const struct str_case escape_cases[] = {
	{ "", "\"\"" },
	{ "plain", "\"plain\"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "C:\\tmp", "\"C:\\\\tmp\"" },
	{ "a\nb\rc\td", "\"a\\nb\\rc\\td\"" },
	{ "\b\f", "\"\\b\\f\"" },
	{ "\x01", "\"\\u0001\"" },
	{ "\x1f", "\"\\u001f\"" },
	{ "\x7f", "\"\x7f\"" }, /* DEL is no control character to JSON */
	{ "a/b", "\"a/b\"" },
	/* valid UTF-8 passes through: 2, 3 and 4 bytes, the edges */
	{ "caf\xC3\xA9", "\"caf\xC3\xA9\"" },
	{ "\xE2\x82\xAC", "\"\xE2\x82\xAC\"" },         /* U+20AC */
	{ "\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\"" }, /* U+1F600 */
	{ "\xC2\x80", "\"\xC2\x80\"" },                 /* U+0080 */
	{ "\xED\x9F\xBF", "\"\xED\x9F\xBF\"" },         /* U+D7FF */
	{ "\xEE\x80\x80", "\"\xEE\x80\x80\"" },         /* U+E000 */
	{ "\xEF\xBF\xBF", "\"\xEF\xBF\xBF\"" },         /* U+FFFF */
	{ "\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\"" }, /* U+10FFFF */
	{ "\xE2\x80\xA8", "\"\xE2\x80\xA8\"" },         /* U+2028 */
};

/*
 * Invalid UTF-8: one U+FFFD per maximal ill-formed subpart, the same
 * replacements as Python's bytes.decode("utf-8", "replace"), e.g.
 * python3 -c 'print(ascii(b"\xe2\x82x".decode("utf-8","replace")))'
 */
static const struct str_case invalid_cases[] = {
	/* a Latin-1 byte, as in a check line saved by an old editor */
	{ "caf\xE9", "\"caf" FFFD "\"" },
	{ "caf\xE9 ok", "\"caf" FFFD " ok\"" },
	/* stray continuation bytes: one each */
	{ "\x80", "\"" FFFD "\"" },
	{ "\x80\xBF", "\"" FFFD FFFD "\"" },
	/* bytes that never occur */
	{ "\xC0", "\"" FFFD "\"" },
	{ "\xF5\xFF", "\"" FFFD FFFD "\"" },
	/* overlongs: "/" in 2, 3 and 4 bytes, NUL in 2 */
	{ "\xC0\xAF", "\"" FFFD FFFD "\"" },
	{ "\xE0\x80\xAF", "\"" FFFD FFFD FFFD "\"" },
	{ "\xF0\x80\x80\xAF", "\"" FFFD FFFD FFFD FFFD "\"" },
	{ "\xC1\xBF", "\"" FFFD FFFD "\"" },
	{ "\xC0\x80", "\"" FFFD FFFD "\"" },
	/* UTF-16 surrogates, alone and as a pair */
	{ "\xED\xA0\x80", "\"" FFFD FFFD FFFD "\"" },
	{ "\xED\xBF\xBF", "\"" FFFD FFFD FFFD "\"" },
	{ "\xED\xA0\xBD\xED\xB8\x80", "\"" FFFD FFFD FFFD FFFD FFFD FFFD "\"" },
	/* past U+10FFFF */
	{ "\xF4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\"" },
	/* truncated sequences: the valid prefix is one U+FFFD */
	{ "\xC3", "\"" FFFD "\"" },
	{ "\xE2\x82", "\"" FFFD "\"" },
	{ "\xE2\x82x", "\"" FFFD "x\"" },
	{ "\xF0\x9F\x98", "\"" FFFD "\"" },
	{ "\xF0\x9F\x98\"", "\"" FFFD "\\\"\"" },
	{ "a\xF0\x9F\x98\x80\xF0\x9F", "\"a\xF0\x9F\x98\x80" FFFD "\"" },
	/* a control character right after an invalid byte stays escaped */
	{ "\xE9\n", "\"" FFFD "\\n\"" },
	/* and U+FFFD itself is valid */
	{ FFFD, "\"" FFFD "\"" },
};

static void run_cases(struct mg_buf *b, const struct str_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *got = quoted(b, c[i].in);

		if (strcmp(got, c[i].want) != 0)
			print_error("case %zu: got %s want %s\n", i, got,
			            c[i].want);
		assert_string_equal(got, c[i].want);
	}
}

static void test_string_escapes_case_table(void **state)
{
	run_cases(*state, escape_cases,
	          sizeof(escape_cases) / sizeof(escape_cases[0]));
}

static void test_invalid_utf8_becomes_replacement_character(void **state)
{
	run_cases(*state, invalid_cases,
	          sizeof(invalid_cases) / sizeof(invalid_cases[0]));
}

static void test_every_control_char_is_escaped(void **state)
{
	struct mg_buf *b = *state;
	char in[2] = { 0 };
	int c;

	for (c = 1; c < 0x20; c++) {
		const char *got;

		in[0] = (char)c;
		got = quoted(b, in);
		/* "\X" or "\u00XX" between quotes, never the raw byte */
		assert_int_equal(got[0], '"');
		assert_int_equal(got[1], '\\');
		assert_null(memchr(got, c, strlen(got)));
	}
}

/* RFC 3629 by code point, written apart from the writer's byte ranges */
static bool valid_utf8(const unsigned char *p)
{
	while (*p) {
		unsigned cp, n, i;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xE0) == 0xC0)
			n = 1, cp = *p & 0x1Fu;
		else if ((*p & 0xF0) == 0xE0)
			n = 2, cp = *p & 0x0Fu;
		else if ((*p & 0xF8) == 0xF0)
			n = 3, cp = *p & 0x07u;
		else
			return false;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3Fu);
		}
		if (cp < (n == 1   ? 0x80u
		          : n == 2 ? 0x800u
		                   : 0x10000u) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += n + 1;
	}
	return true;
}

/* Every byte value after every byte value: what comes out is valid UTF-8
 * and parses back (jansson rejects raw control bytes in strings). */
static void test_any_bytes_give_valid_json(void **state)
{
	struct mg_buf *b = *state;
	struct mg_json_value *v = NULL;
	char in[5] = { 0 }, doc[64];
	int x, y;

	for (x = 1; x < 256; x++)
		for (y = 1; y < 256; y++) {
			in[0] = (char)x;
			in[1] = (char)y;
			in[2] = (char)0x80;
			in[3] = (char)x;
			snprintf(doc, sizeof(doc), "[%s]", quoted(b, in));
			if (!valid_utf8((const unsigned char *)doc) ||
			    mg_json_parse(&v, doc, NULL) != 0)
				fail_msg("%02x %02x: %s", x, y, doc);
			mg_json_value_free(v);
		}
}

static void test_null_string_writes_null(void **state)
{
	assert_string_equal(quoted(*state, NULL), "null");
}

static void test_commas_and_nesting(void **state)
{
	struct mg_buf *b = *state;
	struct mg_json w;

	mg_json_init(&w, b);
	mg_json_object_begin(&w, NULL);
	mg_json_string(&w, "event", "migration");
	mg_json_int(&w, "version", 2);
	mg_json_int(&w, "big", INT64_MIN);
	mg_json_array_begin(&w, "checks");
	mg_json_object_begin(&w, NULL);
	mg_json_bool(&w, "pre", false);
	mg_json_null(&w, "note");
	mg_json_end(&w);
	mg_json_object_begin(&w, NULL);
	mg_json_end(&w);
	mg_json_int(&w, NULL, -1);
	mg_json_end(&w);
	mg_json_array_begin(&w, "empty");
	mg_json_end(&w);
	mg_json_bool(&w, "dry_run", true);
	mg_json_string(&w, "say \"k\"\xE9", "v");
	mg_json_end(&w);
	assert_int_equal(mg_json_check(&w, NULL), 0);
	assert_string_equal(mg_buf_cstr(b),
	                    "{\"event\":\"migration\",\"version\":2,"
	                    "\"big\":-9223372036854775808,"
	                    "\"checks\":[{\"pre\":false,\"note\":null},{},-1],"
	                    "\"empty\":[],\"dry_run\":true,"
	                    "\"say \\\"k\\\"" FFFD "\":\"v\"}");
}

static void test_check_reports_unclosed_level(void **state)
{
	struct mg_buf *b = *state;
	struct mg_error err = { 0 };
	struct mg_json w;

	mg_json_init(&w, b);
	mg_json_array_begin(&w, NULL);
	assert_int_equal(mg_json_check(&w, &err), MG_ERR);
	mg_json_end(&w);
	assert_int_equal(mg_json_check(&w, &err), 0);
}

static void test_failed_buffer_fails_check(void **state)
{
	struct mg_buf *b = *state;
	struct mg_json w;

	b->max = 8;
	mg_json_init(&w, b);
	mg_json_object_begin(&w, NULL);
	mg_json_string(&w, "key", "a value longer than eight bytes");
	mg_json_end(&w);
	assert_int_equal(mg_json_check(&w, NULL), MG_ENOMEM);
	assert_string_equal(mg_buf_cstr(b), "");
}

/* checks text from a ledger row: an array only when it parses as one */
static const struct str_case embed_cases[] = {
	{ "[]", "{\"checks\":[]}" },
	{ "[{\"kind\":\"rows\",\"line\":3,\"pre\":false,\"before\":null,"
	  "\"verdict\":\"ok\"}]",
	  "{\"checks\":[{\"kind\":\"rows\",\"line\":3,\"pre\":false,"
	  "\"before\":null,\"verdict\":\"ok\"}]}" },
	/* reprinted through the writer: our spacing, order kept */
	{ " [ { \"b\" : 1 , \"a\" : [ true ] } ] ",
	  "{\"checks\":[{\"b\":1,\"a\":[true]}]}" },
	{ "[\"\\u00e9\\n\"]", "{\"checks\":[\"\xC3\xA9\\n\"]}" },
	/* not an array, not JSON, or not something we reprint: a string */
	{ "{\"a\":1}", "{\"checks\":\"{\\\"a\\\":1}\"}" },
	{ "[1,", "{\"checks\":\"[1,\"}" },
	{ "[] x", "{\"checks\":\"[] x\"}" },
	{ "\"[]\"", "{\"checks\":\"\\\"[]\\\"\"}" },
	{ "[1.5]", "{\"checks\":\"[1.5]\"}" },
	{ "[\"\\u0000\"]", "{\"checks\":\"[\\\"\\\\u0000\\\"]\"}" },
	{ "[{\"a\":1,\"a\":2}]",
	  "{\"checks\":\"[{\\\"a\\\":1,\\\"a\\\":2}]\"}" },
	{ "[99999999999999999999]", "{\"checks\":\"[99999999999999999999]\"}" },
	/* invalid UTF-8 inside (an older migrate passed bytes through):
	 * read as U+FFFD, as the writer writes it */
	{ "[\"caf\xE9\"]", "{\"checks\":[\"caf" FFFD "\"]}" },
	{ "[\"\xE9\"", "{\"checks\":\"[\\\"" FFFD "\\\"\"}" },
	{ "", "{\"checks\":\"\"}" },
};

static void test_array_or_string(void **state)
{
	struct mg_buf *b = *state;
	size_t i;

	for (i = 0; i < sizeof(embed_cases) / sizeof(embed_cases[0]); i++) {
		struct mg_json w;

		mg_buf_truncate(b, 0);
		mg_json_init(&w, b);
		mg_json_object_begin(&w, NULL);
		mg_json_array_or_string(&w, "checks", embed_cases[i].in);
		mg_json_end(&w);
		assert_int_equal(mg_json_check(&w, NULL), 0);
		if (strcmp(mg_buf_cstr(b), embed_cases[i].want) != 0)
			print_error("case %zu: got %s want %s\n", i,
			            mg_buf_cstr(b), embed_cases[i].want);
		assert_string_equal(mg_buf_cstr(b), embed_cases[i].want);
	}
}

static void test_array_or_string_null_and_depth(void **state)
{
	struct mg_buf *b = *state;
	struct mg_buf deep = MG_BUF_INIT;
	struct mg_json w;
	int i;

	mg_json_init(&w, b);
	mg_json_array_begin(&w, NULL);
	mg_json_array_or_string(&w, NULL, NULL);
	mg_json_end(&w);
	assert_string_equal(mg_buf_cstr(b), "[null]");

	/* deeper than the writer's stack: kept as text, not an abort */
	for (i = 0; i < MG_JSON_MAX_DEPTH + 1; i++)
		mg_buf_addc(&deep, '[');
	for (i = 0; i < MG_JSON_MAX_DEPTH + 1; i++)
		mg_buf_addc(&deep, ']');
	mg_buf_truncate(b, 0);
	mg_json_init(&w, b);
	mg_json_array_or_string(&w, NULL, mg_buf_cstr(&deep));
	assert_int_equal(mg_json_check(&w, NULL), 0);
	assert_int_equal(mg_buf_cstr(b)[0], '"');
	mg_buf_dispose(&deep);
}

static void test_reader(void **state)
{
	struct mg_json_value *v = NULL;
	struct mg_error err = { 0 };

	(void)state;
	assert_int_equal(mg_json_parse(&v,
	                               "[{\"verdict\":\"ok\",\"n\":1},"
	                               "{\"verdict\":2},3]",
	                               &err),
	                 0);
	assert_true(mg_json_is_array(v));
	assert_int_equal(mg_json_array_size(v), 3);
	assert_string_equal(
	        mg_json_object_string(mg_json_array_get(v, 0), "verdict"),
	        "ok");
	assert_null(mg_json_object_string(mg_json_array_get(v, 0), "x"));
	assert_null(mg_json_object_string(mg_json_array_get(v, 1), "verdict"));
	assert_null(mg_json_object_string(mg_json_array_get(v, 2), "verdict"));
	mg_json_value_free(v);

	assert_int_equal(mg_json_parse(&v, "{\"a\":[]}", &err), 0);
	assert_false(mg_json_is_array(v));
	assert_int_equal(mg_json_array_size(v), 0);
	mg_json_value_free(v);

	/* invalid UTF-8 reads as U+FFFD */
	assert_int_equal(mg_json_parse(&v, "[{\"v\":\"\xE9\xC0\xAF\"}]", &err),
	                 0);
	assert_string_equal(mg_json_object_string(mg_json_array_get(v, 0), "v"),
	                    FFFD FFFD FFFD);
	mg_json_value_free(v);

	assert_int_equal(mg_json_parse(&v, "[1,]", &err), MG_EINVALID);
	assert_null(v);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(mg_json_parse(&v, "", &err), MG_EINVALID);
	mg_json_value_free(NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_string_escapes_case_table),
		T(test_invalid_utf8_becomes_replacement_character),
		T(test_every_control_char_is_escaped),
		T(test_any_bytes_give_valid_json),
		T(test_null_string_writes_null),
		T(test_commas_and_nesting),
		T(test_check_reports_unclosed_level),
		T(test_failed_buffer_fails_check),
		T(test_array_or_string),
		T(test_array_or_string_null_and_depth),
		T(test_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
