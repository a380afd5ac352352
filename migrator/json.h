#ifndef MG_JSON_H
#define MG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migrator/error.h"

struct mg_buf;

/*
 * The one JSON writer (in the spirit of git's json-writer.h): begin, append,
 * end, over an mg_buf the caller owns. A small stack of levels remembers
 * whether each is an array and whether it is still empty, so no caller ever
 * writes a comma, a quote or an escape by hand:
 *
 *	struct mg_json w;
 *
 *	mg_json_init(&w, &buf);
 *	mg_json_object_begin(&w, NULL);
 *	mg_json_string(&w, "event", "summary");
 *	mg_json_int(&w, "exit_code", 0);
 *	mg_json_end(&w);
 *
 * Every function takes a key: inside an object it names the member and must
 * not be NULL; inside an array, and for the top-level value, it must be
 * NULL (both are asserts: they are programming errors).
 *
 * Strings are escaped in one place. `"` and `\` get a backslash, \b \f \n \r
 * \t their short forms, the other bytes below 0x20 \u00XX; everything else
 * is written as it is, so the output matches Python's
 * json.dumps(v, ensure_ascii=False, separators=(",", ":")) byte for byte.
 *
 * Invalid UTF-8 never reaches the output: each maximal ill-formed
 * subsequence (a stray continuation byte, a truncated sequence, an overlong
 * form, a UTF-16 surrogate, a code point past U+10FFFF, a Latin-1 byte)
 * becomes one U+FFFD REPLACEMENT CHARACTER, written as its UTF-8 bytes
 * (EF BF BD), as Python's bytes.decode("utf-8", "replace") does. A reader
 * therefore always gets valid JSON, at the price of the original bytes:
 * JSON strings cannot carry bytes that are not text.
 *
 * Appends never fail loudly: out-of-memory turns the buffer "failed" (see
 * migrator/buf.h); check it once with mg_json_check().
 */

#define MG_JSON_MAX_DEPTH 32

struct mg_json {
	struct mg_buf *out;
	int depth; /* open levels */
	struct {
		bool array; /* else an object */
		bool empty; /* nothing written in it yet: no comma due */
	} level[MG_JSON_MAX_DEPTH];
};

/* Starts writing at the end of out (not cleared). */
void mg_json_init(struct mg_json *w, struct mg_buf *out);

void mg_json_object_begin(struct mg_json *w, const char *key);
void mg_json_array_begin(struct mg_json *w, const char *key);
/* Closes the innermost open object or array. */
void mg_json_end(struct mg_json *w);

/* value NULL writes null. */
void mg_json_string(struct mg_json *w, const char *key, const char *value);
void mg_json_int(struct mg_json *w, const char *key, int64_t value);
void mg_json_bool(struct mg_json *w, const char *key, bool value);
void mg_json_null(struct mg_json *w, const char *key);

/*
 * Text that should hold a JSON array (stored JSON: a ledger row's checks):
 * written again through w as that array when it parses as one (as
 * mg_json_parse() reads it; without real numbers, which the writer has
 * not, and at most MG_JSON_MAX_DEPTH levels below w's), else as a string
 * holding the text, so a tampered value can never break the line. NULL
 * writes null.
 */
void mg_json_array_or_string(struct mg_json *w, const char *key,
                             const char *text);

/* 0 when every level is closed and no append failed; MG_ENOMEM else. */
int mg_json_check(const struct mg_json *w, struct mg_error *err);

/*
 * Reading: a parsed JSON value (a thin wrapper over jansson, so its header
 * is included in json.c only). Parsing is strict JSON (trailing text, a
 * \u0000 escape or a duplicate key are errors), except that invalid UTF-8
 * reads as U+FFFD, as the writer writes it: a ledger row written by an
 * older migrate, which passed such bytes through, still reads.
 */
struct mg_json_value;

/* *out (free with mg_json_value_free) or MG_EINVALID with the reason. */
int mg_json_parse(struct mg_json_value **out, const char *text,
                  struct mg_error *err);
void mg_json_value_free(struct mg_json_value *v); /* accepts NULL */

bool mg_json_is_array(const struct mg_json_value *v);
/* 0 unless v is an array. */
size_t mg_json_array_size(const struct mg_json_value *v);
/* Lends the i-th element (i < mg_json_array_size(v)). */
const struct mg_json_value *mg_json_array_get(const struct mg_json_value *v,
                                              size_t i);
/* Lends the string member `key` of object v; NULL when v is not an object
 * or the member is missing or not a string. */
const char *mg_json_object_string(const struct mg_json_value *v,
                                  const char *key);
/* Lends member `key` of object v (any type); NULL when v is not an
 * object or has no such member. */
const struct mg_json_value *mg_json_object_get(const struct mg_json_value *v,
                                               const char *key);
/* The integer member `key` of v into *out; false when there is none. */
bool mg_json_object_int(const struct mg_json_value *v, const char *key,
                        int64_t *out);
/* backups: whether v is JSON true. */
bool mg_json_is_true(const struct mg_json_value *v);
/* backups: lends the text of a string value, or NULL. */
const char *mg_json_string_value(const struct mg_json_value *v);

#endif
