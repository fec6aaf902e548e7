/* SPDX-License-Identifier: MIT */
/*
 * An import started from the admin API (see import_job.h): the worker
 * engine in import mode on its own thread, closed by whoever looks at it
 * after it finished.
 */
#include "tracksies/import_job.h"

#include <stdlib.h>
#include <time.h>

#include "tracksies/db.h"
#include "tracksies/import.h"
#include "tracksies/log.h"
#include "tracksies/worker.h"

struct import_job {
	struct db *db;
	struct import *imp;
	struct worker *worker;
	int64_t run_id;
};

void
import_slot_init(struct import_slot *slot)
{
	(void)pthread_mutex_init(&slot->lock, NULL);
	slot->job = NULL;
}

static void
job_close(struct import_job *job, bool interrupted)
{
	if (job == NULL)
		return;
	if (worker_import_failed(job->worker) != NULL)
		log_error("import: run=%lld gave up: %s", (long long)job->run_id,
		    worker_import_failed(job->worker));
	worker_stop(job->worker);
	if (import_finish(job->imp, job->db, (int64_t)time(NULL), interrupted) != TS_OK)
		log_warn("import: run=%lld could not be closed", (long long)job->run_id);
	else
		log_info("import: run=%lld %s", (long long)job->run_id,
		    interrupted ? "interrupted" : "finished");
	import_free(job->imp);
	db_close(job->db);
	free(job);
}

void
import_slot_fini(struct import_slot *slot)
{
	(void)pthread_mutex_lock(&slot->lock);
	job_close(slot->job, slot->job != NULL && !worker_finished(slot->job->worker));
	slot->job = NULL;
	(void)pthread_mutex_unlock(&slot->lock);
	(void)pthread_mutex_destroy(&slot->lock);
}

enum ts_rc
import_slot_start(struct import_slot *slot, const struct config *cfg,
    const char *since, int64_t *run_id, const char **errmsg)
{
	struct import_job *job = NULL;
	int64_t after = 0;
	bool resumed = false;
	enum ts_rc rc;

	*errmsg = NULL;
	if (import_since_parse(since, (int64_t)time(NULL), &after) != TS_OK) {
		*errmsg = "since: expected all, 30d, 90d, 1y, Nd or YYYY-MM-DD";
		return TS_ERR_INVALID;
	}
	(void)pthread_mutex_lock(&slot->lock);
	if (slot->job != NULL && worker_finished(slot->job->worker)) {
		job_close(slot->job, worker_import_failed(slot->job->worker) != NULL);
		slot->job = NULL;
	}
	if (slot->job != NULL) {
		*errmsg = "an import is already running";
		rc = TS_ERR_IO;
		goto out;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	if ((rc = db_open(cfg->db_path, &job->db, NULL)) != TS_OK ||
	    (rc = import_open(job->db, since, after, (int64_t)time(NULL), &job->imp,
	    &resumed)) != TS_OK ||
	    (rc = worker_start_import(cfg, job->imp, &job->worker)) != TS_OK) {
		import_free(job->imp);
		db_close(job->db);
		free(job);
		goto out;
	}
	job->run_id = import_run_id(job->imp);
	*run_id = job->run_id;
	slot->job = job;
	log_info("import: %s run=%lld since=%s (admin API)", resumed ? "resuming" :
	    "starting", (long long)job->run_id, since);
out:
	(void)pthread_mutex_unlock(&slot->lock);
	return rc;
}

enum ts_rc
import_slot_status(struct import_slot *slot, struct db *db, json_t **out)
{
	json_t *doc = json_object(), *summary = NULL, *progress = json_null();
	sqlite3_int64 last = 0;
	bool running = false;

	(void)pthread_mutex_lock(&slot->lock);
	if (slot->job != NULL && worker_finished(slot->job->worker)) {
		job_close(slot->job, worker_import_failed(slot->job->worker) != NULL);
		slot->job = NULL;
	}
	if (slot->job != NULL) {
		struct import_progress p;
		import_progress(slot->job->imp, &p);
		running = true;
		json_decref(progress);
		progress = json_pack("{s:I,s:I,s:I,s:I,s:b}", "run_id", (json_int_t)p.run_id,
		    "store_total", (json_int_t)p.store_total, "applied",
		    (json_int_t)p.applied, "pages_done", (json_int_t)p.pages_done,
		    "resumed", p.resumed);
	}
	(void)pthread_mutex_unlock(&slot->lock);
	if (db_query_int64(db, "SELECT max(id) FROM import_runs", &last) == TS_OK &&
	    last > 0)
		(void)import_summary(db, last, &summary);
	(void)json_object_set_new(doc, "running", json_boolean(running));
	(void)json_object_set_new(doc, "progress", progress);
	(void)json_object_set_new(doc, "summary", summary != NULL ? summary : json_null());
	*out = doc;
	return TS_OK;
}
