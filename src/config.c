/* SPDX-License-Identifier: MIT */
/*
 * Configuration: the key table, a hand-written INI parser, defaults, bounds,
 * cross-key checks and KEY_file secrets. It owns struct config and the error
 * text; logging, exit codes and SIGHUP swapping are left to the caller.
 */
#include "tracksies/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define CONFIG_LINE_MAX 4096		/* longer lines are an error, never split */
#define CONFIG_SECRET_MAX 4096		/* bytes in a KEY_file */
#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_ERRORS_MAX 100		/* then one "N more" line */

enum cfg_type {
	CFG_STRING,	/* any non-empty text: file paths, addresses */
	CFG_SECRET,	/* non-empty, at least min bytes; may be given as KEY_file */
	CFG_URL,	/* arg:// or args:// and a host */
	CFG_URLPATH, CFG_ADDR, CFG_INT, CFG_LONG,
	CFG_SIZE,	/* bytes, 1024-based K/M/G suffix */
	CFG_DURATION,	/* seconds, s/m/h/d suffix */
	CFG_BOOL, CFG_AUTH, CFG_LOG_LEVEL, CFG_STATUSES, CFG_CURRENCY,
};

/* What a bad value of each type is told it should look like. */
static const char *const cfg_expect[] = {
	[CFG_STRING] = "expected a non-empty value",
	[CFG_SECRET] = "must not be empty",
	[CFG_URLPATH] = "expected a path starting with '/', without spaces, '?' or '#'",
	[CFG_ADDR] = "expected an address like 127.0.0.1:PORT, [::1]:PORT or localhost:PORT (port 0-65535)",
	[CFG_INT] = "expected an integer",
	[CFG_LONG] = "expected an integer",
	[CFG_SIZE] = "expected a size like 4M (bytes, or a K, M or G suffix)",
	[CFG_DURATION] = "expected a duration like 15m (seconds, or an s, m, h or d suffix)",
	[CFG_BOOL] = "expected true or false (or yes/no, on/off, 1/0)",
	[CFG_AUTH] = "expected auto, basic or oauth1",
	[CFG_LOG_LEVEL] = "expected error, warn, info or debug",
	[CFG_STATUSES] = "expected a comma-separated list of order statuses like processing, completed (letters, digits, '_', '-')",
	[CFG_CURRENCY] = "expected a 3-letter currency code like EUR, or \"\" to ask the store",
};

#define CFG_REQUIRED	0x1
#define CFG_STRIP_SLASH	0x2

struct config_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	size_t offset;		/* of the field in struct config */
	const char *def;	/* parsed like a file value; NULL = unset */
	long long min, max;	/* numbers: bounds; CFG_SECRET: min length */
	unsigned flags;
	const char *arg;	/* CFG_URL: scheme, also accepted with an 's' */
};

#define OFF(f) offsetof(struct config, f)

static const struct config_key config_keys[] = {
	{ "store", "url", CFG_URL, OFF(store_url), NULL, 0, 0, CFG_REQUIRED | CFG_STRIP_SLASH, "http" },
	{ "store", "auth", CFG_AUTH, OFF(store_auth), "auto", 0, 0, 0, NULL },
	{ "store", "consumer_key", CFG_SECRET, OFF(consumer_key), NULL, 1, 0, CFG_REQUIRED, NULL },
	{ "store", "consumer_secret", CFG_SECRET, OFF(consumer_secret), NULL, 1, 0, CFG_REQUIRED, NULL },
	{ "store", "ca_file", CFG_STRING, OFF(ca_file), NULL, 0, 0, 0, NULL },
	{ "store", "timeout_ms", CFG_LONG, OFF(timeout_ms), "30000", 100, 600000, 0, NULL },
	{ "store", "max_in_flight", CFG_INT, OFF(max_in_flight), "4", 1, 64, 0, NULL },
	{ "store", "qualifying_statuses", CFG_STATUSES, OFF(qualifying_statuses), "processing, completed", 0, 0, 0, NULL },
	{ "store", "currency", CFG_CURRENCY, OFF(currency), "", 0, 0, 0, NULL },
	{ "webhook", "listen", CFG_ADDR, OFF(webhook_listen), "127.0.0.1:8787", 0, 0, 0, NULL },
	{ "webhook", "path", CFG_URLPATH, OFF(webhook_path), "/webhooks/woocommerce", 0, 0, 0, NULL },
	{ "webhook", "secret", CFG_SECRET, OFF(webhook_secret), NULL, 1, 0, CFG_REQUIRED, NULL },
	{ "webhook", "max_body_bytes", CFG_SIZE, OFF(max_body_bytes), "4M", 1024, 256LL << 20, 0, NULL },
	{ "webhook", "public_url", CFG_URL, OFF(public_url), NULL, 0, 0, 0, "http" },
	{ "admin", "listen", CFG_ADDR, OFF(admin_listen), "127.0.0.1:8788", 0, 0, 0, NULL },
	{ "admin", "token", CFG_SECRET, OFF(admin_token), NULL, 16, 0, CFG_REQUIRED, NULL },
	{ "admin", "threads", CFG_INT, OFF(admin_threads), "8", 1, 64, 0, NULL },
	{ "database", "path", CFG_STRING, OFF(db_path), "/var/lib/tracksiesd/tracksiesd.db", 0, 0, 0, NULL },
	{ "reconcile", "interval", CFG_DURATION, OFF(reconcile_interval_s), "15m", 10, 86400, 0, NULL },
	{ "reconcile", "webhook_autorepair", CFG_BOOL, OFF(webhook_autorepair), "false", 0, 0, 0, NULL },
	{ "smtp", "url", CFG_URL, OFF(smtp_url), NULL, 0, 0, 0, "smtp" },
	{ "smtp", "from", CFG_STRING, OFF(smtp_from), NULL, 0, 0, 0, NULL },
	{ "smtp", "to", CFG_STRING, OFF(smtp_to), NULL, 0, 0, 0, NULL },
	{ "smtp", "username", CFG_STRING, OFF(smtp_username), NULL, 0, 0, 0, NULL },
	{ "smtp", "password", CFG_SECRET, OFF(smtp_password), NULL, 1, 0, 0, NULL },
	{ "tags", "rules_file", CFG_STRING, OFF(tags_rules_file), NULL, 0, 0, 0, NULL },
	{ "log", "level", CFG_LOG_LEVEL, OFF(log_level), "info", 0, 0, 0, NULL },
};

#define N_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* Largest first; the last entry (multiplier 1) also formats bare numbers. */
static const struct unit { char suffix; long long mult; } size_units[] = {
	{ 'G', 1LL << 30 }, { 'M', 1LL << 20 }, { 'K', 1024 }, { 0, 1 },
}, time_units[] = {
	{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 }, { 0, 1 },
};

enum { V_OK, V_BAD, V_RANGE, V_NOMEM };

/* Parse state for one file. Arrays are indexed like config_keys. */
struct loader {
	const char *name;		/* the path, for messages */
	char *dir;			/* base of relative KEY_file paths */
	struct config *cfg;
	unsigned line_of[N_KEYS];	/* where a key was set; 0 = not set */
	bool via_file[N_KEYS];		/* set as KEY_file */
	unsigned section_line[N_KEYS];	/* first [header], by the section's first key */
	char *errors;
	size_t errors_len, errors_cap;
	unsigned n_errors;
	bool nomem;
};

static bool
is_string_type(enum cfg_type t)
{
	return t == CFG_STRING || t == CFG_SECRET || t == CFG_URL ||
	    t == CFG_URLPATH || t == CFG_ADDR;
}

/* Append s to the error text; on failure only remember that memory ran out. */
static void
errors_add(struct loader *ld, const char *s)
{
	size_t n = strlen(s), need = ld->errors_len + n + 1;
	char *p;

	if (need > ld->errors_cap) {
		if ((p = realloc(ld->errors, need * 2)) == NULL) {
			ld->nomem = true;
			return;
		}
		ld->errors = p;
		ld->errors_cap = need * 2;
	}
	memcpy(ld->errors + ld->errors_len, s, n + 1);
	ld->errors_len += n;
}

/*
 * One "name:line: section.key: message" line. line 0 omits the number;
 * section or key may be NULL. Callers never pass a secret's value.
 */
__attribute__((format(printf, 5, 6)))
static void
err(struct loader *ld, unsigned line, const char *section, const char *key,
    const char *fmt, ...)
{
	char msg[CONFIG_LINE_MAX + 512];
	size_t n;
	va_list ap;

	if (++ld->n_errors > CONFIG_ERRORS_MAX)
		return;
	n = (size_t)(line ? snprintf(msg, sizeof(msg), "%s:%u: ", ld->name, line) :
	    snprintf(msg, sizeof(msg), "%s: ", ld->name));
	if (n < sizeof(msg) && (section != NULL || key != NULL))
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s%s: ",
		    section ? section : "", section && key ? "." : "", key ? key : "");
	if (n < sizeof(msg)) {
		va_start(ap, fmt);
		(void)vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
		va_end(ap);
	}
	errors_add(ld, msg);
	errors_add(ld, "\n");
}

/* strerror is not thread-safe, and config_load may run on any thread. */
static const char *
errstr(int e, char *buf, size_t size)
{
	if (strerror_r(e, buf, size) != 0)
		(void)snprintf(buf, size, "error %d", e);
	return buf;
}

static char *
trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Index of the first key of section, or -1. */
static int
find_section(const char *section)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(config_keys[i].section, section) == 0)
			return (int)i;
	return -1;
}

static int
find_key(const char *section, const char *name, size_t len)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(config_keys[i].section, section) == 0 &&
		    strncmp(config_keys[i].name, name, len) == 0 &&
		    config_keys[i].name[len] == '\0')
			return (int)i;
	return -1;
}

/*
 * Read fd to EOF into a NUL-terminated buffer of at most cap bytes. Returns 0
 * or an errno value (EFBIG past cap). The buffer is wiped when dropped, since
 * config files and KEY_files hold secrets.
 */
static int
slurp_fd(int fd, size_t cap, char **out, size_t *out_len)
{
	char *buf = malloc(cap + 2);
	size_t len = 0;
	ssize_t r = 1;
	int e = 0;

	*out = NULL;
	if (buf == NULL)
		return ENOMEM;
	while (len <= cap && r != 0) {
		if ((r = read(fd, buf + len, cap + 1 - len)) < 0 && errno != EINTR) {
			e = errno;
			break;
		}
		len += r > 0 ? (size_t)r : 0;
	}
	if (e == 0 && len > cap)
		e = EFBIG;
	if (e != 0) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		return e;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

/* Digits and an optional suffix from units; units NULL: a signed integer. */
static int
parse_number(const char *v, const struct unit *units, long long *out)
{
	const struct unit *u = units;
	char *end;
	long long n;

	if (!isdigit((unsigned char)v[0]) &&
	    !(units == NULL && v[0] == '-' && isdigit((unsigned char)v[1])))
		return V_BAD;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (units != NULL) {
		while (u->suffix != 0 &&
		    toupper((unsigned char)*end) != toupper((unsigned char)u->suffix))
			u++;
		if (u->suffix != 0)
			end++;
	}
	if (*end != '\0')
		return V_BAD;
	if (errno == ERANGE || (u != NULL && n > LLONG_MAX / u->mult))
		return V_RANGE;
	*out = u != NULL ? n * u->mult : n;
	return V_OK;
}

static void
format_number(char *buf, size_t size, long long v, const struct unit *units)
{
	const struct unit *u = units;
	char suffix[2] = { 0, 0 };

	if (u == NULL) {
		(void)snprintf(buf, size, "%lld", v);
		return;
	}
	while (v % u->mult != 0)
		u++;
	suffix[0] = u->suffix;
	(void)snprintf(buf, size, "%lld%s", v / u->mult, suffix);
}

static const struct unit *
units_of(enum cfg_type t)
{
	return t == CFG_SIZE ? size_units : t == CFG_DURATION ? time_units : NULL;
}

static bool
url_ok(const char *v, const char *scheme)
{
	size_t n = strlen(scheme);

	if (strncmp(v, scheme, n) != 0)
		return false;
	v += n;
	if (*v == 's')
		v++;
	if (strncmp(v, "://", 3) != 0 || v[3] == '\0' || v[3] == '/')
		return false;
	for (v += 3; *v != '\0'; v++)
		if (isspace((unsigned char)*v) || iscntrl((unsigned char)*v))
			return false;
	return true;
}

/* "1.2.3.4:PORT", "[::1]:PORT" or "localhost:PORT"; names are not resolved. */
static bool
addr_ok(const char *v)
{
	unsigned char sa[16];
	char host[64];
	const char *h = v, *colon;
	size_t hlen;
	int family = AF_INET;
	long port = 0;

	if (*v == '[') {
		if ((colon = strchr(v, ']')) == NULL || *++colon != ':')
			return false;
		h = v + 1;
		hlen = (size_t)(colon - 1 - h);
		family = AF_INET6;
	} else {
		if ((colon = strrchr(v, ':')) == NULL)
			return false;
		hlen = (size_t)(colon - v);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (!(family == AF_INET && strcmp(host, "localhost") == 0) &&
	    inet_pton(family, host, sa) != 1)
		return false;
	if (colon[1] == '\0' || strlen(colon + 1) > 5)
		return false;
	for (const char *p = colon + 1; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		port = port * 10 + (*p - '0');
	}
	return port <= 65535;
}

/* Trimmed, lower-cased, "wc-" dropped, duplicates dropped. */
static int
parse_statuses(struct config *cfg, const char *v)
{
	char **list = NULL, **grown, *item = NULL;
	size_t n = 0, len;
	const char *p = v, *comma;
	int rc = V_BAD;

	for (;; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		while (len > 0 && isspace((unsigned char)*p))
			p++, len--;
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if ((item = strndup(p, len)) == NULL) {
			rc = V_NOMEM;
			goto out;
		}
		for (char *c = item; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		if (strncmp(item, "wc-", 3) == 0)
			memmove(item, item + 3, strlen(item + 3) + 1);
		if (*item == '\0' || item[strspn(item,
		    "abcdefghijklmnopqrstuvwxyz0123456789_-")] != '\0')
			goto out;
		for (size_t i = 0; i < n && item != NULL; i++)
			if (strcmp(list[i], item) == 0) {
				free(item);
				item = NULL;
			}
		if (item != NULL) {
			if ((grown = realloc(list, (n + 1) * sizeof(*list))) == NULL) {
				rc = V_NOMEM;
				goto out;
			}
			list = grown;
			list[n++] = item;
			item = NULL;
		}
		if (comma == NULL)
			break;
	}
	cfg->qualifying_statuses = list;
	cfg->n_qualifying_statuses = n;
	list = NULL;
	n = 0;
	rc = V_OK;
out:
	free(item);
	while (n > 0)
		free(list[--n]);
	free(list);
	return rc;
}

static int
set_string(char **field, const char *v)
{
	return (*field = strdup(v)) == NULL ? V_NOMEM : V_OK;
}

/* Convert v into k's field of cfg. Pure: reports through its return value. */
static int
parse_value(struct config *cfg, const struct config_key *k, const char *v)
{
	static const char *const truths[] = { "true", "yes", "on", "1" };
	static const char *const lies[] = { "false", "no", "off", "0" };
	static const char *const auths[] = { "auto", "basic", "oauth1" };
	void *field = (char *)cfg + k->offset;
	long long n = 0;
	size_t len;
	int rc;

	switch (k->type) {
	case CFG_SECRET:
		if ((long long)strlen(v) < k->min && *v != '\0')
			return V_RANGE;
		/* FALLTHROUGH */
	case CFG_STRING:
		return *v == '\0' ? V_BAD : set_string(field, v);
	case CFG_URL:
		if (!url_ok(v, k->arg))
			return V_BAD;
		if ((rc = set_string(field, v)) == V_OK && (k->flags & CFG_STRIP_SLASH)) {
			char *s = *(char **)field;
			/* url_ok guarantees a host, so this keeps "scheme://h". */
			for (len = strlen(s); s[len - 1] == '/'; len--)
				s[len - 1] = '\0';
		}
		return rc;
	case CFG_URLPATH:
		if (*v != '/' || v[strcspn(v, " \t\v\f?#")] != '\0')
			return V_BAD;
		return set_string(field, v);
	case CFG_ADDR:
		return addr_ok(v) ? set_string(field, v) : V_BAD;
	case CFG_INT:
	case CFG_LONG:
	case CFG_SIZE:
	case CFG_DURATION:
		if ((rc = parse_number(v, units_of(k->type), &n)) != V_OK)
			return rc;
		if (n < k->min || n > k->max)
			return V_RANGE;
		if (k->type == CFG_INT)
			*(int *)field = (int)n;
		else if (k->type == CFG_SIZE)
			*(size_t *)field = (size_t)n;
		else
			*(long *)field = (long)n;
		return V_OK;
	case CFG_BOOL:
		for (size_t i = 0; i < 4; i++) {
			if (strcasecmp(v, truths[i]) == 0 || strcasecmp(v, lies[i]) == 0) {
				*(bool *)field = strcasecmp(v, truths[i]) == 0;
				return V_OK;
			}
		}
		return V_BAD;
	case CFG_AUTH:
		for (size_t i = 0; i < 3; i++) {
			if (strcmp(v, auths[i]) == 0) {
				*(enum config_auth *)field = (enum config_auth)i;
				return V_OK;
			}
		}
		return V_BAD;
	case CFG_LOG_LEVEL:
		return log_level_parse(v, (enum log_level *)field) == 0 ? V_OK : V_BAD;
	case CFG_STATUSES:
		return parse_statuses(cfg, v);
	case CFG_CURRENCY:
		len = strlen(v);
		if (len != 0 && (len != 3 || !isalpha((unsigned char)v[0]) ||
		    !isalpha((unsigned char)v[1]) || !isalpha((unsigned char)v[2])))
			return V_BAD;
		for (size_t i = 0; i <= len; i++)
			((char *)field)[i] = (char)toupper((unsigned char)v[i]);
		return V_OK;
	}
	return V_BAD;
}

/* Parse v for key i and report a fault as the key was written (as). */
static void
apply(struct loader *ld, size_t i, unsigned line, const char *as, const char *v)
{
	const struct config_key *k = &config_keys[i];
	char lo[32], hi[32];

	switch (parse_value(ld->cfg, k, v)) {
	case V_OK:
		break;
	case V_NOMEM:
		ld->nomem = true;
		break;
	case V_BAD:
		if (k->type == CFG_URL)
			err(ld, line, k->section, as, "expected a URL like %s://host or %ss://host",
			    k->arg, k->arg);
		else
			err(ld, line, k->section, as, "%s", cfg_expect[k->type]);
		break;
	case V_RANGE:
		if (k->type == CFG_SECRET) {
			err(ld, line, k->section, as, "must be at least %lld characters", k->min);
			break;
		}
		format_number(lo, sizeof(lo), k->min, units_of(k->type));
		format_number(hi, sizeof(hi), k->max, units_of(k->type));
		err(ld, line, k->section, as, "must be between %s and %s", lo, hi);
		break;
	}
}

/*
 * KEY_file: a relative path is looked up in $CREDENTIALS_DIRECTORY (systemd
 * LoadCredential=) or else next to the config file. One trailing "\n" or
 * "\r\n" is dropped, since editors and `echo` add one.
 */
static char *
read_secret(struct loader *ld, unsigned line, const char *section,
    const char *key, const char *path)
{
	char full[PATH_MAX], eb[128], *buf = NULL;
	const char *base;
	size_t got = 0, len;
	int fd, e;

	if (*path == '\0') {
		err(ld, line, section, key, "expected a file name");
		return NULL;
	}
	if (*path != '/') {
		base = getenv("CREDENTIALS_DIRECTORY");
		if (base == NULL || *base == '\0')
			base = ld->dir;
		if (snprintf(full, sizeof(full), "%s/%s", base, path) >= (int)sizeof(full)) {
			err(ld, line, section, key, "file name too long");
			return NULL;
		}
		path = full;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		e = errno;
	else {
		e = slurp_fd(fd, CONFIG_SECRET_MAX, &buf, &got);
		(void)close(fd);
	}
	len = got;
	if (len > 0 && buf[len - 1] == '\n' && --len > 0 && buf[len - 1] == '\r')
		len--;
	if (e == ENOMEM)
		ld->nomem = true;
	else if (e == EFBIG)
		err(ld, line, section, key, "%s: larger than %d bytes", path, CONFIG_SECRET_MAX);
	else if (e != 0)
		err(ld, line, section, key, "cannot read %s: %s", path,
		    errstr(e, eb, sizeof(eb)));
	else if (len == 0)
		err(ld, line, section, key, "%s: file is empty", path);
	else if (memchr(buf, '\0', len) != NULL)
		err(ld, line, section, key, "%s: contains a NUL byte", path);
	else {
		buf[len] = '\0';
		return buf;
	}
	if (buf != NULL) {
		OPENSSL_cleanse(buf, got);
		free(buf);
	}
	return NULL;
}

static void
set_key(struct loader *ld, unsigned line, int section, const char *key,
    const char *v)
{
	const char *sect = config_keys[section].section;
	size_t klen = strlen(key);
	bool via_file = false;
	char *content = NULL;
	int i;

	if ((i = find_key(sect, key, klen)) < 0 && klen > 5 &&
	    strcmp(key + klen - 5, "_file") == 0) {
		i = find_key(sect, key, klen - 5);
		via_file = true;
		if (i >= 0 && config_keys[i].type != CFG_SECRET)
			i = -1;
	}
	if (i < 0) {
		err(ld, line, sect, key, "unknown key");
		return;
	}
	if (ld->line_of[i] != 0) {
		if (ld->via_file[i] == via_file)
			err(ld, line, sect, key, "duplicate key (first set on line %u)",
			    ld->line_of[i]);
		else
			err(ld, line, sect, config_keys[i].name,
			    "both %s and %s_file are set (lines %u and %u)",
			    config_keys[i].name, config_keys[i].name, ld->line_of[i], line);
		return;
	}
	ld->line_of[i] = line;
	ld->via_file[i] = via_file;
	if (via_file && (v = content = read_secret(ld, line, sect, key, v)) == NULL)
		return;
	apply(ld, (size_t)i, line, key, v);
	if (content != NULL) {
		OPENSSL_cleanse(content, strlen(content));
		free(content);
	}
}

#define SECTION_NONE (-1)	/* before any header */
#define SECTION_BAD (-2)	/* under an unknown or malformed header */

static void
parse_line(struct loader *ld, unsigned line, char *s, int *section)
{
	char *eq, *key, *v, *name;
	size_t n;

	s = trim(s);
	if (*s == '\0' || *s == '#' || *s == ';')
		return;
	n = strlen(s);
	if (*s == '[') {
		*section = SECTION_BAD;
		name = s[n - 1] == ']' ? (s[n - 1] = '\0', trim(s + 1)) : "";
		if (*name == '\0') {
			err(ld, line, NULL, NULL, "malformed section header, expected [name]");
			return;
		}
		/* Keys under an unknown header are not reported again. */
		if ((*section = find_section(name)) < 0) {
			err(ld, line, name, NULL, "unknown section");
			*section = SECTION_BAD;
		} else if (ld->section_line[*section] == 0)
			ld->section_line[*section] = line;
		return;
	}
	if ((eq = strchr(s, '=')) == NULL || eq == s) {
		err(ld, line, NULL, NULL, "malformed line, expected key = value or [section]");
		return;
	}
	*eq = '\0';
	key = trim(s);
	v = trim(eq + 1);
	if (*section == SECTION_NONE) {
		err(ld, line, NULL, key, "key outside any [section]");
		return;
	}
	if (*section == SECTION_BAD)
		return;
	n = strlen(v);
	if (*v == '"') {
		if (n < 2 || v[n - 1] != '"') {
			err(ld, line, config_keys[*section].section, key,
			    "unbalanced double quote");
			return;
		}
		v[n - 1] = '\0';
		v++;
	}
	set_key(ld, line, *section, key, v);
}

static void
parse_text(struct loader *ld, const char *text, size_t len)
{
	char buf[CONFIG_LINE_MAX + 1];
	const char *p = text, *end = text + len, *start, *nl;
	int section = SECTION_NONE;
	unsigned line = 0;
	size_t n;

	while (p < end) {
		start = p;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		p = nl != NULL ? nl + 1 : end;
		line++;
		if (n > 0 && start[n - 1] == '\r')
			n--;
		if (n > CONFIG_LINE_MAX) {
			err(ld, line, NULL, NULL, "line longer than %d bytes", CONFIG_LINE_MAX);
			continue;
		}
		if (memchr(start, '\0', n) != NULL) {
			err(ld, line, NULL, NULL, "line contains a NUL byte");
			continue;
		}
		memcpy(buf, start, n);
		buf[n] = '\0';
		parse_line(ld, line, buf, &section);
		OPENSSL_cleanse(buf, n);
	}
}

/*
 * A missing key points at its section's first header, or has no line when
 * the section is absent altogether.
 */
static void
missing(struct loader *ld, size_t i, const char *why)
{
	const struct config_key *k = &config_keys[i];
	unsigned line = ld->section_line[find_section(k->section)];

	if (k->type == CFG_SECRET)
		err(ld, line, k->section, k->name, "%s; set %s or %s_file", why,
		    k->name, k->name);
	else
		err(ld, line, k->section, k->name, "%s", why);
}

static void
finish(struct loader *ld)
{
	static const char *const smtp_deps[] = { "from", "to", "username", "password" };
	bool has_url = ld->line_of[find_key("smtp", "url", 3)] != 0;
	int j;

	for (size_t i = 0; i < N_KEYS; i++) {
		if (ld->line_of[i] != 0)
			continue;
		if (config_keys[i].def != NULL)
			apply(ld, i, 0, config_keys[i].name, config_keys[i].def);
		else if (config_keys[i].flags & CFG_REQUIRED)
			missing(ld, i, "required");
	}
	/* Alerts go out only with a complete [smtp]; half of one is a typo. */
	for (size_t d = 0; d < 4; d++) {
		j = find_key("smtp", smtp_deps[d], strlen(smtp_deps[d]));
		if (!has_url && ld->line_of[j] != 0)
			err(ld, ld->line_of[j], "smtp", smtp_deps[d],
			    "set without smtp.url");
		else if (has_url && d < 2 && ld->line_of[j] == 0)
			missing(ld, (size_t)j, "required when smtp.url is set");
	}
}

/* Give the collected errors to the caller: newline-separated, not terminated. */
static enum ts_rc
hand_over(struct loader *ld, enum ts_rc rc, char **errors)
{
	char more[64];

	if (ld->n_errors > CONFIG_ERRORS_MAX) {
		(void)snprintf(more, sizeof(more), ": %u more errors not shown\n",
		    ld->n_errors - CONFIG_ERRORS_MAX);
		errors_add(ld, ld->name);
		errors_add(ld, more);
	}
	if (ld->nomem) {
		rc = TS_ERR_NOMEM;
	} else if (ld->errors != NULL) {
		ld->errors[--ld->errors_len] = '\0';
		*errors = ld->errors;
		ld->errors = NULL;
	}
	free(ld->errors);
	ld->errors = NULL;
	return rc;
}

static enum ts_rc
load_text(struct loader *ld, const char *text, size_t len,
    struct config **out, char **errors)
{
	const char *slash = strrchr(ld->name, '/');
	enum ts_rc rc;

	if (slash == NULL)
		ld->dir = strdup(".");
	else
		ld->dir = strndup(ld->name, slash == ld->name ? 1 : (size_t)(slash - ld->name));
	ld->cfg = calloc(1, sizeof(*ld->cfg));
	if (ld->dir == NULL || ld->cfg == NULL)
		ld->nomem = true;
	else {
		parse_text(ld, text, len);
		finish(ld);
	}
	if (ld->nomem || ld->n_errors > 0) {
		rc = hand_over(ld, TS_ERR_INVALID, errors);
	} else {
		*out = ld->cfg;
		ld->cfg = NULL;
		rc = TS_OK;
	}
	config_free(ld->cfg);
	free(ld->dir);
	return rc;
}

enum ts_rc
config_load_string(const char *name, const char *text, struct config **out,
    char **errors)
{
	struct loader ld = { .name = name };

	*out = NULL;
	*errors = NULL;
	return load_text(&ld, text, strlen(text), out, errors);
}

enum ts_rc
config_load(const char *path, struct config **out, char **errors)
{
	struct loader ld = { .name = path };
	char *text = NULL, eb[128];
	size_t len = 0;
	enum ts_rc rc;
	int fd, e;

	*out = NULL;
	*errors = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err(&ld, 0, NULL, NULL, "cannot open: %s", errstr(errno, eb, sizeof(eb)));
		rc = hand_over(&ld, TS_ERR_IO, errors);
		goto out;
	}
	e = slurp_fd(fd, CONFIG_FILE_MAX, &text, &len);
	(void)close(fd);
	if (e == 0) {
		rc = load_text(&ld, text, len, out, errors);
		goto out;
	}
	if (e == ENOMEM)
		ld.nomem = true;
	else if (e == EFBIG)
		err(&ld, 0, NULL, NULL, "larger than %d bytes", CONFIG_FILE_MAX);
	else
		err(&ld, 0, NULL, NULL, "cannot read: %s", errstr(e, eb, sizeof(eb)));
	rc = hand_over(&ld, e == EFBIG ? TS_ERR_INVALID : TS_ERR_IO, errors);
out:
	if (text != NULL) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	return rc;
}

void
config_free(struct config *cfg)
{
	char **s;

	if (cfg == NULL)
		return;
	for (size_t i = 0; i < N_KEYS; i++) {
		if (!is_string_type(config_keys[i].type))
			continue;
		s = (char **)(void *)((char *)cfg + config_keys[i].offset);
		if (*s != NULL && config_keys[i].type == CFG_SECRET)
			OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
	}
	for (size_t i = 0; i < cfg->n_qualifying_statuses; i++)
		free(cfg->qualifying_statuses[i]);
	free(cfg->qualifying_statuses);
	free(cfg);
}

bool
config_status_qualifies(const struct config *cfg, const char *status)
{
	if (cfg == NULL || status == NULL)
		return false;
	for (size_t i = 0; i < cfg->n_qualifying_statuses; i++)
		if (strcmp(cfg->qualifying_statuses[i], status) == 0)
			return true;
	return false;
}
