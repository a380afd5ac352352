#ifndef MG_BUF_H
#define MG_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "migrator/error.h"

/*
 * A growable, always NUL-terminated string. Appends never fail loudly: on
 * out-of-memory, or past `max` bytes (0: 1 GiB), the buffer turns "failed"
 * and ignores further appends; check once with mg_buf_check().
 */
struct mg_buf {
	char *ptr; /* NULL until the first append; use mg_buf_cstr() */
	size_t len, cap, max;
	bool failed;
};
#define MG_BUF_INIT                                                            \
	{                                                                      \
		0                                                              \
	}

void mg_buf_add(struct mg_buf *b, const char *s);
void mg_buf_addn(struct mg_buf *b, const char *s, size_t n);
void mg_buf_addc(struct mg_buf *b, char c);
void mg_buf_addf(struct mg_buf *b, const char *fmt, ...) MG_PRINTF(2, 3);
void mg_buf_truncate(struct mg_buf *b, size_t len);
const char *mg_buf_cstr(const struct mg_buf *b); /* never NULL */
/* 0, or MG_ENOMEM in err if any append failed. */
int mg_buf_check(const struct mg_buf *b, struct mg_error *err);
/* Hands the string over (NULL if the buffer failed); b is reset. */
char *mg_buf_detach(struct mg_buf *b);
void mg_buf_dispose(struct mg_buf *b); /* b is reusable after */

#endif
