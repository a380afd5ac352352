#ifndef MG_DRIVERS_POSTGRES_H
#define MG_DRIVERS_POSTGRES_H

#include "migrator/driver.h"

/* The PostgreSQL driver (migrator/drivers/postgres.c). */
extern const struct mg_driver mg_driver_postgres;

/*
 * The table a PostgreSQL connection switches to when it finds a
 * connection pooler in front of the server (issue 12): mg_driver_postgres
 * with the run lock per transaction, and without what needs a session or
 * the server's own process id (see postgres.c). Built on the first call;
 * safe from any thread.
 */
const struct mg_driver *mg_pg_pooled_driver(void);

#endif
