"""The package's layering, checked on its source: no import loop, nothing importing a layer above
it, no module over 600 lines.

Every ``import`` counts, also those inside functions (they are loops all the same, only later).
The layers, lowest first, are :data:`LAYERS`; a module may import its own layer's packages in one
direction only (the loop check catches the other) and any layer below. ``facelab/__init__.py``,
the lazily importing front door, is above everything; other modules import from it only
``__version__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "facelab"

#: The layers, lowest first: a module's layer is its first folder under ``facelab/`` (or its
#: file name, for the flat ``cli`` and ``__main__``).
LAYERS = [
    "core", "data", "models", "stages", "embedders", "engine", "verification", "identification",
    "analysis", "plotting", "report", "course", "commands", "cli", "__main__",
]
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    mods = {}
    for f in PACKAGE.rglob("*.py"):
        parts = f.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = f
    return mods


MODULES = _modules()


def _resolve(name: str) -> str:
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str) -> list[tuple[int, str, str]]:
    """``(line, facelab module imported, names)`` of every import statement in a module."""
    out = []
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, _resolve(a.name), "") for a in node.names if a.name.startswith("facelab")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("facelab"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.append((node.lineno, _resolve(sub if sub in MODULES else node.module), a.name))
    return out


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return len(LAYERS)  # the front door
    if parts[1] not in LAYERS:
        raise AssertionError(f"{module}: facelab/{parts[1]} is in no layer; add it to LAYERS (and DEVELOPING.md)")
    return LAYERS.index(parts[1])


GRAPH = {m: sorted({t for _, t, _ in _imports(m) if t != m}) for m in MODULES}


def test_every_module_is_in_a_layer():
    for m in MODULES:
        _layer(m)


def test_nothing_imports_from_a_layer_above_it():
    upward = []
    for m in MODULES:
        for line, target, name in _imports(m):
            if target == "facelab" and name == "__version__":
                continue
            if _layer(target) > _layer(m):
                upward.append(f"{MODULES[m].relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not upward, "imports reaching a layer above:\n" + "\n".join(upward)


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(graph[w])))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_the_cycle_finder_finds_a_loop():
    # The check below can only pass honestly if the finder sees a loop where there is one.
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert _cycles({"a": ["b"], "b": []}) == []


def test_no_import_loops():
    # A package's __init__ importing its own modules, which import each other through it, is a
    # loop too; the front door imports lazily, so it takes part in none.
    graph = {m: [t for t in ts if t != "facelab"] for m, ts in GRAPH.items()}
    loops = _cycles(graph)
    assert not loops, "import loops: " + "; ".join(" <-> ".join(c) for c in loops)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_size(module):
    n = len(MODULES[module].read_text().splitlines())
    assert n <= MAX_LINES, f"{MODULES[module].relative_to(PACKAGE.parent)} has {n} lines (at most {MAX_LINES})"
