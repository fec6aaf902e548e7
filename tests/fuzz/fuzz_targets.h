/* SPDX-License-Identifier: MIT */
/*
 * The fuzz targets' entry points. Each fuzz_<target>.c defines
 * fuzz_<target>(data, size), returning 0, and - unless FUZZ_REPLAY is
 * defined - libFuzzer's LLVMFuzzerTestOneInput calling it. The regression
 * replay test (tests/unit/check_fuzz_regressions.c) includes the target
 * files with FUZZ_REPLAY and calls the same functions.
 */
#ifndef FUZZ_TARGETS_H
#define FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* The webhook secret the webhook target signs with when asked to. */
#define FUZZ_SECRET "realwc-webhook-secret-0123456789"

int fuzz_webhook(const uint8_t *data, size_t size);
int fuzz_config(const uint8_t *data, size_t size);
int fuzz_wc_order(const uint8_t *data, size_t size);
int fuzz_json_scan(const uint8_t *data, size_t size);
int fuzz_tags(const uint8_t *data, size_t size);
int fuzz_admin(const uint8_t *data, size_t size);

/* Set-up a target needs once per process (environment, temp files). */
void fuzz_config_init(void);
void fuzz_admin_init(void);

#ifndef FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
#endif

#endif
