#!/usr/bin/env bash
# What 'cmake --install' puts in a prefix, checked against the binary's own
# --help: the man page lists, command by command, exactly the options that
# 'migrate help CMD' lists; the bash completion offers exactly them; the zsh
# completion knows each one; and the bash completion works as a shell would
# call it.
#
#   bash tests/install.sh BUILD_DIR       (ctest runs it: the test 'install')
set -euo pipefail

build=${1:?usage: install.sh BUILD_DIR}
prefix=$(mktemp -d /tmp/mg_install_XXXXXX)
trap 'rm -rf "$prefix"' EXIT
fails=0

fail()
{
	printf 'FAIL: %s\n' "$*" >&2
	fails=$((fails + 1))
}

cmake --install "$build" --prefix "$prefix" >/dev/null

bin=$prefix/bin/migrate
man=$prefix/share/man/man1/migrate.1
bashc=$prefix/share/bash-completion/completions/migrate
zshc=$(find "$prefix/share/zsh" -name _migrate -print -quit 2>/dev/null || true)
for f in "$bin" "$man" "$bashc" "$zshc" \
	"$prefix/share/doc/migrate/MIGRATING.md" \
	"$prefix/share/doc/migrate/README.md"; do
	[[ -n $f && -s $f ]] || fail "not installed: ${f:-share/zsh/.../_migrate}"
done
((fails == 0)) || exit 1
"$bin" --version | grep -q '^migrate [0-9]' || fail "migrate --version"

# The commands, as 'migrate --help' lists them.
mapfile -t commands < <("$bin" --help |
	awk '/^commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }')
((${#commands[@]} >= 10)) || fail "--help lists ${#commands[@]} commands"

# The options a help text lists, one per line: "-d --database", "--to".
help_options()
{
	sed -nE 's/^  (-[a-zA-Z])?,? *--([a-z0-9-]+).*/\1 --\2/p' |
		tr ' ' '\n' | sed '/^$/d' | sort -u
}

# Every --word of a text, sorted: what a reader of it would find.
long_words()
{
	grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

# The man page as a reader sees it; groff must have nothing to complain of.
warnings=$(groff -man -ww -z -Tutf8 "$man" 2>&1)
[[ -z $warnings ]] || fail "groff warns about migrate.1: $warnings"
page=$(MANWIDTH=200 man -l "$man" 2>/dev/null)
# A section of the page: from a heading (".SS up" is "   up") to the next.
man_section()
{
	awk -v h="$1" '$0 == h { f = 1; next } /^[^ ]/ || /^   [^ ]/ { f = 0 }
		f' <<<"$page"
}
global=$(man_section OPTIONS)
[[ -n $global ]] || fail "migrate.1 has no OPTIONS section"

# bash: source the completion as bash-completion would.
# shellcheck source=/dev/null
. /usr/share/bash-completion/bash_completion
# shellcheck source=/dev/null
. "$bashc"

for c in "${commands[@]}"; do
	text=$("$bin" help "$c")
	want=$(long_words <<<"$text")
	section=$(man_section "   $c")
	[[ -n $section ]] || fail "migrate.1 has no section for '$c'"
	got=$(printf '%s\n%s\n' "$section" "$global" | long_words)
	[[ $got == "$want" ]] ||
		fail "migrate.1 and 'migrate help $c' differ:" \
			"$(diff <(echo "$want") <(echo "$got") | grep '^[<>]')"
	want=$(help_options <<<"$text")
	got=$(_migrate_options "$c" | tr ' ' '\n' | sort -u)
	[[ $got == "$want" ]] ||
		fail "bash completion and 'migrate help $c' differ:" \
			"$(diff <(echo "$want") <(echo "$got") | grep '^[<>]')"
	grep -qE "^[[:space:]]+$c\)|'$c:" "$zshc" ||
		fail "zsh completion lacks '$c'"
	mapfile -t longs < <(grep -- '^--' <<<"$want")
	for o in "${longs[@]}"; do
		grep -qE -- "\{-.[+]?,$o=?\}|'$o=?\[" "$zshc" ||
			fail "zsh completion lacks $o"
	done
done
zsh -n "$zshc" || fail "zsh cannot parse _migrate"

# complete LINE: what TAB offers at the end of LINE, one per line. Words
# are split at blanks only, so LINE holds no '=' or ':'.
complete_line()
{
	local -a COMPREPLY=()
	COMP_LINE=$1
	COMP_POINT=${#1}
	read -ra COMP_WORDS <<<"$1"
	[[ $1 == *' ' ]] && COMP_WORDS+=('')
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	_migrate migrate "${COMP_WORDS[COMP_CWORD]}" \
		"${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect LINE WANT...: TAB at the end of LINE offers exactly WANT
expect()
{
	local line=$1 got want
	shift
	got=$(complete_line "$line" | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	[[ $got == "$want" ]] ||
		fail "'$line<TAB>' offers '$got', not '$want'"
}

cd "$prefix"
mkdir -p tree/mig && touch tree/key tree/mig/1_a.up.sql
# --env NAME completes from the [env NAME] sections of the config file.
printf 'dir = m\n[env staging]\nx = 1\n  [env  prod ] # live\n[other]\n' \
	>migrate.conf
printf '[env other-conf]\n' >tree/other.conf
expect "migrate u" up
expect "migrate d" down
expect "migrate help rep" repair
expect "migrate -d x.db --json ve" verify
expect "migrate --dir tree/mig bas" baseline
expect "migrate up --a" --allow-out-of-order
expect "migrate down --a" --all --allow-changed-down
expect "migrate --lock-timeout 5 down --ste" --steps
expect "migrate --dir tr" tree
expect "migrate --dir tree/" tree/mig
expect "migrate keygen --out tree/" tree/key tree/mig tree/other.conf
expect "migrate up --to 3 x"
expect "migrate new "
expect "migrate up -- --t"
expect "migrate --env " prod staging
expect "migrate up --env st" staging
expect "migrate --config tree/other.conf up --env " other-conf
[[ $(complete_line "migrate ") == *keygen* ]] || fail "'migrate <TAB>'"


# zsh: type each line and TAB into an interactive zsh on a pseudo-terminal
# (zpty), with _migrate on its fpath; ^X then shows the line as TAB left
# it, between BUF< and >, and empties it. Prints the whole screen.
cat >ztab.zsh <<'EOF'
zmodload zsh/zpty
dir=$1
shift
zpty z 'zsh -f -i'
zpty -w z "PS1='%% '; fpath=($dir \$fpath); autoload -U compinit;" \
	"compinit -u -d $PWD/zcompdump; unsetopt beep;" \
	"show() { zle -M \"BUF<\$BUFFER>\"; BUFFER= };" \
	"zle -N show; bindkey '^X' show; print \$((6 * 7))X"
zpty -r z out '*42X*'
for line in "$@"; do
	zpty -n -w z "$line"$'\t\C-x'
	zpty -r z out '*BUF<*>*'
	print -r -- "$out"
done
zpty -d z
EOF
screen=$(timeout 60 zsh -f ztab.zsh "$(dirname "$zshc")" \
	"migrate up --al" "migrate -d x --json bas" "migrate help rep" \
	"migrate --lock-timeout 3 down --ste" "migrate --dir tree/m" \
	"migrate keygen --out tree/k" "migrate up --env st" \
	"migrate --config tree/other.conf up --env o" \
	"migrate down --" 2>&1 | tr -d '\r') ||
	fail "zsh completion did not answer: $screen"
for want in "migrate up --allow-out-of-order " \
	"migrate -d x --json baseline " "migrate help repair " \
	"migrate --lock-timeout 3 down --steps=" "migrate --dir tree/mig/" \
	"migrate keygen --out tree/key " "migrate up --env staging " \
	"migrate --config tree/other.conf up --env other-conf "; do
	[[ $screen == *"BUF<$want>"* ]] ||
		fail "zsh: TAB did not complete to '$want': $screen"
done
[[ $screen == *--allow-changed-down*--steps*"BUF<migrate down -->"* ]] ||
	fail "zsh: 'migrate down --<TAB>' did not list down's options"

if ((fails > 0)); then
	echo "$fails failures" >&2
	exit 1
fi
echo "installed files agree with --help (${#commands[@]} commands)"
