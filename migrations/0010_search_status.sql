-- The search index learns each customer's status, so that a search on a
-- status tab is counted from the index alone, without looking up each match
-- in customers (on a million customers, 4,000 matches cost four times the
-- search itself: docs/performance.md, decision 33).
--
-- The status is in the index row's rowid: id * 4 + the status code below,
-- so rowid >> 2 is the customer id and rowid & 3 the status, and rowids
-- still come in customer id order. admin_customers.c holds the same codes.
-- A status change moves the customer's row (delete and insert), as an edit
-- of the searched fields already did.
--
-- Rebuilt from customers: about 20 s for a million customers, once.
DROP TRIGGER customers_fts_ins;
DROP TRIGGER customers_fts_del;
DROP TRIGGER customers_fts_upd;
DROP TABLE customers_fts;

CREATE VIRTUAL TABLE customers_fts USING fts5(email, name, phone,
	content = '', tokenize = 'trigram');

INSERT INTO customers_fts (rowid, email, name, phone)
	SELECT id * 4 + CASE status WHEN 'active' THEN 0 WHEN 'vip' THEN 1
		WHEN 'caution' THEN 2 ELSE 3 END,
		email, first_name || ' ' || last_name,
		phone || ' ' || replace(replace(replace(replace(replace(replace(
		replace(phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''),
		'+', ''), '/', '')
	FROM customers;

CREATE TRIGGER customers_fts_ins AFTER INSERT ON customers
BEGIN
	INSERT INTO customers_fts (rowid, email, name, phone)
	VALUES (new.id * 4 + CASE new.status WHEN 'active' THEN 0 WHEN 'vip' THEN 1
		WHEN 'caution' THEN 2 ELSE 3 END,
		new.email, new.first_name || ' ' || new.last_name,
		new.phone || ' ' || replace(replace(replace(replace(replace(replace(
		replace(new.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''),
		'+', ''), '/', ''));
END;
CREATE TRIGGER customers_fts_del AFTER DELETE ON customers
BEGIN
	INSERT INTO customers_fts (customers_fts, rowid, email, name, phone)
	VALUES ('delete', old.id * 4 + CASE old.status WHEN 'active' THEN 0
		WHEN 'vip' THEN 1 WHEN 'caution' THEN 2 ELSE 3 END,
		old.email, old.first_name || ' ' || old.last_name,
		old.phone || ' ' || replace(replace(replace(replace(replace(replace(
		replace(old.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''),
		'+', ''), '/', ''));
END;
CREATE TRIGGER customers_fts_upd AFTER UPDATE OF email, first_name, last_name,
	phone, status ON customers
	WHEN old.email IS NOT new.email OR old.first_name IS NOT new.first_name
		OR old.last_name IS NOT new.last_name OR old.phone IS NOT new.phone
		OR old.status IS NOT new.status
BEGIN
	INSERT INTO customers_fts (customers_fts, rowid, email, name, phone)
	VALUES ('delete', old.id * 4 + CASE old.status WHEN 'active' THEN 0
		WHEN 'vip' THEN 1 WHEN 'caution' THEN 2 ELSE 3 END,
		old.email, old.first_name || ' ' || old.last_name,
		old.phone || ' ' || replace(replace(replace(replace(replace(replace(
		replace(old.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''),
		'+', ''), '/', ''));
	INSERT INTO customers_fts (rowid, email, name, phone)
	VALUES (new.id * 4 + CASE new.status WHEN 'active' THEN 0 WHEN 'vip' THEN 1
		WHEN 'caution' THEN 2 ELSE 3 END,
		new.email, new.first_name || ' ' || new.last_name,
		new.phone || ' ' || replace(replace(replace(replace(replace(replace(
		replace(new.phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''),
		'+', ''), '/', ''));
END;
