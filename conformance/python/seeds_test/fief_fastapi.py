"""Seed 002: Fief's FastAPI examples: the API (four variants, each its own app, with Swagger UI
as the frontend the document uses), the web app, and the web app with a userinfo cache."""

import asyncio
from typing import Any

from . import apps
from .browser import Browser
from .clients import FastAPIClient, required_cookie
from .flows import SWAGGER_CALLBACK, check_token_info, swagger_sign_in, web_sign_in
from .issuer import ALICE, DANA, Issuer, tampered
from .report import expect, ok


def load(name: str, issuer: Issuer) -> tuple[Any, FastAPIClient]:
    module = apps.load(name, issuer.url)
    return module, FastAPIClient(module.app, apps.FIEF_DOCS)


def openapi(name: str, issuer: Issuer, client: FastAPIClient) -> dict[str, Any]:
    """The app's OpenAPI document, whose OAuth2 scheme must name the issuer's endpoints: the
    document writes Fief's paths (/authorize, /api/token) after the base URL."""
    document: dict[str, Any] = client.get("/openapi.json").expect_status(200).json()
    flow = document["components"]["securitySchemes"]["OAuth2AuthorizationCodeBearer"]["flows"]["authorizationCode"]
    for key, endpoint in (("authorizationUrl", "authorization_endpoint"), ("tokenUrl", "token_endpoint")):
        expect(
            flow[key] == issuer.endpoint(endpoint),
            f"{name}'s {key} is {flow[key]}, the issuer's {endpoint} is {issuer.endpoint(endpoint)}",
        )
    return document


def api(issuer: Issuer) -> None:
    name = "fief_fastapi_api"
    module, client = load(name, issuer)
    document = openapi(name, issuer, client)
    client.get("/docs").expect_status(200)
    client.get(SWAGGER_CALLBACK).expect_status(200)
    ok(name, "the docs' OAuth2 scheme names the issuer's authorization and token endpoints")

    client.get("/user").expect_status(401)
    ok(name, "/user without a token is 401")

    tokens = swagger_sign_in(issuer, document, ALICE)
    token = tokens["access_token"]
    ok(name, "Swagger UI's flow: redirect to /docs/oauth2-redirect, token request allowed by CORS")

    check_token_info(client.get("/user", token).expect_status(200).json(), ALICE, token)
    ok(name, "/user is 200 with alice's id, scope and permissions")

    client.get("/user", tampered(token)).expect_status(401)
    ok(name, "a token with a flipped signature bit is 401")

    refreshed, userinfo = asyncio.run(module.fief.auth_refresh_token(tokens["refresh_token"]))
    expect(userinfo.get("sub") == ALICE.sub, f"the refreshed ID token names {userinfo.get('sub')}")
    new_token = refreshed["access_token"]
    expect(new_token != token, "the refresh returned the same access token")
    check_token_info(client.get("/user", new_token).expect_status(200).json(), ALICE, new_token)
    ok(name, "FiefAsync.auth_refresh_token: a new access token, accepted by /user")


def scope(issuer: Issuer) -> None:
    name = "fief_fastapi_api_scope"
    _, client = load(name, issuer)
    token = swagger_sign_in(issuer, openapi(name, issuer, client), ALICE)["access_token"]
    # The default configuration has no `required_scope`: no token can carry it.
    client.get("/user", token).expect_status(403)
    ok(name, "/user is 403 for alice: required_scope is not granted")


def permissions(issuer: Issuer) -> None:
    name = "fief_fastapi_api_permissions"
    _, client = load(name, issuer)
    document = openapi(name, issuer, client)
    alice = swagger_sign_in(issuer, document, ALICE)["access_token"]
    check_token_info(client.get("/user", alice).expect_status(200).json(), ALICE, alice)
    ok(name, "/user (castles:read) is 200 for alice")
    dana = swagger_sign_in(issuer, document, DANA)["access_token"]
    client.get("/user", dana).expect_status(403)
    ok(name, "/user is 403 for dana, who has no permissions")


def optional(issuer: Issuer) -> None:
    name = "fief_fastapi_api_optional"
    _, client = load(name, issuer)
    body = client.get("/optional-user").expect_status(200).json()
    expect(body == {"message": "Anonymous user"}, f"/optional-user without a token answered {body}")
    ok(name, "/optional-user without a token is the anonymous answer")
    token = swagger_sign_in(issuer, openapi(name, issuer, client), ALICE)["access_token"]
    check_token_info(client.get("/optional-user", token).expect_status(200).json(), ALICE, token)
    ok(name, "/optional-user with alice's access token is her token info")


def signed_in(name: str, issuer: Issuer) -> FastAPIClient:
    """A web example's app after the login its /protected page starts."""
    _, client = load(name, issuer)
    browser = Browser(issuer.url)
    try:
        web_sign_in(issuer, client, browser, 307)
    finally:
        browser.close()
    ok(name, "/protected redirects (307) to the issuer; /auth-callback sets the HttpOnly cookie")
    return client


def protected_pages(issuer: Issuer, client: FastAPIClient, pages: int) -> int:
    """Loads /protected `pages` times, expecting alice's email; returns the UserInfo requests made."""
    mark = issuer.mark()
    for _ in range(pages):
        page = client.get("/protected").expect_status(200).text
        expect(ALICE.email in page, f"/protected shows {page!r}")
    return issuer.userinfo_requests_since(mark)


def web(issuer: Issuer) -> None:
    name = "fief_fastapi_web"
    client = signed_in(name, issuer)
    calls = protected_pages(issuer, client, 2)
    expect(calls == 2, f"two pages made {calls} UserInfo requests; without a cache, each page makes one")
    ok(name, "/protected shows alice@example.com from UserInfo, one request per page (no cache)")
    client.set_cookie("user_session", tampered(required_cookie(client, "user_session")))
    location = client.get("/protected").expect_redirect(307)
    expect(location.startswith(issuer.endpoint("authorization_endpoint")), f"a tampered cookie redirects to {location}")
    ok(name, "a tampered cookie redirects to the issuer's login again")


def web_cache(issuer: Issuer) -> None:
    name = "fief_fastapi_web_cache"
    client = signed_in(name, issuer)
    calls = protected_pages(issuer, client, 2)
    expect(calls == 0, f"two pages made {calls} UserInfo requests with the cache filled by the callback")
    ok(name, "/protected shows alice@example.com from the memory cache (no UserInfo request)")
