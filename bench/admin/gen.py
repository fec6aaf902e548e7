#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fill a migrated tracksiesd database with a large store for the admin API
benchmark: N customers and M orders written straight into SQLite in one
transaction with prepared statements. Customer 1 gets PROFILE_ORDERS orders
with items, refunds and sync rows (the profile benchmark); the other orders
fall on random customers. Customer metrics (ltv, order_count, first and last
order) agree with the orders. Deterministic (fixed seed).

usage: gen.py DB [customers] [orders] [profile_orders]
"""
import random
import sqlite3
import sys
import time

FIRST = ("Emma Olivia Ava Sophia Isabella Mia Amelia Harper Evelyn Abigail "
         "Emily Ella Elizabeth Camila Luna Sofia Avery Mila Aria Scarlett "
         "Liam Noah Oliver Elijah James William Benjamin Lucas Henry "
         "Theodore Jack Levi Alexander Jackson Mateo Daniel Michael Mason "
         "Sebastian Ethan Logan Owen Samuel Jacob Asher Aiden John Joseph "
         "Wyatt David Leo Luke Julian Hudson Grayson Matthew Ezra Gabriel "
         "Carter Isaac Jayden Luca Anthony Dylan Lincoln Thomas Maverick "
         "Elias Josiah Charles Caleb Christopher Ezekiel Miles Jaxon Isaiah "
         "Andrew Joshua Nathan Nolan Adrian Cameron Santiago Eli Aaron Ryan "
         "Angel Cooper Waylon Easton Kai Christian Landon Colton Roman "
         "Axel Brooks Jonathan Robert Jameson Ian Everett Greyson Wesley "
         "Jeremiah Hunter Leonardo Jordan Jose Bennett Silas Nicholas Parker "
         "Beau Weston Austin Connor Carson Dominic Xavier Jaxson Jace Emmett "
         "Adam Declan Rowan Micah Kayden Gael River Ryder Kingston Damian "
         "Sawyer Luka Evan Vincent Legend Myles Harrison August Bryson Amir "
         "Giovanni Chase Diego Milo Jasper Walker Jason Brayden Cole Nathaniel "
         "George Lorenzo Zion Luis Archer Enzo Jonah Thiago Theo Ayden Zachary "
         "Calvin Braxton Ashton Rhett Atlas Jude Bentley Carlos Ryker Adriel "
         "Arthur Ace Tyler Jayce Max Elliot Graham Kaiden Maxwell Juan Dean "
         "Matteo Malachi Ivan Elliott Jesus Emiliano Messiah Gavin Maddox "
         "Camden Hayden Leon Antonio Justin Tucker Brandon Kevin Judah Finn "
         "King Brody Xander Nicolas Charlie Arlo Emmanuel Barrett Felix Alex "
         "Miguel Abel Alan Beckett Amari Karter Timothy Abraham Jesse Zayden "
         "Blake Alejandro Dawson Tristan Victor Avery Joel Grant Eric Patrick "
         "Peter Richard Edward Andres Emilio Colt Knox Beckham Adonis Kyrie "
         "Matias Oscar Lukas Marcus Hayes Caden Remington Griffin Nash Israel "
         "Steven Holden Rafael Zane Jeremy Kash Preston Kyler Jax Jett Kaleb "
         "Riley Simon Phoenix Javier Bryce Louis Mark Cash Lennox Paxton Malakai "
         "Paul Kenneth Nico Kendrick Rhys Khalil").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez "
        "Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore "
        "Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez "
        "Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
        "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
        "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins "
        "Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan "
        "Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
        "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price "
        "Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell "
        "Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes "
        "Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander "
        "Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant "
        "Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro "
        "Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy "
        "Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson "
        "Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon "
        "Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone "
        "Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson "
        "Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley "
        "Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart "
        "Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane "
        "Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston "
        "Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval").split()
DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me",
           "example.com", "shop.test", "mail.example.org"]
STATUSES = ["active"] * 90 + ["vip"] * 6 + ["caution"] * 3 + ["do_not_serve"]
ORDER_STATUSES = ["completed"] * 80 + ["processing"] * 10 + ["cancelled"] * 4 + \
    ["refunded"] * 2 + ["pending"] * 2 + ["on-hold"] * 2
T0 = 1_600_000_000
SPAN = 5 * 365 * 86400


def main():
    db_path = sys.argv[1]
    n_customers = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    n_orders = int(sys.argv[3]) if len(sys.argv) > 3 else 5_000_000
    profile_orders = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    rnd = random.Random(20261123)
    started = time.time()
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    db.execute("BEGIN")
    db.execute("INSERT OR REPLACE INTO kv (key, value, updated_at) VALUES"
               " ('store.currency', 'USD', 0), ('store.decimals', '2', 0)")

    # Orders first, in memory per customer: metrics must agree with them.
    ltv = [0] * (n_customers + 1)
    count = [0] * (n_customers + 1)
    first = [0] * (n_customers + 1)
    last = [0] * (n_customers + 1)
    # The index is rebuilt once at the end: faster than 5M random inserts.
    db.execute("DROP INDEX IF EXISTS orders_customer")

    def orders():
        for oid in range(1, n_orders + 1):
            cid = 1 if oid <= profile_orders else rnd.randint(2, n_customers)
            created = T0 + rnd.randrange(SPAN)
            status = ORDER_STATUSES[rnd.randrange(100)]
            total = rnd.randint(500, 40000)
            if status in ("completed", "processing"):
                ltv[cid] += total
                count[cid] += 1
                if first[cid] == 0 or created < first[cid]:
                    first[cid] = created
                if created > last[cid]:
                    last[cid] = created
            yield (oid, cid, str(oid), status, created, created, total,
                   "stripe", "Credit card", "Flat rate", 1, created)

    db.executemany(
        "INSERT INTO orders (id, customer_id, number, status, currency,"
        " created_at, modified_at, total_minor, payment_method,"
        " payment_method_title, shipping_methods, item_count, fetched_at)"
        " VALUES (?, ?, ?, ?, 'USD', ?, ?, ?, ?, ?, ?, ?, ?)", orders())
    print(f"gen: {n_orders} orders in {time.time() - started:.0f}s", flush=True)

    # The profile customer's orders in full: items, refunds, sync rows.
    billing = ('{"first_name":"Emma","last_name":"Smith","address_1":"1 Main St",'
               '"city":"Springfield","postcode":"12345","country":"US",'
               '"email":"emma.smith@example.com","phone":"555 123 4567"}')
    db.execute("UPDATE orders SET billing_json = ?, shipping_json = ?,"
               " customer_note = 'Leave at the door', tracking_json ="
               " '[{\"tracking_number\":\"1Z999\",\"provider\":\"UPS\"}]',"
               " item_count = 3 WHERE customer_id = 1", (billing, billing))
    for (oid, status, created, total) in db.execute(
            "SELECT id, status, created_at, total_minor FROM orders"
            " WHERE customer_id = 1").fetchall():
        for k in range(3):
            db.execute("INSERT INTO order_items (order_id, product_id, name, sku,"
                       " quantity, subtotal_minor, total_minor) VALUES"
                       " (?, ?, ?, ?, 1, ?, ?)",
                       (oid, 100 + k, f"Product {k}", f"SKU-{k}", total // 3,
                        total // 3))
        if oid % 10 == 0:
            db.execute("INSERT INTO order_refunds (id, order_id, amount_minor,"
                       " reason) VALUES (?, ?, ?, 'damaged')",
                       (1_000_000 + oid, oid, total // 2))
            db.execute("UPDATE orders SET refunded_minor = ?, refund_count = 1"
                       " WHERE id = ?", (total // 2, oid))
        if status in ("completed", "processing"):
            db.execute("INSERT INTO transactions (order_id, customer_id,"
                       " order_number, total_minor, currency, created_at)"
                       " VALUES (?, 1, ?, ?, 'USD', ?)",
                       (oid, str(oid), total, created))
        db.execute("INSERT INTO order_sync (order_id, state, customer_id,"
                   " synced_at, updated_at) VALUES (?, 'synced', 1, ?, ?)",
                   (oid, created, created))
    db.execute("CREATE INDEX orders_customer ON orders (customer_id, created_at)")
    print(f"gen: orders indexed at {time.time() - started:.0f}s", flush=True)

    def customers():
        for cid in range(1, n_customers + 1):
            if cid == 1:
                fn, ln, email = "Emma", "Smith", "emma.smith@example.com"
            else:
                fn = FIRST[rnd.randrange(len(FIRST))]
                ln = LAST[rnd.randrange(len(LAST))]
                email = (f"{fn.lower()}.{ln.lower()}{cid}@"
                         f"{DOMAINS[rnd.randrange(len(DOMAINS))]}")
            phone = f"+1 {rnd.randint(200, 999)} {rnd.randint(200, 999)} " \
                f"{rnd.randint(0, 9999):04d}"
            n = count[cid]
            aov = (ltv[cid] + n // 2) // n if n else 0
            yield (cid, email, fn, ln, phone, STATUSES[rnd.randrange(100)],
                   T0 + rnd.randrange(SPAN), ltv[cid], n, aov,
                   first[cid] or None, last[cid] or None, rnd.randrange(6))

    db.executemany(
        "INSERT INTO customers (id, email, first_name, last_name, phone, status,"
        " created_at, ltv_minor, order_count, aov_minor, first_order_at,"
        " last_order_at, tag_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        customers())
    db.execute("COMMIT")
    print(f"gen: {n_customers} customers, done in {time.time() - started:.0f}s",
          flush=True)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


if __name__ == "__main__":
    main()
