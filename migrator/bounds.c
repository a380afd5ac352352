#include "migrator/bounds.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/directive.h"

int mg_bounds_parse(int64_t *out, const char *text, bool off_ok)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = { { "", 1000 },
		      { "ms", 1 },
		      { "s", 1000 },
		      { "m", 60000 },
		      { "h", 3600000 } };
	char *end;
	long long n;
	size_t i;

	if (off_ok && strcmp(text, "off") == 0) {
		*out = MG_BOUND_OFF;
		return 0;
	}
	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	n = strtoll(text, &end, 10);
	if (errno != 0 || n <= 0 || n > MG_BOUND_MAX_MS)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (n > MG_BOUND_MAX_MS / units[i].ms)
			return -1;
		*out = n * units[i].ms;
		return 0;
	}
	return -1;
}

void mg_bounds_format(char *out, size_t size, int64_t ms)
{
	if (ms == MG_BOUND_OFF)
		snprintf(out, size, "off");
	else if (ms < 0)
		snprintf(out, size, "none");
	else if (ms % 3600000 == 0)
		snprintf(out, size, "%" PRId64 "h", ms / 3600000);
	else if (ms % 60000 == 0)
		snprintf(out, size, "%" PRId64 "m", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(out, size, "%" PRId64 "s", ms / 1000);
	else
		snprintf(out, size, "%" PRId64 "ms", ms);
}

void mg_bounds_for_file(struct mg_bounds *out, const struct mg_bounds *run,
                        const struct mg_directives *d)
{
	*out = *run;
	if (d == NULL)
		return;
	if (d->has_ddl_lock_timeout)
		out->lock_ms = d->ddl_lock_ms;
	if (d->has_statement_timeout)
		out->stmt_ms = d->statement_ms;
}
