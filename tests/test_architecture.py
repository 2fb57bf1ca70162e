"""The shape of the code (docs/architecture.md): dependencies point one way, from the commands
through the pipeline to the stages and the vocabulary; stages never import each other sideways
except where named below; no module imports in a cycle. A new import that breaks a rule fails
here, naming it."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sitegen"

VOCABULARY = {"model", "config", "errors", "urls", "text"}  # anything may use these
STAGES = {  # module -> the modules (beyond the vocabulary) it may import
    "formats.common": set(),
    "formats.cards": {"formats.common"},
    "formats.seed": {"formats.common"},
    "formats.markdown": {"formats.common", "formats.cards"},
    "formats.linked": {"formats.common", "formats.cards", "formats.markdown"},
    "formats.api": {"formats.common"},
    "formats": {"formats.api", "formats.linked", "formats.markdown", "formats.seed"},
    "listing": {"formats", "formats.common", "formats.seed", "jsonio"},  # an entry's digest (`record_bytes`)
    "sources": {"listing", "output"},
    "dedupe": set(),
    "related": set(),
    "periods": set(),
    "views": set(),
    "site": {"periods", "related", "views"},
    "render": {"views", "site"},  # a paper page's view is made as the page is rendered (`site.paper_view`)
    "feeds": {"views", "jsonio"},
    "mail": {"views", "render"},  # the template lookup (`render.loader`) is the theme's, shared
    "search_terms": set(),  # Lunr's analysis of text: the lunr package only
    "search": {"views", "cache", "search_terms", "jsonio", "output"},  # a published file as recorded (`output.as_recorded`)
    "jsonio": set(),  # compact JSON (orjson) for the large files
    "theme": set(),
    "cache": {"output", "jsonio"},  # atomic writes (`output.replacing`); the build record as compact JSON
    "output": set(),
    "workers": {"output"},
    "jobs": {"workers", "cache", "mail", "output", "related", "render", "search", "site"},
    "rendering": {"cache", "feeds", "jobs", "mail", "output", "render", "search", "theme", "views", "workers"},
    "build": {"cache", "dedupe", "jobs", "listing", "output", "rendering", "site", "sources", "theme", "views",
              "workers"},
    # commands
    "add": {"listing", "sources"},
    "fetch": {"listing", "sources"},
    "new": set(),
    "serve": {"output", "sources"},  # it watches what a build reads: listing files (`sources.LISTING_SUFFIXES`)
    "cli": {"add", "build", "fetch", "listing", "mail", "new", "output", "render", "serve", "sources", "theme"},
    "__main__": {"cli"},
}


def _is_module(name: str) -> bool:
    where = PACKAGE / name.replace(".", "/")
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def imports() -> dict[str, set[str]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        package = parts[:-1]
        if parts[-1] == "__init__":
            parts, package = parts[:-1], parts[:-1]
        name = ".".join(parts) or "__init__"
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - node.level + 1]
                names = [node.module] if node.module else [a.name for a in node.names]
                deps |= {".".join(base + n.split(".")) for n in names}
        found[name] = {d for d in deps if d != name and _is_module(d)}  # not `from . import __version__`
    return found


def test_every_module_imports_only_what_its_layer_allows():
    graph = imports()
    unknown = sorted(set(graph) - set(STAGES) - VOCABULARY - {"__init__"})
    assert not unknown, f"modules with no rule in this test (add them): {unknown}"
    broken = []
    for module, deps in graph.items():
        allowed = STAGES.get(module, set()) | VOCABULARY
        if module in VOCABULARY:
            allowed = {"model"} if module == "errors" else {"model", "errors"} if module == "config" else set()
        for dep in sorted(deps - allowed):
            broken.append(f"{module} imports {dep}")
    assert not broken, "imports against docs/architecture.md: " + "; ".join(broken)


def test_no_import_cycles():
    graph = imports()
    seen, stack = set(), []

    def visit(module):
        if module in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(module):] + [module]))
        if module in seen:
            return
        stack.append(module)
        for dep in graph.get(module, ()):
            visit(dep)
        stack.pop()
        seen.add(module)

    for module in graph:
        visit(module)
