#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz/ with clang (ASan + UBSan) and
# run each for SECONDS (default 60), two at a time, from a copy of its seed
# corpus. Prints the executions per target; exits non-zero when a target
# crashed, leaked, timed out or failed to build, leaving the reproducer in
# $FUZZ_OUT/crashes/<target>/ (see tests/fuzz/README.md).
#
#   scripts/fuzz.sh [SECONDS]        build and run every target
#   FUZZ_TARGETS="webhook config" scripts/fuzz.sh 30
#   FUZZ_JOBS=1 scripts/fuzz.sh      one at a time
#   FUZZ_OUT=/tmp/fuzz scripts/fuzz.sh   where binaries, logs, crashes go
#                                        (default: build-fuzz/)
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${FUZZ_OUT:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-2}

# clang and its libFuzzer runtime, from Debian 12, as scripts/deps.sh does.
packages=(clang libclang-rt-14-dev pkg-config libjansson-dev libssl-dev libsqlite3-dev cmake)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  echo "fuzz: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "fuzz: run as root (or install: ${missing[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The sources each target needs (src/ names); the target file is added.
declare -A sources=(
  [webhook]="webhook.c json_scan.c hmac.c money.c wc_order.c rc.c"
  [config]="config.c log.c rc.c"
  [wc_order]="wc_order.c money.c rc.c"
  [json_scan]="json_scan.c rc.c"
  [tags]="tags.c status.c rfm.c clv.c db.c migrate.c log.c rc.c @migrations"
  [admin]="@core @migrations"
)
all_targets="webhook config wc_order json_scan tags admin"
targets=${FUZZ_TARGETS:-$all_targets}

mkdir -p "$out"
cd "$root"

# Migrations compiled in, as CMake does it (tags checks conditions against
# the real schema).
cmake -DOUT="$out/migrations_data.c" \
  "-DFILES=$(ls migrations/*.sql | sort | sed "s|^|$root/|" | paste -sd';')" \
  -P cmake/embed_migrations.cmake

cflags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=all -std=c11 -Wall -Wextra -Werror -Wshadow
  -Wmissing-prototypes -Wformat=2 -Wvla -Wno-format-nonliteral
  -Iinclude -Itests/fuzz -D_POSIX_C_SOURCE=200809L -DTS_VERSION=\"fuzz\")
# shellcheck disable=SC2207
pkgs=($(pkg-config --cflags --libs jansson libcrypto sqlite3 libmicrohttpd libcurl))
# @core: every src/*.c but main.c, as CMake's tracksies_core.
core=()
for s in src/*.c; do [ "$s" = src/main.c ] || core+=("$s"); done

build_failed=()
for t in $targets; do
  files=()
  for s in ${sources[$t]}; do
    case $s in
      @migrations) files+=("$out/migrations_data.c") ;;
      @core) files+=("${core[@]}") ;;
      *) files+=("src/$s") ;;
    esac
  done
  echo "fuzz: building $t" >&2
  # The list is what the target needs today; when a module gains a
  # dependency, fall back to the whole core rather than fail.
  if ! clang "${cflags[@]}" "tests/fuzz/fuzz_$t.c" "${files[@]}" "${pkgs[@]}" \
      -lpthread -lm -o "$out/fuzz_$t" 2>"$out/build_$t.log" &&
    ! { grep -q "undefined reference" "$out/build_$t.log" &&
      echo "fuzz: $t: linking the whole core (a dependency moved)" >&2 &&
      clang "${cflags[@]}" "tests/fuzz/fuzz_$t.c" "${core[@]}" \
        "$out/migrations_data.c" "${pkgs[@]}" -lpthread -lm -o "$out/fuzz_$t" \
        2>"$out/build_$t.log"; }; then
    echo "fuzz: $t did not build:" >&2
    cat "$out/build_$t.log" >&2
    build_failed+=("$t")
  fi
done

run_one() {
  local t=$1 corpus=$out/corpus/$t crashes=$out/crashes/$t
  local dict=() rc=0
  mkdir -p "$corpus" "$crashes"
  # A working copy of the seeds: libFuzzer adds what it finds to the first
  # directory, and the committed corpus stays small.
  if [ -d "tests/fuzz/corpus/$t" ]; then
    cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  fi
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  "$out/fuzz_$t" "$corpus" "${dict[@]}" -max_total_time="$seconds" \
    -print_final_stats=1 -timeout=25 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$crashes/" >"$out/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$out/$t.rc"
}

running=0
for t in $targets; do
  [[ " ${build_failed[*]} " == *" $t "* ]] && continue
  echo "fuzz: running $t for ${seconds}s" >&2
  run_one "$t" &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

status=0
failed_logs=()
printf '%-12s %14s %10s  %s\n' target executions exec/s result
for t in $targets; do
  if [[ " ${build_failed[*]} " == *" $t "* ]]; then
    printf '%-12s %14s %10s  %s\n' "$t" - - "BUILD FAILED ($out/build_$t.log)"
    status=1
    continue
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$t.log" | tail -1)
  rc=$(cat "$out/$t.rc")
  if [ "$rc" = 0 ]; then
    result=ok
  else
    status=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out/$t.log" | tail -1)
    result="FAILED rc=$rc ${artifact:-see $out/$t.log}"
    failed_logs+=("$t")
  fi
  printf '%-12s %14s %10s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$result"
done
# What a failed target printed last (the sanitizer's report, the input's
# bytes), so that a CI log alone says what went wrong.
for t in "${failed_logs[@]}"; do
  echo "== $t: the end of $out/$t.log"
  grep -v -e '^#[0-9]' -e '^INFO:' "$out/$t.log" | tail -n 60
done
exit $status
