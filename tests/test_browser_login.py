"""Chromium: every demo role logs in and lands on its own home page, in Chinese."""
import pytest

from webapp.demo import DEMO_PASSWORD, seed_demo
from webapp.extensions import db

from .conftest import browser_login

HOME_MARKERS = {
    "admin": "导入方案文件",
    "secretary": "按支部、按班级查看",
    "staff1": "本单位台账",
    "staff2": "本单位台账",
    "staff3": "本单位台账",
    "monitor1": "记录活动",
    "monitor2": "记录活动",
}


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo(echo=lambda *a: None)
        db.session.remove()


@pytest.mark.parametrize("username", list(HOME_MARKERS))
def test_demo_role_sees_chinese_home(demo, live_server, page, username):
    browser_login(page, live_server, username, DEMO_PASSWORD)
    assert page.url == f"{live_server}/"
    body = page.inner_text("main")
    assert HOME_MARKERS[username] in body
    assert "您好" in body
    assert page.inner_text("header .account").count("退出登录") == 1
    assert not page.js_errors, page.js_errors


def test_wrong_password_shows_chinese_error(demo, live_server, page):
    browser_login(page, live_server, "staff1", "not-the-password")
    assert "用户名或密码错误" in page.inner_text("main")


def test_phone_menu_works(demo, live_server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN")
    page = context.new_page()
    browser_login(page, live_server, "admin", DEMO_PASSWORD)
    assert not page.is_visible("nav.mainnav")
    page.click("button.nav-toggle")
    assert page.is_visible("nav.mainnav a:has-text('用户')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
