"""The import rules of docs/architecture.md, checked on the source: every import statement of
every module, those inside functions too (a lazy import is still a dependency)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "accounts", "films", "reviews", "search")
PROJECT = "stepup_site"
DEVELOPMENT_ONLY = ("bench", "tools", "tests")


def imported_modules(path, root=ROOT):
    """The absolute dotted names a module imports, with each name taken from a package too
    (`from core import slots` imports core.slots)."""
    package = path.relative_to(root).parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def _modules(*folders):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _breaking(paths, forbidden):
    """(module, import) pairs where a module imports a forbidden package or module."""
    return [
        (str(path.relative_to(ROOT)), name)
        for path in paths
        for name in sorted(set(imported_modules(path)))
        if any(name == bad or name.startswith(f"{bad}.") for bad in forbidden)
    ]


def test_the_catalogs_models_never_import_reviews():
    # The catalog stands on its own: reviews build on titles, never the reverse.
    assert _breaking([ROOT / "films" / "models.py"], ["reviews"]) == []


def test_the_catalogs_models_never_import_search():
    # The index reads the catalog; the catalog's models know nothing of it (the loader
    # command and the URL of the search page are the only places films names search).
    assert _breaking([ROOT / "films" / "models.py"], ["search"]) == []


def test_core_imports_no_product_app_nor_the_project():
    # Infrastructure serves every app; what pages show reaches it through settings
    # (PAGE_CACHE_SCOPES, PAGE_CACHE_WATCHED_APPS), never by importing an app.
    assert _breaking(_modules("core"), ["accounts", "films", "reviews", "search", PROJECT]) == []


def test_the_apps_never_import_the_project_package():
    # stepup_site composes the apps (settings, urls, the scope map); an app importing it
    # would make the project a library again.
    assert _breaking(_modules(*APPS), [PROJECT]) == []


def test_nothing_that_ships_imports_development_tooling():
    # The benchmark, the browser tools and the tests are never deployed.
    assert _breaking(_modules(*APPS, PROJECT), DEVELOPMENT_ONLY) == []


def test_production_installs_core_once_and_no_development_tooling():
    from django.conf import settings

    installed = [app.split(".")[0] for app in settings.INSTALLED_APPS]
    assert installed.count("core") == 1
    assert not {PROJECT, *DEVELOPMENT_ONLY} & set(installed)


def test_reviews_never_reach_into_the_account_lifecycle():
    # accounts.services suspends and deletes members and asks reviews to hide or delete
    # their content; reviews calling back into it would tie the two in a loop.
    forbidden = ["accounts.services", "accounts.views", "accounts.admin"]
    assert _breaking(_modules("reviews"), forbidden) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from reviews.models import Review", {"reviews.models", "reviews.models.Review"}),
        ("def f():\n    from reviews import services", {"reviews", "reviews.services"}),
        ("import bench.data", {"bench.data"}),
        ("from ..reviews import models", {"reviews", "reviews.models"}),
        ("from .selectors import title_pk", {"films.selectors", "films.selectors.title_pk"}),
    ],
)
def test_the_rules_see_every_kind_of_import(tmp_path, source, expected):
    """Lazy imports inside functions and relative imports count like the others."""
    module = tmp_path / "films" / "probe.py"
    module.parent.mkdir()
    module.write_text(source)
    assert set(imported_modules(module, root=tmp_path)) == expected
