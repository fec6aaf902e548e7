-- Customers, their orders (every status, for history) and the transactions
-- that count. Metrics on customers are a cache recomputed from these rows
-- in the same transaction that changes them, never kept by increments.
-- Money is integer minor units (cents); times are unix seconds, UTC.

CREATE TABLE customers (
	id INTEGER PRIMARY KEY,
	email TEXT NOT NULL UNIQUE,			-- trimmed, lower-cased
	first_name TEXT NOT NULL DEFAULT '',
	last_name TEXT NOT NULL DEFAULT '',
	phone TEXT NOT NULL DEFAULT '',
	company TEXT NOT NULL DEFAULT '',
	wp_user_id INTEGER,				-- WordPress user, NULL for guests
	billing_json TEXT,				-- from the newest order
	shipping_json TEXT,
	profile_order_id INTEGER,			-- the order the fields above came from
	profile_order_at INTEGER,			-- its date_created
	status TEXT NOT NULL DEFAULT 'active'
		CHECK (status IN ('active', 'vip', 'caution', 'do_not_serve')),
	status_reason TEXT,
	status_changed_at INTEGER,
	status_changed_by TEXT,
	notes TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	-- metrics: store currency, counted orders only
	ltv_minor INTEGER NOT NULL DEFAULT 0,
	order_count INTEGER NOT NULL DEFAULT 0,
	aov_minor INTEGER NOT NULL DEFAULT 0,
	first_order_at INTEGER,
	last_order_at INTEGER,
	refunded_minor INTEGER NOT NULL DEFAULT 0,
	refund_count INTEGER NOT NULL DEFAULT 0,
	coupon_order_count INTEGER NOT NULL DEFAULT 0,
	metrics_at INTEGER
);

CREATE TABLE customer_aliases (
	id INTEGER PRIMARY KEY,
	customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	email TEXT NOT NULL UNIQUE,			-- trimmed, lower-cased
	created_at INTEGER NOT NULL
);
CREATE INDEX customer_aliases_customer ON customer_aliases (customer_id);

-- Every order seen, whatever its status; id is WooCommerce's order id.
CREATE TABLE orders (
	id INTEGER PRIMARY KEY,
	customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
	number TEXT NOT NULL,
	status TEXT NOT NULL,				-- as the store says; 'deleted' when gone
	currency TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	modified_at INTEGER,
	total_minor INTEGER NOT NULL,
	discount_minor INTEGER NOT NULL DEFAULT 0,
	shipping_minor INTEGER NOT NULL DEFAULT 0,
	tax_minor INTEGER NOT NULL DEFAULT 0,
	wp_user_id INTEGER,
	payment_method TEXT NOT NULL DEFAULT '',
	payment_method_title TEXT NOT NULL DEFAULT '',
	shipping_methods TEXT NOT NULL DEFAULT '',
	coupon_codes TEXT NOT NULL DEFAULT '',
	customer_note TEXT NOT NULL DEFAULT '',
	billing_json TEXT,
	shipping_json TEXT,
	tracking_json TEXT,
	item_count INTEGER NOT NULL DEFAULT 0,
	refunded_minor INTEGER NOT NULL DEFAULT 0,
	refund_count INTEGER NOT NULL DEFAULT 0,
	digest INTEGER,					-- wc_order_digest of what was stored
	fetched_at INTEGER NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id, created_at);

CREATE TABLE order_items (
	id INTEGER PRIMARY KEY,
	order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	product_id INTEGER NOT NULL DEFAULT 0,
	variation_id INTEGER NOT NULL DEFAULT 0,
	name TEXT NOT NULL DEFAULT '',
	sku TEXT NOT NULL DEFAULT '',
	quantity INTEGER NOT NULL DEFAULT 0,
	subtotal_minor INTEGER NOT NULL DEFAULT 0,
	total_minor INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX order_items_order ON order_items (order_id);

CREATE TABLE order_refunds (
	id INTEGER PRIMARY KEY,				-- WooCommerce refund id
	order_id INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	amount_minor INTEGER NOT NULL,			-- positive
	reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_refunds_order ON order_refunds (order_id);

-- One row per order that counts now (qualifying status). Metrics are sums
-- over these rows; an order that stops counting loses its row.
CREATE TABLE transactions (
	order_id INTEGER PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
	customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	order_number TEXT NOT NULL,
	total_minor INTEGER NOT NULL,
	discount_minor INTEGER NOT NULL DEFAULT 0,
	payment_method TEXT NOT NULL DEFAULT '',
	shipping_method TEXT NOT NULL DEFAULT '',
	item_count INTEGER NOT NULL DEFAULT 0,
	coupon_codes TEXT NOT NULL DEFAULT '',
	currency TEXT NOT NULL,
	channel TEXT NOT NULL DEFAULT 'woocommerce',
	status TEXT NOT NULL DEFAULT 'completed',
	created_at INTEGER NOT NULL
);
CREATE INDEX transactions_customer ON transactions (customer_id, created_at);

-- Per-order sync status (admin API) and the meta last written to the store.
CREATE TABLE order_sync (
	order_id INTEGER PRIMARY KEY,
	state TEXT NOT NULL CHECK (state IN ('pending', 'synced', 'failed')),
	error_code TEXT,
	error_message TEXT,
	customer_id INTEGER,
	synced_at INTEGER,				-- last successful sync
	attempts INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL,
	meta_written_at INTEGER,			-- last successful write-back
	writeback TEXT					-- JSON meta_data still to write, or NULL
);
CREATE INDEX order_sync_failed ON order_sync (state) WHERE state = 'failed';
CREATE INDEX order_sync_writeback ON order_sync (order_id) WHERE writeback IS NOT NULL;

-- Key/value state of the daemon (store currency, watermarks, ...).
CREATE TABLE kv (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	updated_at INTEGER NOT NULL
);
