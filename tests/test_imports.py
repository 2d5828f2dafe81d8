"""Imports run one way: no cycle among the project's modules, counting the
imports inside functions too (an import moved into a function to dodge a
cycle is still a cycle)."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Folder -> the package it installs as (setup.py).
PACKAGES = {
    "keras_shufflenet": "keras_shufflenet",
    "pipelines": "keras_shufflenet.pipelines",
    "tflite": "keras_shufflenet.tflite",
}


def project_modules():
    """`{module name: path}` for every `.py` file of the installed packages."""
    modules = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([package, *parts])] = path
    return modules


def _lazy_exports(path):
    """A package `__init__`'s `_EXPORTS = {name: module}` table (names imported on use)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return {}


def imports_of(name, path, modules):
    """The project modules `name` imports anywhere in its file (functions included)."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    found = set()

    def add(module, imported_names=()):
        if module in modules:
            found.add(module)
        for imported in imported_names:
            submodule = f"{module}.{imported}"
            if submodule in modules:
                found.add(submodule)
            elif module in modules:
                target = _lazy_exports(modules[module]).get(imported)
                if target in modules:
                    found.add(target)

    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                for i in range(1, len(parts) + 1):  # `import a.b.c` imports a, a.b, a.b.c
                    add(".".join(parts[:i]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            parts = module.split(".")
            for i in range(1, len(parts)):
                add(".".join(parts[:i]))
            add(module, [alias.name for alias in node.names])
    found.discard(name)
    return found


def find_cycle(graph):
    """One import cycle as a list of modules `[a, b, ..., a]`, or None."""
    state = {}  # module -> "open" while on the path, "done" after
    stack = []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def import_graph():
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_no_import_cycle_among_the_project_modules():
    graph = import_graph()
    assert len(graph) > 30  # every module of the three packages was read
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_inside_functions_and_relative_imports_are_read():
    graph = import_graph()
    # `_builder` imports `pretrained` at the top; `pipelines.evaluate` imports
    # the LiteRT runtime inside a function; `tflite.device.benchmark` imports
    # `runtime` relatively.
    assert "keras_shufflenet.pretrained" in graph["keras_shufflenet._builder"]
    assert any(m.endswith(".runtime") for m in graph["keras_shufflenet.pipelines.evaluate"])
    assert "keras_shufflenet.tflite.device.runtime" in graph["keras_shufflenet.tflite.device.benchmark"]
    # `from keras_shufflenet import ShuffleNetV1` goes through the package's lazy table.
    assert "keras_shufflenet.shufflenet_v1" in graph["keras_shufflenet.flops"]


def test_weight_loading_and_stage_tables_import_no_architecture():
    graph = import_graph()
    architectures = {"keras_shufflenet.shufflenet_v1", "keras_shufflenet.shufflenet_v2"}
    for module in (
        "keras_shufflenet.pretrained",
        "keras_shufflenet.torchvision_weights",
        "keras_shufflenet.mmpretrain_weights",
    ):
        assert not graph[module] & architectures, module
    assert graph["keras_shufflenet.stages"] == set()
    assert graph["keras_shufflenet.catalogue"] == set()


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    # An import inside a function counts.
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from keras_shufflenet import pretrained\n")
    modules = {"keras_shufflenet.m": module, "keras_shufflenet.pretrained": module}
    assert imports_of("keras_shufflenet.m", module, modules) == {"keras_shufflenet.pretrained"}
