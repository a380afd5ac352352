#include "migrator/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX ((size_t)1 << 30)

static bool grow(struct mg_buf *b, size_t extra)
{
	size_t max = b->max ? b->max : DEFAULT_MAX;
	size_t need, cap;
	char *p;

	if (b->failed)
		return false;
	if (extra >= max || b->len + extra >= max) {
		b->failed = true;
		return false;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	if (cap > max)
		cap = max;
	if ((p = realloc(b->ptr, cap)) == NULL) {
		b->failed = true;
		return false;
	}
	b->ptr = p;
	b->cap = cap;
	return true;
}

void mg_buf_addn(struct mg_buf *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->ptr + b->len, s, n);
	b->len += n;
	b->ptr[b->len] = '\0';
}

void mg_buf_add(struct mg_buf *b, const char *s)
{
	mg_buf_addn(b, s, strlen(s));
}

void mg_buf_addc(struct mg_buf *b, char c)
{
	mg_buf_addn(b, &c, 1);
}

void mg_buf_addf(struct mg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (!grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void mg_buf_truncate(struct mg_buf *b, size_t len)
{
	if (b->ptr != NULL && len < b->len) {
		b->len = len;
		b->ptr[len] = '\0';
	}
}

const char *mg_buf_cstr(const struct mg_buf *b)
{
	return b->ptr && !b->failed ? b->ptr : "";
}

int mg_buf_check(const struct mg_buf *b, struct mg_error *err)
{
	if (b->failed)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	return 0;
}

char *mg_buf_detach(struct mg_buf *b)
{
	char *p = b->failed ? NULL : b->ptr;
	size_t max = b->max;

	if (p == NULL && !b->failed)
		p = calloc(1, 1);
	if (b->failed)
		free(b->ptr);
	memset(b, 0, sizeof(*b));
	b->max = max;
	return p;
}

void mg_buf_dispose(struct mg_buf *b)
{
	size_t max = b->max;

	free(b->ptr);
	memset(b, 0, sizeof(*b));
	b->max = max;
}
