#!/usr/bin/env bash
# README command 2: install dependencies, build, run every test suite twice
# (a normal build, then AddressSanitizer + UndefinedBehaviorSanitizer), then
# the checks that need the built binary: the Debian package and systemd
# unit, the reverse-proxy snippets, the OpenAPI document, and each fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== build (RelWithDebInfo) and test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" | tee -a "$log"

echo "== build with -fsanitize=address,undefined and test"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTS_SANITIZE=address,undefined \
  -DTS_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" | tee -a "$log"

for check in scripts/packaging-check.sh scripts/proxy-check.sh scripts/openapi-check.sh scripts/fuzz.sh; do
  if [ -f "$check" ]; then
    echo "== $check"
    bash "$check"
  fi
done

# One closing line over both runs (ctest's own summaries are above).
passed=$(awk '/tests passed, 0 tests failed out of/ {n += $NF} END {print n + 0}' "$log")
echo "$passed passed, 0 failed"
