"""The import graph of ``src/mammosearch`` keeps the layers of DESIGN.md: no circle, nothing upward.

Every import counts, also those inside functions and under ``TYPE_CHECKING``: a lazy
import is still a dependency, only a later one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "mammosearch"

# Highest first. Each layer holds one or more containers (a package, or modules that go
# together); a module may import its own container and any lower layer, never a higher
# layer, and never a sibling container of its own layer.
# The order of DESIGN.md ("One package order, bottom first"), highest first here.
BASE = ("mammosearch.files", "mammosearch.words", "mammosearch.settings", "mammosearch.downloads", "mammosearch.runtime", "mammosearch.errors", "mammosearch")
LAYERS: list[tuple[tuple[str, ...], ...]] = [
    (("mammosearch.cli",),),
    (("mammosearch.apply",),),
    (("mammosearch.report",),),
    (("mammosearch.search",),),
    (("mammosearch.trial",),),
    (("mammosearch.store",),),
    (("mammosearch.config",),),
    (("mammosearch.data",), ("mammosearch.models",)),
    (("mammosearch.metrics",),),
    (("mammosearch.spec",),),
    (BASE,),
]
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """Every mammosearch module ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                # `from mammosearch.data import loading` imports the module mammosearch.data.loading
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
    return {name for name in found if name in MODULES}


GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def layer_of(module: str) -> tuple[int, tuple[str, ...]]:
    """(layer index, container) of the longest prefix that is ``module`` or a package above it."""
    best: tuple[int, tuple[str, ...], str] | None = None
    for index, containers in enumerate(LAYERS):
        for container in containers:
            for prefix in container:
                if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[2])):
                    best = (index, container, prefix)
    assert best is not None, f"{module} is in no layer of LAYERS"
    return best[0], best[1]


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_a_higher_layer_or_a_sibling():
    wrong = []
    for module, imported in GRAPH.items():
        level, entry = layer_of(module)
        for target in imported:
            target_level, target_entry = layer_of(target)
            if target_level < level or (target_level == level and target_entry != entry):
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(sorted(wrong))


def test_the_import_graph_has_no_circle():
    # Tarjan's strongly connected components: any component of two or more modules is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in GRAPH[node]:
                circles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    assert not circles, f"import circles: {circles}"


def private_importers() -> list[str]:
    """``module -> target`` for every import of a ``_private`` module from outside its package."""
    wrong = []
    for module, imported in GRAPH.items():
        for target in imported:
            parts = target.split(".")
            private = [i for i, part in enumerate(parts) if part.startswith("_") and not part.startswith("__")]
            if not private:
                continue
            owner = ".".join(parts[: private[0]])
            if not (module == owner or module.startswith(owner + ".")):
                wrong.append(f"{module} -> {target}")
    return wrong


def test_packages_are_used_through_their_face():
    """A ``_private`` module is its package's business: everyone else imports the package's ``__init__``."""
    wrong = private_importers()
    assert not wrong, "imports of another package's private module (import the package instead):\n" + "\n".join(sorted(wrong))


def test_every_face_says_what_it_exports():
    """A package with private modules states its public names (``__all__``), and each of them exists."""
    for module, path in MODULES.items():
        if path.name != "__init__.py" or not any(child.name.startswith("_") and child.name != "__init__.py" for child in path.parent.glob("*.py")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exported = [node for node in tree.body if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "__all__" for target in node.targets)]
        assert exported, f"{module} has private modules but no __all__"
        imported = {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names}
        names = ast.literal_eval(exported[0].value)
        assert set(names) <= imported, f"{module}.__all__ names what it does not import: {sorted(set(names) - imported)}"


def test_the_checker_sees_a_circle_and_an_upward_import(tmp_path):
    """The graph reader itself: a function-level upward import is found."""
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from mammosearch.cli import app\n    from mammosearch.data import loading\n")
    assert imports_of(source) == {"mammosearch.cli.app", "mammosearch.data.loading"}
    assert layer_of("mammosearch.cli.app")[0] < layer_of("mammosearch.data.loading")[0]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_the_line_limit(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by concept (the house limit is {MAX_LINES})"


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def _all_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_models_data_and_metrics_never_import_optuna():
    for module, path in MODULES.items():
        if module.startswith(("mammosearch.models", "mammosearch.data", "mammosearch.metrics")):
            assert "optuna" not in _all_imports(path), module


def test_report_never_reaches_keras():
    """What people read is built without Keras: no backend import, and nothing from models/ or trial/, not even lazily
    (exporting a model and writing its card live in apply/)."""
    for module, path in MODULES.items():
        if module.startswith("mammosearch.report"):
            assert not _all_imports(path) & {"keras", "tensorflow", "keras_tuner", "jax", "torch"}, module
            assert not {m for m in GRAPH[module] if m.startswith(("mammosearch.models", "mammosearch.trial"))}, module


# The modules whose job is Keras itself; everything else imports no backend at module
# level, so the coordinating process (recycling's parent, `report`, `export-best` before it
# loads a model) starts without TensorFlow's seconds of start-up.
BACKEND_MODULES = {
    "mammosearch.models.backbones", "mammosearch.models.cached", "mammosearch.models.cnn", "mammosearch.models.cut",
    "mammosearch.models.freezing", "mammosearch.models.heads", "mammosearch.models.stem",
    "mammosearch.trial.pruning", "mammosearch.trial.tensorboard", "mammosearch.trial.training", "mammosearch.trial.views",
    "mammosearch.trial.budget_stop", "mammosearch.trial.epoch_progress",  # Keras callbacks, as pruning
}


def test_only_the_keras_modules_import_a_backend_at_module_level():
    for module, path in MODULES.items():
        if module not in BACKEND_MODULES:
            assert not _top_level_imports(path) & {"keras", "tensorflow", "keras_tuner", "jax", "torch"}, module


def test_children_and_workers_run_the_trial_loop_never_the_entry_point():
    """As optuna's _optimize: only run.py dispatches; what it dispatches to never calls it again."""
    for module in ("mammosearch.search.recycling", "mammosearch.search.workers", "mammosearch.search.loop", "mammosearch.search.kerastuner"):
        assert "mammosearch.search.run" not in GRAPH[module], module
    assert "mammosearch.search.loop" in GRAPH["mammosearch.search.recycling"]


def test_only_the_record_module_writes_trial_attributes():
    """A trial's stored keys are known in one place: nothing else calls set_user_attr."""
    writers = {module for module, path in MODULES.items() if ".set_user_attr(" in path.read_text(encoding="utf-8")}
    assert writers == {"mammosearch.store.record"}, writers
