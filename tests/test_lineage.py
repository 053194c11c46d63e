"""Lineage: every project module a stage script reaches through imports is in that stage's dvc.yaml deps,
so a code change re-runs what it must; and the layering rules of the package hold."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "skellm"


def _module_file(dotted: str) -> Path | None:
    p = ROOT.joinpath(*dotted.split("."))
    if (p / "__init__.py").is_file():
        return p / "__init__.py"
    return p.with_suffix(".py") if p.with_suffix(".py").is_file() else None


def _imports(path: Path) -> set[Path]:
    """Project files ``path`` imports, at any depth in the file (lazy imports count), with their packages."""
    out: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing file's package
                base = path.parent
                for _ in range(node.level - 1):
                    base = base.parent
                pkg = ".".join(base.relative_to(ROOT).parts)
                mod = f"{pkg}.{node.module}" if node.module else pkg
            else:
                mod = node.module or ""
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if not name.startswith("skellm"):
                continue
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
                if (f := _module_file(".".join(parts[:i]))) is not None:
                    out.add(f)
    return out


def closure(script: Path) -> set[Path]:
    """Every project file the script reaches through imports (the script itself excluded)."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo += _imports(p)
    # skellm/__init__.py holds only the version and offline-env defaults, which no output depends on:
    # listing it would re-run the whole pipeline on a version bump.
    return seen - {script, PACKAGE / "__init__.py"}


def _stages() -> list[tuple[str, Path, list[str]]]:
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    out = []
    for name, stage in spec["stages"].items():
        body = stage.get("do", stage)
        scripts = [w for w in body["cmd"].split() if w.endswith(".py")]
        assert len(scripts) == 1, f"{name}: expected one python script in cmd {body['cmd']!r}"
        deps = [d for d in body.get("deps", []) if isinstance(d, str)]
        out.append((name, ROOT / scripts[0], deps))
    return out


def _covered(path: Path, deps: list[str]) -> bool:
    rel = path.relative_to(ROOT).as_posix()
    return any(rel == d.rstrip("/") or rel.startswith(d.rstrip("/") + "/") for d in deps)


STAGES = _stages()


@pytest.mark.parametrize(("name", "script", "deps"), STAGES, ids=[s[0] for s in STAGES])
def test_stage_deps_cover_every_module_its_script_imports(name, script, deps):
    assert _covered(script, deps), f"{name}: its own script {script.name} is not a dep"
    missing = sorted(p.relative_to(ROOT).as_posix() for p in closure(script) if not _covered(p, deps))
    assert not missing, f"dvc.yaml stage {name} imports code its deps do not list: {', '.join(missing)}"


def test_closure_follows_lazy_and_package_imports(tmp_path):
    """The checker itself: a function-level import two hops away is found, with its package __init__."""
    found = {p.relative_to(ROOT).as_posix() for p in closure(ROOT / "stages" / "pretrain_encoder.py")}
    assert {"skellm/encoder/train.py", "skellm/training.py", "skellm/data/harmonize.py"} <= found
    assert "skellm/encoder/__init__.py" in found and "skellm/config.py" in found


def test_stage_scripts_are_thin():
    """A stage file loads the config and calls one function: a few lines, no logic of its own."""
    for name, script, _ in STAGES:
        tree = ast.parse(script.read_text())
        code = [n for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom | ast.Expr)]
        assert len(code) == 1 and isinstance(code[0], ast.If), f"{name}: only `if __name__ == ...` allowed"
        assert len(script.read_text().splitlines()) <= 16, f"{name}: {script} is more than a few lines"


def test_no_domain_module_parses_the_command_line():
    """argparse and sys.argv live in skellm/apps only."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "apps":
            continue
        text = path.read_text()
        tree = ast.parse(text)
        mods = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        mods |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        if "argparse" in mods or "sys.argv" in text:
            offenders.append(path.relative_to(ROOT).as_posix())
    assert not offenders, f"argparse or sys.argv outside skellm/apps: {offenders}"
