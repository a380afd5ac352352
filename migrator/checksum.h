#ifndef MG_CHECKSUM_H
#define MG_CHECKSUM_H

#include <stddef.h>

/* 64 lower-case hex digits and a NUL */
#define MG_HASH_HEX_LEN 65

/*
 * Normalises migration text in place: drops a leading UTF-8 BOM and turns
 * every CRLF into LF, so that a checkout with other line-ending settings is
 * not drift. Returns the new length; the text is NUL-terminated after it.
 * `text` must have room for len + 1 bytes.
 */
size_t mg_text_normalize(char *text, size_t len);

/* BLAKE2b-256 (crypto_generichash, no key) of the bytes, as hex. */
void mg_hash_hex(char out[MG_HASH_HEX_LEN], const void *data, size_t len);

#endif
