/* SPDX-License-Identifier: MIT */
/*
 * tracksiesd: arguments, configuration, signals, and the start and orderly
 * stop of the listeners. Glue only; every behaviour lives in the core.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "tracksies/admin_api.h"
#include "tracksies/config.h"
#include "tracksies/hmac.h"
#include "tracksies/db.h"
#include "tracksies/http_server.h"
#include "tracksies/import_cli.h"
#include "tracksies/intake.h"
#include "tracksies/log.h"
#include "tracksies/mem.h"
#include "tracksies/migrate.h"
#include "tracksies/notify.h"
#include "tracksies/profile.h"
#include "tracksies/queue.h"
#include "tracksies/recalc_cli.h"
#include "tracksies/reconcile.h"
#include "tracksies/tags.h"
#include "tracksies/tags_recalc.h"
#include "tracksies/worker.h"

#define EXIT_CONFIG 78		/* EX_CONFIG from sysexits.h */
#define EXIT_DATAERR 65		/* EX_DATAERR: the database is newer than this binary */
#define DRAIN_MS 10000
#define STATUS_PERIOD_S 10	/* STATUS= refresh; shorter when the watchdog asks */
/*
 * The worker's loop turns at least every 60 s (its longest backoff), even
 * while the store is away; a heartbeat older than this means it is stuck.
 */
#define WORKER_STALE_S 90

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tracksiesd --config PATH [--check-config]\n"
	    "       tracksiesd --config PATH --import [--since all|30d|90d|1y|YYYY-MM-DD]\n"
	    "       tracksiesd --config PATH --register-webhooks\n"
	    "       tracksiesd --config PATH --recalculate [--as-of YYYY-MM-DD]\n"
	    "       tracksiesd --config PATH --customer EMAIL\n"
	    "       tracksiesd --version | --help\n"
	    "\n"
	    "  -c, --config PATH   configuration file (see tracksiesd.conf.example)\n"
	    "  -n, --check-config  validate the configuration and exit\n"
	    "      --import        pull every order (or --since a date) through the\n"
	    "                      sync, resumable; safe while the daemon runs\n"
	    "      --since WHEN    all (default), 30d, 90d, 1y, Nd or YYYY-MM-DD\n"
	    "      --register-webhooks  create (or re-activate) the store's webhooks for\n"
	    "                      this daemon at [webhook] public_url; idempotent\n"
	    "      --customer EMAIL  print that customer's profile as JSON and exit\n"
	    "      --recalculate   recalculate every customer's metrics, RFM, gap and\n"
	    "                      overdue flags, purchase models, tags and status\n"
	    "                      rules now, print a summary and exit; safe while\n"
	    "                      the daemon runs\n"
	    "      --as-of DATE    ... as of the start of DATE (YYYY-MM-DD, UTC, not\n"
	    "                      after today): later orders, refunds and interactions\n"
	    "                      are ignored (writes the live tables: use a copy)\n"
	    "  -V, --version       print the version and exit\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT drain in-flight requests and exit 0;\n"
	    "SIGHUP re-reads the configuration (log level).\n"
	    "Exit status: 0 ok, 1 runtime failure, 64 usage, 65 database newer than\n"
	    "this binary (or a failed migration), 78 bad configuration (or a rule\n"
	    "failing at run time), 130 interrupted (--import, --recalculate).\n");
}

static int
load_config(const char *path, struct config **out)
{
	char *errors = NULL;
	enum ts_rc rc = config_load(path, out, &errors);

	if (rc != TS_OK) {
		fprintf(stderr, "%s", errors != NULL ? errors :
		    "tracksiesd: out of memory reading the configuration\n");
		if (errors != NULL && errors[strlen(errors) - 1] != '\n')
			fputc('\n', stderr);
		free(errors);
		return -1;
	}
	return 0;
}

/* Open, migrate, close: the threads open their own connections after. */
static int
prepare_database(const struct config *cfg)
{
	struct db *db = NULL;
	char *err = NULL;
	int from = 0, to = 0;
	enum ts_rc rc;

	if ((rc = db_open(cfg->db_path, &db, &err)) == TS_OK)
		rc = migrate_apply(db, migrate_embedded, migrate_embedded_count,
		    &from, &to, &err);
	db_close(db);
	if (rc != TS_OK) {
		log_error("database: path=%s: %s", cfg->db_path,
		    err != NULL ? err : rc_name(rc));
		free(err);
		/* A restart cannot fix a schema from the future: say so apart. */
		return rc == TS_ERR_INVALID ? EXIT_DATAERR : 1;
	}
	if (from != to)
		log_info("database: migrated path=%s from=%d to=%d", cfg->db_path,
		    from, to);
	else
		log_info("database: ready path=%s schema=%d", cfg->db_path, to);
	return 0;
}

/* --customer: the profile the admin API would serve, on stdout. */
static int
show_customer(const struct config *cfg, const char *email)
{
	struct db *db = NULL;
	json_t *profile = NULL;
	int64_t id = 0;
	sqlite3_int64 decimals = 2;
	char *err = NULL;
	enum ts_rc rc;

	if ((rc = db_open(cfg->db_path, &db, &err)) != TS_OK ||
	    (rc = migrate_apply(db, migrate_embedded, migrate_embedded_count,
	    NULL, NULL, &err)) != TS_OK) {
		fprintf(stderr, "tracksiesd: %s\n", err != NULL ? err : rc_name(rc));
		free(err);
		db_close(db);
		return 1;
	}
	(void)db_query_int64(db, "SELECT CAST(value AS INTEGER) FROM kv"
	    " WHERE key = 'store.decimals'", &decimals);
	rc = profile_find_by_email(db, email, &id);
	if (rc == TS_OK)
		rc = profile_get(db, id, (int)decimals, (int64_t)time(NULL), &profile);
	db_close(db);
	if (rc != TS_OK) {
		fprintf(stderr, "tracksiesd: %s\n", rc == TS_ERR_NOTFOUND ?
		    "no customer with that email" : rc_name(rc));
		return 1;
	}
	(void)json_dumpf(profile, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(profile);
	return 0;
}

/*
 * The tag and status rules ([tags] rules_file, or the built-in defaults):
 * parsed and validated, then made the database's rules when db is given. A
 * change asks for everyone to be recalculated. Returns 0, or -1 after
 * printing every fault (rule id and message) on stderr.
 */
static int
load_rules(const struct config *cfg, struct db *db)
{
	struct tags_catalogue *cat = NULL;
	char *errors = NULL;
	bool changed = false;
	enum ts_rc rc;

	rc = tags_load(cfg->tags_rules_file, &cat, &errors);
	if (rc == TS_OK && db != NULL) {
		rc = tags_apply_catalogue(db, cat, &changed, &errors);
		if (rc == TS_OK && changed)
			(void)tags_recalc_request(db, (int64_t)time(NULL));
	}
	tags_catalogue_free(cat);
	if (rc != TS_OK) {
		fprintf(stderr, "%s\n", errors != NULL ? errors : rc_name(rc));
		free(errors);
		return -1;
	}
	if (changed)
		log_info("tags: rules loaded from %s; everyone is recalculated",
		    cfg->tags_rules_file != NULL ? cfg->tags_rules_file : "the defaults");
	return 0;
}

/* --recalculate: the configured rules made the database's, then everyone. */
static int
recalculate(const struct config *cfg, bool as_of_given, int64_t as_of)
{
	struct db *db = NULL;
	char *err = NULL;
	int status;

	if ((status = prepare_database(cfg)) != 0)
		return status;
	if (db_open(cfg->db_path, &db, &err) != TS_OK) {
		fprintf(stderr, "tracksiesd: %s\n", err != NULL ? err : "cannot open"
		    " the database");
		free(err);
		return 1;
	}
	status = load_rules(cfg, db) != 0 ? EXIT_CONFIG :
	    recalc_cli_run(db, as_of_given, as_of);
	db_close(db);
	return status;
}

/*
 * What systemd shows and checks: STATUS= for `systemctl status`, and
 * WATCHDOG=1 only while the worker's loop keeps turning, so that a stuck
 * worker gets the service restarted (WatchdogSec=). A worker still starting
 * (waiting for the store) is not stuck. db is main's own connection.
 */
static void
notify_tick(struct worker *worker, struct db *db, bool watchdog)
{
	struct worker_status ws;
	sqlite3_int64 pending = -1;
	char last[32] = "never";
	time_t t;
	struct tm tm;

	worker_get_status(worker, &ws);
	if (db != NULL)
		(void)db_query_int64(db, "SELECT count(*) FROM events"
		    " WHERE state = 'pending'", &pending);
	t = (time_t)ws.last_sync_at;
	if (ws.last_sync_at > 0 && gmtime_r(&t, &tm) != NULL)
		(void)strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%SZ", &tm);
	(void)notify_status("%s pending=%lld in_progress=%d last_sync=%s",
	    !ws.running ? "starting" : ws.paused_auth ? "paused_auth" :
	    !ws.store_reachable ? "store_unreachable" : "ok",
	    (long long)pending, ws.in_progress, last);
	if (watchdog && (!ws.running ||
	    (int64_t)time(NULL) - ws.last_loop_at <= WORKER_STALE_S))
		(void)notify_watchdog();
}

/*
 * Every status tick: when nothing is being handled, pooled admin
 * connections unused for a minute close and the pages malloc holds free
 * go back to the system, so the daemon idles small after a burst.
 */
static void
release_idle(struct http_server *webhook, struct admin_api *admin,
    struct worker *worker)
{
	struct worker_status ws;

	worker_get_status(worker, &ws);
	if (http_server_in_flight(webhook) > 0 ||
	    admin_api_in_flight(admin) > 0 || ws.in_progress > 0)
		return;
	admin_api_release_idle(admin, ADMIN_API_POOL_IDLE_S);
	mem_release_idle();
}

static void
reload(const char *path, struct db *db)
{
	struct config *fresh = NULL;

	if (load_config(path, &fresh) != 0) {
		log_error("reload: configuration invalid, keeping the running one");
		return;
	}
	if (load_rules(fresh, db) != 0)
		log_error("reload: tag rules invalid, keeping the running ones");
	log_set_level(fresh->log_level);
	log_info("reload: configuration and tag rules re-read; log level applied"
	    " (listeners, database and secrets change on restart)");
	config_free(fresh);
}

static int
run(const char *config_path, struct config *cfg)
{
	struct queue *queue = NULL;
	struct worker *worker = NULL;
	struct reconciler *reconciler = NULL;
	struct http_server *webhook = NULL;
	struct admin_api *admin = NULL;
	struct admin_api_options aopt = { 0 };
	struct intake intake = { 0 };
	struct hmac_key *webhook_key = NULL;
	struct http_server_options wopt = { 0 };
	struct db *mdb = NULL;
	struct timespec period;
	uint64_t wd_usec = 0, period_us = STATUS_PERIOD_S * 1000000ULL;
	char *err = NULL;
	sigset_t set;
	int sig, status = 1;

	/* Signals are taken by sigtimedwait() here, never by another thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	(void)pthread_sigmask(SIG_BLOCK, &set, NULL);
	(void)signal(SIGPIPE, SIG_IGN);

	if ((status = prepare_database(cfg)) != 0)
		goto out;
	status = 1;
	if (db_open(cfg->db_path, &mdb, &err) != TS_OK) {
		log_warn("database: no status connection path=%s: %s",
		    cfg->db_path, err != NULL ? err : "error");
		free(err);
		err = NULL;
	}
	if (load_rules(cfg, mdb) != 0) {
		status = EXIT_CONFIG;
		goto out;
	}
	if (worker_start(cfg, &worker) != TS_OK) {
		log_error("worker: cannot start");
		goto out;
	}
	if (queue_open(cfg->db_path, worker_notify, worker, &queue) != TS_OK) {
		log_error("database: cannot open the event queue path=%s",
		    cfg->db_path);
		goto out;
	}
	intake.path = cfg->webhook_path;
	if ((webhook_key = hmac_key_new(cfg->webhook_secret,
	    strlen(cfg->webhook_secret))) == NULL) {
		log_error("webhook: out of memory");
		goto out;
	}
	intake.key = webhook_key;
	intake.queue = queue;
	wopt.name = "webhook";
	wopt.listen = cfg->webhook_listen;
	wopt.max_body_bytes = cfg->max_body_bytes;
	wopt.threads = INTAKE_THREADS;
	wopt.handler = intake_handle;
	wopt.ctx = &intake;
	if (http_server_start(&wopt, &webhook, &err) != TS_OK) {
		log_error("%s", err != NULL ? err : "webhook: cannot start");
		free(err);
		goto out;
	}
	if (reconcile_start(cfg, queue, &reconciler) != TS_OK)
		log_error("reconcile: cannot start");
	log_info("webhook: listening addr=%s port=%u path=%s", cfg->webhook_listen,
	    (unsigned)http_server_port(webhook), cfg->webhook_path);
	aopt.cfg = cfg;
	aopt.threads = (unsigned)cfg->admin_threads;
	aopt.queue = queue;
	aopt.worker = worker;
	aopt.intake = &intake.counters;
	aopt.started_at = (int64_t)time(NULL);
	if (admin_api_start(&aopt, &admin, &err) != TS_OK) {
		log_error("%s", err != NULL ? err : "admin: cannot start");
		free(err);
		err = NULL;
		goto out;
	}
	log_info("admin: listening addr=%s port=%u", cfg->admin_listen,
	    (unsigned)admin_api_port(admin));
	log_info("tracksiesd %s: ready", TS_VERSION);

	if (notify_ready() != TS_OK)
		log_warn("systemd: cannot send READY=1 to NOTIFY_SOCKET");
	if (notify_watchdog_usec(&wd_usec) == TS_OK && wd_usec / 2 < period_us)
		period_us = wd_usec / 2;
	period.tv_sec = (time_t)(period_us / 1000000);
	period.tv_nsec = (long)(period_us % 1000000) * 1000;
	notify_tick(worker, mdb, wd_usec > 0);
	for (;;) {
		if ((sig = sigtimedwait(&set, NULL, &period)) < 0) {
			if (errno == EAGAIN) {
				notify_tick(worker, mdb, wd_usec > 0);
				release_idle(webhook, admin, worker);
			}
			continue;
		}
		if (sig == SIGHUP) {
			(void)notify_reloading();
			reload(config_path, mdb);
			(void)notify_ready();
			notify_tick(worker, mdb, wd_usec > 0);
			continue;
		}
		break;
	}
	(void)notify_stopping();
	(void)notify_status("stopping: draining in_flight=%u",
	    http_server_in_flight(webhook));
	log_info("shutdown: signal=%s, draining in_flight=%u",
	    sig == SIGTERM ? "TERM" : "INT", http_server_in_flight(webhook));
	status = 0;
out:
	admin_api_stop(admin);
	http_server_stop(webhook, DRAIN_MS);
	reconcile_stop(reconciler);
	queue_close(queue);
	hmac_key_free(webhook_key);
	worker_stop(worker);
	db_close(mdb);
	if (status == 0)
		log_info("shutdown: done");
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "customer", required_argument, NULL, 'C' },
		{ "import", no_argument, NULL, 'I' },
		{ "register-webhooks", no_argument, NULL, 'R' },
		{ "since", required_argument, NULL, 'S' },
		{ "recalculate", no_argument, NULL, 'T' },
		{ "as-of", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *customer = NULL, *since = NULL;
	const char *as_of_text = NULL;
	struct config *cfg = NULL;
	int64_t as_of = 0;
	int check_only = 0, import = 0, register_hooks = 0, recalc = 0, opt, status;

	mem_init();
	db_init();
	while ((opt = getopt_long(argc, argv, "c:nVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'n': check_only = 1; break;
		case 'V': printf("tracksiesd %s\n", TS_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		case 'C': customer = optarg; break;
		case 'I': import = 1; break;
		case 'R': register_hooks = 1; break;
		case 'S': since = optarg; break;
		case 'T': recalc = 1; break;
		case 'A': as_of_text = optarg; break;
		default: usage(stderr); return 64;
		}
	}
	if (as_of_text != NULL && !recalc) {
		fprintf(stderr, "tracksiesd: --as-of goes with --recalculate\n");
		return 64;
	}
	/* A date from the future would hand out milestones never earned. */
	if (as_of_text != NULL && (tags_parse_date(as_of_text, &as_of) != TS_OK ||
	    as_of > (int64_t)time(NULL))) {
		fprintf(stderr, "tracksiesd: --as-of %s: expected a date YYYY-MM-DD"
		    " (UTC), today or earlier\n", as_of_text);
		return 64;
	}
	if (optind != argc || config_path == NULL) {
		fprintf(stderr, "tracksiesd: %s\n", optind != argc ?
		    "unexpected argument" : "--config PATH is required");
		usage(stderr);
		return 64;
	}
	if (load_config(config_path, &cfg) != 0)
		return EXIT_CONFIG;
	if (check_only) {
		if (load_rules(cfg, NULL) != 0) {
			config_free(cfg);
			return EXIT_CONFIG;
		}
		printf("%s: configuration OK\n", config_path);
		config_free(cfg);
		return 0;
	}
	if (customer != NULL) {
		status = show_customer(cfg, customer);
		config_free(cfg);
		return status;
	}
	log_set_level(cfg->log_level);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		config_free(cfg);
		return 1;
	}
	if (recalc) {
		status = recalculate(cfg, as_of_text != NULL, as_of);
	} else if (register_hooks) {
		status = reconcile_register_webhooks(cfg);
	} else if (import) {
		status = prepare_database(cfg);
		if (status == 0)
			status = import_cli_run(cfg, since != NULL ? since : "all");
	} else {
		status = run(config_path, cfg);
	}
	curl_global_cleanup();
	config_free(cfg);
	return status;
}
