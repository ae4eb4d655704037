"""gunicorn reads this file from the working directory (`make run`, `make serve`, CI): settings that belong to
the server rather than to the app."""
import gunicorn.http.wsgi

_default_headers = gunicorn.http.wsgi.Response.default_headers


def _without_server_banner(self):
    # `Server: gunicorn` tells an attacker which software to look up; the response says nothing about it.
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


gunicorn.http.wsgi.Response.default_headers = _without_server_banner
