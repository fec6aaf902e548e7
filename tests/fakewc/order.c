/* SPDX-License-Identifier: MIT */
/*
 * One order and its money, computed the way WooCommerce 8.4 does with
 * prices exclusive of tax: taxes rounded per line, cart tax the sum of the
 * rounded line taxes, coupon discounts spread over the lines. Pure: no
 * locking, no I/O; the store owns orders and serialises access.
 */
#include "fakewc.h"

#include <stdlib.h>
#include <string.h>

const char *const order_status_names[ST__COUNT] = {
	"pending", "processing", "on-hold", "completed", "cancelled",
	"refunded", "failed", "checkout-draft", "trash",
};

enum order_status
order_status_parse(const char *name)
{
	for (int i = 0; i < ST__COUNT; i++)
		if (strcmp(order_status_names[i], name) == 0)
			return (enum order_status)i;
	return ST__COUNT;
}

void
order_free(struct order *o)
{
	if (o == NULL)
		return;
	json_decref(o->billing);
	json_decref(o->shipping);
	json_decref(o->meta);
	free(o->payment_method);
	free(o->payment_method_title);
	free(o->transaction_id);
	free(o->created_via);
	free(o->customer_note);
	for (size_t i = 0; i < o->n_items; i++) {
		free(o->items[i].name);
		free(o->items[i].sku);
		free(o->items[i].parent_name);
		free(o->items[i].method_id);
		json_decref(o->items[i].meta);
	}
	free(o->items);
	for (size_t i = 0; i < o->n_refunds; i++)
		free(o->refunds[i].reason);
	free(o->refunds);
	free(o);
}

struct order_item *
order_add_item(struct order *o, enum item_kind kind)
{
	struct order_item *items, *it;

	items = realloc(o->items, (o->n_items + 1) * sizeof(*items));
	if (items == NULL)
		abort();
	o->items = items;
	it = &o->items[o->n_items++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->meta = json_array();
	return it;
}

/* Tax on cents, rounded half up to a cent, as wc_round_tax_total does. */
static int64_t
tax_of(const struct order *o, int64_t cents)
{
	int64_t x;

	if (o->tax == NULL || cents <= 0)
		return 0;
	x = cents * o->tax->ppm;
	return (x + 500000) / 1000000;
}

void
order_totals(const struct order *o, struct order_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < o->n_items; i++) {
		const struct order_item *it = &o->items[i];

		switch (it->kind) {
		case ITEM_LINE:
			t->subtotal += it->subtotal;
			t->discount += it->subtotal - it->total;
			t->discount_tax += tax_of(o, it->subtotal) -
			    tax_of(o, it->total);
			t->cart_tax += tax_of(o, it->total);
			t->total += it->total;
			break;
		case ITEM_SHIPPING:
			t->shipping += it->total;
			t->shipping_tax += tax_of(o, it->total);
			break;
		case ITEM_FEE:
			t->fees += it->total;
			t->fee_tax += tax_of(o, it->total);
			break;
		case ITEM_COUPON:
			break;
		}
	}
	t->cart_tax += t->fee_tax;
	t->total += t->fees + t->shipping + t->cart_tax + t->shipping_tax;
	t->total_tax = t->cart_tax + t->shipping_tax;
	for (size_t i = 0; i < o->n_refunds; i++)
		t->refunded += o->refunds[i].amount;
}

void
order_apply_coupon(struct order *o)
{
	int64_t sum = 0, left, amount = 0;
	bool percent;

	for (size_t i = 0; i < o->n_items; i++)
		if (o->items[i].kind == ITEM_LINE) {
			o->items[i].total = o->items[i].subtotal;
			sum += o->items[i].subtotal;
		}
	if (o->coupon == NULL || sum == 0)
		return;
	percent = strcmp(o->coupon->discount_type, "percent") == 0;
	if (!percent && !util_parse_money(o->coupon->amount, &amount))
		return;
	if (amount > sum)
		amount = sum;
	left = amount;
	for (size_t i = 0; i < o->n_items; i++) {
		struct order_item *it = &o->items[i];
		int64_t d;

		if (it->kind != ITEM_LINE)
			continue;
		if (percent)
			d = (it->subtotal * atoi(o->coupon->amount) + 50) / 100;
		else
			d = amount * it->subtotal / sum;
		if (d > it->subtotal)
			d = it->subtotal;
		it->total = it->subtotal - d;
		left -= d;
	}
	/* fixed_cart: the cents lost to integer division come off line by line */
	while (!percent && left > 0) {
		bool any = false;

		for (size_t i = 0; i < o->n_items && left > 0; i++) {
			struct order_item *it = &o->items[i];

			if (it->kind == ITEM_LINE && it->total > 0) {
				it->total--;
				left--;
				any = true;
			}
		}
		if (!any)
			break;
	}
}
