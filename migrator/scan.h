#ifndef MG_SCAN_H
#define MG_SCAN_H

#include <stddef.h>
#include <sys/types.h>

#include "migrator/error.h"

struct mg_problems;

/*
 * The one directory scanner of the migrations directory and the jobs
 * directory (issue 11): their entries read in name order, each a regular
 * file of the directory, handed to a name rule that reads it. What a
 * file must be called, and what it must hold, is the rule's.
 */

/* One candidate file: an entry whose name ends in ".sql", in any case
 * ("x.SQL" is for the rule to refuse), that is a regular file. */
struct mg_scan_file {
	const char *path; /* the directory and the name */
	const char *name; /* the entry's name */
	int fd;           /* open for reading (mg_file_read_fd), or -1:
	                     read it by path */
	off_t size;
};

struct mg_scan {
	const char *what; /* "migrations", "jobs": "no jobs directory 'x'" */
	const char *one;  /* "a migration": "... must be a file of it" */
	/* the name rule: reads f, noting what is wrong with it in pr; < 0
	 * (an error code, err set) stops the scan */
	int (*each)(void *ctx, const struct mg_scan_file *f,
	            struct mg_problems *pr, struct mg_error *err);
	void *ctx;
};

/*
 * Scans dir: entries starting with '.' and names not ending in ".sql"
 * are skipped (a README.md, a jobs/ directory may live beside), as are
 * directories and dangling links; a link that resolves outside dir is a
 * problem ("PATH: resolves outside the jobs directory: a job must be a
 * file of it"), not read. MG_ENOTFOUND when dir does not exist, MG_ERR
 * when it cannot be read, MG_ENOMEM, or what `each` returned.
 */
int mg_scan_dir(const char *dir, const struct mg_scan *scan,
                struct mg_problems *pr, struct mg_error *err);

/* Notes one problem, formatted; 0 or MG_ENOMEM. */
int mg_problem(struct mg_problems *p, const char *fmt, ...) MG_PRINTF(2, 3);

/* The 1-based line of `at` in text. */
unsigned mg_line_of(const char *text, const char *at);

#endif
