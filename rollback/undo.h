#ifndef MG_UNDO_H
#define MG_UNDO_H

#include <stdbool.h>

struct mg_checks;
struct mg_conn;
struct mg_error;
struct mg_file;

/*
 * Where DDL cannot roll back (MySQL, no-transaction files), a failed check
 * is answered by running the opposite file (`opposite`: the down file of an
 * up, the up file of a down; its path NULL when there is none) outside a
 * transaction and reading every checked value again into the checks'
 * after_undo. Returns true only when each before value came back. Says
 * what was done, and what it proved, in why->detail; keeps the rest of
 * `why` (the failed check).
 */
bool mg_undo_run(struct mg_conn *conn, const struct mg_file *opposite,
                 struct mg_checks *cs, struct mg_error *why);
/* The same, calling then(ctx, ...) (if not NULL) after the opposite
 * file's SQL and before the values are read again: backups put back the
 * rows the file's backups saved there. A failure of then() is a failed
 * undo, said in why->detail. */
bool mg_undo_run_then(struct mg_conn *conn, const struct mg_file *opposite,
                      struct mg_checks *cs, struct mg_error *why,
                      int (*then)(void *ctx, struct mg_conn *conn,
                                  struct mg_error *err),
                      void *ctx);

#endif
