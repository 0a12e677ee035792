"""Seed 004: FusionAuth's Flask quickstart with Authlib: discovery, PKCE S256, "openid
offline_access", the tokens and the ID token's userinfo in cookies, and logout through the
issuer's /oauth2/logout."""

from typing import Any
from urllib.parse import urljoin

import requests

from . import apps
from .browser import Browser, Page, query, without_query
from .clients import FlaskClient, required_cookie
from .flows import callback_code
from .issuer import ALICE, CLIENT_ID, Issuer
from .report import CheckFailed, excerpt, expect, ok

NAME = "fusionauth_flask"
CALLBACK = "http://localhost:5000/callback"
# The quickstart's FusionAuth application has this as its logout URL (kickstart.json's
# `logoutURL`): FusionAuth's /oauth2/logout?client_id=... ends there, and the app's /logout
# route clears its cookies.
APP_LOGOUT = "http://localhost:5000/logout"


def sign_in(issuer: Issuer, client: FlaskClient, browser: Browser) -> None:
    """The home page's Login: /login to the issuer and back to /callback, which stores the
    tokens and the ID token's userinfo in cookies."""
    client.get("/").expect_status(200)
    authorize = client.get("/login").expect_redirect(302)
    params = query(authorize)
    expect(
        without_query(authorize) == issuer.endpoint("authorization_endpoint"),
        f"/login redirects to {without_query(authorize)}, not discovery's authorization_endpoint",
    )
    wanted = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid offline_access",
        "code_challenge_method": "S256",
    }
    expect(
        {name: params.get(name) for name in wanted} == wanted,
        f"the authorization URL's parameters are {params}, expected {wanted}",
    )
    # RFC 7636 4.2: an S256 challenge is 43 base64url characters; Authlib adds state and nonce.
    expect(len(params.get("code_challenge", "")) == 43, f"code_challenge {params.get('code_challenge')!r}")
    expect(bool(params.get("state")) and bool(params.get("nonce")), f"no state or nonce in {authorize}")
    ok(NAME, "/login redirects to discovery's authorization endpoint with PKCE S256, state and nonce")

    callback = browser.to_app(authorize, CALLBACK)
    callback_code(issuer, callback, params["state"])
    answer = client.get(callback)
    landing = answer.expect_redirect(302)
    expect(urljoin(CALLBACK, landing) == "http://localhost:5000/", f"/callback redirects to {landing}")
    exchange = issuer.last_request("token")
    expect(
        exchange["form"].get("grant_type") == "authorization_code" and "code_verifier" in exchange["form"],
        f"the token request was {exchange['form']}, expected a code exchange with a code_verifier",
    )
    ok(NAME, "/callback: Authlib redeemed the code with its verifier and accepted the ID token")

    for cookie in ("cb_access_token", "cb_refresh_token"):
        header = answer.cookie(cookie)
        expect("HttpOnly" in header and "SameSite=Lax" in header, f"the {cookie} cookie is {header}")
        expect(bool(required_cookie(client, cookie)), f"the {cookie} cookie is empty")
    expect(ALICE.sub in required_cookie(client, "cb_userinfo"), "the cb_userinfo cookie does not name alice")
    ok(NAME, "the access token, a refresh token (offline_access) and userinfo are in cookies")


def account(issuer: Issuer, client: FlaskClient) -> str:
    """The account page after login; returns its logout link."""
    location = client.get("/").expect_redirect(302)
    expect(urljoin(CALLBACK, location) == "http://localhost:5000/account", f"/ redirects to {location}")
    page = Page(client.get("/account").expect_status(200).text)
    expect(ALICE.email in page.text, f"/account shows {page.text!r}")
    logout = page.link("button-lg")
    expected = f"{issuer.url}/oauth2/logout?client_id={CLIENT_ID}"
    expect(logout == expected, f"the logout link is {logout}, expected {expected}")
    ok(NAME, "/account shows alice@example.com and links to the issuer's /oauth2/logout")
    return logout


def userinfo_and_refresh(client: FlaskClient, oauth_app: Any) -> None:
    """The registered Authlib client's own UserInfo call and refresh-token grant, with the
    tokens the app keeps in its cookies."""
    access_token = required_cookie(client, "cb_access_token")
    info = oauth_app.userinfo(token={"access_token": access_token, "token_type": "Bearer"})
    expect(info.get("sub") == ALICE.sub and info.get("email") == ALICE.email, f"UserInfo answered {dict(info)}")
    ok(NAME, "Authlib's userinfo() with the cookie's access token names alice")

    refresh_token = required_cookie(client, "cb_refresh_token")
    refreshed = oauth_app.fetch_access_token(grant_type="refresh_token", refresh_token=refresh_token)
    expect(refreshed.get("access_token") not in (None, access_token), "the refresh returned no new access token")
    expect(refreshed.get("refresh_token") not in (None, refresh_token), "the refresh token did not rotate")
    info = oauth_app.userinfo(token=refreshed)
    expect(info.get("sub") == ALICE.sub, f"UserInfo with the refreshed token answered {dict(info)}")
    ok(NAME, "Authlib's refresh-token grant: a new access token, accepted by UserInfo")


def describe(response: requests.Response) -> str:
    """A request to the issuer and its answer: where it redirects, or what its page says."""
    location = response.headers.get("location")
    shown = f" to {location}" if location else f", a page that says {excerpt(Page(response.text).text)!r}"
    return f"{response.request.method} {response.url} answered {response.status_code}{shown}"


def logout(client: FlaskClient, browser: Browser, link: str) -> None:
    """The Logout button: the browser goes to the issuer, which must send it on to the app's
    /logout (after a confirmation the user gives, if the issuer asks), which clears the app's
    cookies."""
    steps: list[str] = []
    response = browser.navigate(link)
    steps.append(describe(response))
    if response.status_code == 200 and Page(response.text).forms:
        # The issuer asks before ending the session; the user clicks its button.
        response = browser.submit(response)
        steps.append(describe(response))
    location = response.headers.get("location") if response.is_redirect else None
    if location is None or not urljoin(response.url, location).startswith(APP_LOGOUT):
        raise CheckFailed(
            "the issuer's logout did not send the browser back to the app's logout route "
            f"{APP_LOGOUT} (FusionAuth's /oauth2/logout?client_id= redirects to the application's "
            f"logout URL): {'; then '.join(steps)}"
        )
    ok(NAME, f"the issuer's logout ends at the app's {APP_LOGOUT}")
    back = client.get(urljoin(response.url, location))
    back.expect_redirect(302)
    for cookie in ("cb_access_token", "cb_refresh_token", "cb_userinfo"):
        expect(client.cookie(cookie) is None, f"/logout left the {cookie} cookie")
    client.get("/").expect_status(200)
    ok(NAME, "the app's /logout cleared its cookies; / is the signed-out home page")


def quickstart(issuer: Issuer) -> None:
    module = apps.load(NAME, issuer.url)
    client = FlaskClient(module.app, apps.FUSIONAUTH_DOCS)
    browser = Browser(issuer.url)
    try:
        sign_in(issuer, client, browser)
        link = account(issuer, client)
        userinfo_and_refresh(client, module.oauth.FusionAuth)
        logout(client, browser, link)
    finally:
        browser.close()
