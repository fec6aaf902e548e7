/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: tags_load_string, the rules file a store owner edits.
 * Conditions reach SQLite's parser under tags.c's authorizer, so this also
 * fuzzes what a condition may read. A valid catalogue must be complete; a
 * rejection must come with error text and no catalogue.
 */
#include <stdlib.h>
#include <string.h>

#include "tracksies/tags.h"

#include "fuzz_targets.h"

int
fuzz_tags(const uint8_t *data, size_t size)
{
	struct tags_catalogue *cat = NULL;
	char *text, *errors = NULL;
	enum ts_rc rc;

	if (size > TAGS_MAX_FILE + 1)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	rc = tags_load_string("fuzz.rules", text, &cat, &errors);
	if (rc == TS_OK) {
		if (cat == NULL || errors != NULL ||
		    cat->n_tags > TAGS_MAX_RULES ||
		    cat->n_status_rules > TAGS_MAX_RULES)
			abort();
		for (size_t i = 0; i < cat->n_tags; i++)
			if (cat->tags[i].id == NULL || cat->tags[i].id[0] == '\0' ||
			    cat->tags[i].label == NULL || cat->tags[i].condition == NULL ||
			    cat->tags[i].channel == NULL || cat->tags[i].icon == NULL)
				abort();
		for (size_t i = 0; i < cat->n_status_rules; i++)
			if (cat->status_rules[i].id == NULL ||
			    cat->status_rules[i].status == NULL ||
			    cat->status_rules[i].condition == NULL ||
			    cat->status_rules[i].reason == NULL)
				abort();
	} else if (cat != NULL || (rc == TS_ERR_INVALID && errors == NULL)) {
		abort();
	}
	tags_catalogue_free(cat);
	free(errors);
	free(text);
	return 0;
}

#ifndef FUZZ_REPLAY
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_tags(data, size);
}
#endif
