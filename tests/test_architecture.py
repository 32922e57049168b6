"""The import graph of ``src/mammosearch`` keeps the layers of DESIGN.md: no circle, nothing upward.

Every import counts, also those inside functions and under ``TYPE_CHECKING``: a lazy
import is still a dependency, only a later one.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
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


def face_table(init: Path) -> dict[str, str]:
    """name -> the module it comes from, for what a package's ``__init__`` re-exports (also under ``if TYPE_CHECKING:``)."""
    package = module_name(init)
    return {
        alias.asname or alias.name: node.module
        for node in ast.walk(ast.parse(init.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith(package + ".")
        for alias in node.names
    }


FACE_TABLES = {name: face_table(path) for name, path in MODULES.items() if path.name == "__init__.py"}
# Faces that load each name on first use (PEP 562): importing them loads only what is asked for.
LAZY_FACES = {name for name, path in MODULES.items() if path.name == "__init__.py" and "lazy_attributes(" in path.read_text(encoding="utf-8")}


def _runs_at_import(tree: ast.Module) -> set[int]:
    """ids of the import statements that run when the module is imported (not in a function, not under TYPE_CHECKING)."""
    found: set[int] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.add(id(node))
        elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
            pending.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend(node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body])
    return found


def imports_of(path: Path) -> set[str]:
    """Every mammosearch module ``path`` imports, anywhere in the file.

    A name taken from a face counts as an import of the module the face takes it from, where
    that is all that loads: a lazy face, or an import that runs later (in a function). An eager
    face imported at module level counts as the face itself, which imports all its modules."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    at_import = _runs_at_import(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            table = FACE_TABLES.get(node.module, {})
            for alias in node.names:
                # `from mammosearch.data import loading` imports the module mammosearch.data.loading
                candidate = f"{node.module}.{alias.name}"
                if candidate in MODULES:
                    found.add(candidate)
                elif alias.name in table and (id(node) not in at_import or node.module in LAZY_FACES):
                    found.add(table[alias.name])
                else:
                    found.add(node.module)
    return {name for name in found if name in MODULES}


def imports_named(path: Path) -> set[str]:
    """Every mammosearch module ``path`` names in an import (a face as the face), anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in MODULES else node.module)
    return {name for name in found if name in MODULES}


GRAPH = {name: imports_of(path) for name, path in MODULES.items()}
NAMED = {name: imports_named(path) for name, path in MODULES.items()}


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
    for module, imported in NAMED.items():
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
    """Every top-level package, and every package with private modules, states its public names (``__all__``), and each of them exists."""
    for module, path in MODULES.items():
        is_top = module.count(".") == 1 and path.name == "__init__.py"
        if path.name != "__init__.py" or not (is_top or any(child.name.startswith("_") and child.name != "__init__.py" for child in path.parent.glob("*.py"))):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exported = [node for node in tree.body if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "__all__" for target in node.targets)]
        assert exported, f"{module} has private modules but no __all__"
        # what it imports, also under `if TYPE_CHECKING:` (a lazy face), and what it defines itself
        imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
        imported |= {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        names = ast.literal_eval(exported[0].value)
        assert set(names) <= imported, f"{module}.__all__ names what it does not import: {sorted(set(names) - imported)}"
        if module in LAZY_FACES:  # the run-time table loads exactly what mypy is shown
            lazy = {name for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "lazy_attributes" for names_ in ast.literal_eval(node.args[1]).values() for name in names_}
            assert lazy == set(FACE_TABLES[module]), f"{module}: the lazy table and the TYPE_CHECKING imports differ: {sorted(lazy ^ set(FACE_TABLES[module]))}"


def is_face(module: str) -> bool:
    """A top-level package, or a package under one that states ``__all__`` (data.decode, models.build, ...)."""
    path = MODULES.get(module)
    if path is None or path.name != "__init__.py" or module.count(".") < 1:
        return False
    return module.count(".") == 1 or any(
        isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets) for node in ast.parse(path.read_text(encoding="utf-8")).body
    )


def top_package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def reaches_inside(file: Path, allowed: Callable[[str], bool]) -> list[str]:
    """``file:line -> target`` for each import of a module inside a package, instead of the package's face, that ``allowed`` does not permit.

    A face's own namespace modules (``mammosearch.models.memory``, listed in its ``__all__``) count as the face."""
    wrong = []
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("mammosearch."):
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.startswith("mammosearch.")]
        else:
            continue
        for target in targets:
            if target not in MODULES or allowed(target) or is_face(target) or target.count(".") == 1:  # mammosearch.errors & co: base modules, no package
                continue
            parent, _, leaf = target.rpartition(".")
            if is_face(parent) and leaf in _all_of(parent):
                continue
            shown = file.relative_to(SRC.parent) if SRC.parent in file.parents else file
            wrong.append(f"{shown}:{node.lineno} -> {target}")
    return wrong


def _all_of(package: str) -> list[str]:
    for node in ast.parse(MODULES[package].read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


def test_packages_import_each_other_through_their_faces():
    """Between top-level packages, only faces: ``from mammosearch.store import load_study``, never ``mammosearch.store.results``.

    Inside a package, modules import each other directly (a face is for others)."""
    wrong = []
    for module, path in MODULES.items():
        wrong += reaches_inside(path, lambda target, module=module: top_package(target) == top_package(module))
    assert not wrong, "imports of a module inside another package (import its face):\n" + "\n".join(sorted(wrong))


TESTS = SRC.parent / "tests"
BENCHMARKS = SRC.parent / "benchmarks"
OLD_CODE = TESTS / "report" / "stored"  # scripts run against an old commit: its module paths


def test_tests_and_benchmarks_use_faces_except_for_the_package_under_test():
    """The rule for tests: a file under tests/P/ may import any module of mammosearch.P, private ones included
    (it tests them); every other package, and everything in tests/*.py and benchmarks/, through faces.
    A benchmark that replaces a function inside a module to time or stub it names that module with
    ``import mammosearch.p.m as m`` (the one exception)."""
    wrong = []
    for path in sorted(TESTS.rglob("*.py")):
        if OLD_CODE in path.parents:
            continue
        parts = path.relative_to(TESTS).parts
        under_test = f"mammosearch.{parts[0]}" if len(parts) > 1 else None
        wrong += reaches_inside(path, lambda target, under_test=under_test: under_test is not None and top_package(target) == under_test)
    for path in sorted(BENCHMARKS.rglob("*.py")):
        instrumented = {a.name for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Import) for a in node.names if a.asname}
        wrong += reaches_inside(path, lambda target, instrumented=instrumented: target in instrumented)
    assert not wrong, "imports of a module inside a package from outside it (import its face):\n" + "\n".join(sorted(wrong))


def test_no_module_imports_its_own_packages_face():
    """A face imports its modules; a module taking a name from its own face would import itself half-made (a circle)."""
    wrong = []
    for module, path in MODULES.items():
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and is_face(node.module) and module.startswith(node.module + "."):
                names = [a.name for a in node.names if f"{node.module}.{a.name}" not in MODULES]
                if names:
                    wrong.append(f"{module} takes {names} from its own face {node.module}")
    assert not wrong, "\n".join(wrong)


def test_the_face_checker_sees_a_reach_inside(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from mammosearch.store.results import load_study\nfrom mammosearch.store import load_study\nfrom mammosearch.models import memory\n")
    assert [line.split(" -> ")[1] for line in reaches_inside(source, lambda target: False)] == ["mammosearch.store.results"]


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


# The packages whose job is Keras itself: building models (models.build) and fitting them
# (trial.fit). Everything else imports no backend at module level, so the coordinating process
# (recycling's parent, `report`, `export-best` before it loads a model) starts without
# TensorFlow's seconds of start-up, and the faces `mammosearch.models` and `mammosearch.trial`
# load none.
BACKEND_PACKAGES = ("mammosearch.models.build", "mammosearch.trial.fit")


def test_only_the_keras_packages_import_a_backend_at_module_level():
    for module, path in MODULES.items():
        if not (module in BACKEND_PACKAGES or module.startswith(tuple(p + "." for p in BACKEND_PACKAGES))):
            assert not _top_level_imports(path) & {"keras", "tensorflow", "keras_tuner", "jax", "torch"}, module


def test_the_faces_outside_the_keras_packages_do_not_load_them():
    """What a module imports when it is imported (an eager face: all of its modules) never reaches models.build or trial.fit,
    except from inside those packages, apply/ and cli/ (which load a model) -- checked on the graph of imports that run at import."""
    at_import: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        runs = _runs_at_import(tree)
        names: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in runs and isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                table = FACE_TABLES.get(node.module, {})
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    names.add(candidate if candidate in MODULES else table[alias.name] if node.module in LAZY_FACES and alias.name in table else node.module)
            elif id(node) in runs and isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        at_import[module] = {n for n in names if n in MODULES}
        if path.name == "__init__.py" and module not in LAZY_FACES:
            at_import[module] |= {m for m in MODULES if m.rpartition(".")[0] == module and m in FACE_TABLES.get(module, {}).values()}
    for start in ("mammosearch.models", "mammosearch.trial", "mammosearch.report", "mammosearch.store", "mammosearch.search", "mammosearch.config", "mammosearch.data"):
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            parent = current.rpartition(".")[0]
            todo.extend(at_import.get(current, set()) | ({parent} if parent.count(".") >= 1 else set()))
        assert not {m for m in seen if m.startswith(tuple(p + "." for p in BACKEND_PACKAGES)) or m in BACKEND_PACKAGES}, start


def test_children_and_workers_run_the_trial_loop_never_the_entry_point():
    """As optuna's _optimize: only run.py dispatches; what it dispatches to never calls it again."""
    for module in ("mammosearch.search._recycling", "mammosearch.search._workers", "mammosearch.search.loop", "mammosearch.search._kerastuner"):
        assert "mammosearch.search.run" not in GRAPH[module], module
    assert "mammosearch.search.loop" in GRAPH["mammosearch.search._recycling"]


def test_only_the_record_module_writes_trial_attributes():
    """A trial's stored keys are known in one place, the record package: nothing outside it calls set_user_attr."""
    writers = {module for module, path in MODULES.items() if ".set_user_attr(" in path.read_text(encoding="utf-8")}
    assert writers, writers
    assert all(w == "mammosearch.store.record" or w.startswith("mammosearch.store.record.") for w in writers), writers
