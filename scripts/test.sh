#!/usr/bin/env bash
# README command 2: install dependencies, build, run every test suite twice
# (a normal build, then AddressSanitizer + UndefinedBehaviorSanitizer), a
# fast subset of them under valgrind memcheck on the normal build, then the
# checks that need the built binary: the Debian package and systemd unit,
# the reverse-proxy snippets, the OpenAPI document, and each fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
# Section headers carry the seconds since the start (CI keeps under 10 min).
section() { echo "== [${SECONDS}s] $*"; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# ctest runs twice as many tests as cores: the integration cases mostly
# wait on sockets and child processes.
section "build (RelWithDebInfo) and test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$((jobs * 2))" | tee -a "$log"

# The whole suite under valgrind takes ~20 min on 2 cores: CI runs the
# suites that take seconds (about 1 min in all, docs/decisions.md), and
# `bash scripts/valgrind.sh` runs all of them (docs/operations.md).
section "valgrind memcheck (a fast subset; scripts/valgrind.sh runs every suite)"
bash scripts/valgrind.sh check_admin_pool check_config check_hmac check_json_scan \
  check_metrics check_migrate check_notify check_oauth1 check_queue check_sync \
  check_webhook check_cli check_wc_client

section "build with -fsanitize=address,undefined and test"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTS_SANITIZE=address,undefined \
  -DTS_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$((jobs * 2))" | tee -a "$log"

for check in scripts/packaging-check.sh scripts/proxy-check.sh scripts/openapi-check.sh scripts/fuzz.sh; do
  if [ -f "$check" ]; then
    section "$check"
    bash "$check"
  fi
done

# One closing line over both runs (ctest's own summaries are above).
passed=$(awk '/tests passed, 0 tests failed out of/ {n += $NF} END {print n + 0}' "$log")
section "done"
echo "$passed passed, 0 failed"
