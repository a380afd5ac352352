#ifndef MG_SOURCE_H
#define MG_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "checks/directive.h"
#include "migrator/checksum.h"

struct mg_error;

/* One migration file, read once and kept in memory. */
struct mg_file {
	char *path; /* dir/file name as given; NULL when there is no file */
	char *text; /* normalised (no BOM, LF ends), NUL-terminated */
	size_t len;
	char checksum[MG_HASH_HEX_LEN]; /* of the normalised bytes */
	struct mg_directives dir;
};

struct mg_migration {
	int64_t version;
	char *name;
	struct mg_file up;
	struct mg_file down; /* down.path NULL: irreversible, no down file */
};

/* The migrations of a directory, sorted by version. */
struct mg_source {
	char *dir;
	struct mg_migration *v;
	size_t n;
};

/* Every problem found in a directory, one "file:line: message" each. */
struct mg_problems {
	char **v;
	size_t n;
};

/*
 * Reads and validates the whole directory before anything runs: names,
 * pairs, duplicates, directives. Files whose names start with '.' and
 * files not ending in ".sql" are ignored.
 *
 * Errors: MG_ENOTFOUND when the directory does not exist; MG_EINVALID
 * when any file is wrong, with every problem listed in `problems` (which
 * the caller disposes in all cases); MG_ERR for I/O; MG_ENOMEM.
 */
int mg_source_load(struct mg_source **out, const char *dir,
                   struct mg_problems *problems, struct mg_error *err);
void mg_source_free(struct mg_source *src);

/* Lends the migration with that version, or NULL. */
const struct mg_migration *mg_source_find(const struct mg_source *src,
                                          int64_t version);

/*
 * Parses a file name such as "0001_create_users.up.sql". Returns 0 and
 * fills the outputs (name_len bytes of the name start at name), or -1 if
 * the name does not fit the pattern.
 */
int mg_source_parse_name(const char *file, int64_t *version, const char **name,
                         size_t *name_len, bool *is_up);

/* Reads and normalises one file (for `migrate new` and the tests). */
int mg_file_read(struct mg_file *out, const char *path, struct mg_error *err);
/* The same from an open descriptor of a file of `size` bytes (from
 * fstat; the scanner's, migrator/scan.h): one allocation and, unless it
 * grew meanwhile, one read(). */
int mg_file_read_fd(struct mg_file *out, const char *path, int fd, off_t size,
                    struct mg_error *err);
void mg_file_dispose(struct mg_file *f);

void mg_problems_dispose(struct mg_problems *p);

#endif
