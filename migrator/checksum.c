#include "migrator/checksum.h"

#include <sodium.h>
#include <string.h>

size_t mg_text_normalize(char *text, size_t len)
{
	size_t i = 0, o = 0;

	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	for (; i < len; i++) {
		if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
			continue;
		text[o++] = text[i];
	}
	text[o] = '\0';
	return o;
}

void mg_hash_hex(char out[MG_HASH_HEX_LEN], const void *data, size_t len)
{
	unsigned char h[crypto_generichash_BYTES];

	/* crypto_generichash_BYTES is 32: BLAKE2b-256, as SPEC.md fixes */
	crypto_generichash(h, sizeof(h), data, len, NULL, 0);
	sodium_bin2hex(out, MG_HASH_HEX_LEN, h, sizeof(h));
}
