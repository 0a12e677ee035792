#!/usr/bin/env bash
# The seeds' Python apps (Fief's Flask and FastAPI examples, FusionAuth's Flask quickstart with
# Authlib) against a freshly started `oidc-forge serve` with the embedded default configuration.
#
#   bash .ci/install-python && bash conformance/python/run.sh
#
# Builds the binary if needed (debug profile, as `cargo test` does; OIDC_FORGE_BIN names another
# binary and skips the build), starts it on a free port, waits for /healthz, runs drive.py with
# the venv's Python, and always stops the issuer it started. The exit code is drive.py's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

python="$here/.venv/bin/python"
[[ -x "$python" ]] || { echo "run.sh: $python is missing: run \`bash .ci/install-python\`" >&2; exit 1; }

if [[ -n "${OIDC_FORGE_BIN:-}" ]]; then
  binary="$OIDC_FORGE_BIN"
else
  cargo build --quiet -p oidc-forge --bin oidc-forge
  binary="${CARGO_TARGET_DIR:-$root/target}/debug/oidc-forge"
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
# OIDC_FORGE_* variables are cleared so that the embedded default configuration serves.
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

# /healthz must answer 200 before the apps start (bounded: 10 s).
"$python" - "$issuer/healthz" <<'EOF'
import sys, time, urllib.request

for _ in range(100):
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=1) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(f"run.sh: {sys.argv[1]} did not answer 200 within 10 s")
EOF

echo "run.sh: oidc-forge serving at $issuer (pid $server_pid)"
status=0
# -B: no __pycache__ in the work tree; -X dev: warnings and resource leaks shown.
OIDC_FORGE_URL="$issuer" "$python" -B -X dev "$here/drive.py" || status=$?
if [[ $status -ne 0 ]]; then
  echo "run.sh: drive.py failed (exit $status); the end of the issuer's log:" >&2
  tail -n 40 "$workdir/stderr" >&2
fi
exit "$status"
