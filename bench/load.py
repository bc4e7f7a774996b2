"""wrk against the served site: what a run measures (an Endpoint), the pages every section
reads, the check of each page before the load, and one measured run (the Lua side is
bench/report.lua)."""

import json
import math
import os
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.server import PROJECT_ROOT

LUA_SCRIPT = PROJECT_ROOT / "bench" / "report.lua"
ALL_IN_NAME = "Step Up: All In"
SORTS = ("helpful", "newest", "highest", "lowest")
SEARCH_TERM = "moose"

# What the anonymous title page shows and a signed-in one never does.
ANONYMOUS_MARKER = "Sign in to rate and review"


@dataclass
class Endpoint:
    name: str
    path: str
    # Extra environment for the wrk script: sessions to rotate through, review posts.
    script_env: dict = field(default_factory=dict)
    writes: bool = False
    signed_in: bool = False
    # The warm-up's own script environment and length, when not the run's.
    warmup_env: dict | None = None
    warmup_seconds: float | None = None
    # Each request a different member, none of them seen before: the run fails past this.
    distinct_requests: int | None = None


@dataclass
class Measurement:
    endpoint: Endpoint
    result: dict
    peak_rss_mb: float
    connection_split: str = ""
    note: str = ""


def all_in_title():
    from films.models import Title

    return Title.objects.get(name=ALL_IN_NAME)


def deep_page_url(title, sort, wanted_page):
    """Page `wanted_page` of the title's reviews (the last one when there are fewer)."""
    from reviews.pagination import REVIEWS_PER_PAGE, page_url

    pages = max(1, math.ceil(title.text_review_count / REVIEWS_PER_PAGE))
    page = min(wanted_page, pages)
    return page, page_url(title, sort=sort, page=page)


def director_path(title):
    from films.models import Credit

    credit = (
        Credit.objects.filter(title=title, role=Credit.Role.DIRECTOR)
        .select_related("person")
        .order_by("pk")
        .first()
    )
    if credit is None:
        raise SystemExit(f"No director is credited on {title.name}: load_catalog first.")
    return credit.person.get_absolute_url()


def write_lines(folder, name, lines):
    path = Path(folder) / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return str(path)


def run_wrk(url, seconds, args, script_env=None):
    command = ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{seconds}s"]
    command += [f"--timeout={args.timeout}s", "--latency", "-s", str(LUA_SCRIPT), url]
    env = {**os.environ, "BENCH_THREADS": str(args.wrk_threads), **(script_env or {})}
    finished = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=seconds + 60
    )
    for line in reversed(finished.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"wrk gave no result for {url}:\n{finished.stdout}\n{finished.stderr}")


def fetch(url, cookie=None):
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def preflight(server, endpoint, member_name=None, cookie=None):
    """One request before the load: a page that fails, or a session that does not sign
    in, would otherwise be measured as fast and fine."""
    status, body = fetch(server.base_url + endpoint.path, cookie)
    if status != 200:
        raise SystemExit(f"{endpoint.name}: {endpoint.path} answered {status}")
    if cookie and (ANONYMOUS_MARKER in body or f">{member_name}</a>" not in body):
        raise SystemExit(f"{endpoint.name}: the session cookie did not sign {member_name} in")


def measure(server, memory, endpoint, args):
    url = server.base_url + endpoint.path
    warmup_seconds = endpoint.warmup_seconds if endpoint.warmup_seconds else args.warmup
    if warmup_seconds:
        warmup_env = endpoint.script_env if endpoint.warmup_env is None else endpoint.warmup_env
        if endpoint.writes:
            # Warming up with posts would use up the pairs the measured run creates with.
            warmup_env = {k: v for k, v in warmup_env.items() if k != "BENCH_WRITES_FILE"}
        run_wrk(url, warmup_seconds, args, warmup_env)
    memory.start_window()
    result = run_wrk(url, args.duration, args, endpoint.script_env)
    memory.sample()
    print(
        f"  {endpoint.name:<44} {result['rps']:>9.1f} req/s  p50 {result['p50_ms']:.1f} ms  "
        f"p99 {result['p99_ms']:.1f} ms  errors {result['errors']}",
        flush=True,
    )
    return Measurement(endpoint, result, memory.window_peak, memory.split_text())
