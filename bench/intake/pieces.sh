#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The per-delivery cost of the intake's checks (see pieces.c), against the
# Release core library that bench/intake/run.sh builds into build-bench/.
#   bash bench/intake/pieces.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
# Configured once, rebuilt every time: the figures are the current code's.
[ -f build-bench/CMakeCache.txt ] ||
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j2 --target tracksies_core >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck disable=SC2046
cc -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -Iinclude bench/intake/pieces.c \
	build-bench/libtracksies_core.a \
	$(pkg-config --libs jansson libcrypto sqlite3 libmicrohttpd libcurl) \
	-lpthread -lm -o "$out/pieces"
"$out/pieces" tests/fixtures/woocommerce/webhooks/21-order.created--order-create-completed-coupon-fee.body
