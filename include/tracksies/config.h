/* SPDX-License-Identifier: MIT */
/*
 * Configuration: one key table drives parsing, defaults, bounds, validation
 * and --check-config. The file is INI-style ([section], key = value, # or ;
 * comments). The parser reports every error as "path:line: key: message" and
 * then rejects the whole file; a valid file yields a complete struct config.
 * This module does no logging: errors come back as text for the caller.
 */
#ifndef TRACKSIES_CONFIG_H
#define TRACKSIES_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tracksies/log.h"
#include "tracksies/rc.h"

/* [store] auth: how REST requests authenticate. */
enum config_auth {
	CONFIG_AUTH_AUTO = 0,	/* basic over https, oauth1 over http */
	CONFIG_AUTH_BASIC,
	CONFIG_AUTH_OAUTH1,
};

struct config {
	/* [store] */
	char *store_url;		/* http(s)://host[:port][/path], no trailing slash */
	enum config_auth store_auth;
	char *consumer_key;		/* secret */
	char *consumer_secret;		/* secret */
	char *ca_file;			/* NULL: system trust store */
	long timeout_ms;
	int max_in_flight;
	char **qualifying_statuses;	/* lower-case, n_qualifying_statuses of them */
	size_t n_qualifying_statuses;
	char currency[4];		/* ISO 4217 upper-case, "" = ask the store */

	/* [webhook] */
	char *webhook_listen;		/* "host:port" or "[v6]:port"; port may be 0 */
	char *webhook_path;		/* starts with '/' */
	char *webhook_secret;		/* secret */
	size_t max_body_bytes;
	char *public_url;		/* NULL when unset */

	/* [admin] */
	char *admin_listen;
	char *admin_token;		/* secret */
	int admin_threads;		/* request threads, pooled connections */

	/* [database] */
	char *db_path;

	/* [reconcile] */
	long reconcile_interval_s;
	bool webhook_autorepair;

	/* [smtp] (all NULL when url is unset) */
	char *smtp_url;
	char *smtp_from;
	char *smtp_to;
	char *smtp_username;
	char *smtp_password;		/* secret */

	/* [tags] */
	char *tags_rules_file;		/* NULL: built-in defaults */

	/* [log] */
	enum log_level log_level;
};

/*
 * Parse the file at path. On TS_OK *out is a complete configuration owned by
 * the caller (free with config_free). On TS_ERR_INVALID *errors holds one
 * "path:line: section.key: message" line per fault (newline-separated, owned
 * by the caller, free()); on TS_ERR_IO the file could not be read and *errors
 * says so; TS_ERR_NOMEM otherwise. *out and *errors are NULL when not set.
 * Secrets given as KEY_file are read here (a relative path is resolved in
 * $CREDENTIALS_DIRECTORY when that is set). Any thread.
 */
enum ts_rc config_load(const char *path, struct config **out, char **errors);

/* Same as config_load, from text in memory; name is used in messages. */
enum ts_rc config_load_string(const char *name, const char *text,
    struct config **out, char **errors);

/* Free cfg, wiping secrets with OPENSSL_cleanse. NULL is a no-op. */
void config_free(struct config *cfg);

/* True when status (e.g. "completed") is in qualifying_statuses. */
bool config_status_qualifies(const struct config *cfg, const char *status);

#endif
