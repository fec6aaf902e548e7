/* SPDX-License-Identifier: MIT */
/*
 * Every customer's counted orders in memory, for the full recalculation:
 * read in one read transaction (table order, scattered per customer), and
 * what is learned from all of them at once - the RFM thresholds and the
 * purchase models fitted on the store's own history. Never logs.
 */
#include "tracksies/rfm_snapshot.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "tracksies/db.h"

static enum ts_rc
prepare(struct db *db, const char *sql, sqlite3_stmt **st)
{
	enum ts_rc rc = db_rc(sqlite3_prepare_v2(db_handle(db), sql, -1, st, NULL));

	return rc == TS_OK && *st == NULL ? TS_ERR_IO : rc;
}

static void
bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL || *s == '\0')
		(void)sqlite3_bind_null(st, i);
	else
		(void)sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static void
bind_cutoff(sqlite3_stmt *st, int i, int64_t as_of, bool cutoff)
{
	if (cutoff)
		(void)sqlite3_bind_int64(st, i, as_of);
	else
		(void)sqlite3_bind_null(st, i);
}

struct id_map {
	const int64_t *ids;
	size_t n;
	int64_t base;		/* ids are base, base + 1, ...: index = id - base */
	bool contiguous;
	int32_t *dense;		/* else id -> index + 1, or NULL: bisect */
	int64_t max_id;
};

static bool
id_index(const struct id_map *map, int64_t id, size_t *out)
{
	size_t lo = 0, hi = map->n;

	if (map->contiguous) {
		if (id < map->base || id > map->max_id)
			return false;
		*out = (size_t)(id - map->base);
		return true;
	}
	if (map->dense != NULL) {
		if (id < 0 || id > map->max_id || map->dense[id] == 0)
			return false;
		*out = (size_t)map->dense[id] - 1;
		return true;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (map->ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == map->n || map->ids[lo] != id)
		return false;
	*out = lo;
	return true;
}

/*
 * Sort v[0..n) ascending: LSD radix, 16 bits a pass, passes where every
 * key has the same digit skipped (ids and money need two or three). glibc's
 * qsort spends more on calls than this on a million values.
 */
static enum ts_rc
sort_i64(int64_t *v, size_t n)
{
	uint64_t *a = (uint64_t *)v, *b, *tmp;
	size_t count[65536];

	if (n < 2)
		return TS_OK;
	if ((b = malloc(n * sizeof(*b))) == NULL)
		return TS_ERR_NOMEM;
	/* Flip the sign bit: signed order becomes unsigned order. */
	for (size_t i = 0; i < n; i++)
		a[i] ^= UINT64_C(1) << 63;
	for (int shift = 0; shift < 64; shift += 16) {
		size_t sum = 0;

		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(a[i] >> shift) & 0xffff]++;
		if (count[(a[0] >> shift) & 0xffff] == n)
			continue;
		for (size_t d = 0; d < 65536; d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			b[count[(a[i] >> shift) & 0xffff]++] = a[i];
		tmp = a;
		a = b;
		b = tmp;
	}
	if (a != (uint64_t *)v) {
		memcpy(v, a, n * sizeof(*a));
		b = a;
	}
	for (size_t i = 0; i < n; i++)
		((uint64_t *)v)[i] ^= UINT64_C(1) << 63;
	free(b);
	return TS_OK;
}

static enum ts_rc
read_ids(struct db *db, struct rfm_snapshot *s)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	bool sorted = true;
	enum ts_rc rc;
	int src;

	if ((rc = prepare(db, "SELECT id FROM customers", &st)) != TS_OK)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			int64_t *ids = realloc(s->ids, ncap * sizeof(*ids));
			if (ids == NULL) {
				(void)sqlite3_finalize(st);
				return TS_ERR_NOMEM;
			}
			s->ids = ids;
			cap = ncap;
		}
		s->ids[s->n] = sqlite3_column_int64(st, 0);
		if (s->n > 0 && s->ids[s->n] < s->ids[s->n - 1])
			sorted = false;
		s->n++;
	}
	(void)sqlite3_finalize(st);
	if (src != SQLITE_DONE)
		return db_rc(src);
	return sorted ? TS_OK : sort_i64(s->ids, s->n);
}

/* Slots per customer: every transaction row, before currency and cutoff. */
static enum ts_rc
read_counts(struct db *db, struct rfm_snapshot *s, const struct id_map *map)
{
	sqlite3_stmt *st = NULL;
	size_t i, total = 0;
	enum ts_rc rc;
	int src;

	if ((s->off = calloc(s->n + 1, sizeof(*s->off))) == NULL)
		return TS_ERR_NOMEM;
	if ((rc = prepare(db, "SELECT customer_id, count(*) FROM transactions"
	    " GROUP BY customer_id", &st)) != TS_OK)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if (id_index(map, sqlite3_column_int64(st, 0), &i))
			s->off[i + 1] = (size_t)sqlite3_column_int64(st, 1);
	(void)sqlite3_finalize(st);
	if (src != SQLITE_DONE)
		return db_rc(src);
	for (i = 0; i < s->n; i++) {
		total += s->off[i + 1];
		s->off[i + 1] = total;
	}
	if ((s->orders = malloc((total ? total : 1) * sizeof(*s->orders))) == NULL)
		return TS_ERR_NOMEM;
	return TS_OK;
}

static enum ts_rc
read_orders(struct db *db, struct rfm_snapshot *s, const struct id_map *map,
    const char *currency)
{
	/* Cursor and end side by side: one cache line per order, not two. */
	struct slot {
		size_t next;
		size_t end;
	} *slot = NULL;
	sqlite3_stmt *st = NULL;
	size_t i, w = 0;
	enum ts_rc rc;
	int src;

	/*
	 * Table order: one sequential pass, scattered into each customer's
	 * slots here. The slots count every row of the same read transaction
	 * and this pass filters, so the end is never reached; it is checked
	 * all the same.
	 */
	if ((slot = malloc((s->n ? s->n : 1) * sizeof(*slot))) == NULL)
		return TS_ERR_NOMEM;
	for (i = 0; i < s->n; i++)
		slot[i] = (struct slot){ s->off[i], s->off[i + 1] };
	if ((rc = prepare(db, "SELECT customer_id, total_minor, created_at,"
	    " coupon_codes <> '' FROM transactions WHERE (?1 IS NULL OR"
	    " currency = ?1) AND (?2 IS NULL OR created_at < ?2)", &st)) != TS_OK)
		goto out;
	bind_text_or_null(st, 1, currency);
	bind_cutoff(st, 2, s->as_of, s->cutoff);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct rfm_order *o;

		if (!id_index(map, sqlite3_column_int64(st, 0), &i) ||
		    slot[i].next == slot[i].end)
			continue;
		o = &s->orders[slot[i].next++];
		o->total_minor = sqlite3_column_int64(st, 1);
		o->at = rfm_order_time(sqlite3_column_int64(st, 2));
		o->coupon = sqlite3_column_int(st, 3) != 0;
	}
	rc = src == SQLITE_DONE ? TS_OK : db_rc(src);
	if (rc != TS_OK)
		goto out;
	/* Close the holes left by rows of other currencies or later dates. */
	for (i = 0; i < s->n; i++) {
		size_t start = s->off[i], n = slot[i].next - start;

		if (w != start && n > 0)
			memmove(&s->orders[w], &s->orders[start], n * sizeof(*s->orders));
		s->off[i] = w;
		w += n;
	}
	s->off[s->n] = w;
out:
	(void)sqlite3_finalize(st);
	free(slot);
	return rc;
}

static enum ts_rc
read_refunds(struct db *db, struct rfm_snapshot *s, const struct id_map *map,
    const char *currency)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	enum ts_rc rc;
	int src;

	s->refunded_minor = calloc(s->n ? s->n : 1, sizeof(*s->refunded_minor));
	s->refund_count = calloc(s->n ? s->n : 1, sizeof(*s->refund_count));
	if (s->refunded_minor == NULL || s->refund_count == NULL)
		return TS_ERR_NOMEM;
	if ((rc = prepare(db, "SELECT customer_id, refunded_minor, refund_count"
	    " FROM orders WHERE refund_count > 0 AND customer_id IS NOT NULL"
	    " AND (?1 IS NULL OR currency = ?1) AND status NOT IN ('trash',"
	    " 'deleted') AND (?2 IS NULL OR created_at < ?2)", &st)) != TS_OK)
		return rc;
	bind_text_or_null(st, 1, currency);
	bind_cutoff(st, 2, s->as_of, s->cutoff);
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		if (id_index(map, sqlite3_column_int64(st, 0), &i)) {
			s->refunded_minor[i] += sqlite3_column_int64(st, 1);
			s->refund_count[i] += sqlite3_column_int64(st, 2);
		}
	(void)sqlite3_finalize(st);
	return src == SQLITE_DONE ? TS_OK : db_rc(src);
}

enum ts_rc
rfm_snapshot_read(struct db *db, int64_t as_of, bool cutoff,
    struct rfm_snapshot **out)
{
	struct rfm_snapshot *s = NULL;
	struct id_map map = { 0 };
	sqlite3_int64 seq = 0;
	char currency[4];
	enum ts_rc rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TS_ERR_NOMEM;
	s->as_of = as_of;
	s->cutoff = cutoff;
	/* One read transaction: every table as of the same commit. */
	if ((rc = db_exec(db, "BEGIN")) != TS_OK)
		goto out;
	if ((rc = rfm_store_settings(db, currency, &s->scale)) != TS_OK ||
	    (rc = db_query_int64(db, "SELECT write_seq FROM intel_state"
	    " WHERE id = 1", &seq)) != TS_OK ||
	    (rc = read_ids(db, s)) != TS_OK)
		goto out;
	s->seq = (int64_t)seq;
	map.ids = s->ids;
	map.n = s->n;
	map.max_id = s->n ? s->ids[s->n - 1] : 0;
	map.base = s->n ? s->ids[0] : 0;
	/*
	 * Ids without holes map by subtraction; a dense id space (the usual
	 * case) by array; anything else by bisection.
	 */
	map.contiguous = s->n > 0 && map.max_id - map.base == (int64_t)s->n - 1;
	if (!map.contiguous && s->n > 0 && map.max_id >= 0 &&
	    (uint64_t)map.max_id <= 4 * (uint64_t)s->n + 1024 &&
	    (map.dense = calloc((size_t)map.max_id + 1, sizeof(*map.dense))) != NULL)
		for (size_t i = 0; i < s->n; i++)
			if (s->ids[i] >= 0)
				map.dense[s->ids[i]] = (int32_t)(i + 1);
	if ((rc = read_counts(db, s, &map)) != TS_OK ||
	    (rc = read_orders(db, s, &map, currency)) != TS_OK ||
	    (rc = read_refunds(db, s, &map, currency)) != TS_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	(void)db_exec(db, "COMMIT");
	free(map.dense);
	rfm_snapshot_free(s);
	return rc;
}

void
rfm_snapshot_free(struct rfm_snapshot *s)
{
	if (s == NULL)
		return;
	free(s->ids);
	free(s->off);
	free(s->orders);
	free(s->refunded_minor);
	free(s->refund_count);
	free(s);
}

void
rfm_snapshot_customer(struct rfm_snapshot *s, size_t i, struct rfm_customer *out)
{
	rfm_summarize(&s->orders[s->off[i]], s->off[i + 1] - s->off[i], s->as_of,
	    s->cutoff, s->scale, out);
	out->refunded_minor = s->refunded_minor[i];
	out->refund_count = s->refund_count[i];
}

enum ts_rc
rfm_snapshot_model(struct rfm_snapshot *s, struct rfm_model *out)
{
	int64_t *r = NULL, *f = NULL, *m = NULL;
	struct clv_customer *sample = NULL;
	size_t n = 0, ns = 0, stride, seen = 0;
	int64_t orders = 0, total_minor = 0;
	enum ts_rc rc = TS_ERR_NOMEM;

	memset(out, 0, sizeof(*out));
	out->fitted_at = s->as_of;
	r = malloc((s->n ? s->n : 1) * sizeof(*r));
	f = malloc((s->n ? s->n : 1) * sizeof(*f));
	m = malloc((s->n ? s->n : 1) * sizeof(*m));
	if (r == NULL || f == NULL || m == NULL)
		goto out;
	for (size_t i = 0; i < s->n; i++) {
		size_t k = s->off[i + 1] - s->off[i];
		int64_t last = INT64_MIN, ltv = 0;

		if (k == 0)
			continue;
		for (size_t j = s->off[i]; j < s->off[i + 1]; j++) {
			ltv += s->orders[j].total_minor;
			if (s->orders[j].at > last)
				last = s->orders[j].at;
		}
		r[n] = last;
		f[n] = (int64_t)k;
		m[n] = ltv;
		orders += (int64_t)k;
		total_minor += ltv;
		n++;
	}
	if (sort_i64(r, n) != TS_OK || sort_i64(f, n) != TS_OK ||
	    sort_i64(m, n) != TS_OK)
		goto out;
	out->breaks.n = (int64_t)n;
	rfm_breaks_from_sorted(r, n, out->breaks.r);
	rfm_breaks_from_sorted(f, n, out->breaks.f);
	rfm_breaks_from_sorted(m, n, out->breaks.m);
	if (n == 0) {
		rc = TS_OK;
		goto out;
	}

	/* Every stride-th customer with an order, in id order: deterministic. */
	stride = (n + RFM_CLV_FIT_MAX - 1) / RFM_CLV_FIT_MAX;
	if ((sample = malloc(((n + stride - 1) / stride) * sizeof(*sample))) == NULL)
		goto out;
	for (size_t i = 0; i < s->n; i++) {
		struct rfm_customer c;

		if (s->off[i + 1] == s->off[i])
			continue;
		if (seen++ % stride != 0)
			continue;
		rfm_snapshot_customer(s, i, &c);
		sample[ns++] = c.clv;
	}
	if ((rc = clv_fit(sample, ns, &out->clv)) == TS_OK) {
		out->have_clv = true;
		out->clv_n_customers = ns;
		/* No repeat buyer to learn spend from: the mean order value. */
		if (out->clv.fallback.spend <= 0.0 && orders > 0)
			out->clv.fallback.spend = (double)total_minor /
			    (double)orders / s->scale;
	} else if (rc == TS_ERR_INVALID) {
		rc = TS_OK;	/* nothing to fit: no predictions */
	}
out:
	free(r);
	free(f);
	free(m);
	free(sample);
	return rc;
}

