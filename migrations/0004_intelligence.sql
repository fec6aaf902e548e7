-- Customer intelligence (docs/intelligence.md): one metrics row per
-- customer computed "as of" a time, the customer_metrics view that tag and
-- status conditions are evaluated over, the status rules and their firing
-- state, the fitted purchase models and the Do-Not-Serve alert outbox.
-- Interaction counts come from customer_interactions (0005). Money in
-- tables is integer minor units; the view speaks major units because store
-- owners write `ltv >= 500`.

-- One row. as_of is the clock customer_metrics reads: NULL (the wall clock)
-- outside a recalculation; a recalculation sets it inside its transaction
-- and puts NULL back before it commits, so readers never see it set.
CREATE TABLE intel_state (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	as_of INTEGER,
	catalogue_gen INTEGER NOT NULL DEFAULT 0,	-- bumped when rules change
	write_seq INTEGER NOT NULL DEFAULT 0,		-- bumped by each per-customer recalc
	-- the last full recalculation
	recalc_at INTEGER,				-- the clock it used (unix seconds)
	recalc_gen INTEGER,				-- catalogue_gen it applied
	recalc_requested_at INTEGER,			-- admin API asked for one
	recalc_phase TEXT,				-- reading | fitting | writing | done | failed
	recalc_done INTEGER NOT NULL DEFAULT 0,
	recalc_total INTEGER NOT NULL DEFAULT 0,
	-- RFM quintile thresholds: the least value scoring 2, 3, 4, 5
	-- (NULL: no customer reaches that score). rfm_n customers had an order.
	rfm_n INTEGER NOT NULL DEFAULT 0,
	r2 INTEGER, r3 INTEGER, r4 INTEGER, r5 INTEGER,	-- last_order_at
	f2 INTEGER, f3 INTEGER, f4 INTEGER, f5 INTEGER,	-- order_count
	m2 INTEGER, m3 INTEGER, m4 INTEGER, m5 INTEGER	-- ltv_minor
);
INSERT INTO intel_state (id) VALUES (1);

-- The purchase models fitted by the last full recalculation (clv.c).
-- BG/NBD time unit: weeks; Gamma-Gamma money unit: store currency, major.
CREATE TABLE clv_model (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	fitted_at INTEGER NOT NULL,			-- the as-of time of the data
	n_customers INTEGER NOT NULL,			-- customers the fit used
	n_repeat INTEGER NOT NULL,			-- of them, with a repeat purchase
	bgnbd_ok INTEGER NOT NULL,
	r REAL, alpha REAL, a REAL, b REAL, bgnbd_loglik REAL,
	gg_ok INTEGER NOT NULL,
	p REAL, q REAL, gamma REAL, gg_loglik REAL,
	fallback_gap_weeks REAL NOT NULL,
	fallback_spend REAL NOT NULL,
	time_unit TEXT NOT NULL DEFAULT 'week'
);

-- One customer's metrics as of as_of, computed from rows (rfm.c). The
-- source of customer_metrics; written by every recalculation.
CREATE TABLE customer_intel (
	customer_id INTEGER PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
	as_of INTEGER NOT NULL,
	seq INTEGER NOT NULL DEFAULT 0,			-- intel_state.write_seq when written
	ltv_minor INTEGER NOT NULL DEFAULT 0,
	order_count INTEGER NOT NULL DEFAULT 0,
	first_order_at INTEGER,
	last_order_at INTEGER,
	refunded_minor INTEGER NOT NULL DEFAULT 0,
	refund_count INTEGER NOT NULL DEFAULT 0,
	coupon_order_count INTEGER NOT NULL DEFAULT 0,
	order_days INTEGER NOT NULL DEFAULT 0,		-- distinct UTC days with an order
	median_gap_days REAL,
	next_order_at INTEGER,
	overdue_at INTEGER,
	r_score INTEGER,
	f_score INTEGER,
	m_score INTEGER,
	rfm_segment TEXT,
	p_alive REAL,
	expected_orders_90d REAL,
	predicted_value_12m REAL,			-- major units
	clv_from_model INTEGER,
	interactions INTEGER NOT NULL DEFAULT 0,
	calls INTEGER NOT NULL DEFAULT 0,
	emails INTEGER NOT NULL DEFAULT 0,
	notes INTEGER NOT NULL DEFAULT 0,
	complaints INTEGER NOT NULL DEFAULT 0,
	compliments INTEGER NOT NULL DEFAULT 0,
	refund_requests INTEGER NOT NULL DEFAULT 0,
	returns INTEGER NOT NULL DEFAULT 0,
	preferences INTEGER NOT NULL DEFAULT 0,
	contact_forms INTEGER NOT NULL DEFAULT 0,
	last_interaction_at INTEGER
);

-- What tag and status conditions see. Reads of this view are the only
-- reads a condition may make (tags.c's authorizer). Money in major units
-- of the store currency, times in unix seconds, day counts whole days.
CREATE VIEW customer_metrics AS
SELECT
	i.customer_id AS id,
	i.ltv_minor / (SELECT COALESCE((SELECT CASE CAST(value AS INTEGER)
		WHEN 0 THEN 1.0 WHEN 1 THEN 10.0 WHEN 3 THEN 1000.0
		WHEN 4 THEN 10000.0 ELSE 100.0 END FROM kv
		WHERE key = 'store.decimals'), 100.0)) AS ltv,
	i.order_count AS order_count,
	CASE WHEN i.order_count > 0 THEN
		((i.ltv_minor + i.order_count / 2) / i.order_count) /
		(SELECT COALESCE((SELECT CASE CAST(value AS INTEGER)
		WHEN 0 THEN 1.0 WHEN 1 THEN 10.0 WHEN 3 THEN 1000.0
		WHEN 4 THEN 10000.0 ELSE 100.0 END FROM kv
		WHERE key = 'store.decimals'), 100.0))
	ELSE 0.0 END AS aov,
	i.first_order_at AS first_order_at,
	i.last_order_at AS last_order_at,
	(COALESCE((SELECT as_of FROM intel_state WHERE id = 1),
		CAST(strftime('%s', 'now') AS INTEGER)) - i.first_order_at) / 86400
		AS days_since_first_order,
	(COALESCE((SELECT as_of FROM intel_state WHERE id = 1),
		CAST(strftime('%s', 'now') AS INTEGER)) - i.last_order_at) / 86400
		AS days_since_last_order,
	i.refunded_minor / (SELECT COALESCE((SELECT CASE CAST(value AS INTEGER)
		WHEN 0 THEN 1.0 WHEN 1 THEN 10.0 WHEN 3 THEN 1000.0
		WHEN 4 THEN 10000.0 ELSE 100.0 END FROM kv
		WHERE key = 'store.decimals'), 100.0)) AS refunded_total,
	i.refund_count AS refund_count,
	i.coupon_order_count AS coupon_order_count,
	i.order_count - i.coupon_order_count AS full_price_order_count,
	CASE WHEN i.order_count > 0 THEN
		i.coupon_order_count * 1.0 / i.order_count END AS coupon_share,
	i.order_days AS order_days,
	i.median_gap_days AS median_gap_days,
	i.next_order_at AS next_order_at,
	CASE WHEN i.overdue_at IS NULL THEN 0
		WHEN COALESCE((SELECT as_of FROM intel_state WHERE id = 1),
		CAST(strftime('%s', 'now') AS INTEGER)) > i.overdue_at THEN 1
		ELSE 0 END AS overdue,
	i.r_score AS r_score,
	i.f_score AS f_score,
	i.m_score AS m_score,
	i.rfm_segment AS rfm_segment,
	i.p_alive AS p_alive,
	i.expected_orders_90d AS expected_orders_90d,
	i.predicted_value_12m AS predicted_value_12m,
	i.interactions AS interactions,
	i.calls AS calls,
	i.emails AS emails,
	i.notes AS notes,
	i.complaints AS complaints,
	i.compliments AS compliments,
	i.refund_requests AS refund_requests,
	i.returns AS returns,
	i.preferences AS preferences,
	i.contact_forms AS contact_forms,
	i.last_interaction_at AS last_interaction_at,
	i.as_of AS metrics_as_of
FROM customer_intel AS i;

-- Automatic status rules, as loaded from the rules file (replaced on load).
CREATE TABLE status_rules (
	id TEXT PRIMARY KEY,
	status TEXT NOT NULL CHECK (status IN ('active', 'vip', 'caution',
		'do_not_serve')),
	condition TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	position INTEGER NOT NULL DEFAULT 0
);

-- A row while a rule's condition holds for a customer; fired_at is when it
-- last became true (the rule's last firing for that customer).
CREATE TABLE status_rule_state (
	customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	rule_id TEXT NOT NULL,
	fired_at INTEGER NOT NULL,
	PRIMARY KEY (customer_id, rule_id)
) WITHOUT ROWID;

-- customer_tags again, WITHOUT ROWID: the rows are small and always
-- reached by (customer_id, tag_id), so the primary key is the table and a
-- tag assignment costs one b-tree less. Same columns, same key.
CREATE TABLE customer_tags_new (
	customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	tag_id TEXT NOT NULL,
	earned_at INTEGER NOT NULL,
	lost_at INTEGER,
	PRIMARY KEY (customer_id, tag_id)
) WITHOUT ROWID;
INSERT INTO customer_tags_new SELECT customer_id, tag_id, earned_at, lost_at
	FROM customer_tags;
DROP TABLE customer_tags;
ALTER TABLE customer_tags_new RENAME TO customer_tags;
-- The holders of a tag (admin API's tag filter); replaces customer_tags_tag.
CREATE INDEX customer_tags_live ON customer_tags (tag_id, customer_id)
	WHERE lost_at IS NULL;

-- Refunded orders are few: the full recalculation reads them by this index
-- instead of scanning every order.
CREATE INDEX orders_refunded ON orders (customer_id) WHERE refund_count > 0;

-- Do-Not-Serve alerts to mail, one per order, kept after sending.
CREATE TABLE alert_outbox (
	order_id INTEGER PRIMARY KEY,
	customer_id INTEGER REFERENCES customers (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	sent_at INTEGER,
	last_error TEXT
);
CREATE INDEX alert_outbox_pending ON alert_outbox (next_attempt_at)
	WHERE sent_at IS NULL;
