"""The station's HTTP client: plain urllib, so a station needs nothing the package lacks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class Offline(Exception):
    """The server could not be reached (network down, server down, timeout)."""


class Refused(Exception):
    """The server answered with an error (4xx): `status` and its JSON `body`."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class Client:
    def __init__(self, server: str, token: str, timeout: float = 10.0) -> None:
        if not server.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) address: {server!r}")
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310  (the operator's own server URL)
            self.server + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read() or b"null")
            except ValueError:
                detail = None
            if exc.code >= 500:
                raise Offline(f"server error {exc.code}") from None
            raise Refused(exc.code, detail) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise Offline(str(exc)) from None

    def bundle(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/api/station/bundle", timeout=60)
        return result

    def send_passages(self, passages: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/api/station/passages", {"passages": passages})
        return result

    def send_rapid_tests(self, tests: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/api/station/rapid-tests", {"tests": tests})
        return result

    def lookup(self, text: str, timeout: float = 0.5) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", "/api/station/lookup", {"text": text}, timeout=timeout
        )
        return result
