"""Seed 000 (001 is the same page's source): Fief's Flask API example, its optional-user
variant, and its web example."""

from . import apps
from .browser import Browser
from .clients import FlaskClient, required_cookie
from .flows import check_token_info, fief_sign_in, web_sign_in
from .issuer import ALICE, BOB, DANA, Issuer, tampered
from .report import expect, ok


def api(issuer: Issuer) -> None:
    name = "fief_flask_api"
    module = apps.load(name, issuer.url)
    client = FlaskClient(module.app, apps.FIEF_DOCS)

    client.get("/authenticated").expect_status(401)
    ok(name, "/authenticated without a token is 401")

    tokens = fief_sign_in(issuer, module.fief, ALICE)
    token = tokens["access_token"]
    ok(name, "alice signed in by code flow; fief-client verified her ID token")

    check_token_info(client.get("/authenticated", token).expect_status(200).json(), ALICE, token)
    ok(name, "/authenticated is 200 with alice's id, scope and permissions")

    client.get("/authenticated-permissions", token).expect_status(200)
    ok(name, "/authenticated-permissions (castles:read) is 200 for alice")

    # The default configuration has no `required_scope`: no token can carry it.
    client.get("/authenticated-scope", token).expect_status(403)
    ok(name, "/authenticated-scope is 403: required_scope is not granted")

    client.get("/authenticated", tampered(token)).expect_status(401)
    ok(name, "a token with a flipped signature bit is 401")

    dana = fief_sign_in(issuer, module.fief, DANA)["access_token"]
    check_token_info(client.get("/authenticated", dana).expect_status(200).json(), DANA, dana)
    client.get("/authenticated-permissions", dana).expect_status(403)
    ok(name, "dana (no permissions) signed in: /authenticated 200, /authenticated-permissions 403")

    bob = fief_sign_in(issuer, module.fief, BOB)["access_token"]
    client.get("/authenticated-permissions", bob).expect_status(200)
    ok(name, "bob (castles:read) signed in: /authenticated-permissions 200")

    refreshed, userinfo = module.fief.auth_refresh_token(tokens["refresh_token"])
    expect(userinfo.get("sub") == ALICE.sub, f"the refreshed ID token names {userinfo.get('sub')}")
    expect(refreshed["access_token"] != token, "the refresh returned the same access token")
    expect(
        bool(refreshed.get("refresh_token")) and refreshed["refresh_token"] != tokens["refresh_token"],
        "the refresh token did not rotate",
    )
    new_token = refreshed["access_token"]
    check_token_info(client.get("/authenticated", new_token).expect_status(200).json(), ALICE, new_token)
    ok(name, "fief.auth_refresh_token: a new access token, accepted by /authenticated")


def optional(issuer: Issuer) -> None:
    name = "fief_flask_optional"
    module = apps.load(name, issuer.url)
    client = FlaskClient(module.app, apps.FIEF_DOCS)
    anonymous = {"message": "Anonymous user"}

    body = client.get("/authenticated").expect_status(200).json()
    expect(body == anonymous, f"/authenticated without a token answered {body}")
    ok(name, "/authenticated without a token is the anonymous answer")

    token = fief_sign_in(issuer, module.fief, ALICE)["access_token"]
    check_token_info(client.get("/authenticated", token).expect_status(200).json(), ALICE, token)
    ok(name, "/authenticated with alice's access token is her token info")

    body = client.get("/authenticated", tampered(token)).expect_status(200).json()
    expect(body == anonymous, f"/authenticated with a tampered token answered {body}")
    ok(name, "a tampered token is treated as no token")


def web(issuer: Issuer) -> None:
    name = "fief_flask_web"
    module = apps.load(name, issuer.url)
    client = FlaskClient(module.app, apps.FIEF_DOCS)
    browser = Browser(issuer.url)
    try:
        web_sign_in(issuer, client, browser, 302)
    finally:
        browser.close()
    ok(name, "/protected redirects to the issuer; /auth-callback sets the HttpOnly cookie")

    mark = issuer.mark()
    page = client.get("/protected").expect_status(200).text
    expect(ALICE.email in page, f"/protected shows {page!r}")
    calls = issuer.userinfo_requests_since(mark)
    expect(calls == 0, f"/protected made {calls} UserInfo requests with the cache filled by the callback")
    ok(name, "/protected shows alice@example.com from the userinfo cache (no UserInfo request)")

    # A new browser session: Flask's session cookie (the cache) is gone, the access token's
    # persistent cookie is not, so current_user() fetches UserInfo once and caches it again.
    client.delete_cookie("session")
    mark = issuer.mark()
    page = client.get("/protected").expect_status(200).text
    client.get("/protected").expect_status(200)
    calls = issuer.userinfo_requests_since(mark)
    expect(ALICE.email in page, f"/protected shows {page!r}")
    expect(calls == 1, f"two pages without the cache made {calls} UserInfo requests, expected 1")
    ok(name, "without the cache, /protected gets alice from UserInfo once, then from the cache")

    client.set_cookie("user_session", tampered(required_cookie(client, "user_session")))
    location = client.get("/protected").expect_redirect(302)
    expect(location.startswith(issuer.endpoint("authorization_endpoint")), f"a tampered cookie redirects to {location}")
    ok(name, "a tampered cookie redirects to the issuer's login again")
