#!/usr/bin/env bash
# The Debian package, as a user gets it: builds it (scripts/package.sh),
# unpacks it into a scratch tree (dpkg -x, no root needed, nothing touches
# the system), and checks that
#  - Depends names the package of every library the binary links (objdump's
#    NEEDED, each found with dpkg -S), and the six we rely on; apt would
#    install it (--simulate);
#  - the unpacked migrate runs: --version, and the demo of scripts/demo.sh
#    (the example migrations applied to a SQLite file, the ledger, status);
#  - the man page renders and the completions are where bash-completion and
#    zsh look for them;
#  - lintian reports no error and no warning (overrides state their reason;
#    info tags are printed, not failed on).
#
#   bash tests/package.sh [DEB]     (scripts/test.sh runs it after ctest)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

start=$SECONDS
if (($# > 0)); then
	deb=$1
else
	deb=$(bash scripts/package.sh | tail -n 1)
fi
deb=$(realpath "$deb") # apt takes a .deb by its path: ./x.deb or /x.deb
root=$(mktemp -d /tmp/mg_package_XXXXXX)
trap 'rm -rf "$root"' EXIT
fails=0

fail()
{
	printf 'FAIL: %s\n' "$*" >&2
	fails=$((fails + 1))
}

dpkg-deb --info "$deb" control >"$root/control"
dpkg -x "$deb" "$root/tree"
bin=$root/tree/usr/bin/migrate
depends=$(sed -n 's/^Depends: //p' "$root/control")
echo "Depends: $depends"

# Depends against what the binary links.
for lib in libpq5 libmariadb3 libsodium23 libsqlite3-0 libjansson4 libinih1; do
	[[ ", $depends," == *", $lib "* || ", $depends," == *", $lib,"* ]] ||
		fail "Depends lacks $lib"
done
for soname in $(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }'); do
	path=$(ldd "$bin" | awk -v s="$soname" '$1 == s { print $3 }')
	[[ -n $path ]] || {
		fail "ldd does not find $soname"
		continue
	}
	# usrmerge: dpkg may know the file under /lib or /usr/lib
	pkg=$(dpkg -S "*/$(basename "$(realpath "$path")")" 2>/dev/null |
		grep -v '^diversion' | head -n 1 | sed 's/[:,].*//')
	if [[ -z $pkg ]]; then
		fail "no package holds $path"
	elif [[ ", $depends," != *", $pkg "* && ", $depends," != *", $pkg,"* ]]
	then
		fail "migrate links $soname ($pkg), which Depends lacks"
	fi
done

# What 'apt install ./migrate_*.deb' would do, simulated: nothing changes.
apt-get install --simulate "$deb" >"$root/apt" 2>&1 ||
	fail "apt cannot install the package: $(cat "$root/apt")"

# The unpacked binary, and the demo: scripts/demo.sh's three commands.
"$bin" --version | grep -qx 'migrate [0-9][0-9.]*' ||
	fail "migrate --version: $("$bin" --version 2>&1)"
cp -r migrations "$root/migrations"
(
	cd "$root"
	"$bin" -d sqlite:demo.db -m migrations up &&
		"$bin" -d sqlite:demo.db ledger &&
		"$bin" -d sqlite:demo.db -m migrations status
) >"$root/demo.out" 2>&1 || fail "the demo failed: $(cat "$root/demo.out")"
files=$(find migrations -name '*.up.sql' | wc -l)
grep -q "^$files applied, 0 pending" "$root/demo.out" ||
	fail "the demo did not apply all $files: $(cat "$root/demo.out")"

# The man page and the completions, where man, bash-completion and zsh
# (Debian's vendor-completions) look.
page=$root/tree/usr/share/man/man1/migrate.1.gz
warnings=$(zcat "$page" | groff -man -ww -z -Tutf8 2>&1)
[[ -z $warnings ]] || fail "groff warns about migrate.1: $warnings"
MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q -- '--database' ||
	fail "man -l migrate.1.gz shows no --database"
for f in usr/share/bash-completion/completions/migrate \
	usr/share/zsh/vendor-completions/_migrate \
	usr/share/doc/migrate/MIGRATING.md usr/share/doc/migrate/copyright \
	usr/share/doc/migrate/changelog.Debian.gz; do
	[[ -s $root/tree/$f ]] || fail "the package lacks /$f"
done

# lintian: errors and warnings fail; info tags are reported only.
lintian --info --pedantic "$deb" >"$root/lintian" 2>"$root/lintian.err" ||
	true
grep -v 'running with root privileges' "$root/lintian.err" >&2 || true
cat "$root/lintian"
if grep -E '^[EW]: ' "$root/lintian" >/dev/null; then
	fail "lintian reports errors or warnings (above)"
fi

if ((fails > 0)); then
	echo "$fails failures" >&2
	exit 1
fi
echo "package $deb checked in $((SECONDS - start)) s"
