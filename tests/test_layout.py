"""The package layout: wings with a docstring each, and no import circles between modules.

A circle (two modules importing each other, at the top or inside a function)
is how a flat folder grows tangled; this test reads every `import` in
`monitor/` and fails on any cycle, naming it.
"""

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "monitor"
WINGS = ("cli", "store", "crawl", "web", "takedown", "demo")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The monitor modules `name` imports anywhere in its body (relative imports resolved)."""
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known else prefix for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_circles_in_monitor():
    known = modules()
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_cycle_finder_sees_a_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_each_wing_is_a_package_that_says_what_lives_there():
    for wing in WINGS:
        init = PACKAGE / wing / "__init__.py"
        assert init.exists(), f"monitor/{wing}/ is not a package"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and doc.strip(), f"monitor/{wing}/__init__.py has no docstring"


def test_top_level_holds_only_shared_modules():
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top <= {"__init__", "__main__", "config", "ingest", "explain", "evaluate", "rescore", "escaping", "labels", "timefmt"}, sorted(top)


def test_every_module_imports():
    for name in sorted(modules()):
        if name != "monitor.__main__":  # runs the command line
            importlib.import_module(name)


def test_sql_lives_only_in_the_store():
    for name, path in modules().items():
        if name.startswith("monitor.store"):
            continue
        source = path.read_text(encoding="utf-8")
        assert ".execute(" not in source, f"{name} runs SQL outside monitor/store/"


def test_every_package_and_the_shipped_model_are_in_the_distribution():
    """A package missing from pyproject's list works from the checkout (and editable installs) but
    not once installed: monitor.learning and the shipped model were once left out."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(project["packages"])
    for top in ("monitor", "rules", "spiders"):
        for init in (ROOT / top).rglob("__init__.py"):
            name = ".".join(init.parent.relative_to(ROOT).parts)
            assert name in listed, f"{name} is not in pyproject.toml's packages"
    assert "rules.models.default" in listed and "*.json" in project["package-data"]["rules.models.default"]
