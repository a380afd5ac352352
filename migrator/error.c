#include "migrator/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mg_error_set(struct mg_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	memset(err, 0, sizeof(*err));
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void mg_error_detail(struct mg_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void mg_error_hint(struct mg_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

void mg_error_clear(struct mg_error *err)
{
	if (err != NULL)
		memset(err, 0, sizeof(*err));
}

void mg_error_locate(struct mg_error *err, const char *path, unsigned line)
{
	if (err == NULL)
		return;
	snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
	err->line = line;
}

void mg_error_where(char *out, size_t size, const struct mg_error *err)
{
	if (size == 0)
		return;
	if (err->path[0] == '\0')
		out[0] = '\0';
	else if (err->line > 0)
		snprintf(out, size, "%s:%u: ", err->path, err->line);
	else
		snprintf(out, size, "%s: ", err->path);
}
