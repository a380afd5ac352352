/* strndup() and friends are POSIX 2008 (X/Open 7) */
#define _XOPEN_SOURCE 700

#include "migrator/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks/job_directive.h"
#include "migrator/buf.h"
#include "migrator/error.h"
#include "migrator/scan.h"

int mg_source_parse_name(const char *file, int64_t *version, const char **name,
                         size_t *name_len, bool *is_up)
{
	size_t len = strlen(file), digits = 0, end;
	int64_t v = 0;
	const char *p;

	if (len > 7 && strcmp(file + len - 7, ".up.sql") == 0) {
		*is_up = true;
		end = len - 7;
	} else if (len > 9 && strcmp(file + len - 9, ".down.sql") == 0) {
		*is_up = false;
		end = len - 9;
	} else {
		return -1;
	}
	/* 18 digits always fit in an int64_t; stop before a 19th overflows */
	while (file[digits] >= '0' && file[digits] <= '9' && digits < 18)
		v = v * 10 + (file[digits++] - '0');
	if (digits == 0 || digits > 18 || file[digits] != '_' ||
	    digits + 1 >= end)
		return -1;
	for (p = file + digits + 1; p < file + end; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		      *p == '.'))
			return -1;
	*version = v;
	*name = file + digits + 1;
	*name_len = end - digits - 1;
	return 0;
}

/*
 * Reads an open file of `size` bytes (from fstat) with one allocation and,
 * unless it grew meanwhile, one read(): a short read of a regular file is
 * its end. Then normalises and hashes it. (Issue 7: status over 10,000
 * migrations spent its time in stdio's extra fstat() and read() calls.)
 */
int mg_file_read_fd(struct mg_file *out, const char *path, int fd, off_t size,
                    struct mg_error *err)
{
	struct mg_file f = { 0 };
	size_t cap = size > 0 ? (size_t)size + 1 : 4096, n = 0;
	ssize_t got;
	char *p;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if ((f.text = malloc(cap + 1)) == NULL ||
	    (f.path = strdup(path)) == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	for (;;) {
		if (n == cap) {
			if ((p = realloc(f.text, cap * 2 + 1)) == NULL) {
				rc = mg_error_set(err, MG_ENOMEM,
				                  "out of memory");
				goto cleanup;
			}
			f.text = p;
			cap *= 2;
		}
		got = read(fd, f.text + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = mg_error_set(err, MG_ERR, "cannot read '%s'",
			                  path);
			goto cleanup;
		}
		n += (size_t)got;
		if (got == 0 || n < cap)
			break;
	}
	f.len = mg_text_normalize(f.text, n);
	mg_hash_hex(f.checksum, f.text, f.len);
	*out = f;
	memset(&f, 0, sizeof(f));
cleanup:
	mg_file_dispose(&f);
	return rc;
}

int mg_file_read(struct mg_file *out, const char *path, struct mg_error *err)
{
	struct stat st;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return mg_error_set(err, MG_ERR, "cannot read '%s': %s", path,
		                    strerror(errno));
	if (fstat(fd, &st) < 0)
		rc = mg_error_set(err, MG_ERR, "cannot read '%s'", path);
	else
		rc = mg_file_read_fd(out, path, fd, st.st_size, err);
	close(fd);
	return rc;
}

void mg_file_dispose(struct mg_file *f)
{
	free(f->path);
	free(f->text);
	mg_directives_dispose(&f->dir);
	memset(f, 0, sizeof(*f));
}

static int cmp_migration(const void *a, const void *b)
{
	const struct mg_migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

static struct mg_migration *find_or_add(struct mg_source *s, int64_t version,
                                        int64_t *max_version)
{
	struct mg_migration *v;
	size_t i;

	/* Names come sorted: a pair is adjacent, and with zero-padded
	 * versions each new one is the largest yet, which needs no look
	 * through the others (that made loading quadratic, issue 7). */
	if (s->n > 0 && s->v[s->n - 1].version == version)
		return &s->v[s->n - 1];
	for (i = 0; s->n > 0 && version <= *max_version && i < s->n; i++)
		if (s->v[i].version == version)
			return &s->v[i];
	/* room for 16, then doubled at each power of two */
	if (s->n == 0 || (s->n >= 16 && (s->n & (s->n - 1)) == 0)) {
		v = realloc(s->v, (s->n ? s->n * 2 : 16) * sizeof(*v));
		if (v == NULL)
			return NULL;
		s->v = v;
	}
	v = s->v;
	memset(&v[s->n], 0, sizeof(*v));
	v[s->n].version = version;
	if (s->n == 0 || version > *max_version)
		*max_version = version;
	return &v[s->n++];
}

/* "0005_x.UP.SQL": a migration file name but for the case of its suffix */
static bool differs_by_case(const char *file)
{
	size_t len = strlen(file);

	/* not when the suffix is right: then the version or the name is
	 * what is wrong (19 digits said "in lower case") */
	return (len > 7 && strcasecmp(file + len - 7, ".up.sql") == 0 &&
	        strcmp(file + len - 7, ".up.sql") != 0) ||
	       (len > 9 && strcasecmp(file + len - 9, ".down.sql") == 0 &&
	        strcmp(file + len - 9, ".down.sql") != 0);
}

/* Reads one file into its slot, reporting duplicates and bad directives. */
static int add_file(struct mg_source *s, struct mg_problems *pr,
                    const char *path, const char *file, int fd, off_t size,
                    int64_t *max_version, struct mg_error *err)
{
	struct mg_migration *m;
	struct mg_file *slot;
	struct mg_error derr;
	const char *name, *nul;
	size_t name_len;
	int64_t version;
	unsigned jline;
	bool is_up;
	int rc;

	if (mg_source_parse_name(file, &version, &name, &name_len, &is_up) < 0 &&
	    differs_by_case(file))
		return mg_problem(pr,
		               "%s: not a migration file name: the suffix is "
		               "'.up.sql' or '.down.sql', in lower case",
		               path);
	if (mg_source_parse_name(file, &version, &name, &name_len, &is_up) < 0)
		return mg_problem(pr,
		               "%s: not a migration file name: expected "
		               "<version>_<name>.up.sql or .down.sql "
		               "(version: 1-18 digits; name: letters, "
		               "digits, '_', '-', '.')",
		               path);
	if ((m = find_or_add(s, version, max_version)) == NULL)
		return mg_error_set(err, MG_ENOMEM, "out of memory");
	slot = is_up ? &m->up : &m->down;
	if (slot->path != NULL)
		return mg_problem(pr,
		               "%s: version %lld already has %s file: "
		               "%s",
		               path, (long long)version,
		               is_up ? "an up" : "a down",
		               slot->path);
	if (m->name == NULL) {
		if ((m->name = strndup(name, name_len)) == NULL)
			return mg_error_set(err, MG_ENOMEM, "out of memory");
	} else if (strlen(m->name) != name_len ||
	           strncmp(m->name, name, name_len) != 0) {
		return mg_problem(pr,
		               "%s: name does not match its pair's "
		               "(version %lld is '%s')",
		               path, (long long)version, m->name);
	}
	rc = fd < 0 ? mg_file_read(slot, path, err)
	            : mg_file_read_fd(slot, path, fd, size, err);
	if (rc < 0)
		return rc;
	/* a NUL ends the text that C and libpq see: the rest would be
	 * checksummed but never run */
	if ((nul = memchr(slot->text, '\0', slot->len)) != NULL)
		return mg_problem(pr, "%s:%u: a NUL byte: a migration is text",
		               path, mg_line_of(slot->text, nul));
	rc = mg_directives_parse(&slot->dir, slot->text, slot->len, &derr);
	if (rc == MG_EINVALID)
		return mg_problem(pr, "%s:%u: %s", path, derr.line, derr.msg);
	if (rc < 0)
		return mg_error_set(err, rc, "%s", derr.msg);
	/* jobs (issue 11): a schedule in a migration would be ignored */
	if ((jline = mg_job_directives_find(slot->text, slot->len)) != 0)
		return mg_problem(pr,
		               "%s:%u: job: directives belong in a job file "
		               "(the jobs directory), not in a migration",
		               path, jline);
	if (!is_up && slot->dir.irreversible)
		return mg_problem(pr,
		               "%s: migrate:irreversible belongs in the up "
		               "file",
		               path);
	/* backups: taken before an up file, put back after a down file */
	if (!is_up && slot->dir.nbackups > 0)
		return mg_problem(pr, "%s:%u: backup: belongs in the up file",
		               path, slot->dir.backups[0].line);
	if (is_up && slot->dir.nrestores > 0)
		return mg_problem(pr, "%s:%u: restore: belongs in the down file",
		               path, slot->dir.restores[0].line);
	return 0;
}

static int check_pairs(struct mg_source *s, struct mg_problems *pr)
{
	size_t i;
	int rc;

	for (i = 0; i < s->n; i++) {
		struct mg_migration *m = &s->v[i];

		if (m->up.path == NULL)
			rc = mg_problem(pr, "%s: down file without an up file",
			             m->down.path);
		else if (m->down.path == NULL && !m->up.dir.irreversible)
			rc = mg_problem(pr,
			             "%s: no down file: add %.*s.down.sql, "
			             "or mark the up file "
			             "'-- migrate:irreversible'",
			             m->up.path, (int)(strlen(m->up.path) - 7),
			             m->up.path);
		else if (m->down.path != NULL && m->up.dir.irreversible)
			rc = mg_problem(pr,
			             "%s: marked irreversible but has a "
			             "down file %s",
			             m->up.path, m->down.path);
		else
			rc = 0;
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* What the scanner hands each migration file to. */
struct load_ctx {
	struct mg_source *s;
	int64_t max_version;
};

static int each_file(void *arg, const struct mg_scan_file *f,
                     struct mg_problems *pr, struct mg_error *err)
{
	struct load_ctx *c = arg;

	return add_file(c->s, pr, f->path, f->name, f->fd, f->size,
	                &c->max_version, err);
}

int mg_source_load(struct mg_source **out, const char *dir,
                   struct mg_problems *problems, struct mg_error *err)
{
	struct load_ctx c = { NULL, 0 };
	struct mg_scan scan = { "migrations", "a migration", each_file, &c };
	int rc;

	*out = NULL;
	if ((c.s = calloc(1, sizeof(*c.s))) == NULL ||
	    (c.s->dir = strdup(dir)) == NULL) {
		rc = mg_error_set(err, MG_ENOMEM, "out of memory");
		goto cleanup;
	}
	if ((rc = mg_scan_dir(dir, &scan, problems, err)) < 0)
		goto cleanup;
	/* sorted first, so that the problems come in version order */
	if (c.s->n > 0)
		qsort(c.s->v, c.s->n, sizeof(*c.s->v), cmp_migration);
	if ((rc = check_pairs(c.s, problems)) < 0)
		goto cleanup;
	if (problems->n > 0) {
		rc = mg_error_set(err, MG_EINVALID,
		                  "%zu invalid migration "
		                  "file%s in '%s'",
		                  problems->n, problems->n == 1 ? "" : "s",
		                  dir);
		goto cleanup;
	}
	*out = c.s;
	c.s = NULL;
cleanup:
	if (rc == MG_ENOMEM)
		mg_error_set(err, MG_ENOMEM, "out of memory");
	mg_source_free(c.s);
	return rc;
}

void mg_source_free(struct mg_source *src)
{
	size_t i;

	if (src == NULL)
		return;
	for (i = 0; i < src->n; i++) {
		free(src->v[i].name);
		mg_file_dispose(&src->v[i].up);
		mg_file_dispose(&src->v[i].down);
	}
	free(src->v);
	free(src->dir);
	free(src);
}

const struct mg_migration *mg_source_find(const struct mg_source *src,
                                          int64_t version)
{
	size_t lo = 0, hi = src->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (src->v[mid].version == version)
			return &src->v[mid];
		if (src->v[mid].version < version)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void mg_problems_dispose(struct mg_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}
