"""The browser's side of the hops to the issuer: a real HTTP client with the browser's cookie
jar for the issuer, following the issuer's redirects by hand until one leaves for the app. The
app's own requests go to its framework's test client, which keeps the app's cookies."""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from .issuer import TIMEOUT
from .report import CheckFailed, excerpt

# Authorization and logout take a few hops at most (login page, consent, confirmation).
MAX_HOPS = 10

# The Fetch metadata of a top-level navigation that a page of the app started (the app runs on
# localhost, the issuer on 127.0.0.1: another site).
FROM_THE_APP = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}


def query(url: str) -> dict[str, str]:
    """A URL's query parameters, each given once."""
    pairs = parse_qs(urlsplit(url).query, keep_blank_values=True)
    repeated = [name for name, values in pairs.items() if len(values) != 1]
    if repeated:
        raise CheckFailed(f"{url} repeats {repeated}")
    return {name: values[0] for name, values in pairs.items()}


def without_query(url: str) -> str:
    return url.split("?", 1)[0]


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class Page(HTMLParser):
    """The links (href, class) and forms of an HTML page, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.forms: list[Form] = []
        self.words: list[str] = []
        self.hidden_depth = 0
        self.feed(html)

    @property
    def text(self) -> str:
        """What the page shows, on one line."""
        return " ".join(self.words)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag in ("head", "script", "style"):
            self.hidden_depth += 1
        if tag == "a" and "href" in attributes:
            self.links.append((attributes["href"], attributes.get("class", "")))
        elif tag == "form":
            self.forms.append(Form(attributes.get("action", ""), attributes.get("method", "get").lower()))
        elif tag in ("input", "button") and self.forms and "name" in attributes:
            # A submit button sends its own name and value, as a click on it does.
            self.forms[-1].fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "script", "style"):
            self.hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if self.hidden_depth == 0:
            self.words.extend(data.split())

    def link(self, css_class: str) -> str:
        hrefs = [href for href, classes in self.links if css_class in classes.split()]
        if len(hrefs) != 1:
            raise CheckFailed(f"the page has {len(hrefs)} links of class {css_class!r}, not one")
        return hrefs[0]


class Browser:
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def to_app(self, url: str, app_url: str) -> str:
        """Navigates from the app to `url` at the issuer and follows its redirects until one goes
        to `app_url` (a prefix); returns that URL, for the app's test client."""
        headers = FROM_THE_APP
        for _ in range(MAX_HOPS):
            response = self.http.get(url, headers=headers, allow_redirects=False, timeout=TIMEOUT)
            location = response.headers.get("location")
            if not response.is_redirect or location is None:
                raise CheckFailed(
                    f"GET {url} answered {response.status_code} without a redirect towards "
                    f"{app_url}: {excerpt(response.text)}"
                )
            url = urljoin(url, location)
            if url.startswith(app_url):
                return url
            if not url.startswith(self.issuer):
                raise CheckFailed(f"the issuer redirected to {url}, not to {app_url}")
        raise CheckFailed(f"no redirect to {app_url} within {MAX_HOPS} hops")

    def navigate(self, url: str) -> requests.Response:
        """A link of the app's page followed to the issuer, without following redirects."""
        return self.http.get(url, headers=FROM_THE_APP, allow_redirects=False, timeout=TIMEOUT)

    def submit(self, page: requests.Response) -> requests.Response:
        """Clicks the submit button of the issuer's page's only form: a same-origin post."""
        forms = Page(page.text).forms
        if len(forms) != 1:
            raise CheckFailed(f"{page.url} has {len(forms)} forms, not one: {excerpt(page.text)}")
        form = forms[0]
        headers = {
            "Origin": self.issuer,
            "Sec-Fetch-Site": "same-origin",
            "Sec-Fetch-Mode": "navigate",
            "Sec-Fetch-Dest": "document",
        }
        action = urljoin(page.url, form.action)
        if form.method == "post":
            return self.http.post(action, data=form.fields, headers=headers, allow_redirects=False, timeout=TIMEOUT)
        return self.http.get(action, params=form.fields, headers=headers, allow_redirects=False, timeout=TIMEOUT)
