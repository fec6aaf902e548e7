/* SPDX-License-Identifier: MIT */
/*
 * `tracksiesd --import`: runs the worker engine over the store's pages
 * (import.c) in this process, shows progress on stderr (a bar on a
 * terminal, plain lines otherwise), stops cleanly on Ctrl-C with a
 * checkpoint, and prints the summary. Safe beside a running daemon: both
 * apply orders through sync.c in their own transactions.
 */
#include "tracksies/import_cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tracksies/db.h"
#include "tracksies/features.h"
#include "tracksies/import.h"
#include "tracksies/log.h"
#include "tracksies/worker.h"

static void
progress(struct import *imp, time_t started, bool tty, bool final)
{
	struct import_progress p;
	double elapsed = difftime(time(NULL), started);
	double rate;
	long total, left;
	char eta[32] = "--:--";

	import_progress(imp, &p);
	total = p.store_total;
	rate = elapsed > 0 ? p.applied / elapsed : 0;
	left = total > p.applied ? total - p.applied : 0;
	if (rate > 0 && total >= 0)
		(void)snprintf(eta, sizeof(eta), "%ld:%02ld", (long)(left / rate) / 60,
		    (long)(left / rate) % 60);
	if (tty) {
		char bar[31];
		int fill = total > 0 ? (int)(30.0 * (p.applied > total ? total : p.applied) / total) : 0;
		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(30 - fill));
		bar[30] = '\0';
		fprintf(stderr, "\r  [%s] %ld/%ld orders  %.0f/s  left %s   %s", bar,
		    p.applied, total, rate, eta, final ? "\n" : "");
	} else {
		fprintf(stderr, "import: progress orders=%ld total=%ld rate=%.0f/s eta=%s\n",
		    p.applied, total, rate, eta);
	}
	fflush(stderr);
}

static void
print_summary(json_t *s)
{
	size_t i;
	json_t *d, *disc = json_object_get(s, "discrepancies");
	const char *state = json_string_value(json_object_get(s, "state"));

#define N(k) (long long)json_integer_value(json_object_get(s, k))
	printf("import %s (run %lld, since %s)\n", state, N("run_id"),
	    json_string_value(json_object_get(s, "since")));
	printf("  store lists       %lld orders (X-WP-Total)\n", N("store_total"));
	printf("  orders seen       %lld\n", N("orders_seen"));
	printf("  orders synced     %lld\n", N("orders_synced"));
	printf("  orders failed     %lld\n", N("orders_failed"));
	printf("  orders ignored    %lld (checkout drafts)\n", N("orders_ignored"));
	if (N("orders_current") > 0)
		printf("  orders current    %lld (the daemon had applied a newer"
		    " copy)\n", N("orders_current"));
	printf("  orders changed    %lld\n", N("orders_changed"));
	printf("  customers created %lld\n", N("customers_created"));
	printf("  customers updated %lld\n", N("customers_updated"));
	printf("  REST requests     %lld\n", N("requests"));
	printf("  elapsed           %llds\n", N("elapsed_s"));
	if (N("page_shifts") > 0 && strcmp(state, "completed") == 0)
		printf("  pages shifted     %lld (orders were deleted or restored"
		    " meanwhile; those pages were read again)\n", N("page_shifts"));
	else if (N("page_shifts") > 0)
		printf("  pages shifted     %lld (orders were deleted during the"
		    " import: run it again)\n", N("page_shifts"));
	printf("  discrepancies     %zu\n", json_array_size(disc));
	json_array_foreach(disc, i, d) {
		if (i == 20) {
			printf("    ... and %zu more (admin API: GET /v1/import)\n",
			    json_array_size(disc) - 20);
			break;
		}
		printf("    order %lld: %s\n", (long long)json_integer_value(
		    json_object_get(d, "order_id")), json_string_value(
		    json_object_get(d, "message")));
	}
	if (strcmp(state, "completed") == 0 && N("orders_changed") == 0 &&
	    N("customers_created") == 0)
		printf("  nothing changed: every order was already in sync\n");
#undef N
}

int
import_cli_run(const struct config *cfg, const char *since)
{
	struct db *db = NULL;
	struct import *imp = NULL;
	struct worker *w = NULL;
	json_t *summary = NULL;
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	sigset_t set;
	bool resumed = false, interrupted = false, tty = isatty(STDERR_FILENO);
	int64_t after = 0;
	time_t started = time(NULL), last_line = 0;
	char *err = NULL;
	int sig, status = 1;
	const char *state, *failed = NULL;
	char why[512] = "";

	if (import_since_parse(since, (int64_t)time(NULL), &after) != TS_OK) {
		fprintf(stderr, "tracksiesd: --since %s: expected all, 30d, 90d, 1y,"
		    " Nd or YYYY-MM-DD\n", since);
		return 64;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (db_open(cfg->db_path, &db, &err) != TS_OK) {
		fprintf(stderr, "tracksiesd: import: %s\n", err != NULL ? err :
		    "cannot start (database)");
		goto out;
	}
	/* Before import_open, which marks a run running. */
	{
		bool on = true;
		if (features_get(db, FEATURE_IMPORT, &on) == TS_OK && !on) {
			fprintf(stderr, "tracksiesd: the import is switched off (feature"
			    " woo.import); PUT /v1/features to switch it on\n");
			goto out;
		}
	}
	if (import_open(db, since, after, (int64_t)time(NULL), &imp, &resumed) != TS_OK) {
		fprintf(stderr, "tracksiesd: import: cannot start (database)\n");
		goto out;
	}
	log_info("import: %s run=%lld since=%s", resumed ? "resuming" : "starting",
	    (long long)import_run_id(imp), since);
	if (worker_start_import(cfg, imp, &w) != TS_OK)
		goto out;
	while (!worker_finished(w)) {
		if ((sig = sigtimedwait(&set, NULL, &tick)) > 0) {
			interrupted = true;
			break;
		}
		if (tty || time(NULL) - last_line >= 5) {
			progress(imp, started, tty, false);
			last_line = time(NULL);
		}
	}
	if ((failed = worker_import_failed(w)) != NULL)
		(void)snprintf(why, sizeof(why), "%s", failed);
	worker_stop(w);
	w = NULL;
	progress(imp, started, tty, true);
	if (interrupted)
		fprintf(stderr, "import: interrupted; run the same command again to"
		    " resume from the last checkpoint\n");
	else if (failed != NULL)
		fprintf(stderr, "tracksiesd: import: %s; run the same command again"
		    " to resume from the last checkpoint\n", why);
	/* Given up: closed as interrupted, so that the same command resumes. */
	if (import_finish(imp, db, (int64_t)time(NULL), interrupted ||
	    failed != NULL) != TS_OK ||
	    import_summary(db, import_run_id(imp), &summary) != TS_OK)
		goto out;
	print_summary(summary);
	state = json_string_value(json_object_get(summary, "state"));
	/* Discrepancies are not failures; a gap, an interruption or the store is. */
	status = failed != NULL && !interrupted ? 1 : strcmp(state, "completed") == 0 ?
	    0 : interrupted ? 130 : 2;
out:
	worker_stop(w);
	json_decref(summary);
	import_free(imp);
	db_close(db);
	free(err);
	return status;
}
