#!/usr/bin/env bash
# Checks the reverse-proxy snippets of docs/operations.md for real: nginx and
# Apache forward a signed WooCommerce delivery to tracksiesd byte for byte,
# and the daemon stores it. Everything on 127.0.0.1; stops by itself.
#   bash scripts/proxy-check.sh [path/to/tracksiesd]
set -euo pipefail
cd "$(dirname "$0")/.."
daemon=${1:-build/tracksiesd}
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v apache2 >/dev/null || need+=(apache2)
if ((${#need[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hook=$(free_port); nginx_port=$(free_port); apache_port=$(free_port)
secret=proxy-check-secret-0123456789
cat >"$work/t.conf" <<CONF
[store]
url = http://127.0.0.1:9
consumer_key = ck
consumer_secret = cs
currency = USD
[webhook]
listen = 127.0.0.1:$hook
path = /tracksies/webhook
secret = $secret
[admin]
listen = 127.0.0.1:$(free_port)
token = proxy-check-admin-token-0123
[database]
path = $work/t.db
CONF
"$daemon" --config "$work/t.conf" 2>"$work/daemon.log" & pids+=($!)
for _ in $(seq 50); do grep -q ready "$work/daemon.log" && break; sleep 0.1; done

# nginx: the snippet from docs/operations.md inside a minimal server block.
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
daemon off; pid $work/nginx/pid; error_log $work/nginx/error.log;
events {}
http {
  access_log off; client_body_temp_path $work/nginx; proxy_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nginx_port;
    location = /tracksies/webhook {
        proxy_pass http://127.0.0.1:$hook;
        proxy_set_header Host \$host;
        proxy_http_version 1.1;
        proxy_request_buffering on;
        client_max_body_size 4m;
        proxy_read_timeout 60s;
        allow all;
    }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & pids+=($!)

# Apache: the snippet inside a minimal configuration.
mods=/usr/lib/apache2/modules
mkdir -p "$work/apache"
cat >"$work/apache/httpd.conf" <<CONF
ServerRoot $work/apache
PidFile $work/apache/pid
ErrorLog $work/apache/error.log
Listen 127.0.0.1:$apache_port
ServerName localhost
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_http_module $mods/mod_proxy_http.so
ProxyPass        "/tracksies/webhook" "http://127.0.0.1:$hook/tracksies/webhook"
ProxyPassReverse "/tracksies/webhook" "http://127.0.0.1:$hook/tracksies/webhook"
<Location "/tracksies/webhook">
    LimitRequestBody 4194304
</Location>
CONF
apache2 -f "$work/apache/httpd.conf" -DFOREGROUND & pids+=($!)
sleep 1

body=tests/fixtures/woocommerce/webhooks/21-order.created--order-create-completed-coupon-fee.body
sig=$(openssl dgst -sha256 -hmac "$secret" -binary "$body" | openssl base64 -A)
fail=0
for proxy in "nginx $nginx_port" "apache $apache_port"; do
  set -- $proxy
  before=$(sqlite3 "$work/t.db" "SELECT count(*) FROM events")
  code=$(curl -s -o "$work/resp" -w '%{http_code}' -X POST "http://127.0.0.1:$2/tracksies/webhook" \
    -H 'Content-Type: application/json' -H 'X-WC-Webhook-Topic: order.created' \
    -H 'X-WC-Webhook-Resource: order' -H 'X-WC-Webhook-Event: created' -H 'X-WC-Webhook-ID: 1' \
    -H 'X-WC-Webhook-Delivery-ID: 0123456789abcdef0123456789abcdef' \
    -H "X-WC-Webhook-Signature: $sig" --data-binary "@$body")
  after=$(sqlite3 "$work/t.db" "SELECT count(*) FROM events")
  bad=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$2/tracksies/webhook" \
    -H 'X-WC-Webhook-Topic: order.created' -H "X-WC-Webhook-Signature: $sig" --data-binary '{"id":1}')
  if [ "$code" = 200 ] && [ $((after - before)) = 1 ] && [ "$bad" = 401 ]; then
    echo "proxy-check: $1: signed delivery 200 and stored, tampered body 401: ok"
  else
    echo "proxy-check: $1: FAILED (status $code, stored $((after - before)), tampered $bad)"; fail=1
  fi
done
exit $fail
