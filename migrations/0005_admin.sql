-- The admin API's tables: interactions, linked accounts, GDPR erasure
-- records, and what makes the customer list fast on a million customers
-- (a trigram full-text index kept by triggers, status counts kept by
-- triggers, a tag count per customer, one index per sort key).
-- Feature flags live in kv ('feature.<name>' = 'on' | 'off', features.c).

-- Touchpoints with a customer, logged by staff or integrations.
CREATE TABLE customer_interactions (
	id INTEGER PRIMARY KEY,
	customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	type TEXT NOT NULL CHECK (type IN ('call', 'email', 'note', 'complaint',
		'compliment', 'refund', 'return', 'preference', 'contact_form',
		'other')),
	summary TEXT NOT NULL,
	details TEXT NOT NULL DEFAULT '',
	resolution TEXT NOT NULL DEFAULT '',
	staff TEXT NOT NULL DEFAULT '',
	source_url TEXT,				-- link to the original entry
	occurred_at INTEGER NOT NULL,			-- unix seconds
	created_at INTEGER NOT NULL,
	created_by TEXT NOT NULL			-- X-Tracksies-Actor
);
CREATE INDEX customer_interactions_customer
	ON customer_interactions (customer_id, occurred_at);

-- Separate profiles that belong to the same person; one row per pair,
-- smaller id first.
CREATE TABLE customer_links (
	customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	other_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	PRIMARY KEY (customer_id, other_id),
	CHECK (customer_id < other_id)
) WITHOUT ROWID;
CREATE INDEX customer_links_other ON customer_links (other_id);

-- GDPR erasures: what stays is that one happened, when, by whom, and how
-- many orders it covered. Nothing here identifies the person.
CREATE TABLE erasures (
	id INTEGER PRIMARY KEY,
	erased_at INTEGER NOT NULL,
	actor TEXT NOT NULL,
	order_count INTEGER NOT NULL
);

-- Orders of erased customers: the sync ignores them for profiles and
-- removes our _tracksies_* meta from them in the store.
CREATE TABLE erased_orders (
	order_id INTEGER PRIMARY KEY,
	erasure_id INTEGER NOT NULL REFERENCES erasures (id),
	erased_at INTEGER NOT NULL
);

-- Sort keys of the customer list. Each index ends with status so that a
-- status tab sorted by any key is one index scan (ORDER BY key, status, id).
ALTER TABLE customers ADD COLUMN tag_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX customers_sort_name ON customers (first_name COLLATE NOCASE,
	last_name COLLATE NOCASE, status);
CREATE INDEX customers_sort_email ON customers (email, status);
CREATE INDEX customers_sort_status ON customers (status);
CREATE INDEX customers_sort_tags ON customers (tag_count, status);
CREATE INDEX customers_sort_orders ON customers (order_count, status);
CREATE INDEX customers_sort_ltv ON customers (ltv_minor, status);
CREATE INDEX customers_sort_created ON customers (created_at, status);
CREATE INDEX order_sync_failed_list ON order_sync (updated_at, order_id)
	WHERE state = 'failed';

UPDATE customers SET tag_count = (SELECT count(*) FROM customer_tags AS t
	WHERE t.customer_id = customers.id AND t.lost_at IS NULL);

CREATE TRIGGER customer_tags_count_ins AFTER INSERT ON customer_tags
	WHEN new.lost_at IS NULL
BEGIN
	UPDATE customers SET tag_count = tag_count + 1 WHERE id = new.customer_id;
END;
CREATE TRIGGER customer_tags_count_del AFTER DELETE ON customer_tags
	WHEN old.lost_at IS NULL
BEGIN
	UPDATE customers SET tag_count = tag_count - 1 WHERE id = old.customer_id;
END;
CREATE TRIGGER customer_tags_count_upd AFTER UPDATE OF lost_at, customer_id
	ON customer_tags
BEGIN
	UPDATE customers SET tag_count = tag_count - 1
		WHERE id = old.customer_id AND old.lost_at IS NULL;
	UPDATE customers SET tag_count = tag_count + 1
		WHERE id = new.customer_id AND new.lost_at IS NULL;
END;

-- Status tab counts, kept exact by triggers: counting 1,000,000 rows on
-- every list request would cost more than the rest of the request.
CREATE TABLE customer_status_counts (
	status TEXT PRIMARY KEY,
	n INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO customer_status_counts (status, n)
	VALUES ('active', 0), ('vip', 0), ('caution', 0), ('do_not_serve', 0);
UPDATE customer_status_counts SET n = (SELECT count(*) FROM customers AS c
	WHERE c.status = customer_status_counts.status);

CREATE TRIGGER customers_count_ins AFTER INSERT ON customers
BEGIN
	UPDATE customer_status_counts SET n = n + 1 WHERE status = new.status;
END;
CREATE TRIGGER customers_count_del AFTER DELETE ON customers
BEGIN
	UPDATE customer_status_counts SET n = n - 1 WHERE status = old.status;
END;
CREATE TRIGGER customers_count_upd AFTER UPDATE OF status ON customers
	WHEN old.status <> new.status
BEGIN
	UPDATE customer_status_counts SET n = n - 1 WHERE status = old.status;
	UPDATE customer_status_counts SET n = n + 1 WHERE status = new.status;
END;

-- Partial search over email, name and phone: a contentless FTS5 table with
-- the trigram tokenizer (substring match from 3 characters). Contentless,
-- so no copy of the text is kept beside the customers table; the delete
-- triggers pass the old values, as contentless tables require. The phone
-- column holds the phone as written and its digits, so "5551234" finds
-- "(555) 123-4".
CREATE VIRTUAL TABLE customers_fts USING fts5(email, name, phone,
	content = '', tokenize = 'trigram');

INSERT INTO customers_fts (rowid, email, name, phone)
	SELECT id, email, first_name || ' ' || last_name,
		phone || ' ' || replace(replace(replace(replace(replace(replace(
		replace(phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''),
		'+', ''), '/', '')
	FROM customers;

CREATE TRIGGER customers_fts_ins AFTER INSERT ON customers
BEGIN
	INSERT INTO customers_fts (rowid, email, name, phone)
	VALUES (new.id, new.email, new.first_name || ' ' || new.last_name,
		new.phone || ' ' || replace(replace(replace(replace(replace(replace(
		replace(new.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''),
		'+', ''), '/', ''));
END;
CREATE TRIGGER customers_fts_del AFTER DELETE ON customers
BEGIN
	INSERT INTO customers_fts (customers_fts, rowid, email, name, phone)
	VALUES ('delete', old.id, old.email, old.first_name || ' ' || old.last_name,
		old.phone || ' ' || replace(replace(replace(replace(replace(replace(
		replace(old.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''),
		'+', ''), '/', ''));
END;
CREATE TRIGGER customers_fts_upd AFTER UPDATE OF email, first_name, last_name,
	phone ON customers
	WHEN old.email IS NOT new.email OR old.first_name IS NOT new.first_name
		OR old.last_name IS NOT new.last_name OR old.phone IS NOT new.phone
BEGIN
	INSERT INTO customers_fts (customers_fts, rowid, email, name, phone)
	VALUES ('delete', old.id, old.email, old.first_name || ' ' || old.last_name,
		old.phone || ' ' || replace(replace(replace(replace(replace(replace(
		replace(old.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''),
		'+', ''), '/', ''));
	INSERT INTO customers_fts (rowid, email, name, phone)
	VALUES (new.id, new.email, new.first_name || ' ' || new.last_name,
		new.phone || ' ' || replace(replace(replace(replace(replace(replace(
		replace(new.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''),
		'+', ''), '/', ''));
END;
