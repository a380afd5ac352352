/* Unit tests of migrator/buf.h: the growable, capped string buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "migrator/buf.h"
#include "migrator/error.h"

static int setup(void **state)
{
	struct mg_buf *b = calloc(1, sizeof(*b));

	*state = b;
	return b == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	struct mg_buf *b = *state;

	mg_buf_dispose(b);
	free(b);
	return 0;
}

static void test_new_buffer_reads_as_empty_string(void **state)
{
	struct mg_buf *b = *state;
	struct mg_error err = { 0 };

	assert_string_equal(mg_buf_cstr(b), "");
	assert_int_equal(b->len, 0);
	assert_int_equal(mg_buf_check(b, &err), 0);
}

static void test_appends_concatenate(void **state)
{
	struct mg_buf *b = *state;

	mg_buf_add(b, "create");
	mg_buf_addc(b, ' ');
	mg_buf_addn(b, "table users", 5);
	mg_buf_add(b, "");
	assert_string_equal(mg_buf_cstr(b), "create table");
	assert_int_equal(b->len, 12);
	assert_int_equal(mg_buf_check(b, NULL), 0);
}

static void test_addf_formats(void **state)
{
	struct mg_buf *b = *state;

	mg_buf_add(b, "v=");
	mg_buf_addf(b, "%d %s %lld", 42, "x", (long long)-7);
	assert_string_equal(mg_buf_cstr(b), "v=42 x -7");
	assert_int_equal(b->len, 9);
}

static void test_grows_past_initial_capacity(void **state)
{
	struct mg_buf *b = *state;
	char want[10001];
	int i;

	for (i = 0; i < 10000; i++) {
		mg_buf_addc(b, (char)('a' + i % 26));
		want[i] = (char)('a' + i % 26);
	}
	want[10000] = '\0';
	mg_buf_addf(b, "%s", "!");
	assert_int_equal(b->len, 10001);
	assert_memory_equal(mg_buf_cstr(b), want, 10000);
	assert_string_equal(mg_buf_cstr(b) + 10000, "!");
	assert_int_equal(mg_buf_check(b, NULL), 0);
}

static void test_addn_keeps_embedded_bytes_and_terminates(void **state)
{
	struct mg_buf *b = *state;

	mg_buf_addn(b, "ab\0cd", 5);
	assert_int_equal(b->len, 5);
	assert_memory_equal(b->ptr, "ab\0cd", 6);
}

static void test_truncate_shortens(void **state)
{
	struct mg_buf *b = *state;

	mg_buf_add(b, "hello world");
	mg_buf_truncate(b, 5);
	assert_string_equal(mg_buf_cstr(b), "hello");
	mg_buf_truncate(b, 50); /* longer than the text: no change */
	assert_string_equal(mg_buf_cstr(b), "hello");
	mg_buf_truncate(b, 0);
	assert_string_equal(mg_buf_cstr(b), "");
	mg_buf_add(b, "again");
	assert_string_equal(mg_buf_cstr(b), "again");
}

static void test_max_cap_turns_buffer_failed(void **state)
{
	struct mg_buf *b = *state;
	struct mg_error err = { 0 };

	b->max = 16;
	mg_buf_add(b, "0123456789");
	assert_int_equal(mg_buf_check(b, &err), 0);
	mg_buf_add(b, "0123456789"); /* 20 bytes > 16 */
	assert_true(b->failed);
	assert_int_equal(mg_buf_check(b, &err), MG_ENOMEM);
	assert_int_equal(err.code, MG_ENOMEM);
	assert_true(err.msg[0] != '\0');
	/* a failed buffer reads as empty and ignores later appends */
	assert_string_equal(mg_buf_cstr(b), "");
	mg_buf_add(b, "x");
	mg_buf_addf(b, "%d", 1);
	assert_true(b->failed);
	assert_int_equal(mg_buf_check(b, NULL), MG_ENOMEM);
}

static void test_max_cap_applies_to_addf(void **state)
{
	struct mg_buf *b = *state;

	b->max = 8;
	mg_buf_addf(b, "%s", "0123456789");
	assert_int_equal(mg_buf_check(b, NULL), MG_ENOMEM);
}

static void test_max_cap_single_huge_append(void **state)
{
	struct mg_buf *b = *state;
	char big[100];

	memset(big, 'x', sizeof(big));
	b->max = 32;
	mg_buf_addn(b, big, sizeof(big));
	assert_int_equal(mg_buf_check(b, NULL), MG_ENOMEM);
}

static void test_detach_hands_over_string_and_resets(void **state)
{
	struct mg_buf *b = *state;
	char *s;

	mg_buf_add(b, "owned");
	s = mg_buf_detach(b);
	assert_non_null(s);
	assert_string_equal(s, "owned");
	assert_null(b->ptr);
	assert_int_equal(b->len, 0);
	assert_false(b->failed);
	assert_string_equal(mg_buf_cstr(b), "");
	/* reusable */
	mg_buf_add(b, "next");
	assert_string_equal(mg_buf_cstr(b), "next");
	free(s);
}

static void test_detach_of_empty_buffer_gives_empty_string(void **state)
{
	struct mg_buf *b = *state;
	char *s = mg_buf_detach(b);

	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

static void test_detach_of_failed_buffer_gives_null(void **state)
{
	struct mg_buf *b = *state;

	b->max = 4;
	mg_buf_add(b, "ab");
	mg_buf_add(b, "cdefgh");
	assert_null(mg_buf_detach(b));
	assert_false(b->failed);
	assert_int_equal(b->max, 4); /* the cap survives the reset */
	mg_buf_add(b, "ok");
	assert_string_equal(mg_buf_cstr(b), "ok");
}

static void test_dispose_resets_for_reuse(void **state)
{
	struct mg_buf *b = *state;

	b->max = 4;
	mg_buf_add(b, "too long");
	assert_true(b->failed);
	mg_buf_dispose(b);
	assert_false(b->failed);
	assert_null(b->ptr);
	assert_int_equal(b->len, 0);
	mg_buf_add(b, "abc");
	assert_string_equal(mg_buf_cstr(b), "abc");
	assert_int_equal(mg_buf_check(b, NULL), 0);
}

static void test_dispose_of_untouched_buffer(void **state)
{
	struct mg_buf b = MG_BUF_INIT;

	(void)state;
	mg_buf_dispose(&b);
	mg_buf_dispose(&b);
	assert_null(b.ptr);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_new_buffer_reads_as_empty_string),
		T(test_appends_concatenate),
		T(test_addf_formats),
		T(test_grows_past_initial_capacity),
		T(test_addn_keeps_embedded_bytes_and_terminates),
		T(test_truncate_shortens),
		T(test_max_cap_turns_buffer_failed),
		T(test_max_cap_applies_to_addf),
		T(test_max_cap_single_huge_append),
		T(test_detach_hands_over_string_and_resets),
		T(test_detach_of_empty_buffer_gives_empty_string),
		T(test_detach_of_failed_buffer_gives_null),
		T(test_dispose_resets_for_reuse),
		T(test_dispose_of_untouched_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
