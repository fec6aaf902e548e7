# SPDX-License-Identifier: MIT
# Sourced by bench/admin/run.sh and work.sh: the daemon configuration both
# run against the generated database. admin_bench_conf FILE DB TOKEN LEVEL
admin_bench_conf() {
	cat >"$1" <<CONF
[store]
url = http://127.0.0.1:9
consumer_key = ck_bench
consumer_secret = cs_bench
currency = USD
[webhook]
listen = 127.0.0.1:0
secret = bench-webhook-secret-0123456789
[admin]
listen = 127.0.0.1:0
token = $3
[database]
path = $2
[log]
level = $4
CONF
}
