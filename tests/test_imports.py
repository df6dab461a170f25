"""The package's import graph: no cycle inside nnfast, and an oracle that never reaches the
extension.

Every module of the package is found on disk (so modules that move or appear are covered
without a list here) and parsed with ``ast``. An edge A -> B is any import of B in A, at module
level or inside a function: ``import nnfast.B``, ``from nnfast import B``, ``from . import B``
(an import of the submodule B when one exists, else of the package), ``from .B import x``,
``importlib.import_module("...")`` with a constant name, and the targets of a package's ``_LAZY``
table (resolved by its ``__getattr__`` through ``import_module``). Imports under
``if TYPE_CHECKING:`` are not edges: only a type checker runs them.
"""
from __future__ import annotations

import ast
import importlib.machinery
import pathlib

import pytest

import nnfast

PACKAGE = "nnfast"


def _module_files(roots, package):
    """{module name: source path or None} of every module under the package's directories
    (``.py`` sources; ``.pyi`` stubs and compiled extensions are modules without source)."""
    suffixes = sorted(importlib.machinery.EXTENSION_SUFFIXES, key=len, reverse=True)
    found = {}
    for root in map(pathlib.Path, roots):
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if "__pycache__" in rel.parts or not path.is_file():
                continue
            name = path.name
            if name.endswith(".py"):
                stem = name[:-3]
            elif name.endswith(".pyi"):
                stem = name[:-4]
            else:
                stem = next((name[:-len(s)] for s in suffixes if name.endswith(s)), None)
                if stem is None:
                    continue
            parts = [package, *rel.parts[:-1]] + ([] if stem == "__init__" else [stem])
            module = ".".join(parts)
            if name.endswith(".py") or module not in found:
                found[module] = path if name.endswith(".py") else found.get(module)
    return found


def _is_package(module, files):
    path = files.get(module)
    return module == PACKAGE or (path is not None and path.name == "__init__.py")


def _resolve(name, modules):
    """The module an import of dotted `name` lands in: the longest known prefix."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in modules:
            return candidate
    return None


def _relative_base(module, level, files):
    package = module if _is_package(module, files) else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return package


def _type_only(tree):
    """The ids of the nodes under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    return {id(n) for node in ast.walk(tree)
            if isinstance(node, ast.If)
            and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING"
            for stmt in node.body for n in ast.walk(stmt)}


def _imports_of(module, tree, files):
    """Every absolute module name `module`'s source imports (see the module docstring)."""
    names = []
    type_only = _type_only(tree)
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = _relative_base(module, node.level, files) + (f".{base}" if base else "")
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                names.append(sub if sub in files else base)
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"):
            target = node.args[0].value
            if target.startswith("."):
                # relative to the `package` argument: a constant, or this module's package
                # (``__name__`` / ``__package__``)
                anchor = node.args[1] if len(node.args) > 1 else None
                anchor = (anchor.value + ".__init__" if isinstance(anchor, ast.Constant)
                          else module + (".__init__" if _is_package(module, files) else ""))
                level = len(target) - len(target.lstrip("."))
                base = anchor
                for _ in range(level):
                    base = base.rpartition(".")[0]
                target = f"{base}.{target.lstrip('.')}"
            names.append(target)
        elif (isinstance(node, ast.Assign) and _is_package(module, files)
              and any(isinstance(t, ast.Name) and t.id == "_LAZY" for t in node.targets)
              and isinstance(node.value, ast.Dict)):
            names += [f"{module}.{v.value.lstrip('.')}" for v in node.value.values
                      if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    return names


def import_graph(roots, package=PACKAGE):
    """({module: sorted internal imports}, {module: all imported names}) of the package."""
    files = _module_files(roots, package)
    graph, raw = {}, {}
    for module, path in files.items():
        if path is None:
            graph[module], raw[module] = [], []
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        raw[module] = _imports_of(module, tree, files)
        internal = {_resolve(n, files) for n in raw[module]
                    if n == package or n.startswith(package + ".")}
        graph[module] = sorted(m for m in internal if m is not None and m != module)
    return graph, raw


def cycles(graph):
    """One cycle (a list of modules, first repeated last) per strongly connected component
    of more than one module, in the order of :func:`strongly_connected`."""
    return [_cycle_in(graph, set(c)) for c in strongly_connected(graph)]


def strongly_connected(graph):
    """The strongly connected components of more than one module, each sorted (Tarjan's
    algorithm, iteratively)."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(graph.get(child, ()))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(components)


def _cycle_in(graph, component):
    """A closed path through a strongly connected `component` (breadth-first back to start)."""
    start = min(component)
    parent, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in graph[node]:
                if child == start:
                    path = [node]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if child in component and child not in parent:
                    parent[child] = node
                    nxt.append(child)
        frontier = nxt
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def _closure(graph, module):
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += graph.get(m, [])
    return seen


@pytest.fixture(scope="module")
def graph_and_raw():
    return import_graph(nnfast.__path__)


def test_every_module_is_found(graph_and_raw):
    graph, _ = graph_and_raw
    assert {"nnfast", "nnfast.reference", "nnfast._checks", "nnfast._core"} <= set(graph)
    assert len(graph) >= 10, sorted(graph)


def test_no_import_cycle_inside_the_package(graph_and_raw):
    graph, _ = graph_and_raw
    found = cycles(graph)
    groups = strongly_connected(graph)
    assert not found, "import cycles inside nnfast (one per group of modules that reach each " \
        "other):\n" + "\n".join(f"{' -> '.join(c)}   (group: {', '.join(g)})"
                                  for c, g in zip(found, groups))


def test_reference_imports_only_numpy_and_checks(graph_and_raw):
    graph, raw = graph_and_raw
    allowed = {"__future__", "typing", "numpy", "nnfast._checks"}
    extra = sorted({n for n in raw["nnfast.reference"]
                    if n not in allowed and not n.startswith("numpy.")})
    assert not extra, f"the oracle nnfast.reference imports {extra}"
    reached = _closure(graph, "nnfast.reference")
    assert "nnfast._core" not in reached, sorted(reached)


def test_checks_do_not_import_the_extension(graph_and_raw):
    graph, _ = graph_and_raw
    reached = _closure(graph, "nnfast._checks")
    assert "nnfast._core" not in reached, (
        f"nnfast._checks reaches the extension through {sorted(reached - {'nnfast._checks'})}")


def test_model_io_depends_on_the_state_only(graph_and_raw):
    """Model files and scikit-learn interop use nnfast.state, never each other nor the
    estimators; the state module reaches neither."""
    graph, _ = graph_and_raw
    io_modules = sorted(m for m in graph if m.startswith("nnfast.io."))
    assert {"nnfast.io.persistence", "nnfast.io.interop"} <= set(io_modules)
    for module in io_modules:
        reached = _closure(graph, module) - {module}
        assert not {m for m in reached if m.startswith("nnfast.io")}, (module, sorted(reached))
        assert "nnfast.mlp" not in reached and "nnfast" not in reached, (module, sorted(reached))
        assert "nnfast.state" in graph[module], module
    reached = _closure(graph, "nnfast.state")
    assert not {m for m in reached if m == "nnfast.mlp" or m.startswith("nnfast.io")}, reached


# ---------------------------------------------------------------------------
# the analysis itself, on a package made for it
# ---------------------------------------------------------------------------

def test_the_graph_sees_every_kind_of_import(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": '_LAZY = {"Thing": "lazy", "Other": "sub.deep"}\n',
        "lazy.py": "def f():\n    from .sub import deep\n",
        "sub/__init__.py": "",
        "sub/deep.py": "from .. import helper\n",
        "helper.py": "import importlib\n\ndef g():\n"
                     "    return importlib.import_module('.absolute', 'pkg')\n",
        "absolute.py": "def h():\n    import pkg.plain\n    from pkg import attr_only\n",
        "plain.py": "import numpy\n",
        "stub.pyi": "",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    graph, raw = import_graph([pkg], package="pkg")
    assert graph == {
        "pkg": ["pkg.lazy", "pkg.sub.deep"], "pkg.lazy": ["pkg.sub.deep"], "pkg.sub": [],
        "pkg.sub.deep": ["pkg.helper"], "pkg.helper": ["pkg.absolute"],
        "pkg.absolute": ["pkg", "pkg.plain"], "pkg.plain": [], "pkg.stub": [],
    }
    assert raw["pkg.plain"] == ["numpy"]
    # the shortest way round: the lazy table's second target skips pkg.lazy
    assert cycles(graph) == [["pkg", "pkg.sub.deep", "pkg.helper", "pkg.absolute", "pkg"]]
    assert cycles({"a": ["b"], "b": ["c"], "c": []}) == []
