"""The package's layering, read from the source: imports point one way, with no cycle and no private names.

Every import counts, including those inside functions; only imports under
``if TYPE_CHECKING:`` (type hints) are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "mcscale"

#: Layers from the bottom up; a module may import only from its own package or from layers below it.
LAYERS = (
    ("mcscale.echo",),  # escaping echoed text: used by every layer, even number parsing
    ("mcscale._version", "mcscale.units", "mcscale.fileio", "mcscale.numbers"),
    ("mcscale.model", "mcscale.stats"),
    ("mcscale.estimate",),
    ("mcscale.scenario_file", "mcscale.testing"),
    ("mcscale.schema",),  # describes scenario_file's format, from its tables: just above it
    ("mcscale.sim",),
    ("mcscale.results",),
    ("mcscale.query",),
    ("mcscale.api",),
    ("mcscale.analysis",),
    ("mcscale.viz",),
    ("mcscale.report",),
    ("mcscale.explore",),  # the public name of the explore page, for notebooks
    ("mcscale.bench",),
    ("mcscale.cli",),
    ("mcscale",),
)
#: Third-party packages only one place may import.
CONFINED = {
    "numba": "mcscale.sim.kernels",
    "llvmlite": "mcscale.sim.kernels",
    "matplotlib": "mcscale.viz.drawing",
    "dask": "mcscale.sim.dask_executor",
    "distributed": "mcscale.sim.dask_executor",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """Every import of a file: (module, names imported from it, line), outside TYPE_CHECKING blocks."""
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, [], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return found


def targets(module: str, names: list[str]) -> list[str]:
    """The mcscale modules an import reaches: ``from mcscale.viz import drawing`` reaches ``mcscale.viz.drawing``."""
    if module != "mcscale" and not module.startswith("mcscale."):
        return []
    submodules = [f"{module}.{name}" for name in names if f"{module}.{name}" in MODULES]
    return submodules or [module]


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, names, _ in imports(path):
            graph[name].update(t for t in targets(module, names) if t != name)
    return graph


def layer_of(module: str) -> tuple[int, str]:
    for rank, layer in reversed(list(enumerate(LAYERS))):
        for home in layer:
            if module == home or (home != "mcscale" and module.startswith(home + ".")):
                return rank, home
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_the_walk_sees_imports_inside_functions() -> None:
    assert len(MODULES) > 30
    graph = edges()
    assert "mcscale.scenario_file" in graph["mcscale.api"]
    # the CLI imports its commands' machinery inside functions: the walk must see those too
    assert any(target.startswith("mcscale.report") for target in set().union(*(graph[m] for m in graph if "cli" in m)))


def test_no_import_cycle() -> None:
    graph = edges()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for source, targets_ in edges().items():
        rank, home = layer_of(source)
        for target in targets_:
            target_rank, target_home = layer_of(target)
            if target_home != home and target_rank >= rank:
                wrong.append(f"{source} -> {target}")
    assert not wrong, "imports that point up or sideways: " + ", ".join(sorted(wrong))


def test_no_module_imports_another_modules_private_names() -> None:
    wrong = []
    for name, path in MODULES.items():
        for module, names, line in imports(path):
            if not module.startswith("mcscale"):
                continue
            private_module = any(part.startswith("_") and part != "_version" for part in module.split("."))
            private_names = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private_module or private_names:
                wrong.append(f"{MODULES[name].relative_to(SOURCE)}:{line} {module} {private_names}")
    assert not wrong, "private names imported across modules: " + "; ".join(wrong)


@pytest.mark.parametrize("package", sorted(CONFINED))
def test_heavy_libraries_are_confined(package: str) -> None:
    home = CONFINED[package]
    wrong = [
        name
        for name, path in MODULES.items()
        for module, _, _ in imports(path)
        if (module == package or module.startswith(package + ".")) and not (name == home or name.startswith(home + "."))
    ]
    assert not wrong, f"{package} imported outside {home}: {wrong}"
