# SPDX-License-Identifier: MIT
# Shared by bench/intake/run.sh and ab.sh: the delivery they send and the
# daemon's configuration. Source it.
INTAKE_SECRET='realwc-webhook-secret-0123456789'
INTAKE_BODY="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tests/fixtures/woocommerce/webhooks/21-order.created--order-create-completed-coupon-fee.body"
INTAKE_TOKEN='bench-admin-token-0123456789'

# intake_config FILE DB WEBHOOK_PORT ADMIN_PORT LOG_LEVEL: a store that is
# down (nothing listens on port 9), everything on 127.0.0.1.
intake_config() {
	cat >"$1" <<CONF
[store]
url = http://127.0.0.1:9
consumer_key = ck_bench
consumer_secret = cs_bench
currency = USD
[webhook]
listen = 127.0.0.1:$3
secret = $INTAKE_SECRET
[admin]
listen = 127.0.0.1:$4
token = $INTAKE_TOKEN
[database]
path = $2
[log]
level = $5
CONF
	chmod 600 "$1"
}
