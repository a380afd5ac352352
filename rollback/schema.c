#include "rollback/schema.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "migrator/buf.h"
#include "migrator/driver.h"
#include "migrator/error.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hash(struct mg_schema *s)
{
	crypto_generichash_state h;
	unsigned char bin[32];
	size_t i;

	crypto_generichash_init(&h, NULL, 0, sizeof(bin));
	for (i = 0; i < s->n; i++)
		crypto_generichash_update(&h, (const unsigned char *)s->items[i],
		                          strlen(s->items[i]) + 1);
	crypto_generichash_final(&h, bin, sizeof(bin));
	sodium_bin2hex(s->hash, sizeof(s->hash), bin, sizeof(bin));
}

/* Whether an item ("kind name: definition") is about a table named
 * prefix...: its name, or a part of it after a '.', starts so. */
static bool about(const char *item, const char *prefix)
{
	const char *name = strchr(item, ' '), *end, *p;
	size_t n = strlen(prefix);

	if (name == NULL)
		return false;
	name++;
	if ((end = strstr(name, ": ")) == NULL)
		end = name + strlen(name);
	for (p = name; p < end; p++)
		if ((p == name || p[-1] == '.') && (size_t)(end - p) >= n &&
		    strncmp(p, prefix, n) == 0)
			return true;
	return false;
}

void mg_schema_forget(struct mg_schema *s, const char *prefix)
{
	size_t i, keep = 0;

	for (i = 0; i < s->n; i++) {
		if (about(s->items[i], prefix))
			free(s->items[i]);
		else
			s->items[keep++] = s->items[i];
	}
	s->n = keep;
	hash(s);
}

int mg_schema_read(struct mg_schema *out, struct mg_conn *conn,
                   struct mg_error *err)
{
	struct mg_buf sql = MG_BUF_INIT, line = MG_BUF_INIT;
	struct mg_schema s = { 0 };
	struct mg_rows *r = NULL;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	conn->drv->schema_sql(&sql);
	if ((rc = mg_buf_check(&sql, err)) < 0 ||
	    (rc = conn->drv->query(&r, conn, sql.ptr, NULL, 0, 0, err)) < 0)
		goto cleanup;
	if ((s.items = calloc(r->nrows + 1, sizeof(*s.items))) == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (i = 0; i < r->nrows; i++) {
		const char *def = mg_rows_get(r, i, 2);

		mg_buf_truncate(&line, 0);
		mg_buf_addf(&line, "%s %s: %s", mg_rows_get(r, i, 0),
		            mg_rows_get(r, i, 1), def ? def : "");
		if ((s.items[s.n] = mg_buf_detach(&line)) == NULL) {
			rc = mg_error_set(err, MG_ENOMEM, "out of memory");
			goto cleanup;
		}
		s.n++;
	}
	if (s.n > 0)
		qsort(s.items, s.n, sizeof(*s.items), cmp_str);
	hash(&s);
	*out = s;
	memset(&s, 0, sizeof(s));
cleanup:
	mg_schema_dispose(&s);
	mg_rows_free(r);
	mg_buf_dispose(&sql);
	mg_buf_dispose(&line);
	return rc;
}

void mg_schema_diff(struct mg_buf *out, const struct mg_schema *a,
                    const struct mg_schema *b)
{
	size_t i = 0, j = 0;
	int c;

	/* both are sorted: one merge pass */
	while (i < a->n || j < b->n) {
		c = i >= a->n   ? 1
		    : j >= b->n ? -1
		                : strcmp(a->items[i], b->items[j]);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		mg_buf_addf(out, "%s%c %s", out->len ? "; " : "",
		            c < 0 ? '-' : '+',
		            c < 0 ? a->items[i++] : b->items[j++]);
	}
}

void mg_schema_dispose(struct mg_schema *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->items[i]);
	free(s->items);
	memset(s, 0, sizeof(*s));
}
