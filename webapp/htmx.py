"""htmx helpers: one place decides whether a request wants a fragment or a full page."""
from flask import render_template, request


def is_htmx() -> bool:
    # Boosted navigation and history restores (after hx-push-url) want the whole page.
    return (request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render_page_or_partial(page: str, partial: str, **context) -> str:
    """Full page for a normal request, the partial alone for htmx. The page includes the partial."""
    return render_template(partial if is_htmx() else page, **context)


def add_vary_header(response):
    if "HX-Request" not in response.headers.get("Vary", ""):
        response.vary.add("HX-Request")
    return response
