"""The stage import rule (README, "Architecture"): a stage imports only what sits below it.

Data flows source -> fetch -> parse -> store -> enrich -> coverage -> web. Each
stage may import the stages before it and the shared modules below every
stage; never one after it, nor the wiring on top (tasks, flow, admin...).
Imports inside functions count too: a cycle hidden in a function is still one.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "newsdesk"

# Below every stage: the models and small shared modules any stage may use.
BASE = {
    "models",
    "migrations",
    "languages",
    "countries",
    "places",
    "httpheaders",
    "signatures",
    "perprocess",
    "redisconn",
    "changes",
    "ops",
    "embedded_redis",
    "__init__",
}
# The stages, lowest first. Units on one line form one layer.
STAGES = [
    {"ingest"},
    {"drops"},
    {"enrich"},
    {"coverage"},
    {"web", "accounts", "templatetags"},
]
# On top: they wire the stages together and may import any of them.
WIRING = {"flow", "tasks", "admin", "apps", "management", "api", "alerts", "delivery", "websub", "testing"}


def _layer(unit: str) -> int:
    if unit in BASE:
        return 0
    for rank, layer in enumerate(STAGES, 1):
        if unit in layer:
            return rank
    if unit in WIRING:
        return len(STAGES) + 1
    raise AssertionError(f"newsdesk/{unit}: not placed in the architecture; add it to BASE, STAGES or WIRING")


def _unit(relative: tuple[str, ...]) -> str:
    return relative[0].removesuffix(".py")


def _imported_units(path: Path) -> set[str]:
    relative = path.relative_to(PACKAGE).parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parent = list(relative[:-1])[: len(relative) - node.level]
                module = ".".join(["newsdesk", *parent, *([node.module] if node.module else [])])
                names = [module] if node.module or parent else [f"newsdesk.{a.name}" for a in node.names]
            else:
                module = node.module or ""
                names = [f"{module}.{a.name}" for a in node.names] if module == "newsdesk" else [module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "newsdesk" and len(parts) > 1:
                found.add(parts[1])
    return found - {_unit(relative)}


def test_every_module_has_a_place():
    for path in PACKAGE.iterdir():
        if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists()):
            _layer(path.name.removesuffix(".py"))


def test_no_module_imports_a_stage_above_it():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path.relative_to(PACKAGE).parts)
        if unit == "migrations":
            continue
        mine = _layer(unit)
        for other in sorted(_imported_units(path)):
            if _layer(other) > mine:
                offenders.append(f"{path.relative_to(PACKAGE.parent)} imports newsdesk.{other}")
    assert offenders == []


def test_the_rule_catches_an_upward_import(tmp_path, monkeypatch):
    """The checker itself: a drops module importing web is reported."""
    fake = tmp_path / "newsdesk"
    (fake / "drops").mkdir(parents=True)
    (fake / "drops" / "__init__.py").write_text("")
    (fake / "drops" / "bad.py").write_text("def f():\n    from newsdesk.web.filters import ArticleFilter\n")
    (fake / "drops" / "rel.py").write_text("from ..web import views\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    assert _imported_units(fake / "drops" / "bad.py") == {"web"}
    assert _imported_units(fake / "drops" / "rel.py") == {"web"}
    assert _layer("web") > _layer("drops")


def test_tests_and_benches_share_helpers_without_importing_each_other_into_the_app():
    """Tests never import bench/ (what both need lives in newsdesk/testing), and the application never
    imports newsdesk.testing (it needs test-only packages such as hypothesis)."""
    root = PACKAGE.parent
    offenders = []
    for path in sorted((root / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            offenders += [f"{path.relative_to(root)} imports {n}" for n in names if n.split(".")[0] == "bench"]
    for path in sorted(PACKAGE.rglob("*.py")):
        if _unit(path.relative_to(PACKAGE).parts) != "testing" and "testing" in _imported_units(path):
            offenders.append(f"{path.relative_to(root)} imports newsdesk.testing")
    assert offenders == []
