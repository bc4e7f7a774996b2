"""Real gunicorn servers with the production settings, and visitors talking to them over
plain HTTP: shared by the tests that need whole processes (test_multi_server,
test_concurrency), not just Django's test client."""

import http.client
import os
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = PROJECT_ROOT / "stepup_site" / "gunicorn.conf.py"
REQUEST_TIMEOUT = 20
START_TIMEOUT = 30
COMMAND_TIMEOUT = 180


def production_environment(backends, static_root, media_root):
    secret_alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return {
        **os.environ,
        **backends,
        "DJANGO_SETTINGS_MODULE": "stepup_site.settings",
        "DEBUG": "0",
        # Every server of a deployment shares one key: sessions and signed cookies made by
        # one must be valid on another.
        "SECRET_KEY": "".join(secrets.choice(secret_alphabet) for _ in range(64)),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The tests stand where the TLS-terminating proxy does and speak plain HTTP to it.
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": str(static_root),
        "MEDIA_ROOT": str(media_root),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "GUNICORN_CONTROL_SOCKET": "off",
    }


def manage(env, *arguments):
    """Run a management command in its own process; its stderr is in the failure."""
    finished = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT_ROOT,
        env=env,
        timeout=COMMAND_TIMEOUT,
        capture_output=True,
        text=True,
    )
    if finished.returncode:
        pytest.fail(
            f"manage.py {' '.join(arguments)[:80]} exited {finished.returncode}:\n"
            f"{finished.stderr[-3000:]}",
            pytrace=False,
        )
    return finished.stdout


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    log_path: Path
    process: subprocess.Popen | None = None
    env: dict = field(default_factory=dict)

    def start(self, env):
        self.env = env
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "stepup_site.wsgi", "-c", str(GUNICORN_CONF)],
                cwd=PROJECT_ROOT,
                env={**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_healthy(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn {self.name} exited at start-up:\n{self.log_tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"gunicorn {self.name} did not answer /healthz:\n{self.log_tail()}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: workers too
            self.process.wait(timeout=5)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines=40):
        return "\n".join(self.log().splitlines()[-lines:])


@contextmanager
def site_served(env, folder, name):
    """A migrated database with the catalog, served by gunicorn until the block ends."""
    manage(env, "migrate", "--noinput")
    manage(env, "load_catalog")
    server = Server(name, free_port(), folder / f"gunicorn-{name}.log")
    server.start(env)
    try:
        server.wait_until_healthy()
        yield server
    finally:
        server.stop()


@dataclass
class Visitor:
    """One person's browser: cookies by name, sent to whichever server is asked.

    http.cookiejar would keep the production cookies (Secure) off plain HTTP; here the test
    stands where the TLS proxy does, so it sends them on.
    """

    cookies: dict = field(default_factory=dict)

    def request(self, server, method, path, form=None):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.coded_value  # sent back as received
        return response.status, response.headers, content

    def get(self, server, path):
        status, _headers, content = self.request(server, "GET", path)
        assert status == 200, f"GET {path} on {server.name}: {status}"
        return content

    def form_token(self, server, path):
        """The CSRF token of the form at `path`, as a browser would send it back."""
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.get(server, path))
        assert token, f"no CSRF token in {path}"
        return token.group(1)

    def post_form(self, server, path, fields):
        """GET the form for its CSRF token, then POST it: a redirect means it was taken."""
        token = self.form_token(server, path)
        status, headers, content = self.request(
            server, "POST", path, {"csrfmiddlewaretoken": token, **fields}
        )
        assert status == 302, f"POST {path} on {server.name}: {status}\n{content[:2000]}"
        return headers["Location"]


def sign_up(server, username):
    """Sign up, then open the emailed link (sent by a worker run once, to the console) and
    confirm: the member is then signed in."""
    visitor = Visitor()
    password = secrets.token_urlsafe(18)
    visitor.post_form(
        server,
        "/accounts/signup/",
        {
            "username": username,
            "email": f"{username}@example.org",
            "password1": password,
            "password2": password,
        },
    )
    sent = manage(
        {**server.env, "EMAIL_URL": "consolemail://"},
        "db_worker", "--batch", "--no-reload", "--no-startup-delay", "--interval=0",
    )  # fmt: skip
    link = re.search(r"http://[^/\s]+(/accounts/signup/confirm/[^\s]+/)", sent)
    assert link, f"no confirmation link was sent to {username}:\n{sent[-2000:]}"
    visitor.post_form(server, link.group(1), {"password": password})
    assert "sessionid" in visitor.cookies, "confirming did not sign the member in"
    return visitor
