#ifndef MG_CHECKS_IDENT_H
#define MG_CHECKS_IDENT_H

struct mg_buf;

/*
 * Appends `name`, an identifier as a directive wrote it (bare, or quoted
 * with "" or `` with the quote doubled inside; with dots between parts,
 * schema.table), to out with every quoted part in the database's own
 * quote `q` ('"' or '`'). A "x" must reach MySQL as `x`: there "x" is the
 * string 'x', and a data check over it fingerprinted a constant. Bare
 * parts stay bare, so the database folds their case as it always does.
 */
void mg_ident_requote(struct mg_buf *out, const char *name, char q);

#endif
