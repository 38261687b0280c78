"""Dependencies point down: no module of tissuefate imports a part of the package ranked above its
own (DESIGN.md, "Layout").

Every module under ``src/tissuefate`` is parsed with :mod:`ast`, so every import counts: at the
top, inside functions (lazy imports) and under ``if TYPE_CHECKING:``. Each import of tissuefate is
mapped to the top-level part it names (``tissuefate.physics.thermal`` → ``physics``; the package
root ``tissuefate`` itself → ``__init__``) and compared with :data:`RANK`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "tissuefate"

#: Rank of each top-level part of the package, lowest first. A module may import from its own part
#: and from parts of lower rank. Parts of equal rank are peers: they import nothing of each other.
RANK = {
    # foundations: exceptions, the version, the research-use notice, lazy public names, and the
    # compiled kernels (which import nothing)
    "errors": 0,
    "_version": 0,
    "_notice": 0,
    "_lazy": 0,
    "kernels": 1,
    # shared vocabulary: the scenario models, then the grid, then the tissue (its presets parse
    # quantities with scenario.quantities and its state lives on a grid)
    "scenario": 2,
    "grid": 3,
    "tissue": 4,
    # the models: transport and heat; damage from them (peers: physics accumulates a thermal dose
    # through a Protocol, damage reads agents through one)
    "physics": 5,
    "damage": 5,
    # what delivers a session, and what happens between sessions
    "modalities": 6,
    "biology": 6,
    # outputs: report draws a Result, io writes one (and calls report to draw it)
    "report": 7,
    "io": 8,
    # a course of treatment produces a Result; studies, validation and benchmarks run courses
    "course": 9,
    "study": 10,
    "validation": 10,
    "bench": 10,
    "cli": 11,
    "__init__": 12,
    # example scripts shipped with the scenarios (the phantom writer): users' code, above it all
    "examples": 13,
}

#: Imports that the ranks allow but DESIGN.md rules out: (importing part, imported part).
FORBIDDEN = {
    ("physics", "scenario"): "physics never imports scenario models",
}

#: Upward imports allowed only under ``if TYPE_CHECKING:`` (a type named, never imported at run
#: time): (importing part, imported module).
TYPE_ONLY = {
    ("report", "tissuefate.io.result"): "report names the Result type it draws",
}

#: Upward imports that exist today and are to be removed: (file, imported module) → why kept.
#: An entry that no longer matches an import fails :func:`test_known_upward_imports_still_exist`.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> tuple[str, bool]:
    """Dotted module name of ``path`` (under :data:`SRC`) and whether it is a package."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _part(module: str) -> str:
    """The top-level part of the package that ``module`` belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_module(module: str) -> bool:
    path = SRC.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str, bool]]:
    """``(line, imported module, type_only)`` for every import of tissuefate in ``tree``."""
    base = module.split(".") if is_package else module.split(".")[:-1]

    def walk(node: ast.AST, type_only: bool) -> Iterator[tuple[int, str, bool]]:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for stmt in node.body:
                yield from walk(stmt, True)
            for stmt in node.orelse:
                yield from walk(stmt, type_only)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, type_only
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[: len(base) - node.level + 1]
                source = ".".join([*parent, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                # `from pkg import name` imports the submodule pkg.name when there is one
                sub = f"{source}.{alias.name}"
                yield node.lineno, sub if _is_module(sub) else source, type_only
        for child in ast.iter_child_nodes(node):
            yield from walk(child, type_only)

    for line, imported, type_only in walk(tree, False):
        if imported == PACKAGE or imported.startswith(PACKAGE + "."):
            yield line, imported, type_only


def violations(path: Path, source: str) -> list[tuple[str, str]]:
    """``(file:line imported -> target, file key)`` for every import in ``source`` (the text of
    ``path``) that points up, sideways to a peer, or is otherwise ruled out."""
    module, is_package = _module_name(path)
    own = _part(module)
    if own not in RANK:
        return [(f"{path.relative_to(SRC)}: part {own!r} has no rank in RANK", "")]
    found = []
    for line, imported, type_only in _imports(ast.parse(source, str(path)), module, is_package):
        target = _part(imported)
        if target == own:
            continue
        rank = RANK.get(target)
        if rank is not None and rank < RANK[own] and (own, target) not in FORBIDDEN:
            continue
        if type_only and (own, imported) in TYPE_ONLY:
            continue
        if rank is None:
            why = "which has no rank in RANK"
        elif (own, target) in FORBIDDEN:
            why = FORBIDDEN[own, target]
        elif rank == RANK[own]:
            why = f"a peer of {own} (both rank {rank})"
        else:
            why = f"rank {rank}, above {own} (rank {RANK[own]})"
        where = path.relative_to(SRC.parent).as_posix()
        found.append((f"{where}:{line} {imported} -> {target} ({why})", (where, imported)))
    return found


def _all_violations() -> list[tuple[str, tuple[str, str] | str]]:
    found = []
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        found += violations(path, path.read_text(encoding="utf-8"))
    return found


def test_every_part_of_the_package_has_a_rank():
    parts = {_part(_module_name(p)[0]) for p in (SRC / PACKAGE).rglob("*.py")}
    assert parts - RANK.keys() == set()


def test_imports_point_down():
    bad = [line for line, key in _all_violations() if key not in KNOWN_UPWARD]
    for line in bad:
        print(line)
    assert not bad, "imports that point up:\n" + "\n".join(bad)


def test_known_upward_imports_still_exist():
    seen = {key for _, key in _all_violations()}
    stale = [f"{f} -> {m}" for f, m in KNOWN_UPWARD if (f, m) not in seen]
    assert not stale, f"fixed; remove from KNOWN_UPWARD in {Path(__file__).name}: {stale}"


@pytest.mark.parametrize(
    ("file", "source", "flagged"),
    [
        # a lazy import inside a function counts
        ("io/output.py", "def f():\n    from ..course.result import Result\n", True),
        # so does a type-only one, unless TYPE_ONLY allows it
        (
            "physics/thermal.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from ..damage.thermal import ThermalDose\n",
            True,
        ),
        ("report/html.py", "if TYPE_CHECKING:\n    from ..io.result import Result\n", False),
        ("report/html.py", "from ..io.result import Result\n", True),
        ("report/html.py", "from ..io import output\n", True),
        # peers, absolute imports, the package root, and a rule from DESIGN.md
        ("biology/repair.py", "import tissuefate.modalities.agent\n", True),
        ("damage/zone.py", "from tissuefate.physics import thermal\n", True),
        ("grid/grid.py", "from .. import errors\n", False),
        ("grid/grid.py", "from .. import Result\n", True),
        ("physics/electric.py", "from ..scenario.models import Scenario\n", True),
        ("modalities/cryo.py", "from ..physics.thermal import ThermalSolver\n", False),
        ("course/controller.py", "from ..io.result import Result\n", False),
    ],
)
def test_the_check_sees_upward_imports(file, source, flagged):
    path = SRC / PACKAGE / file
    assert bool(violations(path, source)) is flagged
