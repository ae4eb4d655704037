"""The per-token throttle holds across real gunicorn workers: the count lives in the database."""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.sessions import fetch

from .conftest import PASSWORD
from .test_hostile_login import _free_port, _wait_until_serving

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MAKE_TOKEN = """
from webapp import create_app
from webapp.api.tokens import create_token
from webapp.extensions import db
from webapp.models import User
app = create_app()
with app.app_context():
    user = db.session.execute(db.select(User).where(User.username == "platform")).scalar_one()
    print(create_token(user, "党建平台", False, 30)[1])
"""


def test_throttle_holds_across_gunicorn_workers_and_sets_no_cookie(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'taizhang.db'}", "SECRET_KEY": "api-" * 16,
           "TAIZHANG_INSTANCE": str(tmp_path / "instance"), "TAIZHANG_ENV": "development",
           # One window long enough that the burst below cannot straddle two of them.
           "TAIZHANG_API_RATE_LIMIT": "5", "TAIZHANG_API_RATE_WINDOW_SECONDS": str(366 * 24 * 3600)}
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    for command in (["db", "upgrade"], ["create-user", "--username", "platform", "--name", "党建平台", "--role",
                                        "secretary", "--new-unit", "计算机学院党总支", "--password", PASSWORD]):
        done = subprocess.run(flask + command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    made = subprocess.run([sys.executable, "-c", MAKE_TOKEN], cwd=ROOT, env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "3", "--no-control-socket",
                               "-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_serving(port, server)

        def call(_n):
            return fetch(f"http://127.0.0.1:{port}", "GET", "/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(call, range(16)))
        statuses = sorted(answer.status for answer in answers)
        assert statuses == [200] * 5 + [429] * 11
        assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status == 429)
        assert not any("set-cookie" in answer.headers for answer in answers)
    finally:
        server.terminate()
        server.wait(timeout=30)
