-- The ids at the edges of every page an import applied, so that a resumed
-- run checks the seams of the pages it applied in an earlier session: orders
-- deleted or trashed between two sessions shift the later pages, and only
-- the first and last ids of the pages before the checkpoint show it (import.c
-- then reads the shifted pages again).
CREATE TABLE import_pages (
	run_id INTEGER NOT NULL REFERENCES import_runs (id) ON DELETE CASCADE,
	page INTEGER NOT NULL,				-- offset page * 99
	first_id INTEGER NOT NULL,			-- 0 for an empty page
	last_id INTEGER NOT NULL,
	count INTEGER NOT NULL,
	PRIMARY KEY (run_id, page)
) WITHOUT ROWID;
