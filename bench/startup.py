#!/usr/bin/env python3
"""Process start to first discovery 200, and idle resident memory, of `oidc-forge serve`.

    cargo build --release -p oidc-forge
    python3 bench/startup.py target/release/oidc-forge [RUNS]

Each run picks a free loopback port, spawns `serve`, polls the discovery document as fast as
it can, and records the time from spawn to the first 200; then it waits 500 ms and reads the
process's VmRSS. Prints the median, min and max of both. Standard library only.
"""

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def one_run(binary):
    port = free_port()
    url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    try:
        deadline = start + 10
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        response.read()
                        break
            except OSError:
                if time.perf_counter() > deadline:
                    raise RuntimeError("no discovery answer within 10 s")
        elapsed_ms = (time.perf_counter() - start) * 1000
        time.sleep(0.5)
        return elapsed_ms, rss_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait()


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/oidc-forge"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    results = [one_run(binary) for _ in range(runs)]
    times = [t for t, _ in results]
    rss = [r / 1024 for _, r in results]
    print(f"{binary}, {runs} runs")
    print(
        f"start to first discovery 200: median {statistics.median(times):.2f} ms, "
        f"min {min(times):.2f} ms, max {max(times):.2f} ms"
    )
    print(
        f"idle resident memory: median {statistics.median(rss):.1f} MiB, "
        f"min {min(rss):.1f} MiB, max {max(rss):.1f} MiB"
    )


if __name__ == "__main__":
    main()
