-- Shared by the admin API and customer intelligence: the audit log of
-- every change to a customer, the tag catalogue loaded from the rules file,
-- and the tags customers hold.

-- Every change to a customer: who, when, what, why. Personal values are
-- never copied here beyond what the change itself is (e.g. old and new
-- status); GDPR erasure blanks old_value/new_value/reason of the customer.
CREATE TABLE audit_log (
	id INTEGER PRIMARY KEY,
	customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
	at INTEGER NOT NULL,				-- unix seconds
	actor TEXT NOT NULL,				-- X-Tracksies-Actor, 'rule:<id>', 'system'
	action TEXT NOT NULL,				-- status_change, edit, alert_sent, tag_earned, ...
	field TEXT,
	old_value TEXT,
	new_value TEXT,
	reason TEXT
);
CREATE INDEX audit_log_customer ON audit_log (customer_id, at);

-- The tag catalogue, as loaded from [tags] rules_file (replaced on load).
CREATE TABLE tags (
	id TEXT PRIMARY KEY,
	label TEXT NOT NULL,
	icon TEXT NOT NULL DEFAULT '',
	channel TEXT NOT NULL CHECK (channel IN ('commitment', 'tenure', 'value',
		'price_sensitivity', 'engagement')),
	kind TEXT NOT NULL CHECK (kind IN ('milestone', 'live')),
	condition TEXT NOT NULL,			-- SQL expression over the metrics view
	position INTEGER NOT NULL DEFAULT 0
);

-- Tags held now (lost_at IS NULL) and live tags lost (lost_at set).
CREATE TABLE customer_tags (
	customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	tag_id TEXT NOT NULL,
	earned_at INTEGER NOT NULL,
	lost_at INTEGER,
	PRIMARY KEY (customer_id, tag_id)
);
CREATE INDEX customer_tags_tag ON customer_tags (tag_id) WHERE lost_at IS NULL;
