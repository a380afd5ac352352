#ifndef MG_CMD_HTML_H
#define MG_CMD_HTML_H

#include <stdio.h>

struct mg_ledger;
struct opts;

/*
 * migrate ledger --format html (issue 10): one self-contained page an
 * auditor opens without a server (no script, no fetched asset, inline
 * style only): the hash-chain and signature verdicts computed now, then
 * every event with who, when, where and how long, its evidence (checks,
 * statements, records, plans) and its error. Everything that came from
 * the database is escaped. `public_key` (32 bytes) or NULL: signatures
 * are then counted, not checked. Returns the number of problems the
 * verification found.
 */
size_t html_ledger(FILE *out, const struct mg_ledger *l,
                   const unsigned char *public_key, const struct opts *o);

#endif
