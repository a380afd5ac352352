#ifndef MG_CMD_DOC_H
#define MG_CMD_DOC_H

struct command;
struct opts;

/*
 * The hidden commands the build runs to write the man page and the shell
 * completions (CMakeLists.txt), from the command table of main.c and the
 * option table of options.c, the same two tables that write --help:
 *
 *   migrate man                 migrate.1, every command and option (roff)
 *   migrate completion bash     the bash completion (bash-completion)
 *   migrate completion zsh      the zsh completion (_migrate)
 *
 * Hidden because no one needs them once the files are installed; --help
 * does not list them. Prints to stdout; returns an exit code.
 */
int cmd_doc(const struct opts *o, const struct command *commands);

#endif
