"""The app's side: its framework's test client at the origin its document serves it on, keeping
the app's cookies as the browser would, behind one small interface for Flask and FastAPI."""

import json
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import flask
from fastapi.testclient import TestClient

from .report import CheckFailed, excerpt, expect


@dataclass
class Answer:
    """What the app answered."""

    request: str
    status: int
    location: str | None
    set_cookies: list[str]
    text: str

    def expect_status(self, status: int) -> "Answer":
        expect(self.status == status, f"{self.request}: {self.status}, expected {status}: {excerpt(self.text)}")
        return self

    def expect_redirect(self, status: int) -> str:
        self.expect_status(status)
        if self.location is None:
            raise CheckFailed(f"{self.request}: {status} without a Location")
        return self.location

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            raise CheckFailed(f"{self.request}: not JSON: {excerpt(self.text)}") from None

    def cookie(self, name: str) -> str:
        """The Set-Cookie header that sets `name`."""
        found = [header for header in self.set_cookies if header.startswith(f"{name}=")]
        expect(len(found) == 1, f"{self.request}: {len(found)} Set-Cookie headers for {name}: {self.set_cookies}")
        return found[0]


class AppClient(Protocol):
    def get(self, url: str, token: str | None = None) -> Answer: ...

    def cookie(self, name: str) -> str | None: ...

    def set_cookie(self, name: str, value: str) -> None: ...

    def delete_cookie(self, name: str) -> None: ...


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token is not None else {}


class FlaskClient:
    def __init__(self, app: flask.Flask, base_url: str) -> None:
        self.client = app.test_client()
        self.base_url = base_url
        self.domain = urlsplit(base_url).hostname or ""

    def get(self, url: str, token: str | None = None) -> Answer:
        # A full URL (the issuer's redirect to the callback) brings its own origin.
        base = {} if "://" in url else {"base_url": self.base_url}
        response = self.client.get(url, headers=bearer(token), **base)
        return Answer(
            f"GET {url}",
            response.status_code,
            response.headers.get("Location"),
            response.headers.getlist("Set-Cookie"),
            response.get_data(as_text=True),
        )

    def cookie(self, name: str) -> str | None:
        cookie = self.client.get_cookie(name, domain=self.domain)
        return cookie.value if cookie is not None else None

    def set_cookie(self, name: str, value: str) -> None:
        self.client.set_cookie(name, value, domain=self.domain)

    def delete_cookie(self, name: str) -> None:
        self.client.delete_cookie(name, domain=self.domain)


class FastAPIClient:
    def __init__(self, app: Any, base_url: str) -> None:
        # Redirects are the browser's to follow: those to the issuer go to the real issuer.
        self.client = TestClient(app, base_url=base_url, follow_redirects=False)

    def get(self, url: str, token: str | None = None) -> Answer:
        response = self.client.get(url, headers=bearer(token))
        return Answer(
            f"GET {url}",
            response.status_code,
            response.headers.get("location"),
            response.headers.get_list("set-cookie"),
            response.text,
        )

    def cookie(self, name: str) -> str | None:
        return self.client.cookies.get(name)

    def set_cookie(self, name: str, value: str) -> None:
        self.delete_cookie(name)
        self.client.cookies.set(name, value)

    def delete_cookie(self, name: str) -> None:
        self.client.cookies.delete(name)


def required_cookie(client: AppClient, name: str) -> str:
    """The value of a cookie the app must have set in the browser."""
    value = client.cookie(name)
    if value is None:
        raise CheckFailed(f"the browser has no {name} cookie")
    return value
