/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: config_load_string on fuzzed text. A valid result must be
 * complete; a rejection must come with error text and no configuration.
 * KEY_file secrets are read from a private $CREDENTIALS_DIRECTORY holding
 * a few files; inputs naming device or kernel files are skipped (a FIFO
 * or a terminal would block the fuzzer, not find a bug).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracksies/config.h"

#include "fuzz_targets.h"

static char fuzz_config_dir[512];

void
fuzz_config_init(void)
{
	static const char *const files[][2] = {
		{ "consumer_key", "ck_fuzz\n" },
		{ "consumer_secret", "cs_fuzz\r\n" },
		{ "webhook_secret", "realwc-webhook-secret-0123456789" },
		{ "admin_token", "fuzz-admin-token-0123456789abcdef\n" },
		{ "empty", "" },
	};
	char path[600];

	if (fuzz_config_dir[0] != '\0')
		return;
	snprintf(fuzz_config_dir, sizeof(fuzz_config_dir), "%s/tracksies-fuzz-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(fuzz_config_dir) == NULL)
		abort();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;
		snprintf(path, sizeof(path), "%s/%s", fuzz_config_dir, files[i][0]);
		if ((f = fopen(path, "w")) == NULL)
			abort();
		fputs(files[i][1], f);
		fclose(f);
	}
	if (setenv("CREDENTIALS_DIRECTORY", fuzz_config_dir, 1) != 0)
		abort();
}

int
fuzz_config(const uint8_t *data, size_t size)
{
	static const char *const unsafe[] = { "dev/", "proc/", "sys/", "run/" };
	struct config *cfg = NULL;
	char *text, *errors = NULL;
	enum ts_rc rc;

	fuzz_config_init();
	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
		if (strstr(text, unsafe[i]) != NULL) {
			free(text);
			return 0;
		}
	rc = config_load_string("fuzz.conf", text, &cfg, &errors);
	if (rc == TS_OK) {
		/* Complete: what main and the threads dereference. */
		if (cfg == NULL || errors != NULL || cfg->store_url == NULL ||
		    cfg->consumer_key == NULL || cfg->consumer_secret == NULL ||
		    cfg->webhook_secret == NULL || cfg->webhook_listen == NULL ||
		    cfg->webhook_path == NULL || cfg->webhook_path[0] != '/' ||
		    cfg->admin_listen == NULL || cfg->db_path == NULL ||
		    cfg->max_in_flight < 1 || cfg->timeout_ms <= 0 ||
		    cfg->n_qualifying_statuses == 0)
			abort();
		for (size_t i = 0; i < cfg->n_qualifying_statuses; i++)
			(void)config_status_qualifies(cfg, cfg->qualifying_statuses[i]);
		(void)config_status_qualifies(cfg, "completed");
	} else if (cfg != NULL || (rc == TS_ERR_INVALID && errors == NULL)) {
		abort();
	}
	config_free(cfg);
	free(errors);
	free(text);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_config_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_config(data, size);
}
#endif
