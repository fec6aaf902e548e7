#!/usr/bin/env bash
# Validates docs/admin-api.yaml as OpenAPI 3.0 (every example against its
# schema) with Redocly's CLI from the npm registry. The examples themselves
# are sent to the daemon by tests/integration/check_admin_examples.c.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v npx >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
npx --yes @redocly/cli@2.77.0 lint --format=stylish docs/admin-api.yaml
