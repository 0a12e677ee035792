"""What the driver knows about the issuer: the embedded default configuration's client and
users, its discovery document, and its request log (to see whether an app called UserInfo)."""

import base64
from dataclasses import dataclass
from typing import Any

import requests

from .report import expect

# The confidential client of `oidc-forge print-default-config`.
CLIENT_ID = "forge-web"
CLIENT_SECRET = "forge-web-secret"

TIMEOUT = 10


@dataclass(frozen=True)
class User:
    email: str
    sub: str
    permissions: tuple[str, ...]


# The default configuration's users; alice is the one auto mode signs in.
ALICE = User("alice@example.com", "4b3c7a4e-6f1e-4f8a-9d2b-1c0e5a7f3b21", ("castles:read", "castles:write"))
BOB = User("bob@example.com", "9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4", ("castles:read",))
DANA = User("dana@example.com", "0c1d2e3f-4a5b-4c6d-8e7f-a0b1c2d3e4f5", ())


class Issuer:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        response = requests.get(f"{self.url}/.well-known/openid-configuration", timeout=TIMEOUT)
        expect(response.status_code == 200, f"discovery answered {response.status_code}")
        self.metadata: dict[str, Any] = response.json()
        expect(
            self.metadata.get("issuer") == self.url,
            f"discovery names issuer {self.metadata.get('issuer')!r}, not {self.url!r}",
        )

    def endpoint(self, name: str) -> str:
        return str(self.metadata[name])

    def logged(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        """The issuer's request log (its admin API), oldest first; admin requests are not in it."""
        params = {"endpoint": endpoint} if endpoint else {}
        response = requests.get(f"{self.url}/_forge/requests", params=params, timeout=TIMEOUT)
        expect(response.status_code == 200, f"GET /_forge/requests answered {response.status_code}")
        return sorted(response.json()["requests"], key=lambda entry: int(entry["seq"]))

    def mark(self) -> int:
        """The sequence number of the newest logged request, to count what comes after it."""
        logged = self.logged()
        return int(logged[-1]["seq"]) if logged else 0

    def userinfo_requests_since(self, mark: int) -> int:
        return sum(1 for entry in self.logged("userinfo") if int(entry["seq"]) > mark)

    def last_request(self, endpoint: str) -> dict[str, Any]:
        logged = self.logged(endpoint)
        expect(bool(logged), f"the issuer logged no {endpoint} request")
        return logged[-1]


def tampered(token: str) -> str:
    """The token with one bit of its signature flipped (decoded, so the change is real and not
    in base64's padding bits)."""
    header, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    flipped = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    return f"{header}.{payload}.{flipped}"
