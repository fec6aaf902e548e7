-- Imports (tracksiesd --import): one row per run, with its cursor so that an
-- interrupted run resumes, and what it saw, so that its summary is derived
-- from rows (re-applying a page after a resume cannot count anything twice).
CREATE TABLE import_runs (
	id INTEGER PRIMARY KEY,
	since TEXT NOT NULL,				-- as given: all, 30d, 90d, 1y, YYYY-MM-DD
	after_ts INTEGER,				-- created after this (unix seconds), NULL = all
	state TEXT NOT NULL CHECK (state IN ('running', 'interrupted', 'completed',
		'incomplete')),
	started_at INTEGER NOT NULL,
	finished_at INTEGER,
	next_page INTEGER NOT NULL DEFAULT 0,		-- every page before it is applied
	store_total INTEGER,				-- X-WP-Total, last seen
	page_shifts INTEGER NOT NULL DEFAULT 0,		-- pages that moved under us
	requests INTEGER NOT NULL DEFAULT 0,
	elapsed_s INTEGER NOT NULL DEFAULT 0		-- over every session of the run
);

CREATE TABLE import_seen (
	run_id INTEGER NOT NULL REFERENCES import_runs (id) ON DELETE CASCADE,
	order_id INTEGER NOT NULL,
	outcome TEXT NOT NULL,				-- synced, failed, ignored
	changed INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, order_id)
) WITHOUT ROWID;

CREATE TABLE import_customers (
	run_id INTEGER NOT NULL REFERENCES import_runs (id) ON DELETE CASCADE,
	customer_id INTEGER NOT NULL,
	created INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, customer_id)
) WITHOUT ROWID;

CREATE TABLE import_discrepancies (
	run_id INTEGER NOT NULL REFERENCES import_runs (id) ON DELETE CASCADE,
	order_id INTEGER NOT NULL,
	code TEXT NOT NULL,
	message TEXT NOT NULL,
	PRIMARY KEY (run_id, order_id)
) WITHOUT ROWID;
