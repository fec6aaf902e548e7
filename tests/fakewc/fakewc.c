/* SPDX-License-Identifier: MIT */
/*
 * fakewc: command line, start-up and shutdown. Binds what --listen says,
 * populates the store, optionally registers the five webhooks tracksiesd
 * needs, prints exactly one line "fakewc: listening port=N" to stdout and
 * waits for SIGTERM or SIGINT, then stops every thread and exits 0.
 */
#include "fakewc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <microhttpd.h>

struct options {
	char host[64];
	uint16_t port;
	const char *ck, *cs, *cert, *key, *hook_url, *hook_secret, *site_url;
	uint64_t seed;
	int orders, customers, workers, utc_offset_s;
	enum latency_model model;
	double scale;
	int64_t anchor;
	struct hooks_config hooks;
	bool ping_seeded;
};

static void
usage(FILE *out)
{
	fputs("usage: fakewc --consumer-key CK --consumer-secret CS\n"
	    "  [--listen 127.0.0.1:0] [--tls-cert PEM --tls-key PEM]\n"
	    "  [--webhook-url URL --webhook-secret S] [--ping-seeded]\n"
	    "  [--seed N] [--orders N] [--customers M] [--anchor-date YYYY-MM-DD]\n"
	    "  [--utc-offset +HH:MM] [--site-url URL]\n"
	    "  [--latency-model none|woo84] [--latency-scale F] [--workers 4]\n"
	    "  [--webhook-delay-ms N] [--webhook-timeout-ms N] [--no-coalesce]\n"
	    "  [--safe-remote]\n"
	    "A fake WooCommerce 8.4 store; see tests/fakewc/README.md.\n", out);
}

static bool
parse_offset(const char *s, int *out)
{
	int h = 0, m = 0, sign = 1;

	if (strcmp(s, "Z") == 0 || strcmp(s, "0") == 0) {
		*out = 0;
		return true;
	}
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (sscanf(s, "%2d:%2d", &h, &m) < 1 && sscanf(s, "%2d%2d", &h, &m) < 1)
		return false;
	if (h > 14 || m > 59)
		return false;
	*out = sign * (h * 3600 + m * 60);
	return true;
}

static bool
parse_num(const char *s, long long lo, long long hi, long long *out)
{
	char *end;

	*out = strtoll(s, &end, 10);
	return *s != '\0' && *end == '\0' && *out >= lo && *out <= hi;
}

static bool
parse_args(int argc, char **argv, struct options *o)
{
	long long n;
	int y, mo, d;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;

#define NUM(lo, hi) (v != NULL && parse_num(v, lo, hi, &n))
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--no-coalesce") == 0) {
			o->hooks.coalesce = false;
			takes = false;
		} else if (strcmp(a, "--safe-remote") == 0) {
			o->hooks.safe_remote = true;
			takes = false;
		} else if (strcmp(a, "--ping-seeded") == 0) {
			o->ping_seeded = true;
			takes = false;
		} else if (v == NULL) {
			fprintf(stderr, "fakewc: %s needs a value\n", a);
			return false;
		} else if (strcmp(a, "--listen") == 0) {
			const char *colon = strrchr(v, ':');

			if (colon == NULL || (size_t)(colon - v) >= sizeof(o->host) ||
			    !parse_num(colon + 1, 0, 65535, &n)) {
				fprintf(stderr, "fakewc: --listen HOST:PORT\n");
				return false;
			}
			snprintf(o->host, sizeof(o->host), "%.*s", (int)(colon - v),
			    v);
			o->port = (uint16_t)n;
		} else if (strcmp(a, "--consumer-key") == 0) {
			o->ck = v;
		} else if (strcmp(a, "--consumer-secret") == 0) {
			o->cs = v;
		} else if (strcmp(a, "--tls-cert") == 0) {
			o->cert = v;
		} else if (strcmp(a, "--tls-key") == 0) {
			o->key = v;
		} else if (strcmp(a, "--webhook-url") == 0) {
			o->hook_url = v;
		} else if (strcmp(a, "--webhook-secret") == 0) {
			o->hook_secret = v;
		} else if (strcmp(a, "--site-url") == 0) {
			o->site_url = v;
		} else if (strcmp(a, "--seed") == 0 && NUM(0, INT64_MAX)) {
			o->seed = (uint64_t)n;
		} else if (strcmp(a, "--orders") == 0 && NUM(0, 5000000)) {
			o->orders = (int)n;
		} else if (strcmp(a, "--customers") == 0 && NUM(0, 1000000)) {
			o->customers = (int)n;
		} else if (strcmp(a, "--workers") == 0 && NUM(1, 1024)) {
			o->workers = (int)n;
		} else if (strcmp(a, "--webhook-delay-ms") == 0 && NUM(0, 3600000)) {
			o->hooks.delay_ms = n;
		} else if (strcmp(a, "--webhook-timeout-ms") == 0 &&
		    NUM(1, 3600000)) {
			o->hooks.timeout_ms = n;
		} else if (strcmp(a, "--utc-offset") == 0 &&
		    parse_offset(v, &o->utc_offset_s)) {
		} else if (strcmp(a, "--latency-model") == 0 &&
		    (strcmp(v, "none") == 0 || strcmp(v, "woo84") == 0)) {
			o->model = strcmp(v, "woo84") == 0 ? LAT_WOO84 : LAT_NONE;
		} else if (strcmp(a, "--latency-scale") == 0 &&
		    (o->scale = strtod(v, NULL)) >= 0) {
		} else if (strcmp(a, "--anchor-date") == 0 &&
		    sscanf(v, "%4d-%2d-%2d", &y, &mo, &d) == 3) {
			o->anchor = util_timegm(y, mo, d, 0, 0, 0);
		} else {
			fprintf(stderr, "fakewc: bad option or value: %s %s\n", a, v);
			return false;
		}
#undef NUM
		if (takes)
			i++;
	}
	if (o->ck == NULL || o->cs == NULL) {
		fprintf(stderr, "fakewc: --consumer-key and --consumer-secret are "
		    "required\n");
		return false;
	}
	if ((o->cert == NULL) != (o->key == NULL) ||
	    (o->hook_url == NULL) != (o->hook_secret == NULL)) {
		fprintf(stderr, "fakewc: --tls-cert/--tls-key and --webhook-url/"
		    "--webhook-secret come in pairs\n");
		return false;
	}
	return true;
}

static void
seed_webhooks(struct fake *f, const struct options *o)
{
	static const char *const topics[] = { "order.created", "order.updated",
		"order.deleted", "order.restored",
		"action.woocommerce_payment_complete" };
	char name[96];
	int st;

	for (size_t i = 0; i < sizeof(topics) / sizeof(*topics); i++) {
		snprintf(name, sizeof(name), "tracksiesd %s", topics[i]);
		json_decref(hooks_create(f->hooks, name, topics[i], o->hook_url,
		    o->hook_secret, o->ping_seeded, &st));
	}
}

int
main(int argc, char **argv)
{
	struct options o;
	struct fake f;
	struct MHD_Daemon *d;
	sigset_t sigs;
	uint16_t port = 0;
	char site[512];
	int sig = 0, fd;

	memset(&o, 0, sizeof(o));
	snprintf(o.host, sizeof(o.host), "127.0.0.1");
	o.seed = 1;
	o.orders = 200;
	o.customers = 40;
	o.workers = 4;
	o.scale = 1.0;
	o.anchor = util_now() - util_now() % 86400;
	o.hooks.coalesce = true;
	o.hooks.timeout_ms = 60000;
	if (!parse_args(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;

	memset(&f, 0, sizeof(f));
	f.consumer_key = util_xstrdup(o.ck);
	f.consumer_secret = util_xstrdup(o.cs);
	f.tls = o.cert != NULL;
	f.nonces = json_object();
	pthread_mutex_init(&f.nonce_lock, NULL);
	f.store = store_new("http://127.0.0.1", o.utc_offset_s);
	f.faults = faults_new(o.workers, o.model, o.scale);
	f.gen.seed = o.seed;
	f.gen.orders = o.orders;
	f.gen.customers = o.customers;
	f.gen.anchor = o.anchor;
	gen_populate(f.store, &f.gen);
	f.hooks = hooks_new(f.store, &o.hooks);
	if ((fd = http_listen(o.host, o.port, &port)) < 0) {
		fprintf(stderr, "fakewc: cannot listen on %s:%u\n", o.host,
		    (unsigned)o.port);
		return 1;
	}
	/* The site URL (signed by OAuth clients, printed in every link) is
	 * final before the first request can be served. */
	if (o.site_url != NULL)
		snprintf(site, sizeof(site), "%s", o.site_url);
	else
		snprintf(site, sizeof(site), "%s://%s:%u", f.tls ? "https" : "http",
		    o.host, (unsigned)port);
	if (site[strlen(site) - 1] == '/')
		site[strlen(site) - 1] = '\0';
	free(f.store->site);
	f.store->site = util_xstrdup(site);
	if ((d = http_start(&f, fd, o.cert, o.key)) == NULL) {
		close(fd);
		return 1;
	}
	if (!hooks_start(f.hooks))
		return 1;
	if (o.hook_url != NULL)
		seed_webhooks(&f, &o);
	printf("fakewc: listening port=%u\n", (unsigned)port);
	fflush(stdout);

	(void)sigwait(&sigs, &sig);
	util_stop_all();
	MHD_stop_daemon(d);
	hooks_free(f.hooks);
	faults_free(f.faults);
	store_free(f.store);
	json_decref(f.nonces);
	pthread_mutex_destroy(&f.nonce_lock);
	free(f.tls_pem[0]);
	free(f.tls_pem[1]);
	free(f.consumer_key);
	free(f.consumer_secret);
	curl_global_cleanup();
	return 0;
}
