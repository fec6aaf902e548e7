/* SPDX-License-Identifier: MIT */
/*
 * Deterministic population: the same seed, order count, customer count and
 * anchor date always give the same store, byte for byte. Three years of
 * history ending at the anchor: registered and guest buyers (some writing
 * a registered customer's email in another case, padded with spaces, some
 * with no email at all), every order status, coupons, fees, partial and
 * full refunds, digital, physical and mixed baskets, USD and some EUR.
 * Never reads the clock.
 */
#include "fakewc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const firsts[] = { "Carol", "Dmitri", "Eve", "Farah",
	"Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena", "Mateo", "Nora", "Omar",
	"Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Victor", "Wen",
	"Xavier", "Yara", "Zeke" };
static const char *const lasts[] = { "Adler", "Baptiste", "Costa", "Dubois",
	"Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski",
	"Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quispe", "Rossi",
	"Schmidt", "Tanaka" };

struct place {
	const char *city, *state, *postcode, *country;
};

static const struct place places[] = {
	{ "Oakland", "CA", "94607", "US" }, { "Los Angeles", "CA", "90001", "US" },
	{ "Portland", "OR", "97201", "US" }, { "Austin", "TX", "73301", "US" },
	{ "New York", "NY", "10001", "US" }, { "Seattle", "WA", "98101", "US" },
	{ "Denver", "CO", "80201", "US" }, { "Chicago", "IL", "60601", "US" },
	{ "Berlin", "", "10115", "DE" }, { "Paris", "", "75001", "FR" },
};
#define N_US_PLACES 8

/* Products a basket draws from (not the variable parent 14). */
static const int64_t sellable[] = { 8, 9, 10, 11, 12, 13, 15, 16, 17 };
static const int64_t digital[] = { 9, 13 };

static const struct {
	const char *id, *title;
} payments[] = {
	{ "bacs", "Direct bank transfer" }, { "cheque", "Check payments" },
	{ "cod", "Cash on delivery" }, { "stripe", "Credit Card (Stripe)" },
};

enum scenario { SC_RANDOM, SC_STATUS0 /* ...one per status */,
	SC_PARTIAL = SC_STATUS0 + ST__COUNT, SC_DIGITAL, SC_MIXED, SC_NO_EMAIL,
	SC_PADDED_EMAIL, SC_EUR, SC_COUPON, SC__COUNT };

static char *
xprintf(const char *fmt, const char *a, const char *b, long n)
{
	char buf[256];

	snprintf(buf, sizeof(buf), fmt, a, b, n);
	return util_xstrdup(buf);
}

static char *
lower(const char *s)
{
	char *d = util_xstrdup(s);

	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static void
add_customer(struct store *s, int64_t id, const char *first, const char *last,
    const char *email, const struct place *pl, int n)
{
	struct customer *c;
	char phone[32], addr[64];

	c = realloc(s->customers, (s->n_customers + 1) * sizeof(*c));
	if (c == NULL)
		abort();
	s->customers = c;
	c = &s->customers[s->n_customers++];
	snprintf(phone, sizeof(phone), "+1 510 555 %04d", n % 10000);
	snprintf(addr, sizeof(addr), "%d Test Street", 10 + n % 90);
	c->id = id;
	c->first = util_xstrdup(first);
	c->last = util_xstrdup(last);
	c->email = util_xstrdup(email);
	c->phone = util_xstrdup(phone);
	c->address = util_xstrdup(id == 2 || id == 3 ? "42 Test Street" : addr);
	c->city = util_xstrdup(pl->city);
	c->state = util_xstrdup(pl->state);
	c->postcode = util_xstrdup(pl->postcode);
	c->country = util_xstrdup(pl->country);
}

static void
gen_customers(struct store *s, struct util_rng *r, int n)
{
	for (int i = 0; i < n; i++) {
		const char *f, *l;
		const struct place *pl;
		char *lf, *ll, *email;

		if (i == 0) {
			add_customer(s, 2, "Alice", "Anders", "alice@example.test",
			    &places[0], 101);
			continue;
		}
		if (i == 1) {
			add_customer(s, 3, "Bob", "Brown", "bob@example.test",
			    &places[2], 101);
			continue;
		}
		f = firsts[util_rng_below(r, sizeof(firsts) / sizeof(*firsts))];
		l = lasts[util_rng_below(r, sizeof(lasts) / sizeof(*lasts))];
		pl = util_rng_pct(r, 10) ?
		    &places[N_US_PLACES + util_rng_below(r, 2)] :
		    &places[util_rng_below(r, N_US_PLACES)];
		lf = lower(f);
		ll = lower(l);
		email = xprintf("%s.%s%ld@example.test", lf, ll, 2 + i);
		add_customer(s, 2 + i, f, l, email, pl, i);
		free(lf);
		free(ll);
		free(email);
	}
}

/* "  Alice@Example.TEST ": the same person, as some checkouts store it. */
static char *
mangle_email(struct util_rng *r, const char *email, bool pad)
{
	size_t n = strlen(email);
	char *d = util_xmalloc(n + 5), *p = d;
	bool domain = false;

	if (pad)
		p += sprintf(p, "%s", util_rng_pct(r, 50) ? "  " : " ");
	for (size_t i = 0; i < n; i++) {
		char c = email[i];

		if (c == '@')
			domain = true;
		if (i == 0 || (domain && util_rng_pct(r, 50)) ||
		    (!domain && util_rng_pct(r, 20)))
			c = (char)toupper((unsigned char)c);
		*p++ = c;
	}
	if (pad && util_rng_pct(r, 60))
		*p++ = ' ';
	*p = '\0';
	return d;
}

static void
set_addr(json_t *a, const char *first, const char *last, const char *street,
    const struct place *pl, const char *email, const char *phone)
{
	json_object_set_new(a, "first_name", json_string(first));
	json_object_set_new(a, "last_name", json_string(last));
	json_object_set_new(a, "company", json_string(""));
	json_object_set_new(a, "address_1", json_string(street));
	json_object_set_new(a, "address_2", json_string(""));
	json_object_set_new(a, "city", json_string(pl->city));
	json_object_set_new(a, "state", json_string(pl->state));
	json_object_set_new(a, "postcode", json_string(pl->postcode));
	json_object_set_new(a, "country", json_string(pl->country));
	if (email != NULL)
		json_object_set_new(a, "email", json_string(email));
	json_object_set_new(a, "phone", json_string(phone));
}

static const struct place *
place_of(const struct customer *c)
{
	for (size_t i = 0; i < sizeof(places) / sizeof(*places); i++)
		if (strcmp(places[i].city, c->city) == 0)
			return &places[i];
	return &places[0];
}

static void
gen_buyer(struct store *s, struct util_rng *r, struct order *o,
    enum scenario sc)
{
	const struct customer *c = NULL;
	const struct place *pl;
	char *email = NULL, street[64], phone[32];
	const char *first, *last;
	bool guest = s->n_customers == 0 || util_rng_pct(r, 30) ||
	    sc == SC_NO_EMAIL || sc == SC_PADDED_EMAIL || sc == SC_EUR;

	if (s->n_customers > 0)
		c = &s->customers[util_rng_below(r, (uint32_t)s->n_customers)];
	if (!guest) {
		o->customer_id = c->id;
		email = util_rng_pct(r, 10) ? mangle_email(r, c->email, false) :
		    util_xstrdup(c->email);
	} else if (c != NULL && (sc == SC_PADDED_EMAIL ||
	    (sc != SC_NO_EMAIL && sc != SC_EUR && util_rng_pct(r, 35)))) {
		/* a registered customer checking out as a guest */
		email = mangle_email(r, c->email, true);
	} else {
		c = NULL;
	}
	if (c != NULL) {
		first = c->first;
		last = c->last;
		pl = place_of(c);
		snprintf(street, sizeof(street), "%s", c->address);
		snprintf(phone, sizeof(phone), "%s", c->phone);
	} else {
		long g = (long)util_rng_below(r, 400);

		first = firsts[g % (long)(sizeof(firsts) / sizeof(*firsts))];
		last = lasts[(g / 3) % (long)(sizeof(lasts) / sizeof(*lasts))];
		pl = util_rng_pct(r, 8) || sc == SC_EUR ?
		    &places[N_US_PLACES + util_rng_below(r, 2)] :
		    &places[util_rng_below(r, N_US_PLACES)];
		snprintf(street, sizeof(street), "%ld Guest Lane", 1 + g);
		snprintf(phone, sizeof(phone), "+1 415 555 %04ld", g);
		if (sc != SC_NO_EMAIL && !util_rng_pct(r, 8))
			email = xprintf("guest%s%s%ld@example.test", "", "", g);
	}
	set_addr(o->billing, first, last, street, pl, email ? email : "", phone);
	set_addr(o->shipping, first, last, street, pl, NULL, "");
	free(email);
	if (strcmp(pl->country, "US") && (sc == SC_EUR || util_rng_pct(r, 80)))
		memcpy(o->currency, "EUR", 4);
	else
		memcpy(o->currency, "USD", 4);
}

static void
gen_items(struct store *s, struct util_rng *r, struct order *o,
    enum scenario sc)
{
	int lines = 1 + (int)util_rng_below(r, 3);
	bool physical = false;

	for (int i = 0; i < lines; i++) {
		int64_t pid;
		const struct product *p;

		if (sc == SC_DIGITAL)
			pid = digital[util_rng_below(r, 2)];
		else if (sc == SC_MIXED)
			pid = i == 0 ? 13 : 12;
		else
			pid = sellable[util_rng_below(r,
			    sizeof(sellable) / sizeof(*sellable))];
		p = store_product(s, pid);
		(void)store_add_line(s, o, p->parent_id ? p->parent_id : pid,
		    p->parent_id ? pid : 0, util_rng_pct(r, 75) ? 1 :
		    2 + (int)util_rng_below(r, 2));
		if (!p->is_virtual)
			physical = true;
		if (sc == SC_MIXED && i == 0 && lines == 1)
			lines = 2;
	}
	if (util_rng_pct(r, 3)) {
		struct order_item *fee = order_add_item(o, ITEM_FEE);

		fee->id = s->next_item_id++;
		fee->name = util_xstrdup("Gift wrap");
		fee->subtotal = fee->total = 250;
	}
	if (physical)
		store_add_shipping(s, o);
	if (sc == SC_COUPON || util_rng_pct(r, 12)) {
		struct order_item *ci;

		o->coupon = store_coupon_by_code(s, util_rng_pct(r, 66) ||
		    sc == SC_COUPON ? "save10" : "welcome5");
		ci = order_add_item(o, ITEM_COUPON);
		ci->id = s->next_item_id++;
		ci->name = util_xstrdup(o->coupon->code);
		spec_coupon_meta(s, ci, o->coupon);
		order_apply_coupon(o);
	}
}

static enum order_status
pick_status(struct util_rng *r)
{
	static const struct {
		enum order_status st;
		uint32_t weight;
	} w[] = {
		{ ST_COMPLETED, 44 }, { ST_PROCESSING, 18 }, { ST_ON_HOLD, 5 },
		{ ST_PENDING, 7 }, { ST_CANCELLED, 6 }, { ST_REFUNDED, 5 },
		{ ST_FAILED, 4 }, { ST_CHECKOUT_DRAFT, 3 }, { ST_TRASH, 4 },
	};
	uint32_t x = util_rng_below(r, 96);

	for (size_t i = 0; i < sizeof(w) / sizeof(*w); i++) {
		if (x < w[i].weight)
			return w[i].st;
		x -= w[i].weight;
	}
	return ST_COMPLETED;
}

static void
add_refund(struct store *s, struct order *o, int64_t amount,
    const char *reason, int64_t when)
{
	struct order_refund *rf;

	rf = realloc(o->refunds, (o->n_refunds + 1) * sizeof(*rf));
	if (rf == NULL)
		abort();
	o->refunds = rf;
	rf = &o->refunds[o->n_refunds++];
	rf->id = store_next_post_id(s);
	rf->amount = amount;
	rf->reason = util_xstrdup(reason);
	rf->created = when;
}

static void
gen_lifecycle(struct store *s, struct util_rng *r, struct order *o,
    enum scenario sc, int64_t anchor)
{
	enum order_status st = sc >= SC_STATUS0 && sc < SC_PARTIAL ?
	    (enum order_status)(sc - SC_STATUS0) : pick_status(r);
	enum order_status live = st;
	struct order_totals t;
	int64_t t_last = o->created;

	if (sc == SC_PARTIAL || sc == SC_NO_EMAIL)
		st = live = sc == SC_PARTIAL ? ST_COMPLETED : ST_PROCESSING;
	if (st == ST_TRASH)
		live = util_rng_pct(r, 50) ? ST_PENDING : ST_CANCELLED;
	if (live == ST_PROCESSING || live == ST_COMPLETED ||
	    live == ST_REFUNDED) {
		o->paid = o->created + 30 + util_rng_below(r, 600);
		t_last = o->paid;
	}
	if (live == ST_COMPLETED || live == ST_REFUNDED) {
		o->completed = o->paid + 3600 + util_rng_below(r, 5 * 86400);
		t_last = o->completed;
	}
	if (live == ST_PROCESSING || live == ST_COMPLETED ||
	    live == ST_ON_HOLD || live == ST_REFUNDED)
		store_reduce_stock(s, o);
	order_totals(o, &t);
	if (live == ST_REFUNDED) {
		t_last += 86400 + util_rng_below(r, 10 * 86400);
		add_refund(s, o, t.total, "Order fully refunded.", t_last);
	} else if (sc == SC_PARTIAL || ((live == ST_COMPLETED ||
	    live == ST_PROCESSING) && util_rng_pct(r, 8))) {
		t_last += 86400 + util_rng_below(r, 10 * 86400);
		add_refund(s, o, t.total / 4 + 1, util_rng_pct(r, 50) ?
		    "Item arrived damaged" : "", t_last);
	}
	if (live == ST_CANCELLED || live == ST_FAILED)
		t_last += 600 + util_rng_below(r, 86400);
	if (st == ST_TRASH)
		t_last += 86400 + util_rng_below(r, 30 * 86400);
	if (t_last > anchor - 60)
		t_last = anchor - 60;
	if (t_last < o->created)
		t_last = o->created;
	o->modified = t_last;
	o->status = live;
	if (st == ST_TRASH) {
		char prev[32], when[24];
		json_t *v;

		o->trashed_from = live;
		o->status = ST_TRASH;
		snprintf(prev, sizeof(prev), "wc-%s", order_status_names[live]);
		snprintf(when, sizeof(when), "%lld", (long long)o->modified);
		v = json_string(prev);
		store_meta_set(s, o, "_wp_trash_meta_status", v);
		json_decref(v);
		v = json_string(when);
		store_meta_set(s, o, "_wp_trash_meta_time", v);
		json_decref(v);
	}
}

static void
gen_order(struct store *s, struct util_rng *r, int64_t created,
    enum scenario sc, int64_t anchor)
{
	struct order *o = util_xmalloc(sizeof(*o));
	const json_t *a;
	uint32_t pm = util_rng_below(r, 4);

	memset(o, 0, sizeof(*o));
	o->billing = json_object();
	o->shipping = json_object();
	o->meta = json_array();
	o->id = store_next_post_id(s);
	o->created = created;
	spec_order_key(o->id, o->order_key);
	gen_buyer(s, r, o, sc);
	gen_items(s, r, o, sc);
	a = o->shipping;
	o->tax = store_tax_for(json_string_value(json_object_get(a, "country")),
	    json_string_value(json_object_get(a, "state")));
	if (o->tax != NULL)
		o->tax_item_id = s->next_item_id++;
	o->payment_method = util_xstrdup(payments[pm].id);
	o->payment_method_title = util_xstrdup(payments[pm].title);
	o->transaction_id = pm == 3 ? xprintf("ch_%s%s%08ld", "", "",
	    (long)util_rng_below(r, 100000000)) : util_xstrdup("");
	o->created_via = util_xstrdup(util_rng_pct(r, 95) ? "checkout" :
	    "admin");
	o->customer_note = util_xstrdup(util_rng_pct(r, 6) ?
	    "Please leave at the door" : "");
	if (util_rng_pct(r, 5)) {
		json_t *v = json_string("Happy birthday");

		store_meta_set(s, o, "gift_message", v);
		json_decref(v);
	}
	store_put_order(s, o);
	gen_lifecycle(s, r, o, sc, anchor);
}

void
gen_populate(struct store *s, const struct gen_params *p)
{
	const int64_t span = 3 * 365 * 86400LL;
	int64_t start = p->anchor - span, slot;
	struct util_rng r;
	int forced[SC__COUNT];

	util_rng_seed(&r, p->seed);
	store_clear(s);
	s->catalog_created = start - 30 * 86400;
	gen_customers(s, &r, p->customers);
	slot = p->orders > 0 ? span / p->orders : span;
	/* Spread one of each scenario over the history, whatever the count. */
	for (int j = 1; j < SC__COUNT; j++)
		forced[j] = p->orders >= SC__COUNT ?
		    (int)((int64_t)(j - 1) * p->orders / (SC__COUNT - 1)) : -1;
	for (int k = 0; k < p->orders; k++) {
		enum scenario sc = SC_RANDOM;

		for (int j = 1; j < SC__COUNT; j++)
			if (forced[j] == k)
				sc = (enum scenario)j;
		gen_order(s, &r, start + k * slot +
		    (int64_t)util_rng_below(&r, (uint32_t)(slot > 1 ? slot - 1 :
		    1)), sc, p->anchor);
	}
}
