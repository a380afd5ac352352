#include "migrator/driver.h"

#include <stdlib.h>
#include <string.h>

#include "migrator/error.h"
#include "migrator/drivers/url.h"

extern const struct mg_driver mg_driver_postgres;
extern const struct mg_driver mg_driver_sqlite;
#ifdef MG_HAVE_MYSQL
extern const struct mg_driver mg_driver_mysql;
int mg_driver__mysql_init(void);
void mg_driver__mysql_end(void);
#endif

/* Compiled-in drivers; MySQL only where Connector/C was found. */
static const struct mg_driver *const drivers[] = {
	&mg_driver_postgres,
	&mg_driver_sqlite,
#ifdef MG_HAVE_MYSQL
	&mg_driver_mysql,
#endif
	NULL,
};

int mg_drivers_init(void)
{
#ifdef MG_HAVE_MYSQL
	return mg_driver__mysql_init();
#else
	return 0;
#endif
}

void mg_drivers_end(void)
{
#ifdef MG_HAVE_MYSQL
	mg_driver__mysql_end();
#endif
}

const struct mg_driver *mg_driver_for_url(const char *url, struct mg_error *err)
{
	const char *name = mg_url_driver(url);
	size_t i;

	if (name == NULL) {
		mg_error_set(err, MG_EINVALID, "unknown database URL scheme");
		mg_error_hint(err, "use postgres://, mysql://user:pass@host/db "
		                   "or sqlite:PATH");
		return NULL;
	}
	for (i = 0; drivers[i] != NULL; i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	mg_error_set(err, MG_EINVALID, "this build has no %s driver", name);
	return NULL;
}

const char *mg_rows_get(const struct mg_rows *r, size_t row, size_t col)
{
	if (r == NULL || row >= r->nrows || col >= r->ncols)
		return NULL;
	return r->cells[row * r->ncols + col];
}

struct mg_rows *mg_rows_new(size_t ncols)
{
	struct mg_rows *r = calloc(1, sizeof(*r));

	if (r != NULL)
		r->ncols = ncols;
	return r;
}

int mg_rows_add(struct mg_rows *r, const char *const *values, size_t ncols)
{
	char **cells;
	size_t i, base = r->nrows * r->ncols;

	cells = realloc(r->cells, (base + r->ncols) * sizeof(*cells) + 1);
	if (cells == NULL)
		return MG_ENOMEM;
	r->cells = cells;
	for (i = 0; i < r->ncols; i++) {
		const char *v = i < ncols ? values[i] : NULL;

		cells[base + i] = NULL;
		if (v != NULL && (cells[base + i] = strdup(v)) == NULL) {
			while (i-- > 0)
				free(cells[base + i]);
			return MG_ENOMEM;
		}
	}
	r->nrows++;
	return 0;
}

void mg_rows_free(struct mg_rows *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	free(r);
}
