#ifndef MG_ADOPT_H
#define MG_ADOPT_H

#include <stddef.h>
#include <stdint.h>

struct mg_conn;
struct mg_error;

/*
 * Switching from another tool (`migrate baseline --from TOOL`): the last
 * version that tool applied, read from its history table in the target
 * database.
 *
 * golang-migrate: schema_migrations(version, dirty), one row.
 * dbmate:         schema_migrations(version), a row per applied version.
 * flyway:         flyway_schema_history(version, success, ...), a row per
 *                 run; repeatable migrations have no version.
 */
struct mg_adopt_tool {
	const char *name;  /* "golang-migrate", "dbmate", "flyway" */
	const char *table; /* its default history table */
};

/* The tool named so; NULL when migrate knows no such tool. */
const struct mg_adopt_tool *mg_adopt_find(const char *name);
/* "golang-migrate, dbmate, flyway", for messages. */
const char *mg_adopt_names(void);

/*
 * Reads the tool's last applied version from `table` (NULL: the tool's
 * default; names as --ledger-table takes them). MG_ENOTFOUND when the
 * table does not exist or records nothing; MG_ERR when the tool left a
 * dirty or failed state (repair it with that tool first) or a version
 * migrate cannot number (flyway's 1.1); MG_EINVALID for a bad table name.
 * `what` (may be NULL) gets a line for the ledger's reason, such as
 * "golang-migrate schema_migrations: version 42".
 */
int mg_adopt_read(int64_t *version, char *what, size_t what_size,
                  struct mg_conn *conn, const struct mg_adopt_tool *tool,
                  const char *table, struct mg_error *err);

#endif
