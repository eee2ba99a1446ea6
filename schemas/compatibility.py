"""The compatibility policy, as code: within a major version, schemas only grow.

Allowed: a new optional field, a new enum value, a new event type, a wider type (``X`` ->
``X or null``), a relaxed bound. Breaking: a removed field or type, a new required field, a
narrower type, a removed enum value, a tighter bound, a changed pattern or format (whether a
new pattern accepts everything the old one did cannot be decided, so any change counts).

``breaking_changes`` compares two JSON Schemas as pydantic generates them (``$defs`` and local
``$ref``s, ``anyOf``/``oneOf`` for unions). Pure functions over dicts: no pydantic involved, so
the check judges what upstream and downstream teams actually see.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

Schema = Mapping[str, Any]

VERSION_KEY: Final = "x-contract-version"
"""Key of the contract version in every generated schema file."""

_LOWER_BOUNDS: Final = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS: Final = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
# Keywords whose change cannot be shown to only widen; any change counts as breaking.
_EXACT_KEYWORDS: Final = ("pattern", "format", "multipleOf", "if", "then", "else", "not")


def major_of(version: str) -> int:
    return int(version.split(".", 1)[0])


def contract_breaks(committed: Mapping[str, Schema], fresh: Mapping[str, Schema]) -> list[str]:
    """Every non-additive change from the committed schemas to the fresh ones, by schema name,
    except where the fresh schema's major version is higher (a deliberate breaking release)."""
    problems: list[str] = []
    for name, old in sorted(committed.items()):
        new = fresh.get(name)
        if new is None:
            problems.append(f"{name}: the schema was removed")
            continue
        if major_of(str(new.get(VERSION_KEY, "0"))) > major_of(str(old.get(VERSION_KEY, "0"))):
            continue
        problems.extend(f"{name}: {problem}" for problem in breaking_changes(old, new))
    return problems


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """The changes from ``old`` to ``new`` that could reject data ``old`` accepted."""
    return list(_Comparison(old, new).compare(old, new, ""))


@dataclass
class _Comparison:
    old_root: Schema
    new_root: Schema

    def __post_init__(self) -> None:
        self._seen: set[tuple[int, int]] = set()

    def compare(self, old: Schema, new: Schema, path: str) -> Iterator[str]:
        old_branches = _branches(old, self.old_root)
        new_branches = _branches(new, self.new_root)
        if len(old_branches) > 1 or len(new_branches) > 1:
            yield from self._compare_unions(old_branches, new_branches, path)
            return
        old = _resolve(old, self.old_root)
        new = _resolve(new, self.new_root)
        pair = (id(old), id(new))
        if pair in self._seen:  # a recursive schema, or a definition reached twice
            return
        self._seen.add(pair)
        yield from _compare_keywords(old, new, path or "<root>")
        yield from self._compare_children(old, new, path)

    def _compare_unions(
        self, old_branches: list[_Branch], new_branches: list[_Branch], path: str
    ) -> Iterator[str]:
        new_by_key = {branch.key: branch for branch in new_branches}
        for branch in old_branches:
            match = new_by_key.get(branch.key)
            if match is not None:
                yield from self.compare(branch.schema, match.schema, path + branch.label)
            elif not any(self._accepts(branch, candidate) for candidate in new_branches):
                yield f"{path or '<root>'}: {branch.key} is no longer accepted"

    def _accepts(self, old_branch: _Branch, new_branch: _Branch) -> bool:
        """Whether ``new_branch`` accepts all ``old_branch`` did (e.g. a renamed definition).

        A separate comparison, so that a failed attempt leaves no pairs marked as seen."""
        attempt = _Comparison(self.old_root, self.new_root)
        return not any(True for _ in attempt.compare(old_branch.schema, new_branch.schema, ""))

    def _compare_children(self, old: Schema, new: Schema, path: str) -> Iterator[str]:
        old_properties: Mapping[str, Schema] = old.get("properties", {})
        new_properties: Mapping[str, Schema] = new.get("properties", {})
        for name, old_property in old_properties.items():
            child = f"{path}.{name}" if path else name
            if name not in new_properties:
                yield f"{child}: the field was removed"
            else:
                yield from self.compare(old_property, new_properties[name], child)
        for name in sorted(set(new.get("required", ())) - set(old.get("required", ()))):
            child = f"{path}.{name}" if path else name
            yield f"{child}: the field became required"
        old_dependencies = old.get("dependentRequired", {})
        for name, needed in new.get("dependentRequired", {}).items():
            added = set(needed) - set(old_dependencies.get(name, ()))
            if added:
                yield f"{path or '<root>'}: {name} now requires {', '.join(sorted(added))}"

        if "items" in old and "items" in new:
            yield from self.compare(old["items"], new["items"], f"{path}[]")
        for keyword in ("additionalProperties", "propertyNames"):
            old_child, new_child = old.get(keyword, True), new.get(keyword, True)
            if new_child is False and old_child is not False:
                yield f"{path or '<root>'}: {keyword} became false"
            elif isinstance(old_child, Mapping) and isinstance(new_child, Mapping):
                yield from self.compare(old_child, new_child, f"{path}{{{keyword}}}")
            elif old_child is True and isinstance(new_child, Mapping):
                yield f"{path or '<root>'}: {keyword} became constrained"


@dataclass(frozen=True)
class _Branch:
    key: str
    """What identifies a branch across versions: the definition it refers to, its constant
    value, or its JSON type."""
    schema: Schema

    @property
    def label(self) -> str:
        """How the branch appears in a path: ``upstream<Purchase>.order_id``."""
        prefix = "definition "
        return f"<{self.key.removeprefix(prefix)}>" if self.key.startswith(prefix) else ""


def _branches(schema: Schema, root: Schema) -> list[_Branch]:
    """The alternatives a schema accepts, nested ``anyOf``/``oneOf`` flattened; keys are taken
    before references are resolved, so a branch is known by its definition's name."""
    target = _resolve(schema, root)
    alternatives = target.get("anyOf") or target.get("oneOf")
    if not alternatives:
        return [_Branch(_branch_key(schema), schema)]
    return [branch for alternative in alternatives for branch in _branches(alternative, root)]


def _branch_key(schema: Schema) -> str:
    if "$ref" in schema:
        return f"definition {schema['$ref'].rsplit('/', 1)[-1]}"
    if "const" in schema:
        return f"constant {schema['const']!r}"
    return f"type {_types(schema)}"


def _resolve(schema: Schema, root: Schema) -> Schema:
    seen = 0
    while "$ref" in schema:
        reference: str = schema["$ref"]
        if not reference.startswith("#/"):
            raise ValueError(f"only local references are supported, not {reference!r}")
        target: Any = root
        for part in reference[2:].split("/"):
            target = target[part]
        schema = target
        seen += 1
        if seen > 50:
            raise ValueError(f"reference cycle at {reference!r}")
    return schema


def _types(schema: Schema) -> tuple[str, ...]:
    declared = schema.get("type")
    if declared is None:
        return ("any",)
    return tuple(sorted([declared] if isinstance(declared, str) else declared))


def _compare_keywords(old: Schema, new: Schema, path: str) -> Iterator[str]:
    old_types, new_types = set(_types(old)), set(_types(new))
    if "any" not in new_types and not old_types <= _widened(new_types):
        yield f"{path}: type changed from {sorted(old_types)} to {sorted(new_types)}"
    if "const" in new and ("const" not in old or old["const"] != new["const"]):
        yield f"{path}: now only accepts {new['const']!r}"
    if "enum" in new:
        removed = [value for value in old.get("enum", ()) if value not in new["enum"]]
        if "enum" not in old:
            yield f"{path}: now restricted to {new['enum']}"
        elif removed:
            yield f"{path}: enum values removed: {removed}"
    for keyword in _LOWER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
            yield f"{path}: {keyword} tightened to {new[keyword]} (was {old.get(keyword)})"
    for keyword in _UPPER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            yield f"{path}: {keyword} tightened to {new[keyword]} (was {old.get(keyword)})"
    for keyword in _EXACT_KEYWORDS:
        if keyword in new and new[keyword] != old.get(keyword):
            yield f"{path}: {keyword} changed to {new[keyword]!r} (was {old.get(keyword)!r})"


def _widened(types: set[str]) -> set[str]:
    # Every integer is a number: integer -> number widens.
    return types | {"integer"} if "number" in types else types
