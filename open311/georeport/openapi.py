"""Build the served OpenAPI document from the files in `schemas/`.

The JSON Schemas in `schemas/georeport-v2/` are the single source of truth for
the wire format; `schemas/openapi.json` points at them with relative `$ref`s so
the two can never drift apart. Clients and validators want one self-contained
document, so this module inlines those files when the document is loaded.

Inlined files lose `$schema` and `$id` (an embedded `$id` would change how the
refs below it resolve). Their `$defs` move to `components/schemas` under a
name derived from the file's path, because a `#/$defs/...` ref inside an
inlined file would otherwise point at the OpenAPI document's own root.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_DROPPED_KEYS = frozenset({"$schema", "$id"})
_LOCAL_DEFS = "#/$defs/"
_COMPONENTS = "#/components/schemas/"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def load_openapi(schemas_dir: Path) -> dict[str, Any]:
    """Return `schemas_dir/openapi.json` with every file `$ref` inlined.

    Refs that start with `#` in openapi.json itself are left alone. Raises
    ValueError for refs this loader cannot make self-contained (remote URLs,
    cycles between files, local refs other than `#/$defs/...` in a file).
    """
    inliner = _Inliner(schemas_dir.resolve())
    source = _read_json(schemas_dir / "openapi.json")
    document = inliner.walk(source, _Scope.root(schemas_dir))
    if not isinstance(document, dict):
        raise ValueError("openapi.json must hold a JSON object")
    if inliner.hoisted:
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        _merge_components(schemas, inliner.hoisted)
    return document


def for_sandbox(document: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The partner sandbox's document: GeoReport's paths under `prefix`, and none of the
    paths it does not serve (the staff API, the feeds)."""
    paths = {
        prefix + path.removeprefix(_PRODUCTION): operations
        for path, operations in document["paths"].items()
        if not path.startswith(_NOT_IN_SANDBOX)
    }
    info = {
        **document["info"],
        "title": f"{document['info']['title']} (partner sandbox)",
        "description": f"{_SANDBOX_NOTE} {document['info']['description']}",
    }
    return {**document, "info": info, "paths": paths}


_PRODUCTION = "/open311"
_NOT_IN_SANDBOX = ("/open311/staff", "/open311/feeds")
_SANDBOX_NOTE = (
    "The partner sandbox: the same API for developing against, with sandbox keys "
    "(they start with 'sandbox-') and a store of its own, emptied on a schedule; "
    "nothing filed here reaches a department."
)


@dataclass(frozen=True)
class _Scope:
    """Where a node sits: the directory its relative refs resolve against,
    the component-name prefix for its `$defs` (None for openapi.json itself)
    and the files being inlined around it, to catch cycles."""

    base_dir: Path
    prefix: str | None
    files: tuple[Path, ...] = ()

    @classmethod
    def root(cls, schemas_dir: Path) -> _Scope:
        return cls(base_dir=schemas_dir.resolve(), prefix=None)


@dataclass
class _Inliner:
    """Walks JSON values, inlining file refs and collecting hoisted `$defs`."""

    schemas_dir: Path
    hoisted: dict[str, Any] = field(default_factory=dict)

    def walk(self, node: Any, scope: _Scope) -> Any:
        """Return a copy of `node` with file refs inlined and local refs fixed."""
        if isinstance(node, list):
            return [self.walk(item, scope) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return self._inline_ref(ref, node, scope)
        return self._walk_object(node, scope)

    def _walk_object(self, node: dict[str, Any], scope: _Scope) -> dict[str, Any]:
        """Copy an object, rewriting local refs and hoisting `$defs` in files."""
        result: dict[str, Any] = {}
        for key, value in node.items():
            if scope.prefix is not None and key in _DROPPED_KEYS:
                continue
            if scope.prefix is not None and key == "$defs":
                self._hoist(value, scope)
            elif key == "$ref" and isinstance(value, str):
                result[key] = _local_ref(value, scope.prefix)
            else:
                result[key] = self.walk(value, scope)
        return result

    def _inline_ref(self, ref: str, node: dict[str, Any], scope: _Scope) -> Any:
        """Replace a `{"$ref": "file#pointer", ...}` object by the file's content.

        Keys next to `$ref` (a description, say) win over the file's own keys,
        as a local override.
        """
        path, pointer = _split_ref(ref, scope.base_dir)
        if path in scope.files:
            raise ValueError(f"$ref cycle through {path}")
        inner = _Scope(path.parent, self._prefix_for(path), (*scope.files, path))
        walked = self.walk(_read_json(path), inner)
        content = _follow_pointer(walked, pointer, inner.prefix)
        siblings = {k: self.walk(v, scope) for k, v in node.items() if k != "$ref"}
        if not siblings:
            return content
        if not isinstance(content, dict):
            raise ValueError(f"cannot add keys next to $ref {ref!r}: not an object")
        return {**content, **siblings}

    def _hoist(self, defs: Any, scope: _Scope) -> None:
        """Move a file's `$defs` into the components collected so far."""
        if not isinstance(defs, dict):
            raise ValueError(f"$defs must be an object in {scope.files[-1]}")
        named = {f"{scope.prefix}.{key}": value for key, value in defs.items()}
        _merge_components(self.hoisted, self.walk(named, scope))

    def _prefix_for(self, path: Path) -> str:
        """Component-name prefix for a file: `georeport-v2/requests.schema.json`
        becomes `georeport-v2.requests`, unique and valid as a component name."""
        relative = path.relative_to(self.schemas_dir).as_posix()
        for suffix in (".schema.json", ".json"):
            relative = relative.removesuffix(suffix)
        return relative.replace("/", ".")


def _read_json(path: Path) -> Any:
    """Parse one UTF-8 JSON file."""
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _split_ref(ref: str, base_dir: Path) -> tuple[Path, str]:
    """Split `file#pointer` into a resolved path and a JSON pointer."""
    if _SCHEME.match(ref):
        raise ValueError(f"only relative file refs can be inlined, not {ref!r}")
    file_part, _, pointer = ref.partition("#")
    return (base_dir / file_part).resolve(), pointer


def _local_ref(ref: str, prefix: str | None) -> str:
    """Point a ref from inside an inlined file at its hoisted component."""
    if prefix is None or not ref.startswith("#"):
        return ref
    if ref.startswith(_LOCAL_DEFS):
        return f"{_COMPONENTS}{prefix}.{ref.removeprefix(_LOCAL_DEFS)}"
    raise ValueError(f"unsupported local $ref {ref!r} in an inlined file")


def _follow_pointer(document: Any, pointer: str, prefix: str | None) -> Any:
    """Resolve a JSON pointer in an already-walked file.

    `$defs` are gone from the walked file, so a pointer into them becomes a ref
    to the hoisted component instead.
    """
    if not pointer:
        return document
    if f"#{pointer}".startswith(_LOCAL_DEFS):
        return {"$ref": _local_ref(f"#{pointer}", prefix)}
    node = document
    for token in pointer.lstrip("/").split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _merge_components(target: dict[str, Any], new: dict[str, Any]) -> None:
    """Add components, refusing two different schemas under one name."""
    for name, schema in new.items():
        if name in target and target[name] != schema:
            raise ValueError(f"conflicting definitions for component {name!r}")
        target[name] = schema
