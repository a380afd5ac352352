#ifndef MG_ROUNDTRIP_H
#define MG_ROUNDTRIP_H

struct mg_error;
struct mg_runner;
struct mg_up_opts;

/*
 * `migrate test`: for each pending migration, up with its checks, down,
 * then the schema must be as it was before the up (else MG_ECHECKSUM,
 * err->detail listing what differs), then up again. Emits a round-trip
 * event per migration besides the usual ones; r->applied counts the
 * migrations proven. Meant for CI and staging databases: on SQLite it
 * does not re-read the ledger between files.
 */
int mg_roundtrip_run(struct mg_runner *r, const struct mg_up_opts *opts,
                     struct mg_error *err);

#endif
