#!/usr/bin/env bash
# Builds the Debian package of migrate from a Release build:
#
#   bash scripts/package.sh             # build-release/migrate_<v>-1_<arch>.deb
#   sudo apt install ./build-release/migrate_*.deb
#
# Release build in build-release/ with Debian's own compiler and linker flags
# (dpkg-buildflags: fortify, stack protector, relro, bindnow), installed
# under /usr into a staging tree with 'cmake --install' and stripped as
# dh_strip does, plus what a Debian package carries: the man page
# compressed, a copyright file, a changelog, md5sums, a lintian override,
# and Depends computed by dpkg-shlibdeps from the libraries the binary
# really links. Prints the .deb's path last.
# tests/package.sh installs the result in a scratch tree and checks it.
#
# DEBFULLNAME and DEBEMAIL name the maintainer, as for dch(1).
set -euo pipefail

# Work from the repo root whatever the caller's cwd.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source-path=SCRIPTDIR/..
. scripts/deps.sh
mg_deps build package

umask 022 # the staged files' modes are the package's
build="build-release"
stage=$build/deb
version=$(sed -nE 's/^project\(migrate VERSION ([0-9.]+).*/\1/p' \
	CMakeLists.txt)
debversion=$version-1
arch=$(dpkg --print-architecture)
maintainer="${DEBFULLNAME:-migrate maintainers}"
maintainer+=" <${DEBEMAIL:-maintainers@migrate.invalid}>"
deb=$build/migrate_${debversion}_$arch.deb
# The time of the last commit, so that two builds of one commit are the
# same bytes (the changelog's date, the files' mtimes).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct \
	2>/dev/null || date +%s)}

# Debian's flags; CMake reads no CPPFLAGS, so the preprocessor's go with
# the compiler's. Release adds -O3 -DNDEBUG after them.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DMG_TESTS=OFF \
	-DCMAKE_INSTALL_PREFIX=/usr \
	-DMG_ZSH_COMPLETION_DIR=share/zsh/vendor-completions \
	-DCMAKE_C_FLAGS="$cflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
	>/dev/null
cmake --build "$build" -j2

rm -rf "$stage"
DESTDIR=$stage cmake --install "$build" >/dev/null
# As dh_strip does: no symbols, and no .comment (the compiler's version).
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
	"$stage/usr/bin/migrate"
doc=$stage/usr/share/doc/migrate
gzip -9n "$stage/usr/share/man/man1/migrate.1"

# lintian's initial-upload-closes-no-bugs expects the first changelog entry
# to close an ITP bug of Debian's archive, where this package is not going.
mkdir -p "$stage/usr/share/lintian/overrides"
cat >"$stage/usr/share/lintian/overrides/migrate" <<EOF
# Built by scripts/package.sh for installing directly, not uploaded to
# Debian, so there is no ITP bug for the first changelog entry to close.
migrate: initial-upload-closes-no-bugs
EOF

# The repository states no license yet: say so rather than invent one.
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: migrate
Comment: The upstream sources name no license yet. Until they do, this
 file records only who holds the copyright.

Files: *
Copyright: $(date -u -d "@$SOURCE_DATE_EPOCH" +%Y) the migrate authors
License: none-stated
 The authors have not yet stated a license for migrate; all rights are
 reserved by them until they do.
EOF

{
	printf 'migrate (%s) unstable; urgency=medium\n\n' "$debversion"
	printf '  * Package built by scripts/package.sh from commit %s.\n\n' \
		"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf ' -- %s  %s\n' "$maintainer" \
		"$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.Debian.gz"

# dpkg-shlibdeps reads debian/control; a minimal one in a scratch
# directory is enough for it to map each linked library to its package.
shlib=$build/shlibdeps
mkdir -p "$shlib/debian"
printf 'Source: migrate\n\nPackage: migrate\nArchitecture: any\n' \
	>"$shlib/debian/control"
depends=$(cd "$shlib" &&
	dpkg-shlibdeps -O "-e$OLDPWD/$stage/usr/bin/migrate" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
# The drivers are compiled in only where their libraries were found: a
# package without one of them is not the package we mean to ship.
for lib in libpq5 libmariadb3 libsodium23 libsqlite3-0 libjansson4 libinih1; do
	if [[ ", $depends" != *", $lib"[\ ,]* && ", $depends" != *", $lib" ]]; then
		echo "package.sh: the binary does not link $lib" \
			"(Depends: $depends)" >&2
		exit 1
	fi
done

mkdir -p "$stage/DEBIAN"
cat >"$stage/DEBIAN/control" <<EOF
Package: migrate
Version: $debversion
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $depends
Section: database
Priority: optional
Description: schema migrations for PostgreSQL, MySQL/MariaDB and SQLite
 migrate applies numbered up and down SQL migration files (golang-migrate's
 layout) to a PostgreSQL, MySQL/MariaDB or SQLite database. It runs the
 checks each migration declares before and after it (row counts, data
 fingerprints, invariant queries), rolls back when one fails, and records
 every event in an append-only, hash-chained ledger table that an auditor
 can verify.
EOF
(cd "$stage" && find usr -type f -print0 | sort -z | xargs -0 md5sum) \
	>"$stage/DEBIAN/md5sums"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

rm -f "$build"/migrate_*.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
