"""Serves one of the seeds' Flask apps (apps/*.py, loaded as seeds_test.apps.load loads them:
the document's code, only its placeholders replaced) on 127.0.0.1, for `oidc-forge-conformance
check --web` to drive as a browser would:

    .venv/bin/python serve.py fief_flask_web http://127.0.0.1:9000 [PORT]

PORT 0 (the default) takes a free port. The first line on standard output is the app's URL,
`http://127.0.0.1:PORT`; the app then serves until the process is ended."""

import sys
from pathlib import Path

from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seeds_test.apps import SEEDS, load  # noqa: E402


def main() -> int:
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in SEEDS:
        print(f"usage: serve.py {{{','.join(sorted(SEEDS))}}} ISSUER_URL [PORT]", file=sys.stderr)
        return 2
    name, issuer = sys.argv[1], sys.argv[2].rstrip("/")
    port = int(sys.argv[3]) if len(sys.argv) == 4 else 0
    module = load(name, issuer)
    app = getattr(module, "app", None)
    if app is None or not hasattr(app, "wsgi_app"):
        print(f"serve.py: {name} is not a Flask app", file=sys.stderr)
        return 2
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
