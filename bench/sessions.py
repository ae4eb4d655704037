"""Logging bench users in through the real login form, and small HTTP helpers."""
from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


@dataclass
class Session:
    username: str
    cookie: str  # "session=…", ready for a Cookie header
    csrf: str


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def fetch(base_url: str, method: str, path: str, cookie: str = "", body: dict | None = None,
          headers: dict[str, str] | None = None) -> Answer:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    all_headers = {"Cookie": cookie} if cookie else {}
    all_headers.update(headers or {})
    payload = None
    if body is not None:
        payload = urlencode(body)
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def _session_cookie(answer: Answer, previous: str) -> str:
    cookie = SimpleCookie()
    cookie.load(answer.headers.get("set-cookie", ""))
    return f"session={cookie['session'].value}" if "session" in cookie else previous


def login(base_url: str, username: str, password: str) -> Session:
    """GET /login, POST the form, then read a fresh CSRF token off the home page (login clears the session)."""
    page = fetch(base_url, "GET", "/login")
    cookie = _session_cookie(page, "")
    token = CSRF_META.search(page.text)
    if not token:
        raise RuntimeError("the login page carries no CSRF token")
    answer = fetch(base_url, "POST", "/login", cookie,
                   {"username": username, "password": password, "csrf_token": token.group(1)})
    if answer.status != 302:
        raise RuntimeError(f"login as {username} failed: HTTP {answer.status}")
    cookie = _session_cookie(answer, cookie)
    home = fetch(base_url, "GET", "/", cookie)
    cookie = _session_cookie(home, cookie)
    token = CSRF_META.search(home.text)
    if home.status != 200 or not token:
        raise RuntimeError(f"{username}'s home page did not load after login (HTTP {home.status})")
    return Session(username, cookie, token.group(1))
