# Sourced by the interop scripts (conformance/interop/run.sh, conformance/python/run.sh): starts
# `oidc-forge serve` with the embedded default configuration on a free port and stops it when
# the script exits, however it exits.
#
#   source conformance/serve-issuer.sh
#   start_issuer "$binary"     # sets $issuer (its URL) and $server_pid
#   ... ; issuer_log_tail      # the end of its log, after a failure

serve_workdir="$(mktemp -d)"
server_pid=""
issuer=""

stop_issuer() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$serve_workdir"
}
trap stop_issuer EXIT
# A signal ends the script through `exit`, so the EXIT trap stops the issuer then too.
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts BINARY and waits (10 s at most) for the URL on the first line of its banner, which it
# prints once its socket is bound and served.
start_issuer() {
  local binary="$1"
  # Created here, not by the background job's redirection, which may not have run yet when
  # the loop below first reads them.
  : >"$serve_workdir/stdout"
  : >"$serve_workdir/stderr"
  # Port 0: a free port, which the issuer's loopback identifier takes. The OIDC_FORGE_*
  # variables are cleared so that the embedded default configuration serves.
  env -u OIDC_FORGE_CONFIG -u OIDC_FORGE_HOST -u OIDC_FORGE_PORT -u OIDC_FORGE_ISSUER_URL \
    -u OIDC_FORGE_NO_ADMIN -u OIDC_FORGE_ADMIN_TOKEN -u OIDC_FORGE_LOG_FORMAT \
    "$binary" serve --host 127.0.0.1 --port 0 \
    >"$serve_workdir/stdout" 2>"$serve_workdir/stderr" </dev/null &
  server_pid=$!
  for _ in $(seq 1 100); do
    issuer="$(sed -n 's/^oidc-forge issuer: //p' "$serve_workdir/stdout" | head -n 1)"
    [[ -n "$issuer" ]] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "oidc-forge exited before printing its issuer URL:" >&2
      cat "$serve_workdir/stderr" >&2
      exit 1
    fi
    sleep 0.1
  done
  if [[ -z "$issuer" ]]; then
    echo "oidc-forge printed no issuer URL within 10 s" >&2
    cat "$serve_workdir/stderr" >&2
    exit 1
  fi
  echo "oidc-forge serving at $issuer (pid $server_pid)"
}

issuer_log_tail() {
  echo "the end of the issuer's log:" >&2
  tail -n 40 "$serve_workdir/stderr" >&2
}
