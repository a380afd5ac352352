#ifndef MG_SCHEMA_H
#define MG_SCHEMA_H

#include <stddef.h>

#include "migrator/checksum.h"

struct mg_buf;
struct mg_conn;
struct mg_error;

/*
 * A description of the database's schema (the driver's schema_sql), as a
 * sorted set of "kind name: definition" lines with a hash over them: what
 * `migrate test` compares before an up and after its down.
 */
struct mg_schema {
	char **items; /* sorted, owned */
	size_t n;
	char hash[MG_HASH_HEX_LEN];
};

int mg_schema_read(struct mg_schema *out, struct mg_conn *conn,
                   struct mg_error *err);
/* Appends "- item" for what `after` lacks and "+ item" for what it adds,
 * "; "-separated. */
void mg_schema_diff(struct mg_buf *out, const struct mg_schema *before,
                    const struct mg_schema *after);
void mg_schema_dispose(struct mg_schema *s);
/* backups: drops the items about tables whose name starts with `prefix`
 * (the backup tables migrate manages: "<ledger>_bk_"), in any schema, and
 * hashes the rest again. */
void mg_schema_forget(struct mg_schema *s, const char *prefix);

#endif
