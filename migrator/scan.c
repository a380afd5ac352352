/* realpath() is XSI */
#define _XOPEN_SOURCE 700

#include "migrator/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrator/buf.h"
#include "migrator/source.h"

int mg_problem(struct mg_problems *p, const char *fmt, ...)
{
	char line[1024], **v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if ((v = realloc(p->v, (p->n + 1) * sizeof(*v))) == NULL)
		return MG_ENOMEM;
	p->v = v;
	if ((p->v[p->n] = strdup(line)) == NULL)
		return MG_ENOMEM;
	p->n++;
	return 0;
}

unsigned mg_line_of(const char *text, const char *at)
{
	unsigned line = 1;

	for (; text < at; text++)
		line += *text == '\n';
	return line;
}

/*
 * A file of ours must be a file of the directory: one that resolves
 * elsewhere (a symlink to /proc/self/environ, to ../secrets) would run,
 * and its text reach error messages and the ledger. 1 (a problem noted)
 * when path is outside real_dir, 0 when inside, MG_ENOMEM.
 */
static int inside(struct mg_problems *pr, const struct mg_scan *scan,
                  const char *real_dir, const char *path)
{
	char *real = realpath(path, NULL);
	size_t n = strlen(real_dir);
	bool in = real != NULL && strncmp(real, real_dir, n) == 0 &&
	          (real[n] == '/' || (n == 1 && real_dir[0] == '/'));
	int rc = 0;

	free(real);
	if (!in)
		rc = mg_problem(pr,
		                "%s: resolves outside the %s directory: %s "
		                "must be a file of it",
		                path, scan->what, scan->one);
	return rc < 0 ? rc : in ? 0 : 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory's entries, sorted so that problems come out in order. */
static int list_dir(char ***out, size_t *n, const char *dir,
                    const struct mg_scan *scan, struct mg_error *err)
{
	struct dirent *de;
	char **v = NULL, **nv;
	size_t cnt = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return mg_error_set(err, MG_ENOTFOUND,
			                    "no %s directory '%s'", scan->what,
			                    dir);
		return mg_error_set(err, MG_ERR, "cannot open '%s': %s", dir,
		                    strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((nv = realloc(v, (cnt + 1) * sizeof(*v))) == NULL ||
		    (nv[cnt] = strdup(de->d_name)) == NULL) {
			if (nv != NULL)
				v = nv;
			while (cnt > 0)
				free(v[--cnt]);
			free(v);
			closedir(d);
			return mg_error_set(err, MG_ENOMEM, "out of memory");
		}
		v = nv;
		cnt++;
	}
	closedir(d);
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*out = v;
	*n = cnt;
	return 0;
}

int mg_scan_dir(const char *dir, const struct mg_scan *scan,
                struct mg_problems *pr, struct mg_error *err)
{
	struct mg_buf path = MG_BUF_INIT;
	char **names = NULL, *real_dir = NULL;
	size_t nnames = 0, i, dirlen;
	struct stat st;
	bool follow;
	int rc, fd;

	if ((rc = list_dir(&names, &nnames, dir, scan, err)) < 0)
		goto cleanup;
	if ((real_dir = realpath(dir, NULL)) == NULL) {
		rc = mg_error_set(err, MG_ERR, "cannot resolve '%s': %s", dir,
		                  strerror(errno));
		goto cleanup;
	}
	dirlen = strlen(dir);
	while (dirlen > 1 && dir[dirlen - 1] == '/')
		dirlen--;
	for (i = 0; i < nnames; i++) {
		size_t len = strlen(names[i]);
		struct mg_scan_file f;

		/* other files (README.md, seeds/) may live beside ours;
		 * "x.SQL" is ours, and wrong */
		if (len < 4 || strcasecmp(names[i] + len - 4, ".sql") != 0)
			continue;
		mg_buf_truncate(&path, 0);
		mg_buf_addn(&path, dir, dirlen);
		mg_buf_addf(&path, "/%s", names[i]);
		if ((rc = mg_buf_check(&path, err)) < 0)
			goto cleanup;
		/* open first and ask the descriptor: one stat, not two; a
		 * FIFO must not block the open; a file we cannot open is
		 * reported by mg_file_read(), as a file is. Only a symlink
		 * can lead outside the directory: an entry opened without
		 * following one is in it, and needs no realpath() (three
		 * system calls a file, issue 7) */
		fd = open(path.ptr,
		          O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
		follow = fd < 0;
		if (follow)
			fd = open(path.ptr, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if ((fd < 0 ? stat(path.ptr, &st) : fstat(fd, &st)) < 0 ||
		    !S_ISREG(st.st_mode) ||
		    (follow &&
		     (rc = inside(pr, scan, real_dir, path.ptr)) != 0)) {
			if (fd >= 0)
				close(fd);
			if (rc < 0)
				goto cleanup;
			rc = 0;
			continue; /* a directory "x.sql", a dangling link */
		}
		f.path = path.ptr;
		f.name = names[i];
		f.fd = fd;
		f.size = st.st_size;
		rc = scan->each(scan->ctx, &f, pr, err);
		if (fd >= 0)
			close(fd);
		if (rc < 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc == MG_ENOMEM)
		mg_error_set(err, MG_ENOMEM, "out of memory");
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(real_dir);
	mg_buf_dispose(&path);
	return rc;
}
