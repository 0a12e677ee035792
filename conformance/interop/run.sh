#!/usr/bin/env bash
# openid-client (npm, panva's certified relying-party library) against a freshly started
# `oidc-forge serve` with the embedded default configuration.
#
#   bash conformance/interop/run.sh
#
# Builds the binary if needed (debug profile, as `cargo test` does), installs the npm packages
# from the lockfile when node_modules is missing or older than the lockfile, starts the issuer on
# a free port (conformance/serve-issuer.sh), runs openid-client.mjs, and always stops the issuer
# it started. The exit code is openid-client.mjs's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

command -v node >/dev/null || { echo "run.sh: node is not installed" >&2; exit 1; }

cargo build --quiet -p oidc-forge --bin oidc-forge
binary="${CARGO_TARGET_DIR:-$root/target}/debug/oidc-forge"

# npm ci writes node_modules/.package-lock.json; older than the lockfile means stale.
installed="$here/node_modules/.package-lock.json"
if [[ ! -f "$installed" || "$here/package-lock.json" -nt "$installed" ]]; then
  npm ci --prefix "$here" --no-audit --no-fund
fi

# shellcheck source=../serve-issuer.sh
source "$here/../serve-issuer.sh"
start_issuer "$binary"

status=0
node "$here/openid-client.mjs" "$issuer" || status=$?
if [[ $status -ne 0 ]]; then
  echo "run.sh: openid-client.mjs failed (exit $status)" >&2
  issuer_log_tail
fi
exit "$status"
