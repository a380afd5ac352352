#!/usr/bin/env bash
# Runs the password-hiding fuzzer (tests/fuzz_url.c, issue 8) for longer
# than the test suite does:
#
#   bash scripts/fuzz-url.sh [ITERATIONS [SEED]]
#
# ITERATIONS defaults to 1000000 (a few minutes), SEED to the current time.
# Builds the Debug configuration (ASan, UBSan) in build-test/ like
# scripts/test.sh, then runs build-test/fuzz_url. Every URL that leaks a
# password is printed with its seed; `fuzz_url SEED 1` replays it alone.
# Exits non-zero if any leaked. No server is needed: connects go to
# 127.0.0.1:1, where nothing listens.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

iterations=${1:-1000000}
seed=${2:-$(date +%s)}

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-test -j2 --target fuzz_url

export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
exec build-test/fuzz_url "$seed" "$iterations"
