#!/usr/bin/env bash
# openid-client (npm, panva's certified relying-party library) against a freshly started
# `oidc-forge serve` with the embedded default configuration.
#
#   bash conformance/interop/run.sh
#
# Builds the binary if needed (debug profile, as `cargo test` does), starts it on a free port,
# waits for discovery, installs the npm packages from the lockfile when node_modules is missing or
# older than the lockfile, runs openid-client.mjs, and always stops the issuer it started. The
# exit code is the script's.
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

workdir="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT
# A signal ends the script through `exit`, so the EXIT trap stops the issuer then too.
trap 'exit 130' INT
trap 'exit 143' TERM

# Created here, not by the background job's redirection, which may not have run yet when the
# loop below first reads them.
: >"$workdir/stdout"
: >"$workdir/stderr"
# Port 0: the issuer binds a free port and prints the real URL on its first line. The
# OIDC_FORGE_* variables are cleared so the embedded default configuration the script expects is
# the one that serves.
env -u OIDC_FORGE_CONFIG -u OIDC_FORGE_HOST -u OIDC_FORGE_PORT -u OIDC_FORGE_ISSUER_URL \
  -u OIDC_FORGE_NO_ADMIN NO_COLOR=1 \
  "$binary" serve --host 127.0.0.1 --port 0 >"$workdir/stdout" 2>"$workdir/stderr" </dev/null &
server_pid=$!

issuer=""
for _ in $(seq 1 100); do
  issuer="$(sed -n 's/^oidc-forge issuer: //p' "$workdir/stdout" | head -n 1)"
  [[ -n "$issuer" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "run.sh: oidc-forge exited before printing its issuer URL:" >&2
    cat "$workdir/stderr" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$issuer" ]]; then
  echo "run.sh: oidc-forge printed no issuer URL within 10 s" >&2
  cat "$workdir/stderr" >&2
  exit 1
fi

# Discovery must answer 200 before the client starts (bounded: 10 s).
node --input-type=module -e '
const url = `${process.argv[1]}/.well-known/openid-configuration`;
for (let attempt = 0; attempt < 100; attempt += 1) {
  try {
    if ((await fetch(url)).status === 200) process.exit(0);
  } catch {}
  await new Promise((resolve) => setTimeout(resolve, 100));
}
console.error(`run.sh: ${url} did not answer 200 within 10 s`);
process.exit(1);
' "$issuer"

echo "run.sh: oidc-forge serving at $issuer (pid $server_pid)"
status=0
node "$here/openid-client.mjs" "$issuer" || status=$?
if [[ $status -ne 0 ]]; then
  echo "run.sh: openid-client.mjs failed (exit $status); the end of the issuer's log:" >&2
  tail -n 40 "$workdir/stderr" >&2
fi
exit "$status"
