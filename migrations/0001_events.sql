-- The durable queue: one row per accepted webhook delivery (or another
-- source of work). A delivery is acknowledged to WooCommerce only after its
-- row is committed. Bodies are not kept: the worker fetches the order's
-- current state from the store, and a body holds personal data we would
-- otherwise have to erase.
CREATE TABLE events (
	id INTEGER PRIMARY KEY,
	received_at INTEGER NOT NULL,			-- unix seconds, UTC
	source TEXT NOT NULL DEFAULT 'webhook',		-- webhook | reconcile | import | admin
	topic TEXT NOT NULL,				-- e.g. order.updated
	webhook_id INTEGER,				-- X-WC-Webhook-ID
	delivery_id TEXT,				-- X-WC-Webhook-Delivery-ID: NOT unique
	order_id INTEGER,				-- NULL when the payload had none
	-- what a full order payload said, so that a payload showing the state
	-- already applied needs no fetch (the echo of our own write, repeats)
	modified_at INTEGER,				-- date_modified_gmt, unix seconds
	status TEXT,
	total_minor INTEGER,
	refund_count INTEGER,
	state TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'done', 'failed')),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,	-- unix seconds; backoff
	error_code TEXT,				-- e.g. malformed_payload
	error_message TEXT,
	body_bytes INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX events_pending ON events (next_attempt_at, id)
	WHERE state = 'pending';
CREATE INDEX events_order ON events (order_id, state);
