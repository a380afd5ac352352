#!/usr/bin/env bash
# Installs the Debian packages migrate needs, and only those that are missing.
#
#   bash scripts/deps.sh build test     # run it (sets: build, test, package)
#   . scripts/deps.sh; mg_deps build    # or source it and call mg_deps
#
# CI may run on a brand-new machine where nothing is installed, so the
# scripts that build or test call this first. It is a no-op (no network, no
# root needed) when everything is already there, which keeps the common case
# fast and lets it run offline.
set -euo pipefail

# Compiler, CMake and the client libraries CMakeLists.txt finds through
# pkg-config. libmariadb-dev is what provides libmariadb.pc (the MySQL
# driver); default-libmysqlclient-dev pulls it in too, but naming it keeps the
# MySQL driver from silently dropping out if Debian's default ever changes.
# libjansson-dev reads JSON back (the ledger's stored checks); libinih-dev
# reads migrate.conf.
MG_DEPS_BUILD=(build-essential cmake pkg-config libpq-dev libsodium-dev
	libsqlite3-dev default-libmysqlclient-dev libmariadb-dev libjansson-dev
	libinih-dev)

# cmocka for the tests themselves; the servers and their clients for
# scripts/with-servers.sh (initdb/pg_ctl/pg_isready/psql from PostgreSQL 15,
# mariadb-install-db/mariadbd/mariadb-admin/mariadb from MariaDB); sqlite3 to
# inspect test databases by hand; python3, whose json module is the outside
# reader tests/it_json.c feeds every --json line to.
# tests/install.sh checks the installed man page with groff and man, and
# the completions with bash-completion and zsh. tests/it_evidence.c renders
# `ledger --format html` in headless chromium (issue 10).
MG_DEPS_TEST=(libcmocka-dev postgresql-15 postgresql-client-15 mariadb-server
	mariadb-client sqlite3 python3 groff-base man-db bash-completion zsh
	chromium)

# scripts/package.sh: dpkg-buildflags, dpkg-shlibdeps and dpkg-deb from
# dpkg-dev; lintian for tests/package.sh, which checks the .deb.
MG_DEPS_PACKAGE=(dpkg-dev lintian)

# Prints the packages among "$@" that are not fully installed.
mg_deps_missing()
{
	local pkg status
	for pkg in "$@"; do
		# "ii " is installed and configured; anything else (unknown,
		# removed, half-configured) needs apt-get.
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" \
			2>/dev/null || true)
		if [[ $status != "ii "* ]]; then
			printf '%s\n' "$pkg"
		fi
	done
}

# mg_deps SET...: SET is build, test, package or all.
mg_deps()
{
	local set
	local -a want=() missing=() sudo=()

	if (($# == 0)); then
		echo "usage: mg_deps build|test|package|all..." >&2
		return 2
	fi
	for set in "$@"; do
		case $set in
		build) want+=("${MG_DEPS_BUILD[@]}") ;;
		test) want+=("${MG_DEPS_TEST[@]}") ;;
		package) want+=("${MG_DEPS_PACKAGE[@]}") ;;
		all) want+=("${MG_DEPS_BUILD[@]}" "${MG_DEPS_TEST[@]}"
			"${MG_DEPS_PACKAGE[@]}") ;;
		*)
			echo "mg_deps: unknown set '$set' (build, test," \
				"package, all)" >&2
			return 2
			;;
		esac
	done

	mapfile -t missing < <(mg_deps_missing "${want[@]}")
	if ((${#missing[@]} == 0)); then
		return 0
	fi

	# Our machines run as root; a developer's laptop may not.
	if ((EUID != 0)); then
		if ! command -v sudo >/dev/null; then
			echo "mg_deps: need root to install: ${missing[*]}" >&2
			return 1
		fi
		sudo=(sudo)
	fi
	echo "mg_deps: installing ${missing[*]}" >&2
	# update only now: the package lists may be absent or stale on a new
	# machine, and refreshing them when nothing is missing is wasted time.
	# noninteractive because CI has no stdin for debconf to ask on.
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Run directly: install the sets named on the command line.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	mg_deps "$@"
fi
