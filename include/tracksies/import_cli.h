/* SPDX-License-Identifier: MIT */
/* `tracksiesd --import [--since ...]`, run in the calling (main) thread. */
#ifndef TRACKSIES_IMPORT_CLI_H
#define TRACKSIES_IMPORT_CLI_H

#include "tracksies/config.h"

/*
 * Import the store's orders created since `since` (all, 30d, 90d, 1y, Nd,
 * YYYY-MM-DD) into the migrated database of cfg. Returns the exit status:
 * 0 completed (discrepancies are listed, not failures), 2 a gap was seen,
 * 130 interrupted (resumable), 64 bad --since, 1 could not run. Main thread,
 * after curl_global_init().
 */
int import_cli_run(const struct config *cfg, const char *since);

#endif
