#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Regenerate tests/fuzz/corpus/<target>/ from the WooCommerce captures
(tests/fixtures/woocommerce), tracksiesd.conf.example, tags.conf.default and
a few hand-written edge cases. Deterministic: file names are content hashes.

    python3 tests/fuzz/seed_corpus.py
"""
import hashlib
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "tests", "fixtures", "woocommerce")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def webhook_seed(flags, topic, sig, wid, did, ctype, body):
    head = "\n".join([topic, sig, wid, did, ctype]) + "\n"
    return bytes([flags]) + head.encode() + body


def order_bodies():
    """Every order object the captures hold: REST bodies and webhook bodies."""
    seen = []
    for name in sorted(os.listdir(os.path.join(FIX, "rest"))):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(FIX, "rest", name)) as f:
            doc = json.load(f)
        body = doc.get("body")
        items = body if isinstance(body, list) else [body]
        for it in items:
            if isinstance(it, dict) and "id" in it and "status" in it:
                seen.append(json.dumps(it, separators=(",", ":")).encode())
        if isinstance(body, dict) and isinstance(body.get("update"), list):
            for it in body["update"]:
                seen.append(json.dumps(it, separators=(",", ":")).encode())
    return seen


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    hooks = os.path.join(FIX, "webhooks")

    # webhook and json_scan: every captured delivery, as sent and signed.
    for name in sorted(os.listdir(hooks)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(hooks, name)) as f:
            meta = json.load(f)
        bpath = os.path.join(hooks, name[:-5] + ".body")
        if not os.path.exists(bpath):
            continue
        with open(bpath, "rb") as f:
            body = f.read()
        h = meta.get("headers", {})
        flags = 0
        fields = []
        for bit, key in enumerate(["X-WC-Webhook-Topic", "X-WC-Webhook-Signature",
                                   "X-WC-Webhook-ID", "X-WC-Webhook-Delivery-ID",
                                   "Content-Type"]):
            if key in h:
                flags |= 1 << bit
            fields.append(h.get(key, ""))
        if any(k.startswith("X-WC-") for k in h):
            flags |= 0x20
        put("webhook", webhook_seed(flags, *fields, body))
        # The same, signed by the harness: reaches the payload scan.
        put("webhook", webhook_seed(flags | 0x40, *fields, body))
        put("json_scan", body)
    # Hand-written webhook cases: every syncable topic, odd payloads.
    for topic in ["order.created", "order.updated", "order.deleted",
                  "order.restored", "action.woocommerce_payment_complete",
                  "product.created", ""]:
        for body in [b'{"id":19}', b'{"action":"woocommerce_payment_complete","arg":19}',
                     b'{"id":"19"}', b'{"id":-1}', b'[]', b'', b'{"id":19,"status":"processing",'
                     b'"total":"12.50","date_modified_gmt":"2026-11-23T04:50:32","refunds":[]}']:
            put("webhook", webhook_seed(0x7f, topic, "x", "1", "d" * 32,
                                        "application/json", body))
    put("webhook", webhook_seed(0x3f, "order.created", "bad", "1", "d", "application/json", b'{"id":1}'))
    put("webhook", webhook_seed(0x10, "", "", "", "", "application/x-www-form-urlencoded", b"webhook_id=7"))

    # wc_order: decimals byte, then an order.
    for body in order_bodies():
        put("wc_order", b"\x02" + body)
        put("json_scan", body)
    for name in sorted(os.listdir(hooks)):
        if name.startswith(("16-", "17-")) and name.endswith(".body"):
            with open(os.path.join(hooks, name), "rb") as f:
                b = f.read()
            put("wc_order", b"\x00" + b)
            put("wc_order", b"\x04" + b)

    # json_scan: the edges where parsers differ.
    for s in ['{}', '[]', '""', '0', '-0', '-0.0e+1', '1E400', '123456789012345678901234567890',
              '"\\ud83d\\ude00"', '"\\ud800"', '"\\udc00\\ud800"', '"\\u0000"', '"\xc3\xa9"',
              '[1,2,', '{"a":1,"a":2}', '{"id":19,"status":"x"}', ' \t\r\n[null,true,false] ',
              '[' * 600 + ']' * 600, '"\x7f"', '1.', '.5', '01', '"\\/"', '{"":""}']:
        put("json_scan", s.encode("utf-8", "surrogatepass"))
    put("json_scan", b'"\xed\xa0\x80"')
    put("json_scan", b'"\xf4\x90\x80\x80"')

    # config: the example, each key set, and secrets as files.
    with open(os.path.join(ROOT, "tracksiesd.conf.example")) as f:
        example = f.read()
    put("config", example)
    minimal = ("[store]\nurl = https://shop.example/\nconsumer_key = ck_x\n"
               "consumer_secret = cs_x\n[webhook]\nsecret = realwc-webhook-secret-0123456789\n"
               "[admin]\ntoken = adm-token-0123456789abcdef\n")
    put("config", minimal)
    put("config", example.replace("\n#", "\n") + "\n")
    put("config", "[store]\nurl = http://127.0.0.1:8080/shop\nconsumer_key_file = consumer_key\n"
                  "consumer_secret_file = consumer_secret\nqualifying_statuses = wc-Completed, processing\n"
                  "currency = eur\ntimeout_ms = 100\nmax_in_flight = 64\nauth = oauth1\n"
                  "[webhook]\nsecret_file = webhook_secret\nlisten = [::1]:0\npath = /hooks\n"
                  "max_body_bytes = 16M\npublic_url = https://x.example/hooks\n"
                  "[admin]\ntoken_file = admin_token\nlisten = 127.0.0.1:0\n"
                  "[database]\npath = /var/lib/tracksiesd/t.db\n[reconcile]\ninterval_s = 60\n"
                  "webhook_autorepair = yes\n[smtp]\nurl = smtps://mail.example:465\n"
                  "from = a@example.test\nto = b@example.test\nusername = u\npassword = p\n"
                  "[tags]\nrules_file = tags.conf\n[log]\nlevel = debug\n")
    put("config", minimal + "[webhook]\nsecret_file = empty\nsecret = x\n[nope]\nkey = \"quoted\"\n")

    # tags: the default rules and pieces of them.
    with open(os.path.join(ROOT, "tags.conf.default")) as f:
        rules = f.read()
    put("tags", rules)
    for chunk in rules.split("\n\n"):
        if "[" in chunk:
            put("tags", chunk + "\n")
    put("tags", "[tag x]\nlabel = X\nchannel = value\nkind = live\nwhen = ltv > 100 AND\n  order_count >= 2\n")
    put("tags", "[status s]\nstatus = vip\nwhen = (SELECT 1)\nreason = r\n")

    # admin: flags (method | 0x08 token | 0x20 actor), path?query, actor, body.
    methods = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
    reqs = [
        ("GET", "/healthz", ""),
        ("GET", "/v1/customers?page=1&per_page=5&sort=ltv&order=desc&q=ann&status=vip&tag=first_order", ""),
        ("GET", "/v1/customers?ids=1,2,3&min_ltv=10&max_ltv=9999.99&since=2026-01-01", ""),
        ("POST", "/v1/customers", '{"email":"wholesale@bakery.example","first_name":"Ada",'
         '"last_name":"Baker","phone":"+1 555 0100","status":"vip","status_reason":"Wholesale",'
         '"notes":"Met at the spring fair"}'),
        ("POST", "/v1/customers", '{"email":"Ann@Example.test ","company":"A & B"}'),
        ("GET", "/v1/customers/1", ""),
        ("PATCH", "/v1/customers/1", '{"notes":"x","phone":"1","status":"caution","status_reason":"r"}'),
        ("DELETE", "/v1/customers/2", ""),
        ("POST", "/v1/customers/bulk", '{"action":"set_status","ids":[1,2,99],"status":"vip","reason":"r"}'),
        ("POST", "/v1/customers/bulk", '{"action":"tag","ids":[1],"tag":"first_order"}'),
        ("POST", "/v1/customers/1/actions/vip", '{"reason":"loyal"}'),
        ("POST", "/v1/customers/1/actions/caution", ""),
        ("POST", "/v1/customers/1/actions/do_not_serve", '{"reason":"chargebacks"}'),
        ("POST", "/v1/customers/1/actions/restore", ""),
        ("GET", "/v1/customers/1/interactions?per_page=2", ""),
        ("POST", "/v1/customers/1/interactions", '{"type":"contact_form","summary":"Asked",'
         '"details":"Wants 40 loaves","source_url":"https://shop.example/x?a=1",'
         '"occurred_at":"2026-11-20T09:30:00Z"}'),
        ("DELETE", "/v1/customers/1/interactions/1", ""),
        ("GET", "/v1/customers/1/aliases", ""),
        ("POST", "/v1/customers/1/aliases", '{"email":"Emma.Work@Company.example"}'),
        ("DELETE", "/v1/customers/1/aliases/1", ""),
        ("GET", "/v1/customers/1/links", ""),
        ("POST", "/v1/customers/1/links", '{"other_id":3}'),
        ("DELETE", "/v1/customers/1/links/3", ""),
        ("GET", "/v1/customers/export.csv?status=active", ""),
        ("GET", "/v1/audit/export.csv?since=2026-01-01&customer_id=1", ""),
        ("GET", "/v1/orders/102/sync", ""),
        ("POST", "/v1/orders/102/sync", ""),
        ("GET", "/v1/sync/failed?code=no_billing_email&page=2", ""),
        ("POST", "/v1/sync/retry", '{"all":true}'),
        ("POST", "/v1/sync/retry", '{"order_ids":[1,2,3]}'),
        ("POST", "/v1/import", '{"since":"90d"}'),
        ("GET", "/v1/tags", ""),
        ("POST", "/v1/tags/recalculate", ""),
        ("GET", "/v1/features", ""),
        ("PUT", "/v1/features", '{"features":{"woo.interactions":false,"hq.digital_auto_complete":true}}'),
    ]
    for m, path, body in reqs:
        put("admin", bytes([methods[m] | 0x08 | 0x20]) + (path + "\nshopmanager\n" + body).encode())
    put("admin", bytes([0x00]) + b"/v1/customers\n\n")
    put("admin", bytes([0x10 | 0x01]) + b"/v1/customers\n\n{}")

    with open(os.path.join(ROOT, "tests", "fuzz", "admin.dict"), "w") as f:
        words = ["/v1/customers", "/v1/customers/", "/actions/vip", "/actions/caution",
                 "/actions/do_not_serve", "/actions/restore", "/interactions", "/aliases",
                 "/links", "/export.csv", "/v1/audit/export.csv", "/v1/orders/", "/sync",
                 "/v1/sync/failed", "/v1/sync/retry", "/v1/import", "/v1/tags", "/recalculate",
                 "/v1/features", "/bulk", "/healthz", "page=", "per_page=", "sort=", "order=",
                 "q=", "status=", "tag=", "ids=", "since=", "code=", "customer_id=",
                 "\"email\":", "\"first_name\":", "\"last_name\":", "\"phone\":",
                 "\"company\":", "\"notes\":", "\"status\":", "\"status_reason\":",
                 "\"reason\":", "\"action\":", "\"ids\":", "\"tag\":", "\"type\":",
                 "\"summary\":", "\"details\":", "\"source_url\":", "\"occurred_at\":",
                 "\"other_id\":", "\"all\":", "\"order_ids\":", "\"features\":",
                 "\"since\":", "vip", "caution", "do_not_serve", "active", "set_status",
                 "ltv", "desc", "asc", "contact_form", "call", "9223372036854775807",
                 "-1", "0", "1e3", "null", "true", "[]", "{}"]
        f.write("# Generated by seed_corpus.py: admin API routes, parameters and fields.\n")
        for w in words:
            f.write('"%s"\n' % w.replace("\\", "\\\\").replace('"', '\\"'))


if __name__ == "__main__":
    main()
