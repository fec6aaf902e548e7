/* SPDX-License-Identifier: MIT */
/*
 * An import run inside the daemon, started and followed through the admin
 * API: the same import.c cursor and worker engine as `tracksiesd --import`,
 * on a thread of its own with its own connection and REST client. One at a
 * time. The slot is used from MHD's threads; its mutex guards it.
 */
#ifndef TRACKSIES_IMPORT_JOB_H
#define TRACKSIES_IMPORT_JOB_H

#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#include "tracksies/config.h"
#include "tracksies/rc.h"

struct db;
struct import_job;

struct import_slot {
	pthread_mutex_t lock;
	struct import_job *job;		/* guarded by lock; NULL when none */
};

void import_slot_init(struct import_slot *slot);
/* Interrupt a running import (it resumes from its checkpoint next time). */
void import_slot_fini(struct import_slot *slot);

/*
 * Start an import of orders since `since` (all, 30d, 90d, 1y, Nd,
 * YYYY-MM-DD). TS_ERR_INVALID for a bad since (*errmsg says why), TS_ERR_IO
 * when one is already running (409), else TS_OK with *run_id.
 */
enum ts_rc import_slot_start(struct import_slot *slot, const struct config *cfg,
    const char *since, int64_t *run_id, const char **errmsg);

/*
 * The state for GET /v1/import: {"running", "progress":{...} | null,
 * "summary": the latest run's summary | null}. A finished run is closed
 * here. db is the caller's connection.
 */
enum ts_rc import_slot_status(struct import_slot *slot, struct db *db,
    json_t **out);

#endif
