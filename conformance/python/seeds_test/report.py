"""One line per passed check, and the failure that stops an app's scenario."""


class CheckFailed(Exception):
    """A check did not hold; the message says what was sent, what came back and what the app
    expected."""


def ok(app: str, what: str) -> None:
    print(f"ok {app}: {what}", flush=True)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def excerpt(text: str, limit: int = 300) -> str:
    """The start of a response body, on one line, for a failure message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
