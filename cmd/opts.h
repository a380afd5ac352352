#ifndef MG_CMD_OPTS_H
#define MG_CMD_OPTS_H

#include <stdbool.h>
#include <stdint.h>

struct config;
struct mg_conn;
struct mg_source;

/* Every option of every command, parsed once by main() through the
 * option table of cmd/options.c. */
struct opts {
	const char *command;
	const char *database; /* -d, DATABASE_URL */
	const char *dir;      /* -m, MIGRATE_DIR, default ./migrations */
	const char *table;    /* --ledger-table */
	int64_t lock_timeout; /* seconds */
	/* production safety: --ddl-lock-timeout, --statement-timeout as
	 * given (checked by config_load), --retries (-1: unset) */
	const char *ddl_lock_timeout;
	const char *statement_timeout;
	int64_t retries;
	bool locks;  /* test --locks */
	bool strict; /* test --locks --strict */
	bool json;
	bool quiet;   /* -q: errors, warnings and findings only */
	bool verbose; /* -v: also each setting and where it came from */
	bool dry_run;
	bool all;
	bool applied;
	bool allow_out_of_order;
	bool allow_changed_down;
	bool exit_code; /* status --exit-code */
	bool timestamp; /* new --timestamp */
	bool show_sql;  /* up/down --dry-run --show-sql */
	/* issue 10: preview and plans */
	bool preview;          /* up, plan --preview */
	const char *plan_file; /* up --plan FILE */
	int64_t to;    /* -1: unset */
	int64_t steps; /* 0: unset */
	const char *reason;
	const char *format;
	const char *public_key;
	const char *out;
	const char *checkpoint; /* ledger: write it; verify: check it */
	const char *env;         /* --env NAME: a [env NAME] section */
	const char *from;        /* baseline --from TOOL */
	const char *from_table;  /* baseline --table NAME; restore --table T */
	int64_t prune_version;   /* backups: prune --version V; -1: unset */
	const char *backup_job;  /* restore, prune --job NAME (issue 11) */
	int64_t backup_event;    /* restore --job NAME --event ID; 0: latest */
	const char *config_file; /* --config FILE; NULL: ./migrate.conf */
	const char *signing_key; /* MIGRATE_SIGNING_KEY, signing-key */
	const struct config *config; /* where each setting came from */
	/* fleets (issue 12, cmd/fleet.c): the command once per target */
	const char *targets;       /* --targets FILE, config `targets` */
	const char *targets_query; /* --targets-query SQL on the -d database */
	int64_t jobs;              /* -j N: targets at once; 0: unset (1) */
	const char *on_failure;    /* --on-failure stop|continue; NULL: unset */
	int64_t canary;            /* --canary N; 0: none */
	/* set in a fleet's child: the directory the parent read once, which
	 * open_source() takes instead of reading it again (then NULL) */
	struct mg_source **preloaded;
	/* set in a fleet's child: called by session_close() with the
	 * command's connection, to read where the target stands now
	 * without connecting again */
	void (*before_close)(void *ctx, struct mg_conn *conn);
	void *before_close_ctx;
	/* jobs (issue 11) */
	bool due;             /* job run --due */
	const char *jobs_dir; /* --jobs-dir, jobs-dir; default DIR/jobs */
	/* positional arguments after the command (job run NAME...) */
	const char *args[16];
	int nargs;
	unsigned given; /* which command options were given (O_*) */
	bool help;      /* -h, --help */
	bool version;   /* -V, --version */
};

#endif
