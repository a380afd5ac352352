#ifndef MG_DRIVERS_TABLES_H
#define MG_DRIVERS_TABLES_H

#include <stddef.h>

struct mg_buf;
struct mg_conn;
struct mg_error;
struct mg_table_info;

/*
 * backups: the drivers' table_info and update_from_sql slots (driver.h),
 * one pair per database. They only run SQL through conn->drv->query, so
 * they live here, away from the client libraries.
 */
int mg_pg_table_info(struct mg_table_info *out, struct mg_conn *conn,
                     const char *table, struct mg_error *err);
int mg_my_table_info(struct mg_table_info *out, struct mg_conn *conn,
                     const char *table, struct mg_error *err);
int mg_sq_table_info(struct mg_table_info *out, struct mg_conn *conn,
                     const char *table, struct mg_error *err);

/* fp2 on PostgreSQL: sums of hash_record_extended() with two seeds */
void mg_pg_fingerprint2_sql(struct mg_buf *out, const char *table,
                            const char *const *cols, size_t ncols);

/* fp2 on MariaDB 10.8 and later: sums of CRC32() and CRC32C() of each
 * row's quoted text */
void mg_my_fingerprint2_sql(struct mg_buf *out, const char *table,
                            const char *const *cols, size_t ncols);

/* row_bytes_sql: one row's size, as each database measures it */
void mg_pg_row_bytes_sql(struct mg_buf *out, const char *alias,
                         const char *const *cols, size_t ncols);
void mg_my_row_bytes_sql(struct mg_buf *out, const char *alias,
                         const char *const *cols, size_t ncols);
void mg_sq_row_bytes_sql(struct mg_buf *out, const char *alias,
                         const char *const *cols, size_t ncols);

/* UPDATE t AS mg_t SET c = mg_s.c FROM s AS mg_s WHERE ... (PostgreSQL,
 * SQLite 3.33 and later) */
void mg_update_from_sql(struct mg_buf *out, const char *target,
                        const char *source, const char *const *set,
                        size_t nset, const char *const *key, size_t nkey);
/* UPDATE t AS mg_t JOIN s AS mg_s ON ... SET mg_t.c = mg_s.c (MySQL) */
void mg_my_update_join_sql(struct mg_buf *out, const char *target,
                           const char *source, const char *const *set,
                           size_t nset, const char *const *key, size_t nkey);

/*
 * A name as SQL writes it ("schema"."Table", `db`.t, t) split into its
 * schema (NULL when unqualified) and name, quotes removed (doubled
 * quotes made single). Both owned by the caller. MG_EINVALID, MG_ENOMEM.
 */
int mg_ident_split(char **schema, char **name, const char *written,
                   struct mg_error *err);

#endif
