/* SPDX-License-Identifier: MIT */
/*
 * config.c: defaults, every key type, every error class with its line number,
 * KEY_file secrets (temp files under a mkdtemp dir) and that secret values
 * never reach error text.
 */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tracksies/config.h"

/* Every required key; secrets chosen so a leak into errors is easy to spot. */
#define REQUIRED_STORE \
	"[store]\n" \
	"url = https://shop.example/\n" \
	"consumer_key = ck_SEKRIT_KEY\n" \
	"consumer_secret = cs_SEKRIT_SECRET\n"
#define REQUIRED_WEBHOOK "[webhook]\nsecret = wh_SEKRIT_HOOK\n"
#define REQUIRED_ADMIN "[admin]\ntoken = adm_SEKRIT_TOKEN_0123\n"
#define MINIMAL REQUIRED_STORE REQUIRED_WEBHOOK REQUIRED_ADMIN

#define CONFIG_EXAMPLE_LINE 512

static char tmpdir[256];		/* short, so paths built on it fit */

static struct config *
load_ok(const char *text)
{
	struct config *cfg = NULL;
	char *errors = NULL;
	enum ts_rc rc = config_load_string("t.conf", text, &cfg, &errors);

	ck_assert_msg(rc == TS_OK, "rc=%s errors:\n%s", rc_name(rc),
	    errors ? errors : "(none)");
	ck_assert_ptr_null(errors);
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

/* Load text that must be rejected; returns the error text (caller frees). */
static char *
load_bad(const char *text)
{
	struct config *cfg = NULL;
	char *errors = NULL;
	enum ts_rc rc = config_load_string("t.conf", text, &cfg, &errors);

	ck_assert_int_eq(rc, TS_ERR_INVALID);
	ck_assert_ptr_null(cfg);
	ck_assert_ptr_nonnull(errors);
	return errors;
}

/* Assert that text is rejected with exactly this error line among others. */
static void
assert_error(const char *text, const char *line)
{
	char *errors = load_bad(text);
	size_t n = strlen(line);
	const char *p = errors;
	int found = 0;

	for (; p != NULL && *p != '\0'; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			found = 1;
	ck_assert_msg(found, "wanted line\n  %s\ngot\n%s", line, errors);
	free(errors);
}

static size_t
count_lines(const char *s)
{
	size_t n = 1;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
write_file(const char *dir, const char *name, const char *content)
{
	char path[PATH_MAX];
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fputs(content, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static void
tmp_setup(void)
{
	const char *base = getenv("TMPDIR");

	(void)snprintf(tmpdir, sizeof(tmpdir), "%s/check_config.XXXXXX",
	    base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	(void)unsetenv("CREDENTIALS_DIRECTORY");
}

static void
rm_tree(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) != 0)
			rm_tree(path);
	}
	(void)closedir(d);
	(void)rmdir(dir);
}

static void
tmp_teardown(void)
{
	rm_tree(tmpdir);
	(void)unsetenv("CREDENTIALS_DIRECTORY");
}

START_TEST(minimal_file_gets_every_default)
{
	struct config *cfg = load_ok(MINIMAL);

	ck_assert_str_eq(cfg->store_url, "https://shop.example");
	ck_assert_int_eq(cfg->store_auth, CONFIG_AUTH_AUTO);
	ck_assert_str_eq(cfg->consumer_key, "ck_SEKRIT_KEY");
	ck_assert_str_eq(cfg->consumer_secret, "cs_SEKRIT_SECRET");
	ck_assert_ptr_null(cfg->ca_file);
	ck_assert_int_eq(cfg->timeout_ms, 30000);
	ck_assert_int_eq(cfg->max_in_flight, 4);
	ck_assert_uint_eq(cfg->n_qualifying_statuses, 2);
	ck_assert_str_eq(cfg->qualifying_statuses[0], "processing");
	ck_assert_str_eq(cfg->qualifying_statuses[1], "completed");
	ck_assert_str_eq(cfg->currency, "");
	ck_assert_str_eq(cfg->webhook_listen, "127.0.0.1:8787");
	ck_assert_str_eq(cfg->webhook_path, "/webhooks/woocommerce");
	ck_assert_str_eq(cfg->webhook_secret, "wh_SEKRIT_HOOK");
	ck_assert_uint_eq(cfg->max_body_bytes, 4u << 20);
	ck_assert_ptr_null(cfg->public_url);
	ck_assert_str_eq(cfg->admin_listen, "127.0.0.1:8788");
	ck_assert_str_eq(cfg->admin_token, "adm_SEKRIT_TOKEN_0123");
	ck_assert_str_eq(cfg->db_path, "/var/lib/tracksiesd/tracksiesd.db");
	ck_assert_int_eq(cfg->reconcile_interval_s, 15 * 60);
	ck_assert(!cfg->webhook_autorepair);
	ck_assert_ptr_null(cfg->smtp_url);
	ck_assert_ptr_null(cfg->smtp_from);
	ck_assert_ptr_null(cfg->smtp_to);
	ck_assert_ptr_null(cfg->smtp_username);
	ck_assert_ptr_null(cfg->smtp_password);
	ck_assert_ptr_null(cfg->tags_rules_file);
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_INFO);
	config_free(cfg);
	config_free(NULL);
}
END_TEST

START_TEST(every_key_is_parsed)
{
	struct config *cfg = load_ok(
	    "[store]\n"
	    "url = http://shop.test:8080/wp\n"
	    "auth = oauth1\n"
	    "consumer_key = ck\n"
	    "consumer_secret = cs\n"
	    "ca_file = /etc/ssl/shop.pem\n"
	    "timeout_ms = 1500\n"
	    "max_in_flight = 64\n"
	    "qualifying_statuses = completed\n"
	    "currency = eur\n"
	    "[webhook]\n"
	    "listen = [::1]:0\n"
	    "path = /hooks/wc\n"
	    "secret = s\n"
	    "max_body_bytes = 512K\n"
	    "public_url = https://hooks.example/hooks/wc\n"
	    "[admin]\n"
	    "listen = localhost:9000\n"
	    "token = 0123456789abcdef\n"
	    "[database]\n"
	    "path = /srv/t.db\n"
	    "[reconcile]\n"
	    "interval = 2h\n"
	    "webhook_autorepair = yes\n"
	    "[smtp]\n"
	    "url = smtps://mail.example:465\n"
	    "from = shop@example.org\n"
	    "to = owner@example.org\n"
	    "username = mailer\n"
	    "password = pw\n"
	    "[tags]\n"
	    "rules_file = /etc/tracksiesd/tags.json\n"
	    "[log]\n"
	    "level = debug\n");

	ck_assert_str_eq(cfg->store_url, "http://shop.test:8080/wp");
	ck_assert_int_eq(cfg->store_auth, CONFIG_AUTH_OAUTH1);
	ck_assert_str_eq(cfg->ca_file, "/etc/ssl/shop.pem");
	ck_assert_int_eq(cfg->timeout_ms, 1500);
	ck_assert_int_eq(cfg->max_in_flight, 64);
	ck_assert_uint_eq(cfg->n_qualifying_statuses, 1);
	ck_assert_str_eq(cfg->qualifying_statuses[0], "completed");
	ck_assert_str_eq(cfg->currency, "EUR");
	ck_assert_str_eq(cfg->webhook_listen, "[::1]:0");
	ck_assert_str_eq(cfg->webhook_path, "/hooks/wc");
	ck_assert_str_eq(cfg->webhook_secret, "s");
	ck_assert_uint_eq(cfg->max_body_bytes, 512u * 1024);
	ck_assert_str_eq(cfg->public_url, "https://hooks.example/hooks/wc");
	ck_assert_str_eq(cfg->admin_listen, "localhost:9000");
	ck_assert_str_eq(cfg->admin_token, "0123456789abcdef");
	ck_assert_str_eq(cfg->db_path, "/srv/t.db");
	ck_assert_int_eq(cfg->reconcile_interval_s, 7200);
	ck_assert(cfg->webhook_autorepair);
	ck_assert_str_eq(cfg->smtp_url, "smtps://mail.example:465");
	ck_assert_str_eq(cfg->smtp_from, "shop@example.org");
	ck_assert_str_eq(cfg->smtp_to, "owner@example.org");
	ck_assert_str_eq(cfg->smtp_username, "mailer");
	ck_assert_str_eq(cfg->smtp_password, "pw");
	ck_assert_str_eq(cfg->tags_rules_file, "/etc/tracksiesd/tags.json");
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_DEBUG);
	config_free(cfg);
}
END_TEST

/* MINIMAL is lines 1-8, so extra text starts on line 9. */
static struct config *
load_with(const char *extra)
{
	char text[8192];

	(void)snprintf(text, sizeof(text), "%s%s", MINIMAL, extra);
	return load_ok(text);
}

static void
assert_error_with(const char *extra, const char *line)
{
	char text[8192];

	(void)snprintf(text, sizeof(text), "%s%s", MINIMAL, extra);
	assert_error(text, line);
}

START_TEST(sizes_take_k_m_g_suffixes_in_powers_of_1024)
{
	static const struct { const char *v; size_t want; } cases[] = {
		{ "1024", 1024 }, { "1K", 1024 }, { "64k", 65536 }, { "4M", 4u << 20 },
		{ "256M", 256u << 20 }, { "\"2m\"", 2u << 20 }, { "3000", 3000 },
	};
	char extra[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg;

		(void)snprintf(extra, sizeof(extra), "[webhook]\nmax_body_bytes = %s\n", cases[i].v);
		cfg = load_with(extra);
		ck_assert_uint_eq(cfg->max_body_bytes, cases[i].want);
		config_free(cfg);
	}
}
END_TEST

START_TEST(durations_take_seconds_or_s_m_h_d_suffixes)
{
	static const struct { const char *v; long want; } cases[] = {
		{ "10", 10 }, { "90s", 90 }, { "15m", 900 }, { "2h", 7200 }, { "1d", 86400 },
	};
	char extra[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg;

		(void)snprintf(extra, sizeof(extra), "[reconcile]\ninterval = %s\n", cases[i].v);
		cfg = load_with(extra);
		ck_assert_int_eq(cfg->reconcile_interval_s, cases[i].want);
		config_free(cfg);
	}
}
END_TEST

START_TEST(booleans_take_every_documented_spelling)
{
	static const struct { const char *v; bool want; } cases[] = {
		{ "true", true }, { "yes", true }, { "on", true }, { "1", true }, { "TRUE", true },
		{ "false", false }, { "no", false }, { "off", false }, { "0", false }, { "Off", false },
	};
	char extra[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg;

		(void)snprintf(extra, sizeof(extra), "[reconcile]\nwebhook_autorepair = %s\n", cases[i].v);
		cfg = load_with(extra);
		ck_assert_int_eq(cfg->webhook_autorepair, cases[i].want);
		config_free(cfg);
	}
}
END_TEST

START_TEST(listen_addresses_take_ipv4_ipv6_or_localhost_and_a_port)
{
	static const char *const good[] = {
		"0.0.0.0:0", "127.0.0.1:65535", "[::]:8787", "[::1]:0", "localhost:1",
	};
	static const char *const bad[] = {
		"example.com:80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "[::1]80",
		"::1:80", "[::1:80", "1.2.3.4:-1", "1.2.3.4:8o", "[127.0.0.1]:80", ":80",
		"1.2.3.4:000080",
	};
	char extra[128], want[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct config *cfg;

		(void)snprintf(extra, sizeof(extra), "[admin]\nlisten = %s\n", good[i]);
		cfg = load_with(extra);
		ck_assert_str_eq(cfg->admin_listen, good[i]);
		config_free(cfg);
	}
	(void)snprintf(want, sizeof(want), "t.conf:10: admin.listen: expected an address "
	    "like 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (port 0-65535)");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(extra, sizeof(extra), "[admin]\nlisten = %s\n", bad[i]);
		assert_error_with(extra, want);
	}
}
END_TEST

START_TEST(quoted_values_lose_their_quotes_and_keep_inner_spaces)
{
	struct config *cfg = load_ok(
	    "[store]\n"
	    "url = \"https://shop.example/\"\n"
	    "consumer_key = \" ck with spaces \"\n"
	    "consumer_secret = \"\"\"\n"
	    "currency = \"\"\n"
	    "[webhook]\n"
	    "secret = \"#not a comment\"\n"
	    "[admin]\n"
	    "token = \"0123456789abcdef\"\n");

	ck_assert_str_eq(cfg->store_url, "https://shop.example");
	ck_assert_str_eq(cfg->consumer_key, " ck with spaces ");
	ck_assert_str_eq(cfg->consumer_secret, "\"");
	ck_assert_str_eq(cfg->currency, "");
	ck_assert_str_eq(cfg->webhook_secret, "#not a comment");
	ck_assert_str_eq(cfg->admin_token, "0123456789abcdef");
	config_free(cfg);
	assert_error_with("[store]\ncurrency = \"EUR\n",
	    "t.conf:10: store.currency: unbalanced double quote");
	assert_error_with("[store]\ncurrency = \"\n",
	    "t.conf:10: store.currency: unbalanced double quote");
}
END_TEST

START_TEST(comments_blank_lines_and_crlf_are_ignored)
{
	struct config *cfg = load_ok(
	    "# tracksiesd\r\n"
	    "; also a comment\r\n"
	    "\r\n"
	    "   \t\r\n"
	    "  [ store ]  \r\n"
	    "\t# indented comment = not a key\r\n"
	    "  url   =   https://shop.example  \r\n"
	    "consumer_key=ck\r\n"
	    "consumer_secret =cs\r\n"
	    "timeout_ms= 2500\r\n"
	    "[webhook]\n"
	    "secret = a ; b # c\n"
	    "[admin]\n"
	    "token = 0123456789abcdef");

	ck_assert_str_eq(cfg->store_url, "https://shop.example");
	ck_assert_str_eq(cfg->consumer_key, "ck");
	ck_assert_str_eq(cfg->consumer_secret, "cs");
	ck_assert_int_eq(cfg->timeout_ms, 2500);
	/* Comments are whole lines only; this is a value. */
	ck_assert_str_eq(cfg->webhook_secret, "a ; b # c");
	ck_assert_str_eq(cfg->admin_token, "0123456789abcdef");
	config_free(cfg);
}
END_TEST

START_TEST(qualifying_statuses_are_trimmed_lowercased_and_unprefixed)
{
	struct config *cfg = load_with("[store]\nqualifying_statuses ="
	    "  WC-Completed , processing,wc-on-hold,completed, custom_paid-2 \n");

	ck_assert_uint_eq(cfg->n_qualifying_statuses, 4);
	ck_assert_str_eq(cfg->qualifying_statuses[0], "completed");
	ck_assert_str_eq(cfg->qualifying_statuses[1], "processing");
	ck_assert_str_eq(cfg->qualifying_statuses[2], "on-hold");
	ck_assert_str_eq(cfg->qualifying_statuses[3], "custom_paid-2");
	config_free(cfg);

	static const char *const bad[] = { "", "processing,,completed", "processing,",
	    "paid!", "wc-", "on hold" };
	char extra[128];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(extra, sizeof(extra), "[store]\nqualifying_statuses = %s\n", bad[i]);
		assert_error_with(extra, "t.conf:10: store.qualifying_statuses: expected a "
		    "comma-separated list of order statuses like processing, completed "
		    "(letters, digits, '_', '-')");
	}
}
END_TEST

START_TEST(status_qualifies_only_for_listed_statuses)
{
	struct config *cfg = load_with("[store]\nqualifying_statuses = completed, wc-shipped\n");

	ck_assert(config_status_qualifies(cfg, "completed"));
	ck_assert(config_status_qualifies(cfg, "shipped"));
	ck_assert(!config_status_qualifies(cfg, "processing"));
	ck_assert(!config_status_qualifies(cfg, "Completed"));
	ck_assert(!config_status_qualifies(cfg, ""));
	ck_assert(!config_status_qualifies(cfg, NULL));
	ck_assert(!config_status_qualifies(NULL, "completed"));
	config_free(cfg);

	cfg = load_ok(MINIMAL);
	ck_assert(config_status_qualifies(cfg, "processing"));
	ck_assert(config_status_qualifies(cfg, "completed"));
	ck_assert(!config_status_qualifies(cfg, "on-hold"));
	config_free(cfg);
}
END_TEST

START_TEST(store_url_loses_trailing_slashes_but_public_url_keeps_them)
{
	struct config *cfg = load_ok(
	    "[store]\nurl = https://shop.example/wp///\nconsumer_key = k\n"
	    "consumer_secret = s\n"
	    "[webhook]\nsecret = w\npublic_url = https://hooks.example/in/\n"
	    "[admin]\ntoken = 0123456789abcdef\n");

	ck_assert_str_eq(cfg->store_url, "https://shop.example/wp");
	ck_assert_str_eq(cfg->public_url, "https://hooks.example/in/");
	config_free(cfg);
}
END_TEST

START_TEST(unknown_section_is_reported_once_with_its_line)
{
	char *errors = load_bad(MINIMAL "[stroe]\nurl = https://x\nanything = 1\n");

	ck_assert_str_eq(errors, "t.conf:9: stroe: unknown section");
	free(errors);
}
END_TEST

START_TEST(unknown_key_is_reported_with_its_line)
{
	assert_error_with("[webhook]\nsecert = x\n", "t.conf:10: webhook.secert: unknown key");
	/* Only secrets have a _file form. */
	assert_error_with("[store]\nurl_file = /x\n", "t.conf:10: store.url_file: unknown key");
	/* Keys belong to their own section. */
	assert_error_with("[admin]\npath = /x\n", "t.conf:10: admin.path: unknown key");
}
END_TEST

START_TEST(key_before_any_section_is_reported)
{
	char *errors = load_bad("log_level = debug\n" MINIMAL);

	ck_assert_str_eq(errors, "t.conf:1: log_level: key outside any [section]");
	free(errors);
}
END_TEST

START_TEST(duplicate_key_is_reported_with_the_first_line)
{
	assert_error_with("[store]\ntimeout_ms = 100\n\ntimeout_ms = 200\n",
	    "t.conf:12: store.timeout_ms: duplicate key (first set on line 10)");
	/* A reopened section still sees the first value. */
	assert_error_with("[webhook]\nsecret = again\n",
	    "t.conf:10: webhook.secret: duplicate key (first set on line 6)");
}
END_TEST

START_TEST(malformed_lines_are_reported)
{
	assert_error_with("[store]\njust some words\n",
	    "t.conf:10: malformed line, expected key = value or [section]");
	assert_error_with("[store]\n= value\n",
	    "t.conf:10: malformed line, expected key = value or [section]");
	assert_error_with("[store\n",
	    "t.conf:9: malformed section header, expected [name]");
	assert_error_with("[ ]\n",
	    "t.conf:9: malformed section header, expected [name]");
}
END_TEST

START_TEST(bad_values_say_what_is_expected)
{
	static const struct { const char *extra, *want; } cases[] = {
		{ "[store]\nauth = digest\n", "store.auth: expected auto, basic or oauth1" },
		{ "[store]\ntimeout_ms = fast\n", "store.timeout_ms: expected an integer" },
		{ "[store]\nmax_in_flight = 4.5\n", "store.max_in_flight: expected an integer" },
		{ "[store]\nmax_in_flight = +4\n", "store.max_in_flight: expected an integer" },
		{ "[store]\nca_file =\n", "store.ca_file: expected a non-empty value" },
		{ "[store]\ncurrency = EURO\n", "store.currency: expected a 3-letter currency code like EUR, or \"\" to ask the store" },
		{ "[store]\ncurrency = E1R\n", "store.currency: expected a 3-letter currency code like EUR, or \"\" to ask the store" },
		{ "[webhook]\nmax_body_bytes = 4MB\n", "webhook.max_body_bytes: expected a size like 4M (bytes, or a K, M or G suffix)" },
		{ "[webhook]\nmax_body_bytes = -4M\n", "webhook.max_body_bytes: expected a size like 4M (bytes, or a K, M or G suffix)" },
		{ "[webhook]\npath = hooks\n", "webhook.path: expected a path starting with '/', without spaces, '?' or '#'" },
		{ "[webhook]\npath = /hooks?x=1\n", "webhook.path: expected a path starting with '/', without spaces, '?' or '#'" },
		{ "[webhook]\npath = /my hooks\n", "webhook.path: expected a path starting with '/', without spaces, '?' or '#'" },
		{ "[webhook]\npublic_url = ftp://x\n", "webhook.public_url: expected a URL like http://host or https://host" },
		{ "[webhook]\npublic_url = https://\n", "webhook.public_url: expected a URL like http://host or https://host" },
		{ "[reconcile]\ninterval = 15 minutes\n", "reconcile.interval: expected a duration like 15m (seconds, or an s, m, h or d suffix)" },
		{ "[reconcile]\ninterval = 1w\n", "reconcile.interval: expected a duration like 15m (seconds, or an s, m, h or d suffix)" },
		{ "[reconcile]\nwebhook_autorepair = maybe\n", "reconcile.webhook_autorepair: expected true or false (or yes/no, on/off, 1/0)" },
		{ "[smtp]\nurl = http://mail\nfrom = a@b\nto = c@d\n", "smtp.url: expected a URL like smtp://host or smtps://host" },
		{ "[log]\nlevel = verbose\n", "log.level: expected error, warn, info or debug" },
		{ "[database]\npath = \"\"\n", "database.path: expected a non-empty value" },
	};
	char want[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(want, sizeof(want), "t.conf:10: %s", cases[i].want);
		assert_error_with(cases[i].extra, want);
	}
	assert_error("[store]\nurl = shop.example\nconsumer_key = k\nconsumer_secret = s\n"
	    "[webhook]\nsecret = w\n[admin]\ntoken = 0123456789abcdef\n",
	    "t.conf:2: store.url: expected a URL like http://host or https://host");
}
END_TEST

START_TEST(out_of_bounds_values_state_the_bounds)
{
	static const struct { const char *extra, *want; } cases[] = {
		{ "[store]\ntimeout_ms = 99\n", "store.timeout_ms: must be between 100 and 600000" },
		{ "[store]\ntimeout_ms = -1\n", "store.timeout_ms: must be between 100 and 600000" },
		{ "[store]\ntimeout_ms = 99999999999999999999999\n", "store.timeout_ms: must be between 100 and 600000" },
		{ "[store]\nmax_in_flight = 0\n", "store.max_in_flight: must be between 1 and 64" },
		{ "[store]\nmax_in_flight = 65\n", "store.max_in_flight: must be between 1 and 64" },
		{ "[webhook]\nmax_body_bytes = 1023\n", "webhook.max_body_bytes: must be between 1K and 256M" },
		{ "[webhook]\nmax_body_bytes = 257M\n", "webhook.max_body_bytes: must be between 1K and 256M" },
		{ "[webhook]\nmax_body_bytes = 99999999999G\n", "webhook.max_body_bytes: must be between 1K and 256M" },
		{ "[reconcile]\ninterval = 9s\n", "reconcile.interval: must be between 10s and 1d" },
		{ "[reconcile]\ninterval = 25h\n", "reconcile.interval: must be between 10s and 1d" },
	};
	char want[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(want, sizeof(want), "t.conf:10: %s", cases[i].want);
		assert_error_with(cases[i].extra, want);
	}
	assert_error(REQUIRED_STORE REQUIRED_WEBHOOK "[admin]\ntoken = 0123456789abcde\n",
	    "t.conf:8: admin.token: must be at least 16 characters");
}
END_TEST

START_TEST(missing_required_keys_point_at_their_section_header)
{
	char *errors = load_bad(
	    "[store]\n"
	    "url = https://shop.example\n"
	    "consumer_key = ck\n"
	    "[webhook]\n"
	    "listen = 127.0.0.1:0\n");

	ck_assert_str_eq(errors,
	    "t.conf:1: store.consumer_secret: required; set consumer_secret or consumer_secret_file\n"
	    "t.conf:4: webhook.secret: required; set secret or secret_file\n"
	    "t.conf: admin.token: required; set token or token_file");
	free(errors);
	assert_error("", "t.conf: store.url: required");
}
END_TEST

START_TEST(every_error_is_reported_at_once)
{
	char *errors = load_bad(
	    "orphan = 1\n"			/* 1 */
	    "[store]\n"				/* 2 */
	    "url = https://shop.example\n"	/* 3 */
	    "timeout_ms = 5\n"			/* 4 */
	    "consumer_key = ck\n"		/* 5 */
	    "consumer_secret = cs\n"		/* 6 */
	    "[webhook]\n"			/* 7 */
	    "secret = w\n"			/* 8 */
	    "colour = blue\n"			/* 9 */
	    "[admin]\n"				/* 10 */
	    "token = 0123456789abcdef\n"	/* 11 */
	    "no equals sign\n"			/* 12 */
	    "[log]\n"				/* 13 */
	    "level = loud\n");			/* 14 */

	ck_assert_str_eq(errors,
	    "t.conf:1: orphan: key outside any [section]\n"
	    "t.conf:4: store.timeout_ms: must be between 100 and 600000\n"
	    "t.conf:9: webhook.colour: unknown key\n"
	    "t.conf:12: malformed line, expected key = value or [section]\n"
	    "t.conf:14: log.level: expected error, warn, info or debug");
	free(errors);
}
END_TEST

START_TEST(too_many_errors_are_capped_with_a_count)
{
	size_t size = 200 * 16 + sizeof(MINIMAL), n = 0;
	char *text = malloc(size), *errors;

	ck_assert_ptr_nonnull(text);
	n += (size_t)snprintf(text, size, "%s", MINIMAL);
	for (int i = 0; i < 150; i++)
		n += (size_t)snprintf(text + n, size - n, "junk\n");
	errors = load_bad(text);
	ck_assert_uint_eq(count_lines(errors), 101);
	ck_assert_ptr_nonnull(strstr(errors, "t.conf:108: malformed line"));
	ck_assert_ptr_null(strstr(errors, "t.conf:109:"));
	ck_assert_ptr_nonnull(strstr(errors, "\nt.conf: 50 more errors not shown"));
	free(errors);
	free(text);
}
END_TEST

START_TEST(overlong_line_is_an_error_not_split)
{
	size_t size = 9000;
	char *text = malloc(size), *errors;
	struct config *cfg;
	int n;

	ck_assert_ptr_nonnull(text);
	/* A line of exactly 4096 bytes is fine. */
	n = snprintf(text, size, REQUIRED_STORE REQUIRED_ADMIN "[webhook]\nsecret = ");
	memset(text + n, 'a', 4096 - strlen("secret = "));
	text[n + 4096 - strlen("secret = ")] = '\0';
	strcat(text, "\n");
	cfg = load_ok(text);
	ck_assert_uint_eq(strlen(cfg->webhook_secret), 4096 - strlen("secret = "));
	config_free(cfg);

	/* One byte more is rejected, and the tail is not read as a line. */
	text[strlen(text) - 1] = 'a';
	strcat(text, "\n");
	errors = load_bad(text);
	ck_assert_str_eq(errors, "t.conf:8: line longer than 4096 bytes\n"
	    "t.conf:7: webhook.secret: required; set secret or secret_file");
	free(errors);
	free(text);
}
END_TEST

START_TEST(smtp_needs_url_from_and_to_together)
{
	assert_error_with("[smtp]\nurl = smtp://mail.example\n",
	    "t.conf:9: smtp.from: required when smtp.url is set");
	assert_error_with("[smtp]\nurl = smtp://mail.example\n",
	    "t.conf:9: smtp.to: required when smtp.url is set");
	assert_error_with("[smtp]\nfrom = a@example.org\n",
	    "t.conf:10: smtp.from: set without smtp.url");
	assert_error_with("[smtp]\npassword = pw\n",
	    "t.conf:10: smtp.password: set without smtp.url");
}
END_TEST

/* [webhook] is line 7, secret_line starts on line 8. */
static char *
config_with_secret_line(const char *secret_line)
{
	static char text[PATH_MAX + 512];

	(void)snprintf(text, sizeof(text), REQUIRED_STORE REQUIRED_ADMIN "[webhook]\n%s\n",
	    secret_line);
	return text;
}

START_TEST(secret_file_is_read_without_one_trailing_newline)
{
	static const struct { const char *content, *want; } cases[] = {
		{ "plain", "plain" }, { "lf\n", "lf" }, { "crlf\r\n", "crlf" },
		{ "two\n\n", "two\n" }, { " spaced \n", " spaced " },
	};
	char line[PATH_MAX + 64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg;

		write_file(tmpdir, "webhook_secret", cases[i].content);
		(void)snprintf(line, sizeof(line), "secret_file = %s/webhook_secret", tmpdir);
		cfg = load_ok(config_with_secret_line(line));
		ck_assert_str_eq(cfg->webhook_secret, cases[i].want);
		config_free(cfg);
	}
}
END_TEST

START_TEST(relative_secret_file_is_found_in_credentials_directory)
{
	struct config *cfg;
	char *errors = NULL;

	write_file(tmpdir, "webhook_secret", "from-credentials\n");
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", tmpdir, 1), 0);
	ck_assert_int_eq(config_load_string("/nonexistent/etc/t.conf",
	    config_with_secret_line("secret_file = webhook_secret"), &cfg, &errors), TS_OK);
	ck_assert_str_eq(cfg->webhook_secret, "from-credentials");
	config_free(cfg);
}
END_TEST

START_TEST(relative_secret_file_is_found_next_to_the_config_file)
{
	struct config *cfg = NULL;
	char path[PATH_MAX], *errors = NULL;

	ck_assert_int_eq(mkdir(strcat(strcpy(path, tmpdir), "/keys"), 0700), 0);
	write_file(path, "token", "0123456789abcdef-from-file\n");
	write_file(tmpdir, "t.conf", REQUIRED_STORE REQUIRED_WEBHOOK
	    "[admin]\ntoken_file = keys/token\n");
	(void)snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
	ck_assert_int_eq(config_load(path, &cfg, &errors), TS_OK);
	ck_assert_ptr_null(errors);
	ck_assert_str_eq(cfg->admin_token, "0123456789abcdef-from-file");
	config_free(cfg);
}
END_TEST

START_TEST(unreadable_secret_file_names_file_line_and_key)
{
	char want[PATH_MAX * 2], line[PATH_MAX + 32];

	(void)snprintf(want, sizeof(want), "t.conf:8: webhook.secret_file: cannot read "
	    "%s/nope: No such file or directory", tmpdir);
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", tmpdir, 1), 0);
	assert_error(config_with_secret_line("secret_file = nope"), want);
	(void)snprintf(want, sizeof(want), "t.conf:8: webhook.secret_file: cannot read "
	    "%s: Is a directory", tmpdir);
	(void)snprintf(line, sizeof(line), "secret_file = %s", tmpdir);
	assert_error(config_with_secret_line(line), want);
	assert_error(config_with_secret_line("secret_file ="),
	    "t.conf:8: webhook.secret_file: expected a file name");
}
END_TEST

START_TEST(empty_or_oversized_secret_file_is_rejected)
{
	char want[PATH_MAX * 2], big[5000];

	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", tmpdir, 1), 0);
	write_file(tmpdir, "empty", "");
	write_file(tmpdir, "newline", "\n");
	(void)snprintf(want, sizeof(want), "t.conf:8: webhook.secret_file: %s/empty: file is empty", tmpdir);
	assert_error(config_with_secret_line("secret_file = empty"), want);
	(void)snprintf(want, sizeof(want), "t.conf:8: webhook.secret_file: %s/newline: file is empty", tmpdir);
	assert_error(config_with_secret_line("secret_file = newline"), want);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(tmpdir, "big", big);
	(void)snprintf(want, sizeof(want), "t.conf:8: webhook.secret_file: %s/big: larger than 4096 bytes", tmpdir);
	assert_error(config_with_secret_line("secret_file = big"), want);
	/* The cap counts the file, newline included. */
	big[4095] = '\n';
	big[4096] = '\0';
	write_file(tmpdir, "big", big);
	{
		struct config *cfg = load_ok(config_with_secret_line("secret_file = big"));
		ck_assert_uint_eq(strlen(cfg->webhook_secret), 4095);
		config_free(cfg);
	}
}
END_TEST

START_TEST(secret_and_secret_file_together_are_rejected)
{
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", tmpdir, 1), 0);
	write_file(tmpdir, "s", "from-file");
	assert_error(config_with_secret_line("secret = inline\nsecret_file = s"),
	    "t.conf:9: webhook.secret: both secret and secret_file are set (lines 8 and 9)");
	assert_error(config_with_secret_line("secret_file = s\nsecret = inline"),
	    "t.conf:9: webhook.secret: both secret and secret_file are set (lines 8 and 9)");
	assert_error(config_with_secret_line("secret_file = s\nsecret_file = s"),
	    "t.conf:9: webhook.secret_file: duplicate key (first set on line 8)");
}
END_TEST

START_TEST(secret_values_never_appear_in_errors)
{
	char *errors, path[PATH_MAX];
	struct config *cfg = NULL;

	errors = load_bad(
	    "[store]\n"
	    "url = https://shop.example\n"
	    "consumer_key = SEKRIT_A\n"
	    "consumer_key = SEKRIT_B\n"
	    "consumer_secret = \"SEKRIT_C\n"
	    "[webhook]\n"
	    "secret = SEKRIT_D\n"
	    "SEKRIT_E\n"
	    "[admin]\n"
	    "token = SEKRIT_F\n"
	    "[smtp]\n"
	    "password = SEKRIT_G\n");
	ck_assert_uint_eq(count_lines(errors), 6);
	ck_assert_msg(strstr(errors, "SEKRIT") == NULL, "leaked:\n%s", errors);
	free(errors);

	write_file(tmpdir, "token", "SEKRIT_H\n");
	write_file(tmpdir, "t.conf", REQUIRED_STORE REQUIRED_WEBHOOK "[admin]\ntoken_file = token\n");
	(void)snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
	ck_assert_int_eq(config_load(path, &cfg, &errors), TS_ERR_INVALID);
	ck_assert_ptr_nonnull(errors);
	ck_assert_ptr_nonnull(strstr(errors, "admin.token_file: must be at least 16 characters"));
	ck_assert_msg(strstr(errors, "SEKRIT") == NULL, "leaked:\n%s", errors);
	free(errors);
}
END_TEST

START_TEST(config_load_reads_a_file_and_names_it_in_errors)
{
	struct config *cfg = NULL;
	char path[PATH_MAX], want[PATH_MAX + 64], *errors = NULL;

	write_file(tmpdir, "good.conf", MINIMAL "[log]\nlevel = warn\n");
	(void)snprintf(path, sizeof(path), "%s/good.conf", tmpdir);
	ck_assert_int_eq(config_load(path, &cfg, &errors), TS_OK);
	ck_assert_ptr_null(errors);
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_WARN);
	config_free(cfg);

	write_file(tmpdir, "bad.conf", MINIMAL "[log]\nlevel = loud\n");
	(void)snprintf(path, sizeof(path), "%s/bad.conf", tmpdir);
	ck_assert_int_eq(config_load(path, &cfg, &errors), TS_ERR_INVALID);
	ck_assert_ptr_null(cfg);
	(void)snprintf(want, sizeof(want), "%s:10: log.level: expected error, warn, info or debug", path);
	ck_assert_str_eq(errors, want);
	free(errors);
}
END_TEST

START_TEST(missing_config_file_is_an_io_error)
{
	struct config *cfg = NULL;
	char path[PATH_MAX], want[PATH_MAX + 64], *errors = NULL;

	(void)snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	ck_assert_int_eq(config_load(path, &cfg, &errors), TS_ERR_IO);
	ck_assert_ptr_null(cfg);
	(void)snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	ck_assert_str_eq(errors, want);
	free(errors);

	errors = NULL;
	ck_assert_int_eq(config_load(tmpdir, &cfg, &errors), TS_ERR_IO);
	(void)snprintf(want, sizeof(want), "%s: cannot read: Is a directory", tmpdir);
	ck_assert_str_eq(errors, want);
	free(errors);
}
END_TEST

/* The example sits at the top of the tree; find it from this file's path. */
static void
example_path(char *buf, size_t size)
{
	static const char self[] = "tests/unit/check_config.c";
	size_t n = strlen(__FILE__) - (sizeof(self) - 1);

	ck_assert_msg(strcmp(__FILE__ + n, self) == 0, "unexpected __FILE__ %s", __FILE__);
	(void)snprintf(buf, size, "%.*stracksiesd.conf.example", (int)n, __FILE__);
}

START_TEST(example_file_documents_every_key_with_its_default)
{
	char path[PATH_MAX], line[CONFIG_EXAMPLE_LINE], *text, *eq;
	struct config *cfg, *def;
	size_t len = 0, cap = 65536;
	int keys = 0;
	FILE *f;

	example_path(path, sizeof(path));
	ck_assert_msg((f = fopen(path, "r")) != NULL, "%s: %s", path, strerror(errno));
	ck_assert_ptr_nonnull(text = calloc(1, cap));
	/* Uncomment every "#key = value" line; secrets come from credential files. */
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *l = line;

		if (line[0] == '#' && islower((unsigned char)line[1]) &&
		    (eq = strstr(line, " = ")) != NULL) {
			l = line + 1;
			keys++;
			/* Secrets name a credential; ca_file and rules_file are absolute. */
			if (eq - line > 5 && strncmp(eq - 5, "_file", 5) == 0 && eq[3] != '/') {
				eq[strcspn(eq, "\n")] = '\0';
				write_file(tmpdir, eq + 3, "example-credential-value\n");
				strcat(eq, "\n");
			}
		}
		ck_assert_uint_lt(len + strlen(l), cap);
		len += (size_t)snprintf(text + len, cap - len, "%s", l);
	}
	(void)fclose(f);
	ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", tmpdir, 1), 0);
	cfg = load_ok(text);
	def = load_ok(MINIMAL);
	/* 27 keys in config.c's table: a new key needs a line in the example. */
	ck_assert_int_eq(keys, 27);
	ck_assert_str_eq(cfg->admin_token, "example-credential-value");
	/* Optional keys are all shown, so nothing is left unset. */
	ck_assert_ptr_nonnull(cfg->ca_file);
	ck_assert_ptr_nonnull(cfg->public_url);
	ck_assert_ptr_nonnull(cfg->smtp_password);
	ck_assert_ptr_nonnull(cfg->tags_rules_file);
	/* And the documented defaults are the real ones. */
	ck_assert_int_eq(cfg->store_auth, def->store_auth);
	ck_assert_int_eq(cfg->timeout_ms, def->timeout_ms);
	ck_assert_int_eq(cfg->max_in_flight, def->max_in_flight);
	ck_assert_int_eq(cfg->admin_threads, def->admin_threads);
	ck_assert_uint_eq(cfg->n_qualifying_statuses, def->n_qualifying_statuses);
	for (size_t i = 0; i < def->n_qualifying_statuses; i++)
		ck_assert_str_eq(cfg->qualifying_statuses[i], def->qualifying_statuses[i]);
	ck_assert_str_eq(cfg->currency, def->currency);
	ck_assert_str_eq(cfg->webhook_listen, def->webhook_listen);
	ck_assert_str_eq(cfg->webhook_path, def->webhook_path);
	ck_assert_uint_eq(cfg->max_body_bytes, def->max_body_bytes);
	ck_assert_str_eq(cfg->admin_listen, def->admin_listen);
	ck_assert_str_eq(cfg->db_path, def->db_path);
	ck_assert_int_eq(cfg->reconcile_interval_s, def->reconcile_interval_s);
	ck_assert_int_eq(cfg->webhook_autorepair, def->webhook_autorepair);
	ck_assert_int_eq(cfg->log_level, def->log_level);
	config_free(def);
	config_free(cfg);
	free(text);
}
END_TEST

static void
add(Suite *s, const char *name, const TTest *test, bool tmp)
{
	TCase *tc = tcase_create(name);

	if (tmp)
		tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test);
	suite_add_tcase(s, tc);
}

#define ADD(s, t) add(s, #t, t, false)
#define ADD_TMP(s, t) add(s, #t, t, true)

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");

	ADD(s, minimal_file_gets_every_default);
	ADD(s, every_key_is_parsed);
	ADD(s, sizes_take_k_m_g_suffixes_in_powers_of_1024);
	ADD(s, durations_take_seconds_or_s_m_h_d_suffixes);
	ADD(s, booleans_take_every_documented_spelling);
	ADD(s, listen_addresses_take_ipv4_ipv6_or_localhost_and_a_port);
	ADD(s, quoted_values_lose_their_quotes_and_keep_inner_spaces);
	ADD(s, comments_blank_lines_and_crlf_are_ignored);
	ADD(s, qualifying_statuses_are_trimmed_lowercased_and_unprefixed);
	ADD(s, status_qualifies_only_for_listed_statuses);
	ADD(s, store_url_loses_trailing_slashes_but_public_url_keeps_them);
	ADD(s, unknown_section_is_reported_once_with_its_line);
	ADD(s, unknown_key_is_reported_with_its_line);
	ADD(s, key_before_any_section_is_reported);
	ADD(s, duplicate_key_is_reported_with_the_first_line);
	ADD(s, malformed_lines_are_reported);
	ADD(s, bad_values_say_what_is_expected);
	ADD(s, out_of_bounds_values_state_the_bounds);
	ADD(s, missing_required_keys_point_at_their_section_header);
	ADD(s, every_error_is_reported_at_once);
	ADD(s, too_many_errors_are_capped_with_a_count);
	ADD(s, overlong_line_is_an_error_not_split);
	ADD(s, smtp_needs_url_from_and_to_together);
	ADD_TMP(s, secret_file_is_read_without_one_trailing_newline);
	ADD_TMP(s, relative_secret_file_is_found_in_credentials_directory);
	ADD_TMP(s, relative_secret_file_is_found_next_to_the_config_file);
	ADD_TMP(s, unreadable_secret_file_names_file_line_and_key);
	ADD_TMP(s, empty_or_oversized_secret_file_is_rejected);
	ADD_TMP(s, secret_and_secret_file_together_are_rejected);
	ADD_TMP(s, secret_values_never_appear_in_errors);
	ADD_TMP(s, config_load_reads_a_file_and_names_it_in_errors);
	ADD_TMP(s, missing_config_file_is_an_io_error);
	ADD_TMP(s, example_file_documents_every_key_with_its_default);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
