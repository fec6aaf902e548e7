/* SPDX-License-Identifier: MIT */
/*
 * Time one full recalculation (metrics, RFM, churn flags, purchase models,
 * tags, statuses) of a database made by gen, with the built-in rules:
 *
 *   recalc DB_PATH NOW [--status-rules]
 *
 * Prints wall time, CPU time and the peak RSS of this process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "tracksies/db.h"
#include "tracksies/migrate.h"
#include "tracksies/tags.h"
#include "tracksies/tags_recalc.h"

static double
now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double phase_at;

static bool
progress(void *arg, const char *phase, int64_t done, int64_t total)
{
	static char last[16];
	double t = now_s();

	(void)arg;
	if (strcmp(phase, last) != 0) {
		fprintf(stderr, "  %-8s at %6.2fs\n", phase, t - phase_at);
		(void)snprintf(last, sizeof(last), "%s", phase);
	}
	(void)done;
	(void)total;
	return true;
}

int
main(int argc, char **argv)
{
	struct tags_catalogue *cat = NULL;
	struct db *db = NULL;
	struct rusage ru;
	char *err = NULL, *rules = NULL;
	double t0, wall;
	enum ts_rc rc;

	if (argc < 3) {
		fprintf(stderr, "usage: recalc DB_PATH NOW [--status-rules]\n");
		return 64;
	}
	if (db_open(argv[1], &db, &err) != TS_OK ||
	    migrate_apply(db, migrate_embedded, migrate_embedded_count, NULL, NULL,
	    &err) != TS_OK) {
		fprintf(stderr, "recalc: %s\n", err ? err : "cannot open");
		return 1;
	}
	if (argc > 3 && strcmp(argv[3], "--status-rules") == 0) {
		const char *extra = "\n[status vip_by_ltv]\nstatus = vip\n"
		    "when = ltv >= 2000\n\n[status caution_refunds]\n"
		    "status = caution\nwhen = refund_count >= 2\n";
		rules = malloc(strlen(tags_default_rules()) + strlen(extra) + 1);
		(void)sprintf(rules, "%s%s", tags_default_rules(), extra);
	}
	if (tags_load_string("bench", rules ? rules : tags_default_rules(), &cat,
	    &err) != TS_OK || tags_apply_catalogue(db, cat, NULL, &err) != TS_OK) {
		fprintf(stderr, "recalc: rules: %s\n", err ? err : "?");
		return 1;
	}
	phase_at = t0 = now_s();
	rc = tags_recalc_all(db, atoll(argv[2]), progress, NULL);
	wall = now_s() - t0;
	(void)getrusage(RUSAGE_SELF, &ru);
	printf("recalc: %s wall=%.2fs user=%.2fs sys=%.2fs peak_rss=%ldMiB\n",
	    rc_name(rc), wall,
	    (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
	    ru.ru_maxrss / 1024);
	tags_catalogue_free(cat);
	free(rules);
	db_close(db);
	return rc == TS_OK ? 0 : 1;
}
