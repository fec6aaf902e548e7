/* SPDX-License-Identifier: MIT */
/*
 * Tag and status rules: the rules file (INI-style, parsed here, every fault
 * with its line, then rejected whole) and the catalogue in SQLite. What a
 * condition may do is tags_guard.c's; the built-in rules are
 * tags_default.c; recalculation is tags_recalc.c. Never logs.
 */
#include "tracksies/tags.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/db.h"
#include "tracksies/migrate.h"
#include "tracksies/rfm.h"
#include "tracksies/status.h"
#include "tracksies/tags_guard.h"

#define MAX_ERRORS 100
#define MAX_ID 64
#define MAX_LABEL 100
#define MAX_ICON 32
#define MAX_REASON 200

static const char *const channels[] = {
	"commitment", "tenure", "value", "price_sensitivity", "engagement",
};

static bool
in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* ---- the rules file -------------------------------------------------- */

enum key { K_LABEL, K_ICON, K_CHANNEL, K_KIND, K_WHEN, K_STATUS, K_REASON, K_N };

static const char *const key_names[K_N] = {
	"label", "icon", "channel", "kind", "when", "status", "reason",
};

enum section { SEC_NONE, SEC_TAG, SEC_STATUS, SEC_BAD };

struct fault_line {
	int line;
	int seq;
	char *text;
};

struct parser {
	const char *name;
	struct tags_catalogue *cat;
	struct db *check_db;		/* in-memory, every migration applied */
	struct fault_line errors[MAX_ERRORS];
	int n_errors;
	bool sec_failed;		/* the current section has a fault */
	char (*seen)[MAX_ID + 2];	/* 't' or 's' + id of every section */
	size_t n_seen;
	bool nomem;
	enum section sec;
	int sec_line;
	char sec_id[MAX_ID + 1];
	char *val[K_N];
	int val_line[K_N];
	int last;			/* key a continuation line extends, or -1 */
};

static void
fault(struct parser *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
fault(struct parser *p, int line, const char *fmt, ...)
{
	char msg[512], head[160];
	struct fault_line *f;
	va_list ap;

	p->sec_failed = true;
	if (p->n_errors == MAX_ERRORS)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote the file: no control character reaches a log line. */
	for (char *c = msg; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (p->sec == SEC_TAG || p->sec == SEC_STATUS)
		(void)snprintf(head, sizeof(head), "%s:%d: %s %s: ", p->name, line,
		    p->sec == SEC_TAG ? "tag" : "status", p->sec_id);
	else
		(void)snprintf(head, sizeof(head), "%s:%d: ", p->name, line);
	if (p->n_errors == MAX_ERRORS - 1)
		(void)snprintf(msg, sizeof(msg), "too many errors; stopping here");
	f = &p->errors[p->n_errors];
	f->line = line;
	f->seq = p->n_errors++;
	if ((f->text = malloc(strlen(head) + strlen(msg) + 2)) == NULL) {
		p->nomem = true;
		return;
	}
	(void)sprintf(f->text, "%s%s\n", head, msg);
}

static int
cmp_fault(const void *pa, const void *pb)
{
	const struct fault_line *a = pa, *b = pb;

	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Every fault in line order, one per line; NULL when out of memory. */
static char *
fault_text(struct parser *p)
{
	size_t len = 1, off = 0;
	char *text;

	qsort(p->errors, (size_t)p->n_errors, sizeof(p->errors[0]), cmp_fault);
	for (int i = 0; i < p->n_errors; i++)
		len += p->errors[i].text != NULL ? strlen(p->errors[i].text) : 0;
	if ((text = malloc(len)) == NULL)
		return NULL;
	text[0] = '\0';
	for (int i = 0; i < p->n_errors; i++)
		if (p->errors[i].text != NULL)
			off += (size_t)sprintf(text + off, "%s", p->errors[i].text);
	return text;
}

static char *
trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static bool
valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAX_ID)
		return false;
	for (; *s != '\0'; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
		    *s == '_'))
			return false;
	return true;
}

static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void
clear_section(struct parser *p)
{
	for (int k = 0; k < K_N; k++) {
		free(p->val[k]);
		p->val[k] = NULL;
		p->val_line[k] = 0;
	}
	p->last = -1;
}

/* Whether the id was used by an earlier section of the kind, valid or not. */
static bool
id_taken(struct parser *p, const char *id, bool tag)
{
	char key[MAX_ID + 2], (*grown)[MAX_ID + 2];

	(void)snprintf(key, sizeof(key), "%c%s", tag ? 't' : 's', id);
	for (size_t i = 0; i < p->n_seen; i++)
		if (strcmp(p->seen[i], key) == 0)
			return true;
	if ((grown = realloc(p->seen, (p->n_seen + 1) * sizeof(*grown))) == NULL) {
		p->nomem = true;
		return false;
	}
	p->seen = grown;
	memcpy(p->seen[p->n_seen++], key, sizeof(key));
	return false;
}

/* A value is required; missing ones are reported at the section header. */
static const char *
need(struct parser *p, enum key k)
{
	if (p->val[k] == NULL) {
		fault(p, p->sec_line, "%s is required", key_names[k]);
		return NULL;
	}
	return p->val[k];
}

static void
validate_condition(struct parser *p)
{
	char msg[300];
	enum ts_rc rc;

	if (p->val[K_WHEN] == NULL)
		return;
	rc = tags_guard_check(p->check_db, p->val[K_WHEN], msg, sizeof(msg));
	if (rc == TS_ERR_NOMEM)
		p->nomem = true;
	else if (rc != TS_OK)
		fault(p, p->val_line[K_WHEN], "when: condition %s", msg);
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static void
finish_tag(struct parser *p)
{
	const char *label = need(p, K_LABEL), *channel = need(p, K_CHANNEL);
	const char *kind = need(p, K_KIND), *icon = p->val[K_ICON];
	struct tags_rule *r;

	(void)need(p, K_WHEN);
	if (label != NULL && (*label == '\0' || strlen(label) > MAX_LABEL ||
	    !printable(label)))
		fault(p, p->val_line[K_LABEL], "label: 1 to %d printable bytes",
		    MAX_LABEL);
	if (icon != NULL && (strlen(icon) > MAX_ICON || !printable(icon)))
		fault(p, p->val_line[K_ICON], "icon: at most %d printable bytes",
		    MAX_ICON);
	if (channel != NULL && !in_list(channels, 5, channel))
		fault(p, p->val_line[K_CHANNEL], "channel: \"%s\" is not one of"
		    " commitment, tenure, value, price_sensitivity, engagement",
		    channel);
	if (kind != NULL && strcmp(kind, "milestone") != 0 &&
	    strcmp(kind, "live") != 0)
		fault(p, p->val_line[K_KIND], "kind: \"%s\" is neither milestone"
		    " nor live", kind);
	validate_condition(p);
	if (p->sec_failed || p->nomem)
		return;
	if (p->cat->n_tags == TAGS_MAX_RULES) {
		fault(p, p->sec_line, "more than %d tags", TAGS_MAX_RULES);
		return;
	}
	r = &p->cat->tags[p->cat->n_tags];
	memset(r, 0, sizeof(*r));
	r->id = strdup(p->sec_id);
	r->label = strdup(label);
	r->icon = dup_or_empty(icon);
	r->channel = strdup(channel);
	r->condition = strdup(p->val[K_WHEN]);
	r->milestone = strcmp(kind, "milestone") == 0;
	r->line = p->sec_line;
	p->cat->n_tags++;
	if (!r->id || !r->label || !r->icon || !r->channel || !r->condition)
		p->nomem = true;
}

static void
finish_status(struct parser *p)
{
	const char *status = need(p, K_STATUS), *reason = p->val[K_REASON];
	struct tags_status_rule *r;

	(void)need(p, K_WHEN);
	if (status != NULL && !status_valid(status))
		fault(p, p->val_line[K_STATUS], "status: \"%s\" is not one of active,"
		    " vip, caution, do_not_serve", status);
	if (reason != NULL && (strlen(reason) > MAX_REASON || !printable(reason)))
		fault(p, p->val_line[K_REASON], "reason: at most %d printable bytes",
		    MAX_REASON);
	validate_condition(p);
	if (p->sec_failed || p->nomem)
		return;
	if (p->cat->n_status_rules == TAGS_MAX_RULES) {
		fault(p, p->sec_line, "more than %d status rules", TAGS_MAX_RULES);
		return;
	}
	r = &p->cat->status_rules[p->cat->n_status_rules];
	memset(r, 0, sizeof(*r));
	r->id = strdup(p->sec_id);
	r->status = strdup(status);
	r->condition = strdup(p->val[K_WHEN]);
	r->reason = dup_or_empty(reason);
	r->line = p->sec_line;
	p->cat->n_status_rules++;
	if (!r->id || !r->status || !r->condition || !r->reason)
		p->nomem = true;
}

static void
finish_section(struct parser *p)
{
	if (p->sec == SEC_TAG)
		finish_tag(p);
	else if (p->sec == SEC_STATUS)
		finish_status(p);
	clear_section(p);
}

static void
open_section(struct parser *p, int line, char *text)
{
	char *end = strchr(text, ']'), *kind, *id;

	finish_section(p);
	p->sec = SEC_BAD;
	p->sec_failed = false;
	p->sec_line = line;
	p->sec_id[0] = '\0';
	if (end == NULL || *trim(end + 1) != '\0') {
		fault(p, line, "a section header is [tag ID] or [status ID]");
		return;
	}
	*end = '\0';
	kind = trim(text + 1);
	id = kind + strcspn(kind, " \t");
	if (*id != '\0')
		*id++ = '\0';
	id = trim(id);
	if (strcmp(kind, "tag") != 0 && strcmp(kind, "status") != 0) {
		fault(p, line, "unknown section [%s]: sections are [tag ID] and"
		    " [status ID]", kind);
		return;
	}
	if (!valid_id(id)) {
		fault(p, line, "[%s %s]: the id must be 1 to %d of a-z, 0-9 and _",
		    kind, id, MAX_ID);
		return;
	}
	(void)snprintf(p->sec_id, sizeof(p->sec_id), "%s", id);
	p->sec = strcmp(kind, "tag") == 0 ? SEC_TAG : SEC_STATUS;
	if (id_taken(p, id, p->sec == SEC_TAG))
		fault(p, line, "defined twice");
}

static void
key_line(struct parser *p, int line, char *text)
{
	char *eq = strchr(text, '='), *key, *value;
	int k;

	if (eq == NULL) {
		fault(p, line, "expected key = value");
		return;
	}
	*eq = '\0';
	key = trim(text);
	value = trim(eq + 1);
	if (p->sec == SEC_NONE) {
		fault(p, line, "%s: outside a [tag ID] or [status ID] section", key);
		return;
	}
	if (p->sec == SEC_BAD)
		return;
	for (k = 0; k < K_N; k++)
		if (strcmp(key, key_names[k]) == 0)
			break;
	if (k == K_N || (p->sec == SEC_TAG && (k == K_STATUS || k == K_REASON)) ||
	    (p->sec == SEC_STATUS && k != K_STATUS && k != K_WHEN &&
	    k != K_REASON)) {
		fault(p, line, "unknown key \"%s\" (a %s takes %s)", key,
		    p->sec == SEC_TAG ? "tag" : "status rule",
		    p->sec == SEC_TAG ? "label, icon, channel, kind, when" :
		    "status, when, reason");
		return;
	}
	if (p->val[k] != NULL) {
		fault(p, line, "%s: set twice (first on line %d)", key,
		    p->val_line[k]);
		return;
	}
	if ((p->val[k] = strdup(value)) == NULL)
		p->nomem = true;
	p->val_line[k] = line;
	p->last = k;
}

/* A line starting with a space or tab extends the last value. */
static void
continue_value(struct parser *p, int line, const char *text)
{
	char *v = p->val[p->last], *grown;
	size_t len = strlen(v);

	if ((grown = realloc(v, len + strlen(text) + 2)) == NULL) {
		p->nomem = true;
		return;
	}
	(void)sprintf(grown + len, "%s%s", len ? " " : "", text);
	p->val[p->last] = grown;
	(void)line;
}

static enum ts_rc
check_db_open(struct db **out)
{
	char *err = NULL;
	enum ts_rc rc;

	if ((rc = db_open(":memory:", out, &err)) == TS_OK)
		rc = migrate_apply(*out, migrate_embedded, migrate_embedded_count,
		    NULL, NULL, &err);
	free(err);
	if (rc != TS_OK) {
		db_close(*out);
		*out = NULL;
	}
	return rc == TS_ERR_NOMEM ? rc : rc == TS_OK ? TS_OK : TS_ERR_IO;
}

enum ts_rc
tags_load_string(const char *name, const char *text,
    struct tags_catalogue **out, char **errors)
{
	struct parser p = { .name = name, .last = -1 };
	char *copy = NULL, *line, *next;
	int lineno = 0;
	enum ts_rc rc = TS_ERR_NOMEM;

	*out = NULL;
	if (errors != NULL)
		*errors = NULL;
	if ((p.cat = calloc(1, sizeof(*p.cat))) == NULL ||
	    (p.cat->tags = calloc(TAGS_MAX_RULES, sizeof(*p.cat->tags))) == NULL ||
	    (p.cat->status_rules = calloc(TAGS_MAX_RULES,
	    sizeof(*p.cat->status_rules))) == NULL ||
	    (copy = strdup(text)) == NULL)
		goto out;
	if ((rc = check_db_open(&p.check_db)) != TS_OK)
		goto out;
	for (line = copy; line != NULL; line = next) {
		char *t;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		t = trim(line);
		if (*t == '#' || *t == ';')
			continue;
		if (*t == '\0') {
			p.last = -1;
			continue;
		}
		if ((*line == ' ' || *line == '\t') && p.last >= 0)
			continue_value(&p, lineno, t);
		else if (*t == '[')
			open_section(&p, lineno, t);
		else
			key_line(&p, lineno, t);
	}
	finish_section(&p);
	if (p.nomem) {
		rc = TS_ERR_NOMEM;
		goto out;
	}
	if (p.n_errors > 0) {
		rc = TS_ERR_INVALID;
		goto out;
	}
	*out = p.cat;
	p.cat = NULL;
	rc = TS_OK;
out:
	clear_section(&p);
	if (errors != NULL && rc == TS_ERR_INVALID)
		*errors = fault_text(&p);
	for (int i = 0; i < p.n_errors; i++)
		free(p.errors[i].text);
	free(p.seen);
	free(copy);
	db_close(p.check_db);
	tags_catalogue_free(p.cat);
	return rc;
}

enum ts_rc
tags_load(const char *path, struct tags_catalogue **out, char **errors)
{
	FILE *f = NULL;
	char *text = NULL;
	size_t len;
	enum ts_rc rc;

	*out = NULL;
	if (errors != NULL)
		*errors = NULL;
	if (path == NULL)
		return tags_load_string("built-in rules", tags_default_rules(), out,
		    errors);
	if ((f = fopen(path, "re")) == NULL ||
	    (text = malloc(TAGS_MAX_FILE + 1)) == NULL) {
		rc = f == NULL ? TS_ERR_IO : TS_ERR_NOMEM;
		if (f == NULL && errors != NULL &&
		    (*errors = malloc(strlen(path) + 128)) != NULL)
			(void)sprintf(*errors, "%s: cannot read: %s\n", path,
			    strerror(errno));
		goto out;
	}
	len = fread(text, 1, TAGS_MAX_FILE + 1, f);
	if (ferror(f) || len > TAGS_MAX_FILE || memchr(text, '\0', len) != NULL) {
		rc = ferror(f) ? TS_ERR_IO : TS_ERR_INVALID;
		if (errors != NULL && (*errors = malloc(strlen(path) + 128)) != NULL)
			(void)sprintf(*errors, "%s: %s\n", path, ferror(f) ?
			    "read error" : len > TAGS_MAX_FILE ?
			    "larger than 1 MiB" : "contains a NUL byte");
		goto out;
	}
	text[len] = '\0';
	rc = tags_load_string(path, text, out, errors);
out:
	if (f != NULL)
		(void)fclose(f);
	free(text);
	return rc;
}

void
tags_catalogue_free(struct tags_catalogue *cat)
{
	if (cat == NULL)
		return;
	for (size_t i = 0; cat->tags != NULL && i < cat->n_tags; i++) {
		free(cat->tags[i].id);
		free(cat->tags[i].label);
		free(cat->tags[i].icon);
		free(cat->tags[i].channel);
		free(cat->tags[i].condition);
	}
	for (size_t i = 0; cat->status_rules != NULL && i < cat->n_status_rules; i++) {
		free(cat->status_rules[i].id);
		free(cat->status_rules[i].status);
		free(cat->status_rules[i].condition);
		free(cat->status_rules[i].reason);
	}
	free(cat->tags);
	free(cat->status_rules);
	free(cat);
}

/* ---- the catalogue in the database ----------------------------------- */

static bool
col_eq(sqlite3_stmt *st, int col, const char *s)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	return v != NULL && strcmp((const char *)v, s) == 0;
}

/* Whether db already holds exactly cat. */
static enum ts_rc
same_catalogue(struct db *db, const struct tags_catalogue *cat, bool *same)
{
	sqlite3_stmt *st = NULL;
	size_t i = 0;
	enum ts_rc rc;
	int src;

	*same = false;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "SELECT id, label, icon,"
	    " channel, kind, condition FROM tags ORDER BY position, id", -1, &st,
	    NULL))) != TS_OK)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const struct tags_rule *r = &cat->tags[i];

		if (i == cat->n_tags || !col_eq(st, 0, r->id) ||
		    !col_eq(st, 1, r->label) || !col_eq(st, 2, r->icon) ||
		    !col_eq(st, 3, r->channel) ||
		    !col_eq(st, 4, r->milestone ? "milestone" : "live") ||
		    !col_eq(st, 5, r->condition))
			break;
		i++;
	}
	(void)sqlite3_finalize(st);
	if (src != SQLITE_DONE || i != cat->n_tags)
		return src == SQLITE_ROW || src == SQLITE_DONE ? TS_OK : db_rc(src);
	i = 0;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "SELECT id, status,"
	    " condition, reason FROM status_rules ORDER BY position, id", -1, &st,
	    NULL))) != TS_OK)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const struct tags_status_rule *r = &cat->status_rules[i];

		if (i == cat->n_status_rules || !col_eq(st, 0, r->id) ||
		    !col_eq(st, 1, r->status) || !col_eq(st, 2, r->condition) ||
		    !col_eq(st, 3, r->reason))
			break;
		i++;
	}
	(void)sqlite3_finalize(st);
	if (src == SQLITE_DONE && i == cat->n_status_rules)
		*same = true;
	return src == SQLITE_ROW || src == SQLITE_DONE ? TS_OK : db_rc(src);
}

static enum ts_rc
store_catalogue(struct db *db, const struct tags_catalogue *cat)
{
	sqlite3_stmt *tag = NULL, *rule = NULL;
	enum ts_rc rc;

	if ((rc = db_exec(db, "DELETE FROM tags; DELETE FROM status_rules")) != TS_OK ||
	    (rc = db_rc(sqlite3_prepare_v2(db_handle(db), "INSERT INTO tags (id,"
	    " label, icon, channel, kind, condition, position) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7)", -1, &tag, NULL))) != TS_OK ||
	    (rc = db_rc(sqlite3_prepare_v2(db_handle(db), "INSERT INTO"
	    " status_rules (id, status, condition, reason, position) VALUES (?1,"
	    " ?2, ?3, ?4, ?5)", -1, &rule, NULL))) != TS_OK)
		goto out;
	for (size_t i = 0; i < cat->n_tags && rc == TS_OK; i++) {
		const struct tags_rule *r = &cat->tags[i];

		(void)sqlite3_bind_text(tag, 1, r->id, -1, SQLITE_STATIC);
		(void)sqlite3_bind_text(tag, 2, r->label, -1, SQLITE_STATIC);
		(void)sqlite3_bind_text(tag, 3, r->icon, -1, SQLITE_STATIC);
		(void)sqlite3_bind_text(tag, 4, r->channel, -1, SQLITE_STATIC);
		(void)sqlite3_bind_text(tag, 5, r->milestone ? "milestone" : "live",
		    -1, SQLITE_STATIC);
		(void)sqlite3_bind_text(tag, 6, r->condition, -1, SQLITE_STATIC);
		(void)sqlite3_bind_int64(tag, 7, (int64_t)i);
		rc = db_rc(sqlite3_step(tag));
		(void)sqlite3_reset(tag);
	}
	for (size_t i = 0; i < cat->n_status_rules && rc == TS_OK; i++) {
		const struct tags_status_rule *r = &cat->status_rules[i];

		(void)sqlite3_bind_text(rule, 1, r->id, -1, SQLITE_STATIC);
		(void)sqlite3_bind_text(rule, 2, r->status, -1, SQLITE_STATIC);
		(void)sqlite3_bind_text(rule, 3, r->condition, -1, SQLITE_STATIC);
		(void)sqlite3_bind_text(rule, 4, r->reason, -1, SQLITE_STATIC);
		(void)sqlite3_bind_int64(rule, 5, (int64_t)i);
		rc = db_rc(sqlite3_step(rule));
		(void)sqlite3_reset(rule);
	}
	/* Firing state of rules that are gone; the others keep theirs. */
	if (rc == TS_OK)
		rc = db_exec(db, "DELETE FROM status_rule_state WHERE rule_id NOT IN"
		    " (SELECT id FROM status_rules);"
		    "UPDATE intel_state SET catalogue_gen = catalogue_gen + 1"
		    " WHERE id = 1");
out:
	(void)sqlite3_finalize(tag);
	(void)sqlite3_finalize(rule);
	return rc;
}

enum ts_rc
tags_apply_catalogue(struct db *db, const struct tags_catalogue *cat,
    bool *changed, char **errors)
{
	char msg[300];
	bool same = false;
	enum ts_rc rc;

	if (changed != NULL)
		*changed = false;
	if (errors != NULL)
		*errors = NULL;
	if ((rc = db_begin(db)) != TS_OK)
		return rc;
	/* Checked again on this database: the catalogue may come from elsewhere. */
	for (size_t i = 0; i < cat->n_tags + cat->n_status_rules; i++) {
		bool tag = i < cat->n_tags;
		const char *id = tag ? cat->tags[i].id :
		    cat->status_rules[i - cat->n_tags].id;
		const char *cond = tag ? cat->tags[i].condition :
		    cat->status_rules[i - cat->n_tags].condition;

		if ((rc = tags_guard_check(db, cond, msg, sizeof(msg))) != TS_OK) {
			if (rc == TS_ERR_INVALID && errors != NULL &&
			    (*errors = malloc(strlen(id) + strlen(msg) + 64)) != NULL)
				(void)sprintf(*errors, "%s %s: when: condition %s\n",
				    tag ? "tag" : "status", id, msg);
			goto out;
		}
	}
	if ((rc = same_catalogue(db, cat, &same)) != TS_OK ||
	    (!same && (rc = store_catalogue(db, cat)) != TS_OK))
		goto out;
	rc = db_commit(db);
	if (rc == TS_OK && changed != NULL)
		*changed = !same;
out:
	if (rc != TS_OK)
		db_rollback(db);
	return rc;
}

static char *
col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	return strdup(v != NULL ? (const char *)v : "");
}

enum ts_rc
tags_catalogue_read(struct db *db, struct tags_catalogue **out, int64_t *gen)
{
	struct tags_catalogue *cat = NULL;
	sqlite3_stmt *st = NULL;
	enum ts_rc rc = TS_ERR_NOMEM;
	int src = SQLITE_DONE;

	sqlite3_int64 g = 0;

	*out = NULL;
	if ((rc = db_query_int64(db, "SELECT catalogue_gen FROM intel_state"
	    " WHERE id = 1", &g)) != TS_OK)
		return rc;
	*gen = (int64_t)g;
	rc = TS_ERR_NOMEM;
	if ((cat = calloc(1, sizeof(*cat))) == NULL ||
	    (cat->tags = calloc(TAGS_MAX_RULES, sizeof(*cat->tags))) == NULL ||
	    (cat->status_rules = calloc(TAGS_MAX_RULES,
	    sizeof(*cat->status_rules))) == NULL)
		goto out;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "SELECT id, label, icon,"
	    " channel, kind, condition FROM tags ORDER BY position, id", -1, &st,
	    NULL))) != TS_OK)
		goto out;
	rc = TS_ERR_NOMEM;
	while (cat->n_tags < TAGS_MAX_RULES &&
	    (src = sqlite3_step(st)) == SQLITE_ROW) {
		struct tags_rule *r = &cat->tags[cat->n_tags++];

		r->id = col_dup(st, 0);
		r->label = col_dup(st, 1);
		r->icon = col_dup(st, 2);
		r->channel = col_dup(st, 3);
		r->milestone = col_eq(st, 4, "milestone");
		r->condition = col_dup(st, 5);
		if (!r->id || !r->label || !r->icon || !r->channel || !r->condition)
			goto out;
	}
	(void)sqlite3_finalize(st);
	st = NULL;
	if (src != SQLITE_DONE && src != SQLITE_ROW) {
		rc = db_rc(src);
		goto out;
	}
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(db), "SELECT id, status,"
	    " condition, reason FROM status_rules ORDER BY position, id", -1, &st,
	    NULL))) != TS_OK)
		goto out;
	rc = TS_ERR_NOMEM;
	src = SQLITE_DONE;
	while (cat->n_status_rules < TAGS_MAX_RULES &&
	    (src = sqlite3_step(st)) == SQLITE_ROW) {
		struct tags_status_rule *r = &cat->status_rules[cat->n_status_rules++];

		r->id = col_dup(st, 0);
		r->status = col_dup(st, 1);
		r->condition = col_dup(st, 2);
		r->reason = col_dup(st, 3);
		if (!r->id || !r->status || !r->condition || !r->reason)
			goto out;
	}
	if (src != SQLITE_DONE && src != SQLITE_ROW) {
		rc = db_rc(src);
		goto out;
	}
	*out = cat;
	cat = NULL;
	rc = TS_OK;
out:
	(void)sqlite3_finalize(st);
	tags_catalogue_free(cat);
	return rc;
}

enum ts_rc
tags_parse_date(const char *text, int64_t *out)
{
	return rfm_parse_date(text, out);
}
