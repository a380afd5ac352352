#include "migrator/driver.h"

#include <stdlib.h>
#include <string.h>

#include "migrator/error.h"
#include "migrator/drivers/url.h"

extern const struct mg_driver mg_driver_postgres;
extern const struct mg_driver mg_driver_sqlite;
#ifdef MG_HAVE_MYSQL
extern const struct mg_driver mg_driver_mysql;
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

/* Drivers this build leaves out: only their names and schemes, so that
 * such a URL says what is missing rather than that it is unknown. */
#ifndef MG_HAVE_MYSQL
static const char *const mysql_schemes[] = { "mysql://", "mariadb://", NULL };
static const struct mg_driver mysql_left_out = {
	.name = "mysql",
	.schemes = mysql_schemes,
};
#endif
static const struct mg_driver *const left_out[] = {
#ifndef MG_HAVE_MYSQL
	&mysql_left_out,
#endif
	NULL,
};

int mg_drivers_init(void)
{
	size_t i;

	for (i = 0; drivers[i] != NULL; i++) {
		if (drivers[i]->init != NULL && drivers[i]->init() < 0) {
			while (i-- > 0)
				if (drivers[i]->end != NULL)
					drivers[i]->end();
			return -1;
		}
	}
	return 0;
}

void mg_drivers_end(void)
{
	size_t i = sizeof(drivers) / sizeof(drivers[0]) - 1;

	while (i-- > 0)
		if (drivers[i]->end != NULL)
			drivers[i]->end();
}

/* The first driver in table serving url by scheme or, with keywords, as a
 * keyword string. */
static const struct mg_driver *serving(const struct mg_driver *const *table,
                                       const char *url, bool keywords)
{
	const char *const *s;
	size_t i;

	for (i = 0; table[i] != NULL; i++) {
		if (keywords && table[i]->keyword_strings &&
		    mg_url_is_keywords(url))
			return table[i];
		for (s = table[i]->schemes; !keywords && s && *s; s++)
			if (mg_url_has_scheme(url, *s))
				return table[i];
	}
	return NULL;
}

const struct mg_driver *mg_driver_for_url(const char *url, struct mg_error *err)
{
	const struct mg_driver *d;
	int pass;

	/* schemes first: "sqlite:a=b.db" is a file name, not keywords */
	for (pass = 0; pass < 2; pass++) {
		if ((d = serving(drivers, url, pass == 1)) != NULL)
			return d;
		if ((d = serving(left_out, url, pass == 1)) != NULL) {
			mg_error_set(err, MG_EINVALID,
			             "this build has no %s driver", d->name);
			return NULL;
		}
	}
	mg_error_set(err, MG_EINVALID, "unknown database URL scheme");
	mg_error_hint(err, "use postgres://, mysql://user:pass@host/db "
	                   "or sqlite:PATH");
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

void mg_conn_scrub(struct mg_conn *conn, char *text, size_t size)
{
	if (conn != NULL && conn->drv->secret != NULL && text != NULL)
		mg_scrub(text, size, conn->drv->secret(conn));
}

/* backups */
void mg_table_info_dispose(struct mg_table_info *t)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		free(t->cols[i]);
	for (i = 0; i < t->nkey; i++)
		free(t->key[i]);
	for (i = 0; i < t->ngenerated; i++)
		free(t->generated[i]);
	free(t->cols);
	free(t->key);
	for (i = 0; i < t->nidentity; i++)
		free(t->identity[i]);
	free(t->generated);
	free(t->identity);
	memset(t, 0, sizeof(*t));
}

int mg_table_info_add(char ***v, size_t *n, const char *name,
                      struct mg_error *err)
{
	char **grown = realloc(*v, (*n + 1) * sizeof(**v));

	if (grown == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	*v = grown;
	if ((grown[*n] = strdup(name)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	(*n)++;
	return 0;
}
