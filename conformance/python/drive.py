"""Runs the seeds' Python apps (apps/, loaded with the substitutions of seeds_test/apps.py)
against the oidc-forge issuer at $OIDC_FORGE_URL, started with its embedded default
configuration, and drives each as a browser would.

    OIDC_FORGE_URL=http://127.0.0.1:9000 conformance/python/.venv/bin/python -X dev conformance/python/drive.py

Prints `ok APP: CHECK` for each check that holds and `FAIL APP: WHY` for the first that does not
in each app's scenario (the other apps still run), then `N passed, N failed` (apps); exits 0 only
when every check held.
"""

import os
import sys
import time
import traceback
from collections.abc import Callable

from seeds_test import fief_fastapi, fief_flask, fusionauth
from seeds_test.issuer import Issuer
from seeds_test.report import CheckFailed

SCENARIOS: list[tuple[str, Callable[[Issuer], None]]] = [
    ("fief_flask_api", fief_flask.api),
    ("fief_flask_optional", fief_flask.optional),
    ("fief_flask_web", fief_flask.web),
    ("fief_fastapi_api", fief_fastapi.api),
    ("fief_fastapi_api_scope", fief_fastapi.scope),
    ("fief_fastapi_api_permissions", fief_fastapi.permissions),
    ("fief_fastapi_api_optional", fief_fastapi.optional),
    ("fief_fastapi_web", fief_fastapi.web),
    ("fief_fastapi_web_cache", fief_fastapi.web_cache),
    ("fusionauth_flask", fusionauth.quickstart),
]


def run(issuer: Issuer, name: str, scenario: Callable[[Issuer], None]) -> bool:
    try:
        scenario(issuer)
    except CheckFailed as failure:
        print(f"FAIL {name}: {failure}", flush=True)
        return False
    except Exception:
        # An app or a library raised: the traceback says where.
        print(f"FAIL {name}: unexpected error:\n{traceback.format_exc()}", flush=True)
        return False
    return True


def main() -> int:
    url = os.environ.get("OIDC_FORGE_URL")
    if not url:
        print("drive.py: set OIDC_FORGE_URL to the issuer's URL", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        issuer = Issuer(url)
    except CheckFailed as failure:
        print(f"FAIL issuer at {url}: {failure}", flush=True)
        return 1
    results = [run(issuer, name, scenario) for name, scenario in SCENARIOS]
    failed = results.count(False)
    print(f"{len(results)} apps in {time.monotonic() - started:.1f} s", flush=True)
    # The plain closing line test runners' readers recognize.
    print(f"{len(results) - failed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
