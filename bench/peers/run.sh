#!/usr/bin/env bash
# Side-by-side load: oidc-forge and the npm peers oidc-provider (panva) and oauth2-mock-server,
# driven by the same load generator on the same machine in one run, so the ratios in the table
# are measured, not quoted. Not part of CI (it needs node, npm and the npm registry).
#
#   bash bench/peers/run.sh [oidc-forge-bench options, e.g. --duration 10s --runs 3]
#
# The peers are installed into a throwaway directory (mktemp -d) that is removed at the end.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/target/release/oidc-forge-bench"
ISSUER="$ROOT/target/release/oidc-forge"
KEY_PEM="$ROOT/fixtures/keys/rs256.pem"
WORK=$(mktemp -d)
PEER_PID=""

cleanup() {
    if [ -n "$PEER_PID" ]; then kill "$PEER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && cargo build --release -p oidc-forge -p oidc-forge-bench)

cp "$ROOT/bench/peers/provider.mjs" "$ROOT/bench/peers/mock-server.mjs" "$WORK/"
(
    cd "$WORK"
    npm init -y >/dev/null
    npm pkg set type=module >/dev/null
    npm install --no-audit --no-fund --loglevel=error oidc-provider oauth2-mock-server >/dev/null
    echo "peers: $(npm ls --depth=0 2>/dev/null | grep -E 'oidc-provider|oauth2-mock-server' | tr -d ' ' | tr '\n' ' ')" >&2
)

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run_peer NAME SCRIPT TOKEN_FORM: start the peer, wait for its discovery document, drive it.
run_peer() {
    local name=$1 script=$2 form=$3 port
    shift 3
    port=$(free_port)
    (cd "$WORK" && PORT=$port KEY_PEM=$KEY_PEM NODE_ENV=production exec node "$script") >"$WORK/$name.log" 2>&1 &
    PEER_PID=$!
    for _ in $(seq 1 100); do
        if curl -sf "http://127.0.0.1:$port/.well-known/openid-configuration" >/dev/null; then break; fi
        sleep 0.1
    done
    echo "driving $name (pid $PEER_PID) on port $port" >&2
    "$BENCH" --peer "$name" --target-url "http://127.0.0.1:$port" --peer-pid "$PEER_PID" \
        --token-form "$form" --json "$@" >"$WORK/$name.json"
    kill "$PEER_PID"
    wait "$PEER_PID" 2>/dev/null || true
    PEER_PID=""
}

run_peer oidc-provider provider.mjs "scope=read&resource=urn:oidc-forge:bench" "$@"
run_peer oauth2-mock-server mock-server.mjs "scope=read" "$@"

echo "driving oidc-forge" >&2
"$BENCH" --issuer-bin "$ISSUER" "$@" \
    --compare "$WORK/oidc-provider.json" --compare "$WORK/oauth2-mock-server.json"
