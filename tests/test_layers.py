"""Imports go one way (style.md section 2): interfaces depend on the domain, never on
one another, and the domain never on an interface."""

from __future__ import annotations

import ast

from open311.config import PACKAGE_DIR

INTERFACES = {"georeport", "staff", "feeds", "web", "console", "cli", "backup_drill"}
# The edge's shared plumbing and the app factory may be imported by (or import) interfaces.
NOT_DOMAIN = INTERFACES | {"edge", "__init__"}


def _imports() -> dict[str, set[str]]:
    """Each module of open311 (dotted) → the open311 modules and packages it imports."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        found[module] = {name for name in names if name.startswith("open311.")}
    return found


def _part(module: str) -> str:
    """open311.georeport.views → georeport; open311.cli → cli; open311 → __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_interfaces_never_import_one_another():
    crossing = [
        (module, name)
        for module, names in _imports().items()
        for name in names
        if _part(module) in INTERFACES
        and _part(name) in INTERFACES
        and _part(name) != _part(module)
    ]
    assert crossing == []


def test_the_domain_never_imports_an_interface_or_the_app_factory():
    upward = [
        (module, name)
        for module, names in _imports().items()
        for name in names
        if _part(module) not in NOT_DOMAIN
        and (_part(name) in INTERFACES or name == "open311.create_app")
    ]
    assert upward == []


def test_no_module_imports_itself_through_others():
    """No cycle between modules, however long."""
    imports = _imports()
    modules = set(imports)

    def cycle_from(start: str) -> list[str] | None:
        path, seen = [start], {start}
        stack = [iter(sorted(_modules(imports[start], modules)))]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                stack.pop()
                path.pop()
            elif following == start:
                return [*path, start]
            elif following not in seen:
                seen.add(following)
                path.append(following)
                stack.append(iter(sorted(_modules(imports[following], modules))))
        return None

    assert [cycle for module in sorted(modules) if (cycle := cycle_from(module))] == []


def _modules(names: set[str], modules: set[str]) -> set[str]:
    """`from open311.x import y` imports module open311.x.y when there is one, else open311.x."""
    return {name if name in modules else name.rpartition(".")[0] for name in names} & modules


def test_notifications_know_only_the_workflows_vocabulary():
    """workflow.actions writes through notifications.outbox; the outbox reads only the
    transitions table back (a leaf module), never the workflow's queries or actions."""
    used = {
        name.rpartition(".")[0] if name.count(".") > 2 else name
        for module, names in _imports().items()
        if _part(module) == "notifications"
        for name in names
        if _part(name) == "workflow"
    }
    assert used == {"open311.workflow.transitions"}
    leaf = _imports()["open311.workflow.transitions"]
    assert {_part(name) for name in leaf} <= {"models"}


def test_the_layer_rules_see_real_imports():
    """The checks above would pass on an empty graph: make sure they read the code."""
    imports = _imports()
    assert "open311.service_requests.filters.request_filter" in imports["open311.feeds.views"]
    assert "open311.workflow.transitions.public_summary" in imports["open311.notifications.outbox"]
