"""The seeds' apps as users paste them (apps/*.py, see apps/README.md) and the only things that
differ when they run here: the placeholders of the table below, replaced in the source text at
load time, and the environment the FusionAuth quickstart reads its .env values from."""

import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from .issuer import CLIENT_ID, CLIENT_SECRET
from .report import CheckFailed

APPS_DIR = Path(__file__).resolve().parent.parent / "apps"

# Stands for the issuer's URL (`http://127.0.0.1:PORT`) in the table.
ISSUER = "{issuer}"

# The Fief documents' placeholders: the tenant's base URL (also the prefix of the FastAPI
# examples' /authorize and /api/token URLs) and the client's credentials.
FIEF_PLACEHOLDERS = {
    "https://fief.mydomain.com": ISSUER,
    "YOUR_CLIENT_ID": CLIENT_ID,
    "YOUR_CLIENT_SECRET": CLIENT_SECRET,
}

# The quickstart's .env, with the issuer's values (APP_SECRET_KEY is the quickstart's own).
FUSIONAUTH_ENVIRONMENT = {
    "CLIENT_ID": CLIENT_ID,
    "CLIENT_SECRET": CLIENT_SECRET,
    "ISSUER": ISSUER,
    "APP_SECRET_KEY": "0386ffa9-3bff-4c75-932a-48d6a763ce77",
}


@dataclass(frozen=True)
class Seed:
    """An app file, where its document runs it, and what differs from the document."""

    module: str
    # The origin the document serves the app on (its redirect URIs are built from the request,
    # so this is the test client's base URL, not a substitution).
    base_url: str
    placeholders: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)


FIEF_DOCS = "http://localhost:8000"  # "go to http://localhost:8000/protected"
FUSIONAUTH_DOCS = "http://localhost:5000"  # server.py's port, the quickstart's URLs

SEEDS = {
    seed.module: seed
    for seed in [
        Seed("fief_flask_api", FIEF_DOCS, FIEF_PLACEHOLDERS),
        Seed("fief_flask_optional", FIEF_DOCS, FIEF_PLACEHOLDERS),
        Seed("fief_flask_web", FIEF_DOCS, FIEF_PLACEHOLDERS),
        Seed("fief_fastapi_api", FIEF_DOCS, FIEF_PLACEHOLDERS),
        Seed("fief_fastapi_api_scope", FIEF_DOCS, FIEF_PLACEHOLDERS),
        Seed("fief_fastapi_api_permissions", FIEF_DOCS, FIEF_PLACEHOLDERS),
        Seed("fief_fastapi_api_optional", FIEF_DOCS, FIEF_PLACEHOLDERS),
        Seed("fief_fastapi_web", FIEF_DOCS, FIEF_PLACEHOLDERS),
        Seed("fief_fastapi_web_cache", FIEF_DOCS, FIEF_PLACEHOLDERS),
        Seed("fusionauth_flask", FUSIONAUTH_DOCS, environment=FUSIONAUTH_ENVIRONMENT),
    ]
}


def load(name: str, issuer: str) -> types.ModuleType:
    """Imports apps/NAME.py with the table's substitutions, under its real file name (so
    tracebacks point at it and Flask finds its templates beside it)."""
    seed = SEEDS[name]
    path = APPS_DIR / f"{name}.py"
    source = path.read_text(encoding="utf-8")
    for placeholder, value in seed.placeholders.items():
        # A placeholder that is not there means the file is no longer the seed's code.
        if placeholder not in source:
            raise CheckFailed(f"{path.name} has no {placeholder!r} to replace")
        source = source.replace(placeholder, value.replace(ISSUER, issuer))
    for variable, value in seed.environment.items():
        # Set before the app runs load_dotenv(), which never overrides the environment.
        os.environ[variable] = value.replace(ISSUER, issuer)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    # Flask(__name__) looks its module up here for the root path (templates/).
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module
