"""`_()` and `url_for` in templates (webapp/templating.py): the same output as Jinja's i18n callables and Flask's
url_for, only cheaper."""
from flask import render_template_string, url_for
from flask_babel import force_locale
from jinja2.ext import _make_new_gettext
from markupsafe import Markup


def _jinja_gettext(app, string, **variables):
    """What Jinja's newstyle gettext (as Flask-Babel installs it) gives, for comparison."""
    from flask_babel import get_translations
    original = _make_new_gettext(lambda s: get_translations().ugettext(s))
    return app.jinja_env.from_string("{{ f(s, **v) }}").render(f=original, s=string, v=variables)


def test_template_gettext_is_jinjas_in_both_languages(app):
    for language in ("zh_Hans_CN", "en"):
        with app.test_request_context("/", headers={"Cookie": f"lang={language}"}):
            for string, variables in (("Ledger", {}), ("%(count)s tasks", {"count": 30}),
                                      ("%(count)s tasks", {"count": "<b>&"}), ("no such msgid 100%%", {})):
                expected = _jinja_gettext(app, string, **variables)
                twice = [render_template_string("{{ _(s, **v) }}", s=string, v=variables) for _ in range(2)]
                assert twice == [expected, expected], (language, string)
            assert "&lt;b&gt;&amp;" in render_template_string("{{ _('%(count)s tasks', count='<b>&') }}")
    with app.test_request_context("/", headers={"Cookie": "lang=zh_Hans_CN"}):
        assert render_template_string("{{ _('Ledger') }}") == "台账"
        with force_locale("en"):  # e-mails in the recipient's language
            assert render_template_string("{{ _('Ledger') }}") == "Ledger"
        assert render_template_string("{{ gettext('Ledger') }}") == "台账"


def test_template_gettext_without_autoescape_gives_plain_text(app):
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        template = app.jinja_env.from_string("{% autoescape false %}{{ _('%(count)s tasks', count='<b>') }}"
                                             "{% endautoescape %}")
        assert template.render() == "<b> tasks"


def test_template_url_for_is_flasks(app):
    cases = [("main.home", {}), ("ledger.unit_ledger", {"unit_id": 7}), ("ledger.unit_ledger", {"unit_id": 7, "plan": 3}),
             ("auth.login", {"next": "/units/7/ledger?x=<'\">"}), ("static", {"filename": "css/app.css"}),
             ("ledger.unit_ledger", {"unit_id": 1, "print": 1}), ("ledger.unit_ledger", {"unit_id": 1, "print": True})]
    for root in ("", "/taizhang"):
        with app.test_request_context("/", base_url=f"http://localhost{root}/"):
            for endpoint, values in cases:
                expected = url_for(endpoint, **values)
                rendered = [render_template_string("{{ url_for(e, **v) }}", e=endpoint, v=values) for _ in range(2)]
                assert rendered == [str(Markup.escape(expected))] * 2, (root, endpoint, values)
                assert expected.startswith(root + "/")
            # Not memoised: external URLs and anchors go to Flask's url_for.
            assert render_template_string("{{ url_for('main.home', _external=True) }}") == url_for(
                "main.home", _external=True)
            assert render_template_string("{{ url_for('main.home', _anchor='x') }}").endswith("/#x")


def test_the_url_memo_knows_every_url_default(app):
    """The memo assumes a URL depends only on the endpoint, its values and the script root. A new `url_defaults`
    function that reads the request (a language prefix, say) would make it wrong: look at webapp/templating.py first."""
    from webapp import delivery
    defaults = {name: list(functions) for name, functions in app.url_default_functions.items() if functions}
    assert defaults == {None: [delivery._version_static_urls]}, defaults
    assert not any(rule.host or rule.subdomain for rule in app.url_map.iter_rules())
