#include "migrator/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrator/buf.h"
#include "migrator/error.h"
#include "migrator/ledger.h"

#define MAGIC "migrate-checkpoint 1"

void mg_checkpoint_of(struct mg_checkpoint *out, const struct mg_ledger *l)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->ledger, sizeof(out->ledger), "%s", l->name);
	out->rows = (int64_t)l->n;
	out->last_id = l->last_id;
	memcpy(out->head, l->last_hash, sizeof(out->head));
}

void mg_checkpoint_format(struct mg_buf *out, const struct mg_checkpoint *cp,
                          const unsigned char *sign_key)
{
	size_t start = out->len;

	mg_buf_addf(out,
	            MAGIC "\nledger %s\nrows %" PRId64 "\nlast_id %" PRId64
	                  "\nhead %s\n",
	            cp->ledger, cp->rows, cp->last_id, cp->head);
	if (sign_key != NULL && !out->failed) {
		unsigned char sig[crypto_sign_BYTES];
		char hex[crypto_sign_BYTES * 2 + 1];

		crypto_sign_detached(sig, NULL,
		                     (const unsigned char *)out->ptr + start,
		                     out->len - start, sign_key);
		sodium_bin2hex(hex, sizeof(hex), sig, sizeof(sig));
		mg_buf_addf(out, "signature %s\n", hex);
	}
}

static int bad(struct mg_error *err, unsigned line, const char *what)
{
	mg_error_set(err, MG_EINVALID, "not a checkpoint: %s", what);
	if (err != NULL)
		err->line = line;
	return MG_EINVALID;
}

static int parse_i64(int64_t *out, const char *v, size_t n)
{
	char buf[32], *e;

	if (n == 0 || n >= sizeof(buf) || v[0] == '-' || v[0] == '+')
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	errno = 0;
	*out = strtoll(buf, &e, 10);
	return errno == 0 && *e == '\0' ? 0 : -1;
}

/* One "key value" line into the checkpoint; -1 when it is not one. */
static int parse_line(struct mg_checkpoint *cp, const char *key, size_t klen,
                      const char *v, size_t n)
{
#define IS(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
	if (IS("ledger") && n > 0 && n < sizeof(cp->ledger)) {
		memcpy(cp->ledger, v, n);
		cp->ledger[n] = '\0';
		return 0;
	}
	if (IS("rows"))
		return parse_i64(&cp->rows, v, n);
	if (IS("last_id"))
		return parse_i64(&cp->last_id, v, n);
	if (IS("head") && n == MG_HASH_HEX_LEN - 1) {
		memcpy(cp->head, v, n);
		cp->head[n] = '\0';
		return strspn(cp->head, "0123456789abcdef") == n ? 0 : -1;
	}
	if (IS("signature") && n == 2 * sizeof(cp->signature)) {
		cp->has_signature = true;
		return sodium_hex2bin(cp->signature, sizeof(cp->signature), v,
		                      n, NULL, NULL, NULL);
	}
	return -1;
#undef IS
}

int mg_checkpoint_parse(struct mg_checkpoint *out, const char *text,
                        size_t len, const unsigned char *public_key,
                        struct mg_error *err)
{
	struct mg_checkpoint cp = { 0 };
	const char *p = text, *end = text + len;
	unsigned line = 0, seen = 0;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *sp;

		line++;
		if (line == 1) {
			if ((size_t)(e - p) != strlen(MAGIC) ||
			    memcmp(p, MAGIC, strlen(MAGIC)) != 0)
				return bad(err, line,
				           "the first line is not '" MAGIC "'");
		} else if (cp.has_signature) {
			return bad(err, line, "text after the signature");
		} else {
			sp = memchr(p, ' ', (size_t)(e - p));
			if (sp == NULL ||
			    parse_line(&cp, p, (size_t)(sp - p), sp + 1,
			               (size_t)(e - sp - 1)) < 0)
				return bad(err, line,
				           "expected ledger, rows, last_id, "
				           "head or signature and a valid value");
			if (cp.has_signature)
				cp.signed_len = (size_t)(p - text);
			seen++;
		}
		p = nl ? nl + 1 : end;
	}
	if (line == 0 || seen < 4 || cp.ledger[0] == '\0' ||
	    cp.head[0] == '\0')
		return bad(err, line, "ledger, rows, last_id and head are all "
		                      "needed");
	if (public_key != NULL &&
	    (!cp.has_signature ||
	     crypto_sign_verify_detached(cp.signature,
	                                 (const unsigned char *)text,
	                                 cp.signed_len, public_key) != 0))
		return mg_error_set(err, MG_ECHECKSUM,
		                    "the checkpoint's signature is %s",
		                    cp.has_signature ? "not valid for this key"
		                                     : "missing");
	*out = cp;
	return 0;
}

int mg_checkpoint_check(const struct mg_checkpoint *cp,
                        const struct mg_ledger *l, struct mg_error *err)
{
	const struct mg_ledger_row *at = NULL;
	size_t i;

	if (strcmp(cp->ledger, l->name) != 0)
		return mg_error_set(err, MG_EINVALID,
		                    "the checkpoint is of ledger '%s', not '%s'",
		                    cp->ledger, l->name);
	for (i = l->n; i-- > 0 && at == NULL;)
		if (l->rows[i].id == cp->last_id)
			at = &l->rows[i];
	if (cp->last_id > 0 && at == NULL) {
		mg_error_set(err, MG_ECHECKSUM,
		             "the ledger is shorter than its checkpoint: row %" PRId64
		             " is gone",
		             cp->last_id);
		mg_error_detail(err,
		                "checkpoint: %" PRId64 " rows up to id %" PRId64
		                "; ledger: %zu rows up to id %" PRId64,
		                cp->rows, cp->last_id, l->n, l->last_id);
		return MG_ECHECKSUM;
	}
	if (at != NULL && (at->f[MG_LF_ENTRY_HASH] == NULL ||
	                   strcmp(at->f[MG_LF_ENTRY_HASH], cp->head) != 0)) {
		mg_error_set(err, MG_ECHECKSUM,
		             "the ledger diverges from its checkpoint at row "
		             "%" PRId64,
		             cp->last_id);
		mg_error_detail(err, "checkpoint head %s, ledger's row has %s",
		                cp->head,
		                at->f[MG_LF_ENTRY_HASH] ? at->f[MG_LF_ENTRY_HASH]
		                                        : "none");
		return MG_ECHECKSUM;
	}
	if ((int64_t)l->n < cp->rows) {
		mg_error_set(err, MG_ECHECKSUM,
		             "the ledger has %zu rows, its checkpoint %" PRId64,
		             l->n, cp->rows);
		return MG_ECHECKSUM;
	}
	return 0;
}
