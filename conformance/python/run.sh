#!/usr/bin/env bash
# The seeds' Python apps (Fief's Flask and FastAPI examples, FusionAuth's Flask quickstart with
# Authlib) against a freshly started `oidc-forge serve` with the embedded default configuration.
#
#   bash .ci/install-python && bash conformance/python/run.sh
#
# Builds the binary if needed (debug profile, as `cargo test` does; OIDC_FORGE_BIN names another
# binary and skips the build), starts it on a free port, runs drive.py with
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

# shellcheck source=../serve-issuer.sh
source "$here/../serve-issuer.sh"
start_issuer "$binary"

status=0
# -B: no __pycache__ in the work tree; -X dev: warnings and resource leaks shown.
OIDC_FORGE_URL="$issuer" "$python" -B -X dev "$here/drive.py" || status=$?
if [[ $status -ne 0 ]]; then
  echo "run.sh: drive.py failed (exit $status)" >&2
  issuer_log_tail
fi
exit "$status"
