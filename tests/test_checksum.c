/* Unit tests of migrator/checksum.h: text normalisation and BLAKE2b-256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "migrator/checksum.h"

/* Normalises a copy of `in` (n bytes); want_len bytes of `want` result. */
static void assert_normalizes_n(const char *in, size_t n, const char *want,
				size_t want_len)
{
	char buf[256];
	size_t len;

	assert_true(n < sizeof(buf));
	memcpy(buf, in, n);
	buf[n] = 'X'; /* must be overwritten by the terminating NUL */
	len = mg_text_normalize(buf, n);
	assert_int_equal(len, want_len);
	assert_memory_equal(buf, want, len);
	assert_int_equal(buf[len], '\0');
}

static void assert_normalizes(const char *in, size_t n, const char *want)
{
	assert_normalizes_n(in, n, want, strlen(want));
}

static void test_normalize_drops_leading_bom(void **state)
{
	(void)state;
	assert_normalizes("\xEF\xBB\xBFSELECT 1;\n", 13, "SELECT 1;\n");
}

static void test_normalize_keeps_bom_not_at_start(void **state)
{
	(void)state;
	assert_normalizes("a\xEF\xBB\xBF", 4, "a\xEF\xBB\xBF");
}

static void test_normalize_drops_only_one_bom(void **state)
{
	(void)state;
	assert_normalizes("\xEF\xBB\xBF\xEF\xBB\xBFx", 7, "\xEF\xBB\xBFx");
}

static void test_normalize_bom_only_gives_empty(void **state)
{
	(void)state;
	assert_normalizes("\xEF\xBB\xBF", 3, "");
}

static void test_normalize_partial_bom_is_kept(void **state)
{
	(void)state;
	assert_normalizes("\xEF\xBB", 2, "\xEF\xBB");
}

static void test_normalize_turns_crlf_into_lf(void **state)
{
	(void)state;
	assert_normalizes("a\r\nb\r\n", 6, "a\nb\n");
}

static void test_normalize_keeps_lone_cr(void **state)
{
	(void)state;
	assert_normalizes("a\rb\r", 4, "a\rb\r");
}

static void test_normalize_cr_before_crlf(void **state)
{
	(void)state;
	/* only the CR directly before LF goes */
	assert_normalizes("a\r\r\nb", 5, "a\r\nb");
}

static void test_normalize_bom_and_crlf(void **state)
{
	(void)state;
	assert_normalizes("\xEF\xBB\xBF-- x\r\nSELECT 1;\r\n", 20,
			  "-- x\nSELECT 1;\n");
}

static void test_normalize_leaves_lf_text_alone(void **state)
{
	(void)state;
	assert_normalizes("a\nb\n", 4, "a\nb\n");
}

static void test_normalize_empty_input(void **state)
{
	char buf[1] = { 'X' };

	(void)state;
	assert_int_equal(mg_text_normalize(buf, 0), 0);
	assert_int_equal(buf[0], '\0');
}

static void test_normalize_keeps_nul_bytes(void **state)
{
	(void)state;
	/* files are read as bytes: a NUL is data, not the end */
	assert_normalizes_n("a\0\r\nb", 5, "a\0\nb", 4);
}

static void test_hash_of_empty_string(void **state)
{
	char out[MG_HASH_HEX_LEN];

	(void)state;
	mg_hash_hex(out, "", 0);
	assert_string_equal(out, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47"
				 "778f7787faab45cdf12fe3a8");
}

static void test_hash_of_abc(void **state)
{
	char out[MG_HASH_HEX_LEN];

	(void)state;
	/* python3 -c "import hashlib;
	 *   print(hashlib.blake2b(b'abc',digest_size=32).hexdigest())" */
	mg_hash_hex(out, "abc", 3);
	assert_string_equal(out, "bddd813c634239723171ef3fee98579b94964e3b"
				 "b1cb3e427262c8c068d52319");
}

static void test_hash_is_lower_case_hex_of_64_digits(void **state)
{
	char out[MG_HASH_HEX_LEN];
	size_t i;

	(void)state;
	mg_hash_hex(out, "CREATE TABLE t (id int);\n", 25);
	assert_int_equal(strlen(out), 64);
	for (i = 0; i < 64; i++)
		assert_true((out[i] >= '0' && out[i] <= '9') ||
			    (out[i] >= 'a' && out[i] <= 'f'));
	/* python3 -c "import hashlib; print(hashlib.blake2b(
	 *   b'CREATE TABLE t (id int);\n',digest_size=32).hexdigest())" */
	assert_string_equal(out, "a04eae571777ee447866e8dbdc57659f952dfeea"
				 "72451ae514de4cba39eb99c4");
}

static void test_hash_of_normalized_crlf_matches_lf(void **state)
{
	char crlf[] = "\xEF\xBB\xBF" "CREATE TABLE t (id int);\r\n";
	char a[MG_HASH_HEX_LEN], b[MG_HASH_HEX_LEN];
	size_t len;

	(void)state;
	len = mg_text_normalize(crlf, sizeof(crlf) - 1);
	mg_hash_hex(a, crlf, len);
	mg_hash_hex(b, "CREATE TABLE t (id int);\n", 25);
	assert_string_equal(a, b);
}

static void test_hash_differs_for_different_bytes(void **state)
{
	char a[MG_HASH_HEX_LEN], b[MG_HASH_HEX_LEN];

	(void)state;
	mg_hash_hex(a, "abc", 3);
	mg_hash_hex(b, "abd", 3);
	assert_string_not_equal(a, b);
	mg_hash_hex(b, "abc\n", 4);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_drops_leading_bom),
		cmocka_unit_test(test_normalize_keeps_bom_not_at_start),
		cmocka_unit_test(test_normalize_drops_only_one_bom),
		cmocka_unit_test(test_normalize_bom_only_gives_empty),
		cmocka_unit_test(test_normalize_partial_bom_is_kept),
		cmocka_unit_test(test_normalize_turns_crlf_into_lf),
		cmocka_unit_test(test_normalize_keeps_lone_cr),
		cmocka_unit_test(test_normalize_cr_before_crlf),
		cmocka_unit_test(test_normalize_bom_and_crlf),
		cmocka_unit_test(test_normalize_leaves_lf_text_alone),
		cmocka_unit_test(test_normalize_empty_input),
		cmocka_unit_test(test_normalize_keeps_nul_bytes),
		cmocka_unit_test(test_hash_of_empty_string),
		cmocka_unit_test(test_hash_of_abc),
		cmocka_unit_test(test_hash_is_lower_case_hex_of_64_digits),
		cmocka_unit_test(test_hash_of_normalized_crlf_matches_lf),
		cmocka_unit_test(test_hash_differs_for_different_bytes),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
