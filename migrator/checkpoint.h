#ifndef MG_CHECKPOINT_H
#define MG_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migrator/checksum.h"

struct mg_buf;
struct mg_error;
struct mg_ledger;

/*
 * A ledger's head, kept outside the database (a CI artifact, a
 * repository): whoever can write the ledger can rewrite it and recompute
 * its hash chain, and deleting its tail or the whole table leaves a chain
 * that still verifies. A checkpoint catches both: a later ledger must
 * hold the checkpoint's last row with the same entry hash (the chain then
 * vouches for every row before it), and at least as many rows.
 *
 * Its text, one "key value" a line (MIGRATING.md, "The ledger"):
 *
 *	migrate-checkpoint 1
 *	ledger migrate_ledger
 *	rows 42
 *	last_id 42
 *	head 9f3a...
 *	signature 5b1c...   (Ed25519 over the lines above; optional)
 */
struct mg_checkpoint {
	char ledger[128]; /* the ledger table's name, as the user gave it */
	int64_t rows;
	int64_t last_id; /* 0: the ledger was empty */
	char head[MG_HASH_HEX_LEN];
	bool has_signature;
	unsigned char signature[64];
	size_t signed_len; /* bytes of the text the signature covers */
};

/* The head of a ledger read in full (mg_ledger_load with full). */
void mg_checkpoint_of(struct mg_checkpoint *out, const struct mg_ledger *l);

/* Appends the checkpoint's text; signed when sign_key (an Ed25519 secret
 * key, 64 bytes) is not NULL. */
void mg_checkpoint_format(struct mg_buf *out, const struct mg_checkpoint *cp,
                          const unsigned char *sign_key);

/* Parses a checkpoint's text; MG_EINVALID naming the line. With
 * public_key, a missing or bad signature is MG_ECHECKSUM. */
int mg_checkpoint_parse(struct mg_checkpoint *out, const char *text,
                        size_t len, const unsigned char *public_key,
                        struct mg_error *err);

/* Whether ledger l (read in full) continues the checkpoint's history:
 * MG_ECHECKSUM, saying how, when it is shorter or diverges. */
int mg_checkpoint_check(const struct mg_checkpoint *cp,
                        const struct mg_ledger *l, struct mg_error *err);

#endif
