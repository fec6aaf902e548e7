/* SPDX-License-Identifier: MIT */
/*
 * `tracksiesd --recalculate [--as-of YYYY-MM-DD]`: the daily job's full
 * recalculation (tags_recalc_all, or tags_recalc_all_as_of) run once in
 * this process, with its progress on stderr, a summary read back from the
 * tables on stdout, and Ctrl-C honoured between chunks. Safe beside a
 * running daemon: every chunk is its own write transaction.
 */
#include "tracksies/recalc_cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "tracksies/db.h"
#include "tracksies/features.h"
#include "tracksies/tags_recalc.h"

#define EXIT_CONFIG 78
#define EXIT_INTERRUPTED 130
#define LINE_EVERY_S 2.0	/* writing progress, at most this often */

struct run {
	double started;
	double last_line;
	char phase[16];
	bool interrupted;
};

static double
mono_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SIGINT and SIGTERM are blocked: they wait, pending, until looked at. */
static bool
stop_asked(void)
{
	sigset_t pending;

	return sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) == 1 ||
	    sigismember(&pending, SIGTERM) == 1);
}

static bool
on_progress(void *arg, const char *phase, int64_t done, int64_t total)
{
	struct run *r = arg;
	bool fresh = strcmp(phase, r->phase) != 0;
	double now = mono_s();

	if (stop_asked()) {
		r->interrupted = true;
		return false;
	}
	if (fresh)
		(void)snprintf(r->phase, sizeof(r->phase), "%s", phase);
	if (strcmp(phase, "reading") == 0 && fresh)
		fprintf(stderr, "recalculate: reading every counted order\n");
	else if (strcmp(phase, "fitting") == 0 && fresh)
		fprintf(stderr, "recalculate: %lld customers read in %.1fs; learning"
		    " the RFM thresholds and fitting the purchase models\n",
		    (long long)total, now - r->started);
	else if (strcmp(phase, "writing") == 0 && (fresh || done == total ||
	    now - r->last_line >= LINE_EVERY_S))
		fprintf(stderr, "recalculate: written %lld of %lld customers (%.1fs)\n",
		    (long long)done, (long long)total, now - r->started);
	else
		return true;
	r->last_line = now;
	fflush(stderr);
	return true;
}

static int
prepare(struct db *db, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(db_handle(db), sql, -1, st, NULL) == SQLITE_OK ?
	    0 : -1;
}

/* One count, with ?1 = t when sql has it; -1 when it cannot be read. */
static long long
count_at(struct db *db, const char *sql, int64_t t)
{
	sqlite3_int64 n;

	return db_query_int64_with(db, sql, t, &n) == TS_OK ? n : -1;
}

static void
print_models(struct db *db)
{
	sqlite3_stmt *st = NULL;

	if (prepare(db, "SELECT n_customers, n_repeat, bgnbd_ok, r, alpha, a, b,"
	    " gg_ok, p, q, gamma FROM clv_model WHERE id = 1", &st) != 0 ||
	    sqlite3_step(st) != SQLITE_ROW) {
		printf("  purchase models     none (no customer with an order)\n");
		(void)sqlite3_finalize(st);
		return;
	}
#define D(i) sqlite3_column_double(st, i)
	printf("  purchase models     fitted on %lld customers, %lld with a repeat"
	    " purchase\n", (long long)sqlite3_column_int64(st, 0),
	    (long long)sqlite3_column_int64(st, 1));
	if (sqlite3_column_int(st, 2))
		printf("    BG/NBD            r=%.4g alpha=%.4g weeks a=%.4g b=%.4g\n",
		    D(3), D(4), D(5), D(6));
	else
		printf("    BG/NBD            not usable: the fallback heuristic"
		    " predicts\n");
	if (sqlite3_column_int(st, 7))
		printf("    Gamma-Gamma       p=%.4g q=%.4g gamma=%.4g\n", D(8), D(9),
		    D(10));
	else
		printf("    Gamma-Gamma       not usable: the fallback heuristic"
		    " predicts\n");
#undef D
	(void)sqlite3_finalize(st);
}

static void
print_tags(struct db *db, int64_t t)
{
	sqlite3_stmt *st = NULL;

	/* One pass over the assignments: held now, and what this run did. */
	if (prepare(db, "SELECT t.id, COALESCE(c.held, 0), COALESCE(c.earned, 0),"
	    " COALESCE(c.lost, 0) FROM tags AS t LEFT JOIN (SELECT tag_id,"
	    " sum(lost_at IS NULL) AS held, sum(lost_at IS NULL AND earned_at = ?1)"
	    " AS earned, sum(lost_at IS NOT NULL AND lost_at = ?1) AS lost"
	    " FROM customer_tags GROUP BY tag_id) AS c ON c.tag_id = t.id"
	    " ORDER BY t.position, t.id", &st) != 0)
		return;
	(void)sqlite3_bind_int64(st, 1, t);
	printf("  %-20s %10s %10s %10s\n", "tag", "held", "earned", "lost");
	while (sqlite3_step(st) == SQLITE_ROW)
		printf("  %-20s %10lld %10lld %10lld\n",
		    (const char *)sqlite3_column_text(st, 0),
		    (long long)sqlite3_column_int64(st, 1),
		    (long long)sqlite3_column_int64(st, 2),
		    (long long)sqlite3_column_int64(st, 3));
	(void)sqlite3_finalize(st);
}

static void
print_summary(struct db *db, bool as_of_given, int64_t t, double elapsed)
{
	char when[40];
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(when, sizeof(when), as_of_given ?
	    "%Y-%m-%d (the start of the day, UTC)" : "%Y-%m-%d %H:%M:%S UTC",
	    &tm) == 0)
		(void)snprintf(when, sizeof(when), "%lld", (long long)t);
	printf("recalculated as of %s in %.1fs\n", when, elapsed);
	printf("  customers           %lld\n",
	    count_at(db, "SELECT count(*) FROM customers", t));
	printf("  with orders         %lld\n", count_at(db, "SELECT count(*)"
	    " FROM customer_intel WHERE order_count > 0", t));
	printf("  overdue             %lld\n", count_at(db, "SELECT count(*)"
	    " FROM customer_intel WHERE overdue_at < ?1", t));
	printf("  status changes      %lld (by status rules)\n", count_at(db,
	    "SELECT count(*) FROM audit_log WHERE action = 'status_change'"
	    " AND actor LIKE 'rule:%' AND at = ?1", t));
	print_models(db);
	print_tags(db, t);
	if (as_of_given)
		printf("  note: the tables show that date until the daemon's next daily"
		    " run\n        (or --recalculate without --as-of)\n");
}

int
recalc_cli_run(struct db *db, bool as_of_given, int64_t as_of)
{
	struct run r = { 0 };
	int64_t t = as_of_given ? as_of : (int64_t)time(NULL);
	bool on = true;
	sigset_t set;
	enum ts_rc rc;

	if (features_get(db, FEATURE_TAGS, &on) == TS_OK && !on) {
		fprintf(stderr, "tracksiesd: tags are switched off (feature woo.tags);"
		    " PUT /v1/features to switch them on\n");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
	r.started = r.last_line = mono_s();
	rc = as_of_given ? tags_recalc_all_as_of(db, t, on_progress, &r) :
	    tags_recalc_all(db, t, on_progress, &r);
	switch (rc) {
	case TS_OK:
		print_summary(db, as_of_given, t, mono_s() - r.started);
		return 0;
	case TS_ERR_TRANSIENT:
		if (r.interrupted) {
			fprintf(stderr, "recalculate: interrupted; the customers written"
			    " so far are consistent, run it again to finish\n");
			return EXIT_INTERRUPTED;
		}
		fprintf(stderr, "tracksiesd: recalculate: the database stayed busy;"
		    " try again\n");
		return 1;
	case TS_ERR_INVALID:
		fprintf(stderr, "tracksiesd: recalculate: a tag or status rule failed"
		    " at run time ([tags] rules_file); nothing of the chunk it failed"
		    " in was kept\n");
		return EXIT_CONFIG;
	default:
		fprintf(stderr, "tracksiesd: recalculate: %s\n", rc_name(rc));
		return 1;
	}
}
