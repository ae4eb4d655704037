"""The outward channels: an e-mail through the SMTP server in the environment, a JSON POST to a group robot."""
from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

SMTP_TIMEOUT = 20
WEBHOOK_TIMEOUT = 10


class DeliveryError(Exception):
    """The channel refused or could not be reached; the message says why (kept for the admin)."""


class SmtpSession:
    """One connection for all the e-mails of a run (a connection per message costs more than the message).

    `smtp://[user:pass@]host[:port]`, `smtp+starttls://…` or `smtps://…`. After a failure the connection is
    dropped and the next message opens a new one.
    """

    def __init__(self, smtp_url: str, sender: str):
        self.url = urlparse(smtp_url)
        self.sender = sender
        self.client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        url = self.url
        if url.scheme not in ("smtp", "smtps", "smtp+starttls") or not url.hostname:
            raise DeliveryError(f"SMTP_URL must be smtp://, smtp+starttls:// or smtps://host[:port], not {url.scheme}://")
        if url.scheme == "smtps":
            client = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=SMTP_TIMEOUT)
        else:
            client = smtplib.SMTP(url.hostname, url.port or 25, timeout=SMTP_TIMEOUT)
        if url.scheme == "smtp+starttls":
            client.starttls()
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        return client

    def send(self, address: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = subject
        message.set_content(body)
        try:
            if self.client is None:
                self.client = self._connect()
            self.client.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise DeliveryError(f"{type(error).__name__}: {error}") from error

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (OSError, smtplib.SMTPException):
                self.client.close()
            self.client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def send_email(smtp_url: str, sender: str, address: str, subject: str, body: str) -> None:
    with SmtpSession(smtp_url, sender) as session:
        session.send(address, subject, body)


def post_webhook(url: str, payload: str) -> None:
    """POST the JSON payload; a non-2xx answer, or a WeCom answer with a non-zero errcode, is a failure."""
    request = urllib.request.Request(url, data=payload.encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310 (admin-set http(s) URL)
            answer = response.read(65536)
    except urllib.error.HTTPError as error:
        raise DeliveryError(f"HTTP {error.code}") from error
    except (OSError, ValueError) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}") from error
    try:
        decoded = json.loads(answer or b"{}")
    except ValueError:
        return
    if isinstance(decoded, dict) and decoded.get("errcode") not in (None, 0):
        raise DeliveryError(f"errcode {decoded.get('errcode')}: {decoded.get('errmsg', '')}")
