#ifndef MG_CMD_CONFIG_H
#define MG_CMD_CONFIG_H

#include <stdbool.h>

struct opts;

/*
 * migrate.conf (SPEC.md, "Configuration"): `key = value` lines for the
 * global options and `[env NAME]` sections chosen with --env NAME, read
 * with inih. `${VAR}` in a value reads the environment. Each setting comes
 * from the first of: a flag, its environment variable, the --env section,
 * the top of the file, the default; config_origin() says which.
 */
enum setting {
	SET_DATABASE,
	SET_DIR,
	SET_LEDGER_TABLE,
	SET_LOCK_TIMEOUT,
	SET_SIGNING_KEY,
	SET_NEW_TIMESTAMP,
	SET_TARGETS, /* fleets (issue 12): --targets FILE */
	SET_JOBS_DIR, /* issue 11 */
	/* production safety */
	SET_DDL_LOCK_TIMEOUT,
	SET_STATEMENT_TIMEOUT,
	SET_RETRIES,
	SET_COUNT
};

struct config {
	char *path;                /* the file read; NULL: none */
	char *value[SET_COUNT];    /* owned; NULL: not set there */
	char *url, *url_table;     /* golang-migrate's URL, made ours */
	char origin[SET_COUNT][300];
};

/*
 * Fills the settings o does not have from a flag, from the environment,
 * then the file (o->config_file, else ./migrate.conf when it exists),
 * then the defaults, recording each one's origin in cfg. Returns 0, or an
 * exit code after reporting: a file given but missing, a line that does
 * not parse, an unknown key or section, a bad value, a ${VAR} that is not
 * set, an --env section that does not exist (all exit 2, naming file and
 * line). A password written literally in the file draws a warning.
 */
int config_load(struct config *cfg, struct opts *o);
void config_dispose(struct config *cfg);

/* --verbose: the settings and their origins on stderr, before a command
 * runs. */
void config_verbose(const struct opts *o);

/* `migrate config`: the effective settings and where each came from. */
int cmd_config(const struct opts *o);

#endif
