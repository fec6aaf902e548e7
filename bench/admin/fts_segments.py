#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# FTS5 search times with the search index as built (many segments) and
# merged into one ('optimize'), on an in-memory copy of the index built
# from the benchmark database opened read-only (the database is not
# changed). Best of 30 per query.
#   python3 bench/admin/fts_segments.py [/tmp/tracksies-bench-admin/bench-1000000-5000000.db]
import sqlite3, sys, time
db = sqlite3.connect(":memory:", uri=True)
path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tracksies-bench-admin/bench-1000000-5000000.db"
db.execute("ATTACH ? AS b", ("file:" + path + "?mode=ro",))
db.execute("CREATE VIRTUAL TABLE f USING fts5(email, name, phone, content='', tokenize='trigram')")
t = time.time()
db.execute("""INSERT INTO f (rowid, email, name, phone) SELECT id, email, first_name || ' ' || last_name,
 phone || ' ' || replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '(', ''), ')', ''), '.', ''), '+', ''), '/', '') FROM b.customers""")
db.commit()
print("built", round(time.time() - t, 1), "s; segments", db.execute("select count(distinct segid) from f_idx").fetchone())
def bench(label):
    for q in ['"smith"', '"olivia.brown4"', '"5551234"']:
        best = 9
        for i in range(30):
            t = time.perf_counter(); n = len(db.execute("SELECT rowid FROM f WHERE f MATCH ?", (q,)).fetchall()); best = min(best, time.perf_counter() - t)
        print(label, q, n, "rows", round(best * 1000, 3), "ms")
bench("as built")
db.execute("INSERT INTO f (f) VALUES ('optimize')"); db.commit()
print("segments", db.execute("select count(distinct segid) from f_idx").fetchone())
bench("optimized")
