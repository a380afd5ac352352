/*
 * The man page and the shell completions, written from the command table
 * (main.c) and the option table (options.c) that also write --help, so the
 * three never disagree. CMakeLists.txt runs these at build time;
 * tests/install.sh checks the installed files against --help.
 */
#include "cmd/doc.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/options.h"

#ifndef MG_DOC_DIR
#define MG_DOC_DIR "/usr/share/doc/migrate"
#endif

/* Whether opt goes with command c; c NULL: the global options only. */
static bool goes_with(const struct option_doc *opt, const struct command *c)
{
	return opt->bit == 0 || (c != NULL && (opt->bit & c->accepts));
}

/* s as roff text: a backslash or a minus would be read as an escape or
 * set as a hyphen, and a dot or a quote opening a line as a request. */
static void roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

/* "\fB\-d\fR, \fB\-\-database\fR \fIURL\fR" */
static void roff_option(FILE *f, const struct option_doc *opt)
{
	if (opt->shrt)
		fprintf(f, "\\fB\\-%c\\fR, ", opt->shrt);
	fputs("\\fB\\-\\-", f);
	roff(f, opt->lng);
	fputs("\\fR", f);
	if (opt->arg) {
		fputs(" \\fI", f);
		roff(f, opt->arg);
		fputs("\\fR", f);
	}
}

/* A .TP paragraph per option of c (c NULL: the global ones). */
static void roff_options(FILE *f, const struct command *c)
{
	struct option_doc opt;
	size_t k;

	for (k = 0; option_doc(&opt, k); k++) {
		if (c != NULL ? !(opt.bit & c->accepts) : opt.bit != 0)
			continue;
		fputs(".TP\n", f);
		roff_option(f, &opt);
		fputc('\n', f);
		roff(f, opt.help);
		fputc('\n', f);
	}
}

/* The synopsis of print_command_usage(), in roff. */
static void roff_synopsis(FILE *f, const struct command *c)
{
	struct option_doc opt;
	size_t k;

	fprintf(f, "\\fBmigrate %s\\fR", c->name);
	if (*c->args) {
		fputs(" \\fI", f);
		roff(f, c->args);
		fputs("\\fR", f);
	}
	for (k = 0; option_doc(&opt, k); k++) {
		bool req = opt.bit & c->required;

		if (!(opt.bit & c->accepts))
			continue;
		fprintf(f, " %s", req ? "" : "[");
		roff_option(f, &opt);
		fputs(req ? "" : "]", f);
	}
	fputc('\n', f);
}

static void print_man(FILE *f, const struct command *commands)
{
	const struct command *c;

	fprintf(f,
	        ".\\\" Written by 'migrate man' from the tables that write "
	        "'migrate --help'.\n"
	        ".TH MIGRATE 1 \"\" \"migrate %s\" \"User Commands\"\n"
	        /* no hyphens in the options when a line breaks */
	        ".nh\n.ad l\n",
	        MG_VERSION);
	fputs(".SH NAME\n"
	      "migrate \\- schema migrations for PostgreSQL, MySQL/MariaDB "
	      "and SQLite, with checks and an audit ledger\n"
	      ".SH SYNOPSIS\n"
	      "\\fBmigrate\\fR [\\fIoptions\\fR] \\fIcommand\\fR "
	      "[\\fIargs\\fR]\n"
	      ".br\n"
	      "\\fBmigrate help\\fR [\\fIcommand\\fR]\n"
	      ".SH DESCRIPTION\n"
	      "\\fBmigrate\\fR applies the numbered "
	      "\\fIVERSION\\fR_\\fINAME\\fR.up.sql and .down.sql files of a "
	      "migrations directory to a PostgreSQL, MySQL/MariaDB or "
	      "SQLite database.\n"
	      "It runs the checks each file declares before and after it, "
	      "rolls back when one fails, and records every event in an "
	      "append\\-only, hash\\-chained ledger table in that database.\n"
	      ".PP\n"
	      "Options may come before or after the command.\n"
	      "\\fBmigrate help\\fR \\fIcommand\\fR, or \\fBmigrate\\fR "
	      "\\fIcommand\\fR \\fB\\-\\-help\\fR, prints one command's "
	      "options.\n"
	      "The user's guide, \\fIMIGRATING.md\\fR in \\fI",
	      f);
	roff(f, MG_DOC_DIR);
	fputs("\\fR, describes the migration files, the directives and "
	      "checks, every command, what happens on a failure on each "
	      "database, and the ledger.\n"
	      ".SH COMMANDS\n",
	      f);
	for (c = commands; c->name; c++) {
		fprintf(f, ".SS %s\n", c->name);
		roff_synopsis(f, c);
		fputs(".PP\n", f);
		roff(f, c->summary);
		fputs(".\n", f);
		roff_options(f, c);
	}
	fputs(".SH OPTIONS\n"
	      "Every command takes these.\n",
	      f);
	roff_options(f, NULL);
	fputs(".SH ENVIRONMENT\n"
	      ".TP\n"
	      ".B DATABASE_URL\n"
	      "the database, when \\fB\\-d\\fR is not given\n"
	      ".TP\n"
	      ".B MIGRATE_DIR\n"
	      "the migrations directory, when \\fB\\-m\\fR is not given\n"
	      ".TP\n"
	      ".B MIGRATE_SIGNING_KEY\n"
	      "a file holding the secret key (from \\fBmigrate keygen\\fR) "
	      "that signs each new ledger row\n"
	      ".TP\n"
	      "\\fBPGHOST\\fR, \\fBPGUSER\\fR, \\fBPGPASSWORD\\fR, ...\n"
	      "read by libpq for a PostgreSQL database, as by "
	      "\\fBpsql\\fR(1)\n"
	      ".SH EXIT STATUS\n"
	      ".TP\n0\nsuccess\n"
	      ".TP\n1\na runtime failure (connection, SQL error)\n"
	      ".TP\n2\na usage error or invalid migration files\n"
	      ".TP\n3\na check failed and the migration was rolled back\n"
	      ".TP\n4\nverification failed (drift, a tampered ledger, "
	      "a bad signature)\n"
	      ".TP\n5\nthe run lock was not acquired within "
	      "\\fB\\-\\-lock\\-timeout\\fR, or another runner is active\n"
	      ".TP\n6\nonly from \\fBstatus \\-\\-exit\\-code\\fR: "
	      "migrations are pending, and nothing worse\n"
	      ".TP\n130, 143\nstopped by SIGINT or SIGTERM: the running "
	      "statement was cancelled on the server\n"
	      ".SH FILES\n"
	      ".TP\n"
	      ".I migrate.conf\n"
	      "settings (\\fIkey\\fR = \\fIvalue\\fR, and [env "
	      "\\fINAME\\fR] sections chosen with \\fB\\-\\-env\\fR), "
	      "read from the current directory, or from "
	      "\\fB\\-\\-config\\fR \\fIFILE\\fR; "
	      "\\fBmigrate config\\fR shows what they set\n"
	      ".SH SEE ALSO\n"
	      "\\fBpsql\\fR(1), \\fBmariadb\\fR(1), \\fBsqlite3\\fR(1), "
	      "and the user's guide, \\fI",
	      f);
	roff(f, MG_DOC_DIR);
	fputs("/MIGRATING.md\\fR\n", f);
}

/* The options of c (c NULL: the global ones), space-separated. */
static void option_words(FILE *f, const struct command *c)
{
	struct option_doc opt;
	const char *sep = "";
	size_t k;

	for (k = 0; option_doc(&opt, k); k++) {
		if (!goes_with(&opt, c))
			continue;
		if (opt.shrt)
			fprintf(f, "%s-%c", sep, opt.shrt), sep = " ";
		fprintf(f, "%s--%s", sep, opt.lng);
		sep = " ";
	}
}

static void command_words(FILE *f, const struct command *commands)
{
	const struct command *c;

	fputs("help", f);
	for (c = commands; c->name; c++)
		fprintf(f, " %s", c->name);
}

/*
 * What completes an option's value, from its placeholder. The config
 * file's [env NAME] sections complete an option named --env, whenever the
 * table has one (the hook for --env NAME). The strings are compared by
 * address: each is one literal.
 */
static const char *bash_value_action(const struct option_doc *opt)
{
	if (strcmp(opt->lng, "env") == 0)
		return "COMPREPLY=($(compgen -W \"$(_migrate_env_names "
		       "\"$config\")\" -- \"$cur\"))";
	if (opt->arg && strcmp(opt->arg, "DIR") == 0)
		return "_filedir -d";
	if (opt->arg && strcmp(opt->arg, "FILE") == 0)
		return "_filedir";
	return ":";
}

/* "-d | --database | ... | --to": the options that take a value and, with
 * action non-NULL, only those whose values action completes */
static void print_value_patterns(FILE *f, const char *action)
{
	struct option_doc opt;
	const char *sep = "";
	size_t k;

	for (k = 0; option_doc(&opt, k); k++) {
		if (opt.arg == NULL ||
		    (action != NULL && bash_value_action(&opt) != action))
			continue;
		if (opt.shrt)
			fprintf(f, "%s-%c", sep, opt.shrt), sep = " | ";
		fprintf(f, "%s--%s", sep, opt.lng);
		sep = " | ";
	}
}

static void print_value_case(FILE *f, const char *action)
{
	fputs("\t", f);
	print_value_patterns(f, action);
	fprintf(f, ")\n\t\t%s\n\t\treturn\n\t\t;;\n", action);
}

/* The case items of the options whose values complete alike. */
static void bash_value_cases(FILE *f)
{
	struct option_doc opt;
	const char *action, *done[8];
	size_t k, j, ndone = 0;

	for (k = 0; option_doc(&opt, k); k++) {
		if (opt.arg == NULL)
			continue;
		action = bash_value_action(&opt);
		for (j = 0; j < ndone && done[j] != action; j++)
			;
		if (j < ndone || ndone == sizeof(done) / sizeof(done[0]))
			continue;
		done[ndone++] = action;
		print_value_case(f, action);
	}
}

static void print_bash(FILE *f, const struct command *commands)
{
	const struct command *c;

	fputs("# bash completion for migrate(1). Written by 'migrate "
	      "completion bash'\n# from the tables that write 'migrate "
	      "--help'; do not edit.\n\n"
	      "# _migrate_env_names [FILE]: the NAMEs of the [env NAME] "
	      "sections of a\n# config file (default ./migrate.conf).\n"
	      "_migrate_env_names()\n{\n"
	      "\tsed -n 's/^[[:space:]]*\\[env[[:space:]]\\{1,\\}"
	      "\\([^]]*[^][:space:]]\\)[[:space:]]*\\].*/\\1/p' \\\n"
	      "\t\t-- \"${1:-migrate.conf}\" 2>/dev/null\n}\n\n"
	      "# Succeeds when $1 is an option that takes the next word as "
	      "its value.\n_migrate_takes_value()\n{\n\tcase $1 in\n\t",
	      f);
	print_value_patterns(f, NULL);
	fputs(") return 0 ;;\n\tesac\n\treturn 1\n}\n\n"
	      "# The options command $1 takes (none: the global ones).\n"
	      "_migrate_options()\n{\n\tcase $1 in\n",
	      f);
	for (c = commands; c->name; c++) {
		fprintf(f, "\t%s) echo \"", c->name);
		option_words(f, c);
		fputs("\" ;;\n", f);
	}
	fputs("\t*) echo \"", f);
	option_words(f, NULL);
	fputs("\" ;;\n\tesac\n}\n\n"
	      "_migrate()\n{\n"
	      "\tlocal cur prev words cword split\n"
	      "\t_init_completion -s -n : || return\n\n"
	      "\t# The command is the first word that is neither an option "
	      "nor an\n\t# option's value; options may come before or after "
	      "it.\n"
	      "\tlocal i w cmd='' npos=0 config='' only_args=''\n"
	      "\tfor ((i = 1; i < cword; i++)); do\n"
	      "\t\tw=${words[i]}\n"
	      "\t\tif [[ -z $only_args && $w == -?* ]]; then\n"
	      "\t\t\tcase $w in\n"
	      "\t\t\t--) only_args=1 ;;\n"
	      "\t\t\t--config=*) config=${w#*=} ;;\n"
	      "\t\t\t*)\n"
	      "\t\t\t\tif _migrate_takes_value \"$w\"; then\n"
	      "\t\t\t\t\t[[ $w == --config ]] && "
	      "config=${words[i + 1]}\n"
	      "\t\t\t\t\t((i++))\n"
	      "\t\t\t\tfi\n"
	      "\t\t\t\t;;\n"
	      "\t\t\tesac\n"
	      "\t\t\tcontinue\n"
	      "\t\tfi\n"
	      "\t\t((npos++ == 0)) && cmd=$w\n"
	      "\tdone\n\n"
	      "\tcase $prev in\n",
	      f);
	bash_value_cases(f);
	fputs("\tesac\n"
	      "\t$split && return\n\n"
	      "\tif [[ -z $only_args && $cur == -* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$(_migrate_options \"$cmd\")\" "
	      "-- \"$cur\"))\n"
	      "\telif ((npos == 0)) || { [[ $cmd == help ]] && "
	      "((npos == 1)); }; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"",
	      f);
	command_words(f, commands);
	fputs("\" -- \"$cur\"))\n"
	      "\tfi\n"
	      "} &&\n"
	      "\tcomplete -F _migrate migrate\n",
	      f);
}

/* s inside a single-quoted zsh word, where ] and \ end or escape an
 * _arguments description. */
static void zsh_quoted(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else if (*s == ']' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else
			fputc(*s, f);
	}
}

/* One _arguments spec: '(-d --database)'{-d+,--database=}'[help]:URL: ',
 * between indent and end. */
static void zsh_option(FILE *f, const struct option_doc *opt,
                       const char *indent, const char *end)
{
	const char *action = " ";

	if (strcmp(opt->lng, "env") == 0)
		action = "_migrate_env_names";
	else if (opt->arg && strcmp(opt->arg, "DIR") == 0)
		action = "_files -/";
	else if (opt->arg && strcmp(opt->arg, "FILE") == 0)
		action = "_files";
	fputs(indent, f);
	if (opt->shrt)
		fprintf(f, "'(-%c --%s)'{-%c%s,--%s%s}'", opt->shrt, opt->lng,
		        opt->shrt, opt->arg ? "+" : "", opt->lng,
		        opt->arg ? "=" : "");
	else
		fprintf(f, "'--%s%s", opt->lng, opt->arg ? "=" : "");
	fputc('[', f);
	zsh_quoted(f, opt->help);
	fputc(']', f);
	if (opt->arg) {
		fputc(':', f);
		zsh_quoted(f, opt->arg);
		fprintf(f, ":%s", action);
	}
	fprintf(f, "'%s\n", end);
}

/* The global options as the lines of an array, or a command's own as
 * continued lines of an _arguments call. */
static void zsh_options(FILE *f, const struct command *c)
{
	struct option_doc opt;
	size_t k;

	for (k = 0; option_doc(&opt, k); k++) {
		if (c == NULL && opt.bit == 0)
			zsh_option(f, &opt, "\t\t", "");
		else if (c != NULL && (opt.bit & c->accepts))
			zsh_option(f, &opt, "\t\t\t\t", " \\");
	}
}

static void print_zsh(FILE *f, const struct command *commands)
{
	const struct command *c;

	fputs("#compdef migrate\n"
	      "# zsh completion for migrate(1). Written by 'migrate "
	      "completion zsh'\n# from the tables that write 'migrate "
	      "--help'; do not edit.\n\n"
	      "# The NAMEs of the [env NAME] sections of the config file "
	      "(--config FILE,\n# default ./migrate.conf).\n"
	      "_migrate_env_names() {\n"
	      "\tlocal conf=migrate.conf i=${words[(I)--config]}\n"
	      "\tlocal -a names\n"
	      "\t(( i )) && conf=${words[i+1]}\n"
	      "\ti=${words[(I)--config=*]}\n"
	      "\t(( i )) && conf=${words[i]#--config=}\n"
	      "\tnames=(${(f)\"$(sed -n 's/^[[:space:]]*\\[env[[:space:]]"
	      "\\{1,\\}\\([^]]*[^][:space:]]\\)[[:space:]]*\\].*/\\1/p' "
	      "-- $conf 2>/dev/null)\"})\n"
	      "\t_wanted envs expl 'environment' compadd -a names\n"
	      "}\n\n"
	      "_migrate() {\n"
	      "\tlocal curcontext=$curcontext state line ret=1\n"
	      "\tlocal -a global commands\n"
	      "\tglobal=(\n",
	      f);
	zsh_options(f, NULL);
	fputs("\t)\n\tcommands=(\n\t\t'help:the help of migrate or of "
	      "one command'\n",
	      f);
	for (c = commands; c->name; c++) {
		fprintf(f, "\t\t'%s:", c->name);
		zsh_quoted(f, c->summary);
		fputs("'\n", f);
	}
	fputs("\t)\n"
	      "\t_arguments -C -s $global ': :->command' '*:: :->args' && "
	      "ret=0\n"
	      "\tcase $state in\n"
	      "\tcommand)\n"
	      "\t\t_describe -t commands 'migrate command' commands && "
	      "ret=0\n"
	      "\t\t;;\n"
	      "\targs)\n"
	      "\t\tcurcontext=${curcontext%:*:*}:migrate-$words[1]:\n"
	      "\t\tcase $words[1] in\n"
	      "\t\thelp)\n"
	      "\t\t\t_arguments -s $global ': :->command' && ret=0\n"
	      "\t\t\t[[ $state == command ]] &&\n"
	      "\t\t\t\t_describe -t commands 'migrate command' commands "
	      "&& ret=0\n"
	      "\t\t\t;;\n",
	      f);
	for (c = commands; c->name; c++) {
		if (c->accepts == 0)
			continue;
		fprintf(f, "\t\t%s)\n\t\t\t_arguments -s $global \\\n",
		        c->name);
		zsh_options(f, c);
		fputs("\t\t\t\t&& ret=0\n\t\t\t;;\n", f);
	}
	fputs("\t\t*)\n\t\t\t_arguments -s $global && ret=0\n\t\t\t;;\n"
	      "\t\tesac\n"
	      "\t\t;;\n"
	      "\tesac\n"
	      "\treturn ret\n"
	      "}\n\n"
	      "_migrate \"$@\"\n",
	      f);
}

int cmd_doc(const struct opts *o, const struct command *commands)
{
	bool man = strcmp(o->command, "man") == 0;

	if (o->help) {
		printf(man ? "usage: migrate man\n\nprint the man page, "
		             "migrate.1 (roff).\n"
		           : "usage: migrate completion bash|zsh\n\nprint "
		             "the shell's completion script.\n");
		return EXIT_OK;
	}
	if (man && o->nargs == 0) {
		print_man(stdout, commands);
		return EXIT_OK;
	}
	if (man)
		return usage_error(o, "unexpected argument '%s'", o->args[0]);
	if (o->nargs == 0)
		return usage_error(o,
		                   "completion for which shell: bash or zsh");
	if (o->nargs > 1)
		return usage_error(o, "unexpected argument '%s'", o->args[1]);
	if (strcmp(o->args[0], "bash") == 0)
		print_bash(stdout, commands);
	else if (strcmp(o->args[0], "zsh") == 0)
		print_zsh(stdout, commands);
	else
		return usage_error(o, "no completion for '%s' (bash, zsh)",
		                   o->args[0]);
	return EXIT_OK;
}
