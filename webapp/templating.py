"""Two template helpers every page calls dozens of times, at a fraction of their generic cost and with the same output.

- `_()` / `gettext()` in templates: Jinja's i18n extension resolves `_` to an alias that resolves `gettext`, which
  calls Flask-Babel's callable, three `Context.call`s and a catalogue look-up per string (~9 µs; a full page has
  ~45). Here it is one call; the string, marked safe and formatted exactly as Jinja's newstyle gettext does
  (`Markup(translation) % variables`, variables escaped), is kept per catalogue when it has no variables. The
  catalogue is still the request's (`flask_babel.get_translations()`, so `force_locale` is honoured).
- `url_for()` in templates: an endpoint with the same values under the same script root is the same relative URL
  for the life of the process (the URL map is fixed, the app's only `url_defaults` adds a static file's hash, and no
  rule matches on host or subdomain; a `url_defaults` that read the request would break this), so it is built once
  (~3–9 µs each, ~35 a page). Relative URLs only: anything with `_external`, `_anchor`, `_scheme`, `_method`, a
  blueprint-relative endpoint, a value that is not hashable or no request at all goes to Flask's `url_for`; the
  debug server (files change under it) is not memoised.
"""
from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_babel import get_translations
from jinja2 import pass_eval_context
from markupsafe import Markup

_MAX_STRINGS = 4096  # msgids kept per catalogue: the templates have ~600
_MAX_URLS = 4096  # distinct (root, endpoint, values): a few hundred in practice; cleared rather than grown past this


def _catalogue():
    """`flask_babel.get_translations()`: the catalogue `extensions._RequestCachedDomain` keeps for the request while
    the locale object is the same, read with one context look-up instead of Flask-Babel's four."""
    try:
        state = g._get_current_object()._flask_babel
        locale, translations = state.taizhang_translations
        if locale is state.babel_locale:
            return translations
    except (AttributeError, RuntimeError):  # nothing kept yet, or no app context
        pass
    return get_translations()


@pass_eval_context
def _gettext(eval_ctx, string: str, **variables):
    translations = _catalogue()
    if not eval_ctx.autoescape:
        return translations.ugettext(string) % variables
    if variables:
        return Markup(translations.ugettext(string)) % variables
    try:
        known = translations.taizhang_markup
    except AttributeError:
        known = translations.taizhang_markup = {}
    text = known.get(string)
    if text is None:
        text = Markup(translations.ugettext(string)) % variables
        if len(known) < _MAX_STRINGS:  # templates' msgids are literals; never let a computed one grow it
            known[string] = text
    return text


def _memoised_url_for(app: Flask):
    build = app.url_for
    urls: dict[tuple, str] = {}

    def url_for(endpoint: str, /, **values) -> str:
        if app.debug or endpoint[:1] == "." or not has_request_context():
            return build(endpoint, **values)
        for name in values:
            if name[:1] == "_":
                return build(endpoint, **values)
        # The values' types too: 1 and True are equal keys but different URLs.
        key = (request.script_root, endpoint, *values.items(), *map(type, values.values()))
        try:
            return urls[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value
            return build(endpoint, **values)
        url = build(endpoint, **values)
        if len(urls) >= _MAX_URLS:
            urls.clear()
        urls[key] = url
        return url

    return url_for


def init_app(app: Flask) -> None:
    """After Flask-Babel's init_app (it installs Jinja's gettext callables, replaced here for `_` and `gettext`)."""
    app.jinja_env.globals.update(_=_gettext, gettext=_gettext, url_for=_memoised_url_for(app))
