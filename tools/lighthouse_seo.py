"""Lighthouse's SEO score of the home and All In pages in English and Spanish.

    make lighthouse-seo                  # or: .venv/bin/python -m tools.lighthouse_seo

Serves a throwaway copy of the site as production does (see tools/lighthouse.py, whose set-up
it shares), runs Lighthouse's SEO category once on each page (the audits are checks, not
timings: one run says it all), prints each score with any audit that did not pass, and writes
them to docs/seo.md.
"""

import json
import shlex
import subprocess
import sys
import tempfile
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from tools.lighthouse import (
    CHROME_FLAGS,
    CHROME_PATH,
    LIGHTHOUSE_CLI,
    LIGHTHOUSE_DIR,
    PROJECT_ROOT,
    free_port,
    manage,
    production_environment,
    start_gunicorn,
)

REPORT = PROJECT_ROOT / "docs" / "seo.md"
PAGES = [
    ("Home, English", "/"),
    ("Home, Spanish", "/es/"),
    ("All In, English", "/titles/step-up-all-in/"),
    ("All In, Spanish", "/es/titles/step-up-all-in/"),
]


def seo_report(url, output_path):
    subprocess.run(
        [
            "node",
            str(LIGHTHOUSE_CLI),
            url,
            "--only-categories=seo",
            "--output=json",
            f"--output-path={output_path}",
            f"--chrome-flags={CHROME_FLAGS}",
            "--quiet",
        ],
        cwd=PROJECT_ROOT,
        env={"CHROME_PATH": CHROME_PATH, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        check=True,
    )
    return json.loads(Path(output_path).read_text())


def not_passed(report):
    """The SEO audits that count towards the score and did not pass, with their titles."""
    audits = report["audits"]
    return [
        f"{audits[ref['id']]['title']} ({audits[ref['id']]['score']})"
        for ref in report["categories"]["seo"]["auditRefs"]
        if ref["weight"] and audits[ref["id"]]["score"] not in (1, None)
    ]


def main():
    if not LIGHTHOUSE_CLI.exists():
        folder = LIGHTHOUSE_DIR.relative_to(PROJECT_ROOT)
        raise SystemExit(f"Lighthouse is not installed: npm ci --prefix {folder}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="stepup-seo-") as folder:
        folder = Path(folder)
        env = production_environment(folder)
        for arguments in (
            ("migrate", "--noinput"),
            ("load_catalog",),
            ("load_sample_content",),
            ("collectstatic", "--noinput"),
        ):
            manage(env, *arguments)
        port = free_port()
        with (folder / "gunicorn.log").open("a") as log:
            server = start_gunicorn(env, port, log)
            try:
                for number, (label, path) in enumerate(PAGES):
                    url = f"http://127.0.0.1:{port}{path}"
                    urllib.request.urlopen(url, timeout=30).read()
                    report = seo_report(url, folder / f"seo-{number}.json")
                    score = round(report["categories"]["seo"]["score"] * 100)
                    rows.append((label, path, score, not_passed(report)))
                    print(f"{label}: {score} {not_passed(report) or ''}", flush=True)
            finally:
                server.terminate()
                server.wait(timeout=40)
    lines = ["| page | path | SEO | audits not passed |", "|---|---|---|---|"]
    for label, path, score, failing in rows:
        lines.append(f"| {label} | `{path}` | **{score}** | {'; '.join(failing) or 'none'} |")
    version = json.loads((LIGHTHOUSE_DIR / "node_modules/lighthouse/package.json").read_text())
    REPORT.write_text(
        f"""# Lighthouse SEO: the home and All In pages in both languages

    {shlex.join(["make", "lighthouse-seo"])}

Lighthouse {version["version"]} (`tools/lighthouse/`), SEO category only, one run per page
(its audits are checks, not timings), against the site served as production serves it
(`tools/lighthouse_seo.py` shares `tools/lighthouse.py`'s set-up: gunicorn, DEBUG off, a
throwaway SQLite database with the catalog and the sample content). Run of
{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.

{chr(10).join(lines)}
"""
    )
    print(f"Written to {REPORT.relative_to(PROJECT_ROOT)}")
    if any(score < 100 for _, _, score, _ in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
