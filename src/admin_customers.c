/* SPDX-License-Identifier: MIT */
/*
 * Customer routes of the admin API: the list (status tabs, search, tag
 * filter, sort, paging), add, profile, edit, status quick actions and bulk
 * actions. The list's SQL is assembled from fixed fragments only: every
 * value a client sends is a bound parameter, and the sort column comes from
 * a whitelist.
 */
#include "admin_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracksies/db.h"
#include "tracksies/jw.h"
#include "tracksies/log.h"
#include "tracksies/profile.h"
#include "tracksies/wc_order.h"

#define Q_MAX 200			/* bytes of a search */
#define NAME_MAX_LEN 200
#define PHONE_MAX 64
#define NOTES_MAX 20000
#define REASON_MAX 2000
#define EMAIL_MAX 254

/*
 * Sort keys. Each has an index (0005_admin.sql) whose order is exactly the
 * ORDER BY, so a page is an index scan that stops after LIMIT rows, and the
 * trailing id makes the order total: pages never repeat or skip a row.
 */
/*
 * key says how page_ids (below) compares the same order in C: an integer,
 * two NOCASE texts (SQLite's NOCASE is sqlite3_stricmp), one BINARY text
 * (strcmp, the text holding no NUL), or nothing before status and id.
 */
enum sort_key { KEY_INT, KEY_NAME, KEY_TEXT, KEY_NONE };

static const struct sort {
	const char *name;
	const char *index;
	const char *asc;
	const char *desc;
	bool default_desc;
	enum sort_key key;
	const char *key_cols;		/* the key's columns, for page_ids */
} sorts[] = {
	{ "created", "customers_sort_created", "c.created_at, c.status, c.id",
	    "c.created_at DESC, c.status DESC, c.id DESC", true, KEY_INT,
	    ", c.created_at" },
	{ "name", "customers_sort_name",
	    "c.first_name COLLATE NOCASE, c.last_name COLLATE NOCASE, c.status,"
	    " c.id", "c.first_name COLLATE NOCASE DESC, c.last_name COLLATE NOCASE"
	    " DESC, c.status DESC, c.id DESC", false, KEY_NAME,
	    ", c.first_name, c.last_name" },
	{ "email", "customers_sort_email", "c.email, c.status, c.id",
	    "c.email DESC, c.status DESC, c.id DESC", false, KEY_TEXT,
	    ", c.email" },
	{ "status", "customers_sort_status", "c.status, c.id",
	    "c.status DESC, c.id DESC", false, KEY_NONE, "" },
	{ "tags", "customers_sort_tags", "c.tag_count, c.status, c.id",
	    "c.tag_count DESC, c.status DESC, c.id DESC", true, KEY_INT,
	    ", c.tag_count" },
	{ "orders", "customers_sort_orders", "c.order_count, c.status, c.id",
	    "c.order_count DESC, c.status DESC, c.id DESC", true, KEY_INT,
	    ", c.order_count" },
	{ "ltv", "customers_sort_ltv", "c.ltv_minor, c.status, c.id",
	    "c.ltv_minor DESC, c.status DESC, c.id DESC", true, KEY_INT,
	    ", c.ltv_minor" },
};

#define N_SORTS (sizeof(sorts) / sizeof(sorts[0]))

struct admin_filter {
	char status[16];		/* "" = every status */
	char *match;			/* FTS5 query (3+ characters), or NULL */
	char *like;			/* LIKE pattern (1-2 characters), or NULL */
	char *tag;			/* tag id, or NULL */
	char *ids_json;			/* JSON array of ids, or NULL */
	const struct sort *sort;
	bool desc;
	int64_t counts[5];		/* all, active, vip, caution, do_not_serve */
};

static const char *const count_names[5] = { "all", "active", "vip",
	"caution", "do_not_serve" };

/*
 * The search index's rowid is id * 4 + the status's code, the status's
 * place in count_names less one (0010_search_status.sql has the same CASE):
 * rowid >> 2 is the customer, rowid & 3 the status.
 */
static int
status_code(const char *status)
{
	for (int i = 1; i < 5; i++)
		if (strcmp(status, count_names[i]) == 0)
			return i - 1;
	return -1;
}

void
admin_customers_filter_free(struct admin_filter *f)
{
	if (f == NULL)
		return;
	free(f->match);
	free(f->like);
	free(f->tag);
	free(f->ids_json);
	free(f);
}

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* "ab" -> "%ab%" with LIKE's wildcards escaped by '\'. */
static char *
like_pattern(const char *q)
{
	size_t len = strlen(q);
	char *out = malloc(len * 2 + 3), *o = out;

	if (out == NULL)
		return NULL;
	*o++ = '%';
	for (; *q != '\0'; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			*o++ = '\\';
		*o++ = *q;
	}
	*o++ = '%';
	*o = '\0';
	return out;
}

/*
 * q as one FTS5 phrase (a substring match with the trigram tokenizer),
 * quotes doubled so nothing in q is FTS5 syntax. A q that looks like a
 * phone number also matches its digits alone: "(555) 123" finds "5551234".
 */
static char *
fts_query(const char *q)
{
	size_t len = strlen(q), nd = 0, np = 0;
	char *out = malloc(len * 2 + 64), *o = out;

	if (out == NULL)
		return NULL;
	*o++ = '"';
	for (const char *p = q; *p != '\0'; p++) {
		if (*p == '"')
			*o++ = '"';
		*o++ = *p;
		if (*p >= '0' && *p <= '9')
			nd++;
		else if (strchr(" -().+/", *p) != NULL)
			np++;
	}
	*o++ = '"';
	if (nd >= 3 && np > 0 && nd + np == len) {
		memcpy(o, " OR \"", 5);
		o += 5;
		for (const char *p = q; *p != '\0'; p++)
			if (*p >= '0' && *p <= '9')
				*o++ = *p;
		*o++ = '"';
	}
	*o = '\0';
	return out;
}

static enum ts_rc
load_counts(struct admin_req *r, int64_t counts[5])
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	memset(counts, 0, 5 * sizeof(counts[0]));
	if ((rc = db_stmt(r->db, "SELECT status, n FROM customer_status_counts",
	    &st)) != TS_OK)
		goto out;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(st, 0);
		for (int i = 1; s != NULL && i < 5; i++)
			if (strcmp(s, count_names[i]) == 0) {
				counts[i] = sqlite3_column_int64(st, 1);
				counts[0] += counts[i];
			}
	}
	if (src != SQLITE_DONE)
		rc = db_rc(src);
out:
	db_stmt_done(r->db, st);
	return rc;
}

static bool
nomem(struct admin_req *r)
{
	admin_api_fail(r, 500, "internal", NULL, "out of memory");
	return false;
}

bool
admin_customers_filter(struct admin_req *r, struct admin_filter **out)
{
	struct admin_filter *f = calloc(1, sizeof(*f));
	const char *status = http_request_query(r->http, "status");
	const char *q = http_request_query(r->http, "q");
	const char *tag = http_request_query(r->http, "tag");
	const char *sort = http_request_query(r->http, "sort");
	const char *order = http_request_query(r->http, "order");
	const char *ids = http_request_query(r->http, "ids");
	enum ts_rc rc;

	*out = NULL;
	if (f == NULL)
		return nomem(r);
	f->sort = &sorts[0];
	f->desc = true;
	if (status != NULL && *status != '\0' && strcmp(status, "all") != 0) {
		if (!profile_status_valid(status)) {
			admin_api_fail(r, 400, "invalid_parameter", "status", "status must"
			    " be all, active, vip, caution or do_not_serve");
			goto fail;
		}
		(void)snprintf(f->status, sizeof(f->status), "%s", status);
	}
	if (sort != NULL && *sort != '\0') {
		f->sort = NULL;
		for (size_t i = 0; i < N_SORTS; i++)
			if (strcmp(sort, sorts[i].name) == 0)
				f->sort = &sorts[i];
		if (f->sort == NULL) {
			admin_api_fail(r, 400, "invalid_parameter", "sort", "sort must be"
			    " name, email, status, tags, orders, ltv or created");
			goto fail;
		}
		f->desc = f->sort->default_desc;
	}
	if (order != NULL && *order != '\0') {
		if (strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
			admin_api_fail(r, 400, "invalid_parameter", "order",
			    "order must be asc or desc");
			goto fail;
		}
		f->desc = strcmp(order, "desc") == 0;
	}
	if (q != NULL) {
		while (*q == ' ')
			q++;
		if (strlen(q) > Q_MAX) {
			admin_api_fail(r, 400, "invalid_parameter", "q",
			    "q is longer than 200 bytes");
			goto fail;
		}
		if (utf8_chars(q) >= 3) {
			if ((f->match = fts_query(q)) == NULL)
				goto oom;
		} else if (*q != '\0') {
			if ((f->like = like_pattern(q)) == NULL)
				goto oom;
		}
	}
	if (tag != NULL && *tag != '\0') {
		if (strlen(tag) > 100) {
			admin_api_fail(r, 400, "invalid_parameter", "tag",
			    "tag is longer than 100 bytes");
			goto fail;
		}
		if ((f->tag = strdup(tag)) == NULL)
			goto oom;
	}
	if (ids != NULL) {
		int64_t *list = NULL;
		size_t n = 0, used = 0;

		if (!admin_api_id_csv(r, ids, "ids", 100000, &list, &n))
			goto fail;
		if ((f->ids_json = malloc(n * 21 + 3)) == NULL) {
			free(list);
			goto oom;
		}
		f->ids_json[used++] = '[';
		for (size_t i = 0; i < n; i++)
			used += (size_t)sprintf(f->ids_json + used, "%s%" PRId64,
			    i ? "," : "", list[i]);
		f->ids_json[used++] = ']';
		f->ids_json[used] = '\0';
		free(list);
	}
	if ((rc = load_counts(r, f->counts)) != TS_OK) {
		admin_api_db_fail(r, rc, "count read");
		goto fail;
	}
	*out = f;
	return true;
oom:
	(void)nomem(r);
fail:
	admin_customers_filter_free(f);
	return false;
}

static int64_t
status_count(const struct admin_filter *f)
{
	for (int i = 1; i < 5; i++)
		if (strcmp(f->status, count_names[i]) == 0)
			return f->counts[i];
	return f->counts[0];
}

/* Appends src to the SQL being built; the buffer is sized for the worst case. */
static void
add(char *sql, size_t size, const char *src)
{
	size_t used = strlen(sql);

	(void)snprintf(sql + used, size - used, "%s", src);
}

static void
bind_text(sqlite3_stmt *st, const char *name, const char *value)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i > 0)
		(void)sqlite3_bind_text(st, i, value, -1, SQLITE_STATIC);
}

static void
bind_int(sqlite3_stmt *st, const char *name, int64_t value)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i > 0)
		(void)sqlite3_bind_int64(st, i, value);
}

/* WHERE clause fragments (no user text: values are :parameters). */
static void
add_where(char *sql, size_t size, const struct admin_filter *f,
    bool status_indexed)
{
	add(sql, size, " WHERE 1");
	if (f->ids_json != NULL)
		add(sql, size, " AND c.id IN (SELECT value FROM json_each(:ids))");
	if (f->match != NULL)
		add(sql, size, " AND c.id IN (SELECT rowid >> 2 FROM customers_fts"
		    " WHERE customers_fts MATCH :match)");
	if (f->like != NULL)
		add(sql, size, " AND (c.email LIKE :like ESCAPE '\\'"
		    " OR (c.first_name || ' ' || c.last_name) LIKE :like ESCAPE '\\'"
		    " OR c.phone LIKE :like ESCAPE '\\')");
	if (f->tag != NULL)
		add(sql, size, " AND c.id IN (SELECT customer_id FROM customer_tags"
		    " WHERE tag_id = :tag AND lost_at IS NULL)");
	if (f->status[0] != '\0')
		/* Unary + keeps the planner on the sort index (see below). */
		add(sql, size, status_indexed ? " AND c.status = :status" :
		    " AND +c.status = :status");
}

static void
bind_filter(sqlite3_stmt *st, const struct admin_filter *f)
{
	bind_text(st, ":ids", f->ids_json);
	bind_text(st, ":match", f->match);
	bind_text(st, ":like", f->like);
	bind_text(st, ":tag", f->tag);
	if (f->status[0] != '\0')
		bind_text(st, ":status", f->status);
}


/* True when the list is narrowed to an id set (ids, search, tag). */
static bool
narrowed(const struct admin_filter *f)
{
	return f->ids_json != NULL || f->match != NULL || f->like != NULL ||
	    f->tag != NULL;
}

enum ts_rc
admin_customers_select(struct admin_req *r, const struct admin_filter *f,
    bool ids_only, int64_t limit, int64_t offset, sqlite3_stmt **out)
{
	char sql[2048] = "";
	bool status_indexed = false;
	enum ts_rc rc;

	*out = NULL;
	add(sql, sizeof(sql), ids_only ? "SELECT c.id" :
	    "SELECT " PROFILE_SUMMARY_COLUMNS);
	add(sql, sizeof(sql), " FROM customers AS c");
	/*
	 * The plan is chosen here, not left to statistics we do not keep: a
	 * narrowed list (ids, search, tag) is driven by its id set and sorted.
	 * Otherwise the sort key's index is walked in order, the status read
	 * from the index itself, until offset + limit rows matched: about
	 * (offset + limit) * all / tab index entries. When reading every row of
	 * the tab through the status index and sorting them is cheaper (a row
	 * costs some 20 index steps), that is done instead: a tiny tab, or a
	 * deep page of a small one.
	 */
	if (!narrowed(f)) {
		int64_t tab = status_count(f), all = f->counts[0];
		int64_t walk = (offset + (limit > 0 ? limit : all)) *
		    (all / (tab > 0 ? tab : 1));

		if (f->status[0] != '\0' && tab * 20 < walk) {
			add(sql, sizeof(sql), " INDEXED BY customers_sort_status");
			status_indexed = true;
		} else {
			add(sql, sizeof(sql), " INDEXED BY ");
			add(sql, sizeof(sql), f->sort->index);
		}
	}
	add_where(sql, sizeof(sql), f, status_indexed);
	add(sql, sizeof(sql), " ORDER BY ");
	add(sql, sizeof(sql), f->desc ? f->sort->desc : f->sort->asc);
	add(sql, sizeof(sql), " LIMIT :limit OFFSET :offset");
	if ((rc = db_stmt(r->db, sql, out)) != TS_OK)
		return rc;
	bind_filter(*out, f);
	bind_int(*out, ":limit", limit);
	bind_int(*out, ":offset", offset);
	return TS_OK;
}

enum ts_rc
admin_customers_count(struct admin_req *r, const struct admin_filter *f,
    int64_t *total)
{
	char sql[1024] = "SELECT count(*) FROM customers AS c";
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	*total = 0;
	if (f->ids_json == NULL && f->match == NULL && f->like == NULL &&
	    f->tag == NULL) {
		*total = status_count(f);
		return TS_OK;
	}
	if (f->match != NULL && f->ids_json == NULL && f->like == NULL &&
	    f->tag == NULL)
		/* Every index row is a customer, its status in the rowid. */
		(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM customers_fts"
		    " WHERE customers_fts MATCH :match%s", f->status[0] != '\0' ?
		    " AND rowid & 3 = :code" : "");
	else
		add_where(sql, sizeof(sql), f, false);
	if ((rc = db_stmt(r->db, sql, &st)) != TS_OK)
		return rc;
	bind_filter(st, f);
	bind_int(st, ":code", status_code(f->status));
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		*total = sqlite3_column_int64(st, 0);
	else
		rc = db_rc(src);
	db_stmt_done(r->db, st);
	return rc;
}

/*
 * The page is written as JSON text (jw.h) straight from the rows, not as a
 * jansson tree: building and serialising the tree was four fifths of a
 * cheap page's work. Members and their order are the tree's: each
 * customer's summary, then its "tags"; then counts, total, page, per_page,
 * pages.
 */
struct page_part {
	int64_t customer_id;
	size_t start, end;		/* its text in the part buffer */
};

struct page_parts {
	struct jw text;
	struct page_part *v;
	size_t n, cap;
};

/* Start a part of customer_id at the end of p->text. */
static bool
part_begin(struct page_parts *p, int64_t customer_id)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct page_part *grown = realloc(p->v, cap * sizeof(*grown));

		if (grown == NULL)
			return false;
		p->v = grown;
		p->cap = cap;
	}
	p->v[p->n].customer_id = customer_id;
	p->v[p->n].start = p->text.len;
	p->text.comma = false;
	return true;
}

static void
part_end(struct page_parts *p)
{
	p->v[p->n++].end = p->text.len;
}

static void
parts_fini(struct page_parts *p)
{
	free(p->text.buf);
	free(p->v);
}

/* The tags of every customer on the page, in one query, each rendered. */
static enum ts_rc
page_tags(struct admin_req *r, const struct page_parts *rows,
    struct page_parts *tags)
{
	sqlite3_stmt *st = NULL;
	char *ids = NULL;
	size_t used = 0;
	enum ts_rc rc;
	int src;

	if (rows->n == 0)
		return TS_OK;
	if ((ids = malloc(rows->n * 21 + 3)) == NULL)
		return TS_ERR_NOMEM;
	ids[used++] = '[';
	for (size_t i = 0; i < rows->n; i++)
		used += (size_t)sprintf(ids + used, "%s%" PRId64, i ? "," : "",
		    rows->v[i].customer_id);
	ids[used++] = ']';
	ids[used] = '\0';
	if ((rc = db_stmt(r->db, "SELECT ct.customer_id, ct.tag_id, t.label,"
	    " t.icon, t.channel, ct.earned_at FROM customer_tags AS ct"
	    " LEFT JOIN tags AS t ON t.id = ct.tag_id"
	    " WHERE ct.customer_id IN (SELECT value FROM json_each(?1))"
	    " AND ct.lost_at IS NULL ORDER BY t.channel, t.position, ct.tag_id",
	    &st)) != TS_OK)
		goto out;
	(void)sqlite3_bind_text(st, 1, ids, -1, SQLITE_STATIC);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (!part_begin(tags, sqlite3_column_int64(st, 0))) {
			rc = TS_ERR_NOMEM;
			goto out;
		}
		jw_open(&tags->text, NULL, "{");
		jw_col_text(&tags->text, "id", st, 1);
		jw_col_text(&tags->text, "label", st, 2);
		jw_col_text(&tags->text, "icon", st, 3);
		jw_col_text(&tags->text, "channel", st, 4);
		jw_col_time(&tags->text, "earned_at", st, 5);
		jw_close(&tags->text, "}");
		part_end(tags);
	}
	if (src != SQLITE_DONE)
		rc = db_rc(src);
out:
	db_stmt_done(r->db, st);
	free(ids);
	return rc;
}

/* The whole answer from the rendered rows and tags. */
static void
write_list(struct jw *w, const struct page_parts *rows,
    const struct page_parts *tags, const struct admin_filter *f,
    int64_t total, int64_t page, int64_t per_page)
{
	jw_open(w, NULL, "{");
	jw_open(w, "customers", "[");
	for (size_t i = 0; i < rows->n; i++) {
		const struct page_part *row = &rows->v[i];

		jw_open(w, NULL, "{");
		jw_raw(w, rows->text.buf + row->start, row->end - row->start);
		w->comma = true;
		jw_open(w, "tags", "[");
		for (size_t j = 0; j < tags->n; j++) {
			const struct page_part *t = &tags->v[j];

			if (t->customer_id != row->customer_id)
				continue;
			if (w->comma)
				jw_raw(w, ",", 1);
			jw_raw(w, tags->text.buf + t->start, t->end - t->start);
			w->comma = true;
		}
		jw_close(w, "]");
		jw_close(w, "}");
	}
	jw_close(w, "]");
	jw_open(w, "counts", "{");
	for (int i = 0; i < 5; i++)
		jw_int(w, count_names[i], f->counts[i]);
	jw_close(w, "}");
	jw_int(w, "total", total);
	jw_int(w, "page", page);
	jw_int(w, "per_page", per_page);
	jw_int(w, "pages", (total + per_page - 1) / per_page);
	jw_close(w, "}");
}

/*
 * A narrowed list (search, tag, ids) as its sort keys: every match is read
 * once for its status and key, counted, and kept only while among the best
 * offset + limit in a bounded heap, here in C. Asking SQLite for the page
 * with count(*) OVER () instead copied every match's whole row twice (the
 * window, then the ORDER BY) and sorted them all: at a million customers a
 * broad search ("smith", 4,000 matches) spent most of its time there.
 */
struct page_key {
	int64_t id;
	int64_t num;
	char *text;			/* owned: text "\0" text2, or NULL */
	const char *text2;
	char status[16];
};

struct page_heap {
	const struct sort *sort;
	bool desc;
	struct page_key *keys;
	size_t n, cap, max;
	int64_t total;			/* every match offered */
};

static int
cmp_int(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

/* < 0 when a comes first on the page, as the SQL ORDER BY orders them. */
static int
key_order(const struct page_heap *h, const struct page_key *a,
    const struct page_key *b)
{
	int c = 0;

	switch (h->sort->key) {
	case KEY_INT:
		c = cmp_int(a->num, b->num);
		break;
	case KEY_NAME:
		if ((c = sqlite3_stricmp(a->text, b->text)) == 0)
			c = sqlite3_stricmp(a->text2, b->text2);
		break;
	case KEY_TEXT:
		c = strcmp(a->text, b->text);
		break;
	case KEY_NONE:
		break;
	}
	if (c == 0)
		c = strcmp(a->status, b->status);
	if (c == 0)
		c = cmp_int(a->id, b->id);
	return h->desc ? -c : c;
}

static void
heap_swap(struct page_heap *h, size_t i, size_t j)
{
	struct page_key t = h->keys[i];

	h->keys[i] = h->keys[j];
	h->keys[j] = t;
}

/* Restore the max-heap (the last key on the page at the top) below i. */
static void
heap_down(struct page_heap *h, size_t i, size_t n)
{
	for (;;) {
		size_t l = 2 * i + 1, big = i;

		if (l < n && key_order(h, &h->keys[l], &h->keys[big]) > 0)
			big = l;
		if (l + 1 < n && key_order(h, &h->keys[l + 1], &h->keys[big]) > 0)
			big = l + 1;
		if (big == i)
			return;
		heap_swap(h, i, big);
		i = big;
	}
}

static void
heap_up(struct page_heap *h, size_t i)
{
	while (i > 0 && key_order(h, &h->keys[i], &h->keys[(i - 1) / 2]) > 0) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

/* One match's values (id, status, key columns) as a key. */
static enum ts_rc
row_key(const struct page_heap *h, sqlite3_value **v, struct page_key *k)
{
	const char *status = (const char *)sqlite3_value_text(v[1]);
	size_t n = status != NULL ? (size_t)sqlite3_value_bytes(v[1]) : 0;

	memset(k, 0, sizeof(*k));
	k->id = sqlite3_value_int64(v[0]);
	/* A status is at most 12 bytes (the CHECK in 0003). */
	if (n >= sizeof(k->status))
		n = sizeof(k->status) - 1;
	if (n > 0)
		memcpy(k->status, status, n);
	if (h->sort->key == KEY_INT) {
		k->num = sqlite3_value_int64(v[2]);
	} else if (h->sort->key != KEY_NONE) {
		const char *t1 = (const char *)sqlite3_value_text(v[2]);
		const char *t2 = h->sort->key == KEY_NAME ?
		    (const char *)sqlite3_value_text(v[3]) : "";
		size_t n1, n2;

		t1 = t1 != NULL ? t1 : "";
		t2 = t2 != NULL ? t2 : "";
		n1 = strlen(t1);
		n2 = strlen(t2);
		if ((k->text = malloc(n1 + n2 + 2)) == NULL)
			return TS_ERR_NOMEM;
		memcpy(k->text, t1, n1 + 1);
		memcpy(k->text + n1 + 1, t2, n2 + 1);
		k->text2 = k->text + n1 + 1;
	}
	return TS_OK;
}

/* Offer one key: kept while among the best h->max. */
static enum ts_rc
heap_offer(struct page_heap *h, struct page_key *k)
{
	if (h->n < h->max) {
		if (h->n == h->cap) {
			size_t cap = h->cap ? h->cap * 2 : 64;
			struct page_key *grown = realloc(h->keys, cap * sizeof(*grown));

			if (grown == NULL) {
				free(k->text);
				return TS_ERR_NOMEM;
			}
			h->keys = grown;
			h->cap = cap;
		}
		h->keys[h->n] = *k;
		heap_up(h, h->n++);
	} else if (h->max > 0 && key_order(h, k, &h->keys[0]) < 0) {
		free(h->keys[0].text);
		h->keys[0] = *k;
		heap_down(h, 0, h->n);
	} else {
		free(k->text);
	}
	return TS_OK;
}

/*
 * page_offer(:heap, c.id, c.status, key columns...), an aggregate over the
 * matches: counts each and offers it to the heap bound as a pointer.
 * Called inside the query, it spares each match a sqlite3_step() and its
 * column reads (a tenth of a 4,000-match search's work).
 */
#define PAGE_HEAP_PTR "tracksies.page_heap"

static void
page_offer_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct page_heap *h = sqlite3_value_pointer(argv[0], PAGE_HEAP_PTR);
	struct page_key k;
	int need = h == NULL ? 0 : h->sort->key == KEY_NAME ? 5 :
	    h->sort->key == KEY_NONE ? 3 : 4;

	if (h == NULL || argc != need) {
		sqlite3_result_error(ctx, "page_offer: bad arguments", -1);
		return;
	}
	h->total++;
	if (row_key(h, argv + 1, &k) != TS_OK || heap_offer(h, &k) != TS_OK)
		sqlite3_result_error_nomem(ctx);
}

static void
page_offer_final(sqlite3_context *ctx)
{
	sqlite3_result_null(ctx);
}

/*
 * A search's matches, from one pass over the search index alone
 * (match_collect): the ids of those on the tab as bits, and how many
 * matches each status has (the status is in the index's rowid).
 * page_member tests a bit.
 */
#define MATCH_SET_PTR "tracksies.match_set"

/*
 * Index entries walked for the cost of one match looked up in customers,
 * measured in the daemon under load on a million customers
 * (docs/performance.md, "Fourth round"): ~1.15 us a look-up (a random
 * b-tree leaf), ~0.046 us an entry of the LTV index walked.
 */
#define WALK_PER_LOOKUP 24

struct match_set {
	int tab;			/* the status code kept, -1 for every one */
	uint8_t *bits;
	size_t bytes;			/* bits covers ids below bytes * 8 */
	int64_t n[4];			/* matches by status code */
};

static void
match_collect_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct match_set *m = sqlite3_value_pointer(argv[0], MATCH_SET_PTR);
	int64_t rowid = argc == 2 ? sqlite3_value_int64(argv[1]) : -1;
	int64_t id = rowid >> 2;

	if (m == NULL || rowid < 0) {
		sqlite3_result_error(ctx, "match_collect: bad arguments", -1);
		return;
	}
	m->n[rowid & 3]++;
	if (m->tab >= 0 && (rowid & 3) != m->tab)
		return;
	if ((size_t)(id / 8) >= m->bytes) {
		/* Rowids come in order: grow by half again, past this id. */
		size_t bytes = (size_t)(id / 8) + 1 + m->bytes / 2 + 4096;
		uint8_t *grown = realloc(m->bits, bytes);

		if (grown == NULL) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
		memset(grown + m->bytes, 0, bytes - m->bytes);
		m->bits = grown;
		m->bytes = bytes;
	}
	m->bits[id / 8] |= (uint8_t)(1u << (id % 8));
}

static void
match_collect_final(sqlite3_context *ctx)
{
	sqlite3_result_null(ctx);
}

static void
page_member(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct match_set *m = sqlite3_value_pointer(argv[0], MATCH_SET_PTR);
	int64_t id = argc == 2 ? sqlite3_value_int64(argv[1]) : -1;

	if (m == NULL || id < 0) {
		sqlite3_result_error(ctx, "page_member: bad arguments", -1);
		return;
	}
	sqlite3_result_int(ctx, (size_t)(id / 8) < m->bytes &&
	    (m->bits[id / 8] >> (id % 8) & 1) != 0);
}

enum ts_rc
admin_customers_db_init(struct db *db)
{
	sqlite3 *h = db_handle(db);
	/* Direct only: never callable from a view, trigger or schema. */
	const int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY;
	int src;

	if ((src = sqlite3_create_function_v2(h, "page_offer", -1, flags, NULL,
	    NULL, page_offer_step, page_offer_final, NULL)) == SQLITE_OK &&
	    (src = sqlite3_create_function_v2(h, "match_collect", 2, flags, NULL,
	    NULL, match_collect_step, match_collect_final, NULL)) == SQLITE_OK)
		src = sqlite3_create_function_v2(h, "page_member", 2, flags, NULL,
		    page_member, NULL, NULL, NULL);
	return db_rc(src);
}

/*
 * A search alone (no ids, tag or short text) on a tab, walking the sort
 * key's index. The matches are collected from the search index first (ids
 * and their statuses, no row read); then the sort index is walked in page
 * order, the id read from the index itself, each entry tested against the
 * tab's matches, until offset + limit are found: about
 * (offset + limit) * customers / (the tab's matches) entries. Looking up
 * each of the tab's matches instead (page_ids' heap) costs about as much
 * as walking WALK_PER_LOOKUP index entries each, and is left to it when
 * cheaper: a rare search, a small tab, or a deep page. *walked is false
 * then, and *matched holds the ids of the matches on the tab as a JSON
 * array for the heap: the search is not run twice, and only those are
 * looked up.
 */
static enum ts_rc
search_walk(struct admin_req *r, const struct admin_filter *f, int64_t offset,
    int64_t limit, char **ids_json, int64_t *total, bool *walked,
    char **matched)
{
	int code = f->status[0] != '\0' ? status_code(f->status) : -1;
	struct match_set m = { .tab = code };
	sqlite3_stmt *st = NULL;
	char sql[1024];
	int64_t all = f->counts[0], in_tab;
	struct jw ids = { 0 };
	enum ts_rc rc;
	int src;

	*walked = false;
	*matched = NULL;
	if ((rc = db_stmt(r->db, "SELECT match_collect(:set, rowid) FROM"
	    " customers_fts WHERE customers_fts MATCH :match", &st)) != TS_OK)
		return rc;
	bind_text(st, ":match", f->match);
	(void)sqlite3_bind_pointer(st, sqlite3_bind_parameter_index(st, ":set"),
	    &m, MATCH_SET_PTR, NULL);
	src = sqlite3_step(st);
	db_stmt_done(r->db, st);
	st = NULL;
	if (src != SQLITE_ROW) {
		rc = db_rc(src);
		goto out;
	}
	in_tab = code >= 0 ? m.n[code] : m.n[0] + m.n[1] + m.n[2] + m.n[3];
	jw_open(&ids, NULL, "[");
	if (offset < in_tab &&
	    (offset + limit) * (all / in_tab) > WALK_PER_LOOKUP * in_tab) {
		/* The heap is cheaper: it gets the ids of the tab's matches. */
		for (size_t byte = 0; byte < m.bytes; byte++)
			for (int bit = 0; m.bits[byte] >> bit != 0; bit++)
				if (m.bits[byte] >> bit & 1)
					jw_int(&ids, NULL, (int64_t)(byte * 8) + bit);
		jw_close(&ids, "]");
		*matched = ids.buf;
		ids.buf = NULL;
		goto out;
	}
	*walked = true;
	*total = in_tab;
	if (offset >= in_tab)
		goto out;		/* past the end: no page */
	/* The bits hold the tab's matches only: no status test here. */
	(void)snprintf(sql, sizeof(sql), "SELECT c.id FROM customers AS c"
	    " INDEXED BY %s WHERE page_member(:set, c.id) ORDER BY %s"
	    " LIMIT :limit OFFSET :offset", f->sort->index,
	    f->desc ? f->sort->desc : f->sort->asc);
	if ((rc = db_stmt(r->db, sql, &st)) != TS_OK)
		goto out;
	(void)sqlite3_bind_pointer(st, sqlite3_bind_parameter_index(st, ":set"),
	    &m, MATCH_SET_PTR, NULL);
	bind_int(st, ":limit", limit);
	bind_int(st, ":offset", offset);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		jw_col_int(&ids, NULL, st, 0);
	if (src != SQLITE_DONE)
		rc = db_rc(src);
	jw_close(&ids, "]");
	*ids_json = ids.buf;
	ids.buf = NULL;
out:
	db_stmt_done(r->db, st);
	if (rc == TS_OK && ids.fail)
		rc = TS_ERR_NOMEM;
	if (rc != TS_OK) {
		free(*ids_json);
		*ids_json = NULL;
		free(*matched);
		*matched = NULL;
	}
	free(ids.buf);
	free(m.bits);
	return rc;
}

/*
 * The ids of the page at offset (at most limit) as a JSON array in page
 * order, or NULL when the page is past the end; *total counts every match.
 */
static enum ts_rc
page_ids(struct admin_req *r, const struct admin_filter *f, int64_t offset,
    int64_t limit, char **ids_json, int64_t *total)
{
	struct page_heap h = { .sort = f->sort, .desc = f->desc };
	sqlite3_stmt *st = NULL;
	char sql[2048] = "SELECT page_offer(:heap, c.id, c.status";
	struct jw ids = { 0 };
	enum ts_rc rc;
	int src;

	*ids_json = NULL;
	*total = 0;
	if (f->match != NULL && f->ids_json == NULL && f->like == NULL &&
	    f->tag == NULL) {
		struct admin_filter by_ids = *f;
		bool walked;

		if ((rc = search_walk(r, f, offset, limit, ids_json, total,
		    &walked, &by_ids.ids_json)) != TS_OK || walked)
			return rc;
		/* The heap over the matches found, not a second search. */
		by_ids.match = NULL;
		rc = page_ids(r, &by_ids, offset, limit, ids_json, total);
		free(by_ids.ids_json);
		return rc;
	}
	h.max = offset + limit > 0 ? (size_t)(offset + limit) : 0;
	add(sql, sizeof(sql), f->sort->key_cols);
	add(sql, sizeof(sql), ")");
	if (f->match != NULL) {
		/*
		 * The search drives: its rowids come in order, each looked up
		 * once, with no temporary set of them built first as
		 * "c.id IN (...)" would (a fifth less work for 4,000 matches).
		 */
		struct admin_filter rest = *f;

		rest.match = NULL;
		add(sql, sizeof(sql), " FROM customers_fts AS s CROSS JOIN"
		    " customers AS c ON c.id = s.rowid >> 2");
		add_where(sql, sizeof(sql), &rest, false);
		add(sql, sizeof(sql), " AND s.customers_fts MATCH :match");
	} else {
		add(sql, sizeof(sql), " FROM customers AS c");
		add_where(sql, sizeof(sql), f, false);
	}
	if ((rc = db_stmt(r->db, sql, &st)) != TS_OK)
		goto out;
	bind_filter(st, f);
	(void)sqlite3_bind_pointer(st, sqlite3_bind_parameter_index(st, ":heap"),
	    &h, PAGE_HEAP_PTR, NULL);
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		src = sqlite3_step(st);
	if (src != SQLITE_DONE) {
		rc = db_rc(src);
		goto out;
	}
	*total = h.total;
	/* Heap sort: the keys end in page order. */
	for (size_t n = h.n; n > 1; n--) {
		heap_swap(&h, 0, n - 1);
		heap_down(&h, 0, n - 1);
	}
	if ((size_t)offset >= h.n)
		goto out;
	jw_open(&ids, NULL, "[");
	for (size_t i = (size_t)offset; i < h.n; i++)
		jw_int(&ids, NULL, h.keys[i].id);
	jw_close(&ids, "]");
	if (ids.fail) {
		free(ids.buf);
		rc = TS_ERR_NOMEM;
		goto out;
	}
	*ids_json = ids.buf;
out:
	db_stmt_done(r->db, st);
	for (size_t i = 0; i < h.n; i++)
		free(h.keys[i].text);
	free(h.keys);
	return rc;
}

static void
list_page(struct admin_req *r)
{
	struct admin_filter *f = NULL, by_ids = { .status = "" };
	const struct admin_filter *selected = NULL;
	struct page_parts rows = { 0 }, tags = { 0 };
	struct jw w = { 0 };
	sqlite3_stmt *st = NULL;
	int64_t page, per_page, offset, total = 0;
	enum ts_rc rc;
	int src;

	if (!admin_api_paging(r, &page, &per_page) ||
	    !admin_customers_filter(r, &f))
		return;
	offset = (page - 1) * per_page;
	if (narrowed(f)) {
		/* The page's ids, then their rows in the same order. */
		if ((rc = page_ids(r, f, offset, per_page, &by_ids.ids_json,
		    &total)) != TS_OK)
			goto dbfail;
		by_ids.sort = f->sort;
		by_ids.desc = f->desc;
		if (by_ids.ids_json != NULL)
			selected = &by_ids;
		offset = 0;
	} else {
		if ((rc = admin_customers_count(r, f, &total)) != TS_OK)
			goto dbfail;
		if (offset < total)
			selected = f;
	}
	if (selected != NULL) {
		if ((rc = admin_customers_select(r, selected, false, per_page, offset,
		    &st)) != TS_OK)
			goto dbfail;
		while ((src = sqlite3_step(st)) == SQLITE_ROW) {
			if (!part_begin(&rows, sqlite3_column_int64(st, 0))) {
				rc = TS_ERR_NOMEM;
				goto dbfail;
			}
			profile_summary_write(&rows.text, st, 0, r->decimals,
			    r->currency[0] ? r->currency : NULL);
			part_end(&rows);
		}
		if (src != SQLITE_DONE) {
			rc = db_rc(src);
			goto dbfail;
		}
		if ((rc = page_tags(r, &rows, &tags)) != TS_OK)
			goto dbfail;
	}
	write_list(&w, &rows, &tags, f, total, page, per_page);
	if (rows.text.fail || tags.text.fail || w.fail) {
		rc = TS_ERR_NOMEM;
		goto dbfail;
	}
	admin_api_reply_text(r, 200, w.buf, w.len);
	w.buf = NULL;
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "list");
out:
	db_stmt_done(r->db, st);
	free(w.buf);
	parts_fini(&rows);
	parts_fini(&tags);
	free(by_ids.ids_json);
	admin_customers_filter_free(f);
}

/*
 * GET /v1/customers, read in one snapshot: the tab counts, the rows, their
 * tag counts and their tags all agree even while the worker writes.
 */
void
admin_customers_list(struct admin_req *r)
{
	bool snapshot = db_exec(r->db, "BEGIN") == TS_OK;

	list_page(r);
	if (snapshot)
		db_rollback(r->db);
}

/* ---- add, edit --------------------------------------------------------- */

/*
 * A deliverable-looking address: one '@', a non-empty local part of at
 * most 64 bytes, a dotted domain, no spaces, quotes, commas or angle
 * brackets. Anything stricter belongs to the store, which checked it.
 */
static bool
email_valid(const char *e)
{
	const char *at = strchr(e, '@'), *dot;

	if (at == NULL || at == e || strchr(at + 1, '@') != NULL ||
	    at - e > 64 || strlen(e) > EMAIL_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)e; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || strchr("\"(),:;<>[\\]", *p) != NULL)
			return false;
	dot = strrchr(at + 1, '.');
	return dot != NULL && dot > at + 1 && dot[1] != '\0';
}

/* 0 when free, 1 when a customer has it, 2 when an alias has it. */
static enum ts_rc
email_owner(struct admin_req *r, const char *email, int *owner)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;
	int src;

	*owner = 0;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "SELECT 1 FROM"
	    " customers WHERE email = ?1 UNION ALL SELECT 2 FROM customer_aliases"
	    " WHERE email = ?1 LIMIT 1", -1, &st, NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		*owner = sqlite3_column_int(st, 0);
	else if (src != SQLITE_DONE)
		rc = db_rc(src);
	(void)sqlite3_finalize(st);
	return rc;
}

char *
admin_customers_email(struct admin_req *r, const json_t *body,
    const char *key)
{
	const char *raw = NULL;
	char *email;
	bool present;

	if (!admin_api_string(r, body, key, EMAIL_MAX + 16, false, false, &raw,
	    &present))
		return NULL;
	if (raw == NULL) {
		admin_api_fail(r, 400, "missing_field", key, "email is required");
		return NULL;
	}
	email = wc_order_normalize_email(raw);
	if (email == NULL || !email_valid(email)) {
		free(email);
		admin_api_fail(r, 400, "invalid_field", key,
		    "not a valid email address");
		return NULL;
	}
	return email;
}

bool
admin_customers_email_free(struct admin_req *r, const char *email,
    const char *field)
{
	enum ts_rc rc;
	int owner;

	if ((rc = email_owner(r, email, &owner)) != TS_OK) {
		admin_api_db_fail(r, rc, "email look-up");
		return false;
	}
	if (owner != 0) {
		admin_api_fail(r, 409, "email_in_use", field, owner == 1 ?
		    "a customer has this email" : "an alias has this email");
		return false;
	}
	return true;
}

static void
bind_or_default(sqlite3_stmt *st, int col, const char *v)
{
	(void)sqlite3_bind_text(st, col, v != NULL ? v : "", -1, SQLITE_STATIC);
}

void
admin_customers_create(struct admin_req *r)
{
	static const char *const allowed[] = { "email", "first_name", "last_name",
		"phone", "company", "status", "status_reason", "notes", NULL };
	json_t *body = NULL;
	char *email = NULL;
	const char *first = NULL, *last = NULL, *phone = NULL, *company = NULL,
	    *status = NULL, *reason = NULL, *notes = NULL;
	sqlite3_stmt *st = NULL;
	bool manual;
	enum ts_rc rc;

	if ((body = admin_api_body(r)) == NULL)
		return;
	if (!admin_api_only_keys(r, body, allowed) ||
	    (email = admin_customers_email(r, body, "email")) == NULL ||
	    !admin_api_string(r, body, "first_name", NAME_MAX_LEN, false, false,
	    &first, NULL) ||
	    !admin_api_string(r, body, "last_name", NAME_MAX_LEN, false, false,
	    &last, NULL) ||
	    !admin_api_string(r, body, "phone", PHONE_MAX, false, false, &phone,
	    NULL) ||
	    !admin_api_string(r, body, "company", NAME_MAX_LEN, false, false,
	    &company, NULL) ||
	    !admin_api_string(r, body, "status", 16, false, false, &status, NULL) ||
	    !admin_api_string(r, body, "status_reason", REASON_MAX, true, true,
	    &reason, NULL) ||
	    !admin_api_string(r, body, "notes", NOTES_MAX, false, true, &notes,
	    NULL))
		goto out;
	if (status == NULL)
		status = "active";
	if (!profile_status_valid(status)) {
		admin_api_fail(r, 400, "invalid_field", "status", "status must be"
		    " active, vip, caution or do_not_serve");
		goto out;
	}
	if ((rc = db_begin(r->db)) != TS_OK)
		goto dbfail;
	if (!admin_customers_email_free(r, email, "email"))
		goto out;
	manual = strcmp(status, "active") != 0 || reason != NULL;
	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), "INSERT INTO"
	    " customers (email, first_name, last_name, phone, company, status,"
	    " status_reason, status_changed_at, status_changed_by, notes,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	    -1, &st, NULL))) != TS_OK)
		goto dbfail;
	(void)sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	bind_or_default(st, 2, first);
	bind_or_default(st, 3, last);
	bind_or_default(st, 4, phone);
	bind_or_default(st, 5, company);
	(void)sqlite3_bind_text(st, 6, status, -1, SQLITE_STATIC);
	if (reason != NULL)
		(void)sqlite3_bind_text(st, 7, reason, -1, SQLITE_STATIC);
	if (manual) {
		(void)sqlite3_bind_int64(st, 8, r->now);
		(void)sqlite3_bind_text(st, 9, r->actor, -1, SQLITE_STATIC);
	}
	bind_or_default(st, 10, notes);
	(void)sqlite3_bind_int64(st, 11, r->now);
	if ((rc = db_rc(sqlite3_step(st))) != TS_OK)
		goto dbfail;
	r->id = sqlite3_last_insert_rowid(db_handle(r->db));
	if ((rc = profile_audit(r->db, r->id, r->now, r->actor, "create", NULL,
	    NULL, NULL, NULL)) != TS_OK)
		goto dbfail;
	if (manual && (rc = profile_audit(r->db, r->id, r->now, r->actor,
	    "status_change", "status", NULL, status, reason)) != TS_OK)
		goto dbfail;
	if ((rc = db_commit(r->db)) != TS_OK)
		goto dbfail;
	admin_api_reply_profile(r, 201);
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "customer insert");
out:
	db_rollback(r->db);
	(void)sqlite3_finalize(st);
	free(email);
	json_decref(body);
}

void
admin_customers_get(struct admin_req *r)
{
	admin_api_reply_profile(r, 200);
}

/* The plain text fields an edit may change, with their column. */
static const struct {
	const char *field;
	size_t max;
	bool multiline;
} edit_fields[] = {
	{ "first_name", NAME_MAX_LEN, false },
	{ "last_name", NAME_MAX_LEN, false },
	{ "phone", PHONE_MAX, false },
	{ "company", NAME_MAX_LEN, false },
	{ "notes", NOTES_MAX, true },
};

#define N_EDIT (sizeof(edit_fields) / sizeof(edit_fields[0]))

/* Each UPDATE is a fixed string: the column is never taken from input. */
static const char *const edit_sql[N_EDIT] = {
	"UPDATE customers SET first_name = ?2 WHERE id = ?1 AND first_name <> ?2",
	"UPDATE customers SET last_name = ?2 WHERE id = ?1 AND last_name <> ?2",
	"UPDATE customers SET phone = ?2 WHERE id = ?1 AND phone <> ?2",
	"UPDATE customers SET company = ?2 WHERE id = ?1 AND company <> ?2",
	"UPDATE customers SET notes = ?2 WHERE id = ?1 AND notes <> ?2",
};

static enum ts_rc
exec_bound(struct admin_req *r, const char *sql, const char *text,
    int *changes)
{
	sqlite3_stmt *st = NULL;
	enum ts_rc rc;

	if ((rc = db_rc(sqlite3_prepare_v2(db_handle(r->db), sql, -1, &st,
	    NULL))) != TS_OK)
		return rc;
	(void)sqlite3_bind_int64(st, 1, r->id);
	if (text != NULL)
		(void)sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	rc = db_rc(sqlite3_step(st));
	*changes = sqlite3_changes(db_handle(r->db));
	(void)sqlite3_finalize(st);
	return rc;
}

void
admin_customers_patch(struct admin_req *r)
{
	static const char *const allowed[] = { "first_name", "last_name", "phone",
		"company", "notes", "status", "status_reason", NULL };
	const char *values[N_EDIT], *status = NULL, *reason = NULL;
	bool reason_present = false, changed;
	json_t *body;
	int changes;
	enum ts_rc rc;

	if ((body = admin_api_body(r)) == NULL)
		return;
	if (!admin_api_only_keys(r, body, allowed))
		goto out;
	if (json_object_size(body) == 0) {
		admin_api_fail(r, 400, "missing_field", NULL,
		    "nothing to change: give at least one field");
		goto out;
	}
	for (size_t i = 0; i < N_EDIT; i++)
		if (!admin_api_string(r, body, edit_fields[i].field,
		    edit_fields[i].max, false, edit_fields[i].multiline, &values[i],
		    NULL))
			goto out;
	if (!admin_api_string(r, body, "status", 16, false, false, &status,
	    NULL) ||
	    !admin_api_string(r, body, "status_reason", REASON_MAX, true, true,
	    &reason, &reason_present))
		goto out;
	if (status != NULL && !profile_status_valid(status)) {
		admin_api_fail(r, 400, "invalid_field", "status", "status must be"
		    " active, vip, caution or do_not_serve");
		goto out;
	}
	if ((rc = db_begin(r->db)) != TS_OK)
		goto dbfail;
	if ((rc = admin_customers_exists(r, r->id)) == TS_ERR_NOTFOUND) {
		admin_api_fail(r, 404, "not_found", NULL, "no such customer");
		goto out;
	} else if (rc != TS_OK) {
		goto dbfail;
	}
	for (size_t i = 0; i < N_EDIT; i++) {
		if (values[i] == NULL)
			continue;
		if ((rc = exec_bound(r, edit_sql[i], values[i], &changes)) != TS_OK)
			goto dbfail;
		/* Personal values never go into the audit log: the field only. */
		if (changes > 0 && (rc = profile_audit(r->db, r->id, r->now,
		    r->actor, "edit", edit_fields[i].field, NULL, NULL,
		    NULL)) != TS_OK)
			goto dbfail;
	}
	changed = false;
	if (status != NULL && (rc = profile_set_status(r->db, r->id, status,
	    reason, r->actor, r->now, &changed)) != TS_OK)
		goto dbfail;
	if (!changed && reason_present) {
		if ((rc = exec_bound(r, reason != NULL ? "UPDATE customers SET"
		    " status_reason = ?2 WHERE id = ?1 AND status_reason IS NOT ?2" :
		    "UPDATE customers SET status_reason = NULL WHERE id = ?1 AND"
		    " status_reason IS NOT NULL", reason, &changes)) != TS_OK)
			goto dbfail;
		if (changes > 0 && (rc = profile_audit(r->db, r->id, r->now,
		    r->actor, "edit", "status_reason", NULL, NULL, NULL)) != TS_OK)
			goto dbfail;
	}
	if ((rc = db_commit(r->db)) != TS_OK)
		goto dbfail;
	admin_api_reply_profile(r, 200);
	goto out;
dbfail:
	admin_api_db_fail(r, rc, "customer update");
out:
	db_rollback(r->db);
	json_decref(body);
}
