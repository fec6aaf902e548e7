-- Product flags for digital auto-complete (hq.digital_auto_complete): line
-- items carry no virtual/downloadable flag, so products are looked up once
-- (GET /products?include=) and kept here.
CREATE TABLE products (
	id INTEGER PRIMARY KEY,				-- WooCommerce product id
	virtual INTEGER NOT NULL DEFAULT 0,
	downloadable INTEGER NOT NULL DEFAULT 0,
	fetched_at INTEGER NOT NULL
);
