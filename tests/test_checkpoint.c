/*
 * Unit tests of migrator/checkpoint.h: a ledger's head written, parsed
 * back and checked against later ledgers (kept in the fake driver) that
 * grew, lost their tail, were emptied or rewritten, with and without a
 * signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "fake_driver.h"
#include "migrator/buf.h"
#include "migrator/checkpoint.h"
#include "migrator/error.h"
#include "migrator/ledger.h"

struct fx {
	int serial; /* makes every row grow() appends distinct */
	struct fake_db *db;
	struct mg_conn *conn;
	struct mg_error err;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (x == NULL || (x->db = fake_db_new()) == NULL ||
	    (x->conn = fake_connect(x->db)) == NULL)
		return -1;
	x->db->table_exists = true;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	x->conn->drv->close(x->conn);
	fake_db_free(x->db);
	free(x);
	return 0;
}

static struct mg_ledger *load(struct fx *x)
{
	struct mg_ledger *l = NULL;

	assert_int_equal(mg_ledger_load(&l, x->conn, "migrate_ledger", true,
	                                &x->err),
	                 0);
	return l;
}

/* Appends n rows to the fake's ledger. */
static void grow(struct fx *x, int n)
{
	struct mg_ledger *l = load(x);
	int i, f;

	for (i = 0; i < n; i++) {
		struct mg_ledger_row row = { 0 };
		char v[16];

		snprintf(v, sizeof(v), "%d", (int)l->last_id + 1);
		for (f = MG_LF_VERSION; f <= MG_LF_REASON; f++)
			mg_ledger_row_set(&row, f, "x");
		mg_ledger_row_set(&row, MG_LF_VERSION, v);
		snprintf(v, sizeof(v), "%d", ++x->serial);
		mg_ledger_row_set(&row, MG_LF_REASON, v);
		assert_int_equal(
		        mg_ledger_append(l, x->conn, &row, NULL, 0, &x->err), 0);
		mg_ledger_row_dispose(&row);
	}
	mg_ledger_free(l);
}

/* The current head as checkpoint text, parsed back. */
static void checkpoint(struct fx *x, struct mg_checkpoint *out,
                       const unsigned char *sk, const unsigned char *pk)
{
	struct mg_ledger *l = load(x);
	struct mg_checkpoint cp;
	struct mg_buf b = MG_BUF_INIT;

	mg_checkpoint_of(&cp, l);
	mg_checkpoint_format(&b, &cp, sk);
	assert_int_equal(mg_checkpoint_parse(out, b.ptr, b.len, pk, &x->err),
	                 0);
	assert_int_equal(out->last_id, cp.last_id);
	assert_string_equal(out->head, cp.head);
	mg_buf_dispose(&b);
	mg_ledger_free(l);
}

static int check(struct fx *x, const struct mg_checkpoint *cp)
{
	struct mg_ledger *l = load(x);
	int rc = mg_checkpoint_check(cp, l, &x->err);

	mg_ledger_free(l);
	return rc;
}

static void drop_last(struct fx *x)
{
	int f;

	x->db->nrows--;
	for (f = 0; f < MG_LF_COUNT; f++)
		free(x->db->rows[x->db->nrows].f[f]);
}

static void test_a_ledger_that_grew_continues_its_checkpoint(void **state)
{
	struct fx *x = *state;
	struct mg_checkpoint cp;

	grow(x, 3);
	checkpoint(x, &cp, NULL, NULL);
	assert_int_equal(cp.rows, 3);
	assert_int_equal(check(x, &cp), 0);
	grow(x, 2);
	assert_int_equal(check(x, &cp), 0);
}

static void test_a_lost_tail_is_caught(void **state)
{
	struct fx *x = *state;
	struct mg_checkpoint cp;

	grow(x, 3);
	checkpoint(x, &cp, NULL, NULL);
	drop_last(x);
	/* the chain of what is left still verifies: only this tells */
	assert_int_equal(check(x, &cp), MG_ECHECKSUM);
	assert_non_null(strstr(x->err.msg, "shorter than its checkpoint"));
	/* and new rows in its place do not hide it */
	grow(x, 2);
	assert_int_equal(check(x, &cp), MG_ECHECKSUM);
	assert_non_null(strstr(x->err.msg, "diverges from its checkpoint "
	                                   "at row 3"));
}

static void test_an_emptied_ledger_is_caught(void **state)
{
	struct fx *x = *state;
	struct mg_checkpoint cp;

	grow(x, 2);
	checkpoint(x, &cp, NULL, NULL);
	drop_last(x);
	drop_last(x);
	assert_int_equal(check(x, &cp), MG_ECHECKSUM);
}

static void test_a_rewritten_row_is_caught(void **state)
{
	struct fx *x = *state;
	struct mg_checkpoint cp;

	grow(x, 2);
	checkpoint(x, &cp, NULL, NULL);
	free(x->db->rows[1].f[MG_LF_ENTRY_HASH]);
	x->db->rows[1].f[MG_LF_ENTRY_HASH] = strdup(cp.head);
	x->db->rows[1].f[MG_LF_ENTRY_HASH][0] ^= 1;
	assert_int_equal(check(x, &cp), MG_ECHECKSUM);
	assert_non_null(strstr(x->err.detail, cp.head));
}

static void test_an_empty_checkpoint_accepts_anything(void **state)
{
	struct fx *x = *state;
	struct mg_checkpoint cp;

	checkpoint(x, &cp, NULL, NULL);
	assert_int_equal(cp.last_id, 0);
	grow(x, 1);
	assert_int_equal(check(x, &cp), 0);
}

static void test_signed_checkpoints(void **state)
{
	struct fx *x = *state;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];
	struct mg_checkpoint cp, back;
	struct mg_ledger *l;
	struct mg_buf b = MG_BUF_INIT;
	char *rows;

	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	grow(x, 2);
	checkpoint(x, &cp, sk, pk);
	assert_true(cp.has_signature);
	l = load(x);
	mg_checkpoint_of(&cp, l);
	mg_ledger_free(l);
	/* unsigned, but a key is given */
	mg_checkpoint_format(&b, &cp, NULL);
	assert_int_equal(mg_checkpoint_parse(&back, b.ptr, b.len, pk, &x->err),
	                 MG_ECHECKSUM);
	assert_non_null(strstr(x->err.msg, "missing"));
	/* signed with another key */
	mg_buf_truncate(&b, 0);
	mg_checkpoint_format(&b, &cp, sk2);
	assert_int_equal(mg_checkpoint_parse(&back, b.ptr, b.len, pk, &x->err),
	                 MG_ECHECKSUM);
	/* edited after signing: fewer rows claimed */
	mg_buf_truncate(&b, 0);
	mg_checkpoint_format(&b, &cp, sk);
	rows = strstr(b.ptr, "rows 2");
	assert_non_null(rows);
	rows[5] = '1';
	assert_int_equal(mg_checkpoint_parse(&back, b.ptr, b.len, pk, &x->err),
	                 MG_ECHECKSUM);
	assert_non_null(strstr(x->err.msg, "not valid"));
	/* the real thing */
	mg_buf_truncate(&b, 0);
	mg_checkpoint_format(&b, &cp, sk);
	assert_int_equal(mg_checkpoint_parse(&back, b.ptr, b.len, pk, &x->err),
	                 0);
	assert_true(back.has_signature);
	/* a signature is no reason to refuse when no key is asked for */
	assert_int_equal(
	        mg_checkpoint_parse(&back, b.ptr, b.len, NULL, &x->err), 0);
	mg_buf_dispose(&b);
}

static void test_bad_text_names_the_line(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
	} cases[] = {
		{ "", 0 },
		{ "hello\n", 1 },
		{ "migrate-checkpoint 1\nledger l\nrows 1\nlast_id 1\n", 4 },
		{ "migrate-checkpoint 1\nledger l\nrows x\n", 3 },
		{ "migrate-checkpoint 1\nledger l\nrows -1\n", 3 },
		{ "migrate-checkpoint 1\nledger l\nrows 1\nlast_id 1\n"
		  "head 12\n",
		  5 },
		{ "migrate-checkpoint 1\nnope 1\n", 2 },
		{ "migrate-checkpoint 1\nledger l\nrows 1\nlast_id 1\nhead "
		  "000000000000000000000000000000000000000000000000000000000000"
		  "000G\n",
		  5 },
	};
	struct fx *x = *state;
	struct mg_checkpoint cp;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mg_error_clear(&x->err);
		assert_int_equal(mg_checkpoint_parse(&cp, cases[i].text,
		                                     strlen(cases[i].text),
		                                     NULL, &x->err),
		                 MG_EINVALID);
		if (x->err.line != cases[i].line)
			print_error("case %zu: line %u\n", i, x->err.line);
		assert_int_equal(x->err.line, cases[i].line);
	}
}

static void test_a_checkpoint_of_another_ledger_is_refused(void **state)
{
	struct fx *x = *state;
	struct mg_checkpoint cp;

	grow(x, 1);
	checkpoint(x, &cp, NULL, NULL);
	strcpy(cp.ledger, "other_ledger");
	assert_int_equal(check(x, &cp), MG_EINVALID);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_a_ledger_that_grew_continues_its_checkpoint),
		T(test_a_lost_tail_is_caught),
		T(test_an_emptied_ledger_is_caught),
		T(test_a_rewritten_row_is_caught),
		T(test_an_empty_checkpoint_accepts_anything),
		T(test_signed_checkpoints),
		T(test_bad_text_names_the_line),
		T(test_a_checkpoint_of_another_ledger_is_refused),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
