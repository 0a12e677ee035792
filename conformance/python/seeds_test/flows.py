"""The authorization-code flows the seeds rely on: the frontend of the Fief API examples (the
app's own Fief client, or FastAPI's Swagger UI), and a Fief web app's own login redirect."""

import secrets
from typing import Any
from urllib.parse import quote, urlencode, urljoin

import requests
from fief_client import Fief

from .browser import Browser, query, without_query
from .clients import AppClient
from .issuer import CLIENT_ID, CLIENT_SECRET, TIMEOUT, Issuer, User
from .report import excerpt, expect

# The Fief documents' prerequisite redirect URIs, on the origin they run the app on.
FIEF_CALLBACK = "http://localhost:8000/auth-callback"
SWAGGER_CALLBACK = "http://localhost:8000/docs/oauth2-redirect"
# What the frontends ask for: the FastAPI examples' scheme lists exactly these two scopes.
FRONTEND_SCOPE = ["openid", "offline_access"]


def callback_code(issuer: Issuer, callback: str, state: str | None) -> str:
    """The code of the issuer's redirect back, after the checks a client makes on it."""
    params = query(callback)
    expect("error" not in params, f"the issuer answered {callback}")
    expect(params.get("state") == state, f"the redirect back carries state {params.get('state')!r}, not {state!r}")
    # RFC 9207: the issuer identifies itself on the redirect back.
    expect(params.get("iss") == issuer.url, f"the redirect back carries iss {params.get('iss')!r}")
    expect(bool(params.get("code")), f"no code in {callback}")
    return params["code"]


def fief_sign_in(issuer: Issuer, fief: Fief, user: User) -> dict[str, Any]:
    """The API example's frontend, with the app's own Fief client: the user named by
    `login_hint` (the default configuration's auto mode signs that user in without a page),
    the code exchanged by fief-client, which verifies the ID token (RS256 against the JWKS,
    at_hash, c_hash). Returns the token response."""
    state = secrets.token_urlsafe(16)
    url = fief.auth_url(FIEF_CALLBACK, state=state, scope=FRONTEND_SCOPE, extras_params={"login_hint": user.email})
    browser = Browser(issuer.url)
    try:
        code = callback_code(issuer, browser.to_app(url, FIEF_CALLBACK), state)
    finally:
        browser.close()
    tokens, userinfo = fief.auth_callback(code, FIEF_CALLBACK)
    expect(
        userinfo.get("sub") == user.sub and userinfo.get("email") == user.email,
        f"the ID token names {userinfo.get('sub')} <{userinfo.get('email')}>, not {user.email}",
    )
    expect(bool(tokens.get("refresh_token")), "no refresh token for offline_access")
    return dict(tokens)


def swagger_sign_in(issuer: Issuer, openapi: dict[str, Any], user: User) -> dict[str, Any]:
    """What FastAPI's interactive docs do on Authorize: the authorization URL and token URL of
    the app's OpenAPI security scheme, the redirect to /docs/oauth2-redirect, then the token
    request from the docs page's origin with client_id and client_secret in the form (Swagger
    UI's default). The user is chosen with `login_hint` as above. Returns the token response."""
    flow = openapi["components"]["securitySchemes"]["OAuth2AuthorizationCodeBearer"]["flows"]["authorizationCode"]
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "redirect_uri": SWAGGER_CALLBACK,
        "scope": " ".join(FRONTEND_SCOPE),
        "state": state,
        "client_id": CLIENT_ID,
        "login_hint": user.email,
    }
    # Swagger UI encodes with encodeURIComponent: %20, not +.
    url = f"{flow['authorizationUrl']}?{urlencode(params, quote_via=quote)}"
    browser = Browser(issuer.url)
    try:
        code = callback_code(issuer, browser.to_app(url, SWAGGER_CALLBACK), state)
    finally:
        browser.close()
    response = requests.post(
        flow["tokenUrl"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": SWAGGER_CALLBACK,
        },
        headers={"Accept": "application/json, text/plain, */*", "Origin": "http://localhost:8000"},
        timeout=TIMEOUT,
    )
    expect(response.status_code == 200, f"Swagger UI's token request: {response.status_code} {excerpt(response.text)}")
    # The page reads the answer only if CORS lets it (a form-encoded POST needs no preflight).
    allowed = response.headers.get("access-control-allow-origin")
    expect(allowed in ("*", "http://localhost:8000"), f"the token response allows origin {allowed!r}")
    tokens: dict[str, Any] = response.json()
    expect(bool(tokens.get("refresh_token")), "no refresh token for offline_access")
    return tokens


def web_sign_in(issuer: Issuer, client: AppClient, browser: Browser, redirect_status: int) -> None:
    """A Fief web example's login: the protected page redirects to the issuer, the browser comes
    back to /auth-callback, which sets the access-token cookie and redirects to the page."""
    authorize = client.get("/protected").expect_redirect(redirect_status)
    params = query(authorize)
    expect(
        without_query(authorize) == issuer.endpoint("authorization_endpoint"),
        f"/protected redirects to {without_query(authorize)}, not the issuer's authorization endpoint",
    )
    wanted = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": FIEF_CALLBACK, "scope": "openid"}
    expect(
        {name: params.get(name) for name in wanted} == wanted,
        f"the authorization URL's parameters are {params}, expected {wanted}",
    )
    # The Fief web examples send no state; the redirect back has none either.
    callback = browser.to_app(authorize, FIEF_CALLBACK)
    callback_code(issuer, callback, None)
    answer = client.get(callback)
    landing = answer.expect_redirect(redirect_status)
    expect(urljoin(FIEF_CALLBACK, landing) == "http://localhost:8000/protected", f"/auth-callback redirects to {landing}")
    cookie = answer.cookie("user_session")
    expect("HttpOnly" in cookie and "Max-Age=" in cookie, f"the session cookie is {cookie}")


def check_token_info(info: dict[str, Any], user: User, token: str) -> None:
    """A FiefAccessTokenInfo as the apps return it: the user's id, the granted scope, the user's
    permissions, and the token itself."""
    expect(info.get("id") == user.sub, f"id {info.get('id')}, expected {user.sub} ({user.email})")
    expect(info.get("scope") == FRONTEND_SCOPE, f"scope {info.get('scope')}, expected {FRONTEND_SCOPE}")
    expect(
        info.get("permissions") == list(user.permissions),
        f"permissions {info.get('permissions')}, expected {list(user.permissions)} ({user.email})",
    )
    expect(info.get("access_token") == token, "access_token is not the token sent")
