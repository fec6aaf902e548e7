#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Run Check suites under valgrind memcheck, and every tracksiesd process
# they start: the suites' own processes (Check forks one child per test;
# valgrind follows forks) through valgrind here, the daemon through
# TS_DAEMON_WRAPPER (tests/helpers/th.c). An error or a definite/indirect
# leak in any process fails: in a test child Check reports "Early exit with
# return value 99", in the daemon its exit status is 99; and the totals
# below count every log. The fake store (fakewc) runs natively: it is a
# test double, not shipped.
#
# usage: scripts/valgrind.sh [SUITE...]     default: every check_* suite
#
# env: BUILD_DIR=build     a configured build tree (RelWithDebInfo is fine:
#                          -O2 -g); built here if the binaries are missing
#      JOBS=2              suites at a time
#      FACTOR=20           TS_TEST_TIME_FACTOR and CK_TIMEOUT_MULTIPLIER:
#                          how much slower the processes under test run
#      SUITE_TIMEOUT=3600  seconds before a suite is stopped (a failure)
#      OUT=DIR             where the logs go (default a temp dir, kept and
#                          printed when anything failed)
#
# Prints one line per suite and the totals; exits 0 only when every suite
# passed with 0 errors and 0 bytes definitely or indirectly lost.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

: "${BUILD_DIR:=build}"
: "${JOBS:=2}"
: "${FACTOR:=20}"
: "${SUITE_TIMEOUT:=3600}"

command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not found (apt-get install valgrind)" >&2; exit 1; }

build=$(cd "$BUILD_DIR" 2>/dev/null && pwd) || build=$root/$BUILD_DIR
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j2 >/dev/null

if [ $# -gt 0 ]; then
	suites=("$@")
else
	mapfile -t suites < <(cd "$build" && ls check_* | sort)
fi
# Longest first (ctest's timings of the last native run, when there are
# any), so that two at a time finish close together.
cost=$build/Testing/Temporary/CTestCostData.txt
if [ -f "$cost" ]; then
	mapfile -t suites < <(printf '%s\n' "${suites[@]}" |
		awk 'NR == FNR { if (NF == 3) t[$1] = $3; next } { print (t[$1] + 0), $1 }' "$cost" - |
		sort -k1,1nr -k2 | awk '{ print $2 }')
fi

out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tracksies-valgrind.XXXXXX")}
mkdir -p "$out"
case "$out$build$root" in
*" "*) echo "valgrind.sh: paths with spaces are not supported ($out)" >&2; exit 1 ;;
esac

# Suppressions are for third-party noise only; each is explained there.
vg=(valgrind --tool=memcheck --leak-check=full
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
	--error-exitcode=99 --num-callers=30 --fair-sched=yes
	--suppressions="$root/scripts/valgrind.supp")

run_suite() {
	local suite=$1 dir=$out/$1 start rc
	mkdir -p "$dir"
	start=$(date +%s)
	rc=0
	(cd "$build" &&
		TS_DAEMON_WRAPPER="${vg[*]} --log-file=$dir/daemon.%p.log" \
		TS_TEST_TIME_FACTOR=$FACTOR CK_TIMEOUT_MULTIPLIER=$FACTOR \
		timeout --kill-after=30 "$SUITE_TIMEOUT" \
		"${vg[@]}" --log-file="$dir/test.%p.log" "./$suite") \
		>"$dir/output.txt" 2>&1 || rc=$?
	echo "$rc $(( $(date +%s) - start ))" >"$dir/result"
}
export -f run_suite
export out build FACTOR SUITE_TIMEOUT
export VG_OPTS="${vg[*]}"

t0=$(date +%s)
printf '%s\n' "${suites[@]}" | xargs -P"$JOBS" -I{} bash -c '
	vg=($VG_OPTS)
	run_suite "$1"' _ {}
elapsed=$(( $(date +%s) - t0 ))

# Totals over every log. A process that ran to its end has an ERROR SUMMARY
# (and a LEAK SUMMARY when it leaked anything). A test child that exec'd the
# daemon leaves a log of the header alone (the daemon has its own). One
# killed with SIGKILL (the crash tests) has no summary: its error reports
# are counted one by one.
error_re='^==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument .* of function|Jump to the invalid|Process terminating)'
summarise() {
	awk -v re="$error_re" '
		function flush() {
			if (summary) procs++
			else if (file ~ /daemon\.[0-9]+\.log$/) killed++
			errs += summary ? 0 : raw
		}
		FNR == 1 { if (NR > 1) flush(); summary = 0; raw = 0; file = FILENAME }
		/ERROR SUMMARY:/ { summary = 1; for (i = 1; i <= NF; i++) if ($i == "SUMMARY:") errs += $(i + 1) }
		/definitely lost:/ { gsub(",", "", $4); def += $4 }
		/indirectly lost:/ { gsub(",", "", $4); ind += $4 }
		$0 ~ re { raw++ }
		END { if (NR > 0) flush(); printf "%d %d %d %d %d\n", procs, killed, errs, def, ind }
	' "$@" /dev/null
}

fail=0
tot_p=0 tot_k=0 tot_e=0 tot_d=0 tot_i=0
printf '%-24s %6s %7s %9s %7s %6s %10s %10s\n' suite status seconds processes killed errors def_bytes ind_bytes
for suite in $(printf '%s\n' "${suites[@]}" | sort); do
	dir=$out/$suite
	read -r rc secs <"$dir/result"
	shopt -s nullglob
	logs=("$dir"/*.log)
	shopt -u nullglob
	read -r p k e d i < <(summarise "${logs[@]}")
	status=ok
	if [ "$rc" != 0 ] || [ "$e" != 0 ] || [ "$d" != 0 ] || [ "$i" != 0 ]; then
		status=FAIL
		fail=1
	fi
	printf '%-24s %6s %7s %9s %7s %6s %10s %10s\n' "$suite" "$status" "$secs" "$p" "$k" "$e" "$d" "$i"
	tot_p=$((tot_p + p)) tot_k=$((tot_k + k)) tot_e=$((tot_e + e)) tot_d=$((tot_d + d)) tot_i=$((tot_i + i))
	if [ "$status" = FAIL ]; then
		echo "  exit status $rc; Check said:"
		{ grep -E '^[0-9]+%:|:[EF]:' "$dir/output.txt" || true; } | sed -n '1,10s/^/    /p'
		grep -lE "$error_re|(definitely|indirectly) lost: [1-9]" "$dir"/*.log 2>/dev/null |
			head -n 5 | sed 's/^/    log: /' || true
	fi
done
echo "total: ${#suites[@]} suites, $tot_p processes ran to their end under valgrind, $tot_k more were killed by the tests (SIGKILL), $tot_e errors, $tot_d bytes definitely and $tot_i indirectly lost; ${elapsed} s wall, -j$JOBS, time factor $FACTOR"
if [ "$fail" != 0 ]; then
	echo "valgrind: FAILED; logs in $out"
	exit 1
fi
[ -n "${OUT:-}" ] || rm -rf "$out"
echo "valgrind: clean"
