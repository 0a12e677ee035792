#!/usr/bin/env bash
# Builds the fuzz targets once, then runs each for SECONDS (default 600) one after another,
# nice'd so the machine stays usable. Each run's output, with libFuzzer's final statistics,
# lands in logs/TARGET.log. TARGETS="a b" picks targets; NO_BUILD=1 reuses the last build.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
targets=${TARGETS:-client_token authorize_query token_form basic_auth config_toml}
if [ -z "${NO_BUILD:-}" ]; then
    nice -n 10 cargo +nightly fuzz build -O || exit 1
fi
mkdir -p logs
for target in $targets; do
    mkdir -p "corpus/$target" "artifacts/$target"
    echo "$(date -u +%FT%TZ) $target: start"
    nice -n 10 "target/x86_64-unknown-linux-gnu/release/$target" "corpus/$target" "seeds/$target" \
        -max_total_time="$seconds" -timeout=20 -print_final_stats=1 -artifact_prefix="artifacts/$target/" \
        >"logs/$target.log" 2>&1
    echo "$(date -u +%FT%TZ) $target: exit $?"
done
