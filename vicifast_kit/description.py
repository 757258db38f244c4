"""ARI's own description of itself (the live server's /ari/api-docs) turned into Python operations.

Nothing of Asterisk's text is stored in the kit: the operations, their parameters and their
one-line descriptions are read from the server at connect time.
"""

from __future__ import annotations

import functools
import inspect
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from .handles import HANDLE_PARAMS      # parameters that accept a handle as well as an id (from KINDS)

_TYPES = {"string": str, "int": int, "long": int, "double": float, "boolean": bool,
          "containers": dict, "object": dict, "binary": bytes}


def snake(name: str) -> str:
    """snake_case of an ARI name: getStoredFile -> get_stored_file, absorbDTMF -> absorb_dtmf."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return name.lower()


def py_name(name: str) -> str:
    """The Python keyword-argument name of an ARI parameter (snake_case, `from` -> `from_`)."""
    name = snake(name)
    return name + "_" if keyword.iskeyword(name) else name


@dataclass
class Param:
    """One parameter of an operation, as the server describes it."""

    name: str               # ARI's name (camelCase or snake_case)
    py: str                 # the Python keyword
    where: str              # path, query or body
    data_type: str
    required: bool
    multiple: bool
    description: str = ""
    allowed: list | None = None
    default: Any = None

    @property
    def annotation(self) -> Any:
        """The Python type of the parameter, for signatures."""
        base = _TYPES.get(self.data_type, Any)
        if self.multiple:
            return f"{base.__name__} | list[{base.__name__}]" if base is not Any else "list"
        if self.data_type in ("string",) and self.where != "body":
            return "str" if self.py not in HANDLE_PARAMS else "str | Handle"
        return base.__name__ if isinstance(base, type) else base




@dataclass
class Operation:
    """One ARI operation: an HTTP method on a path, with its parameters and result type."""

    resource: str           # the resource group's Python name (channels, device_states, ...)
    nickname: str           # ARI's nickname (getStoredFile)
    name: str               # snake_case nickname (get_stored_file)
    method: str
    path: str               # /channels/{channelId}/play
    summary: str
    notes: str
    response: str
    params: list[Param] = field(default_factory=list)

    @property
    def path_params(self) -> list[Param]:
        """The parameters that go in the path (the ids), in order."""
        return [p for p in self.params if p.where == "path"]

    @functools.cached_property
    def lookup(self) -> dict[str, Param]:
        """Every accepted keyword (snake_case, ARI's own spelling, without trailing _) to its Param (computed once)."""
        names = {}
        for p in self.params:
            for alias in (p.py, p.name, p.py.rstrip("_"), snake(p.name)):
                names.setdefault(alias, p)
        return names

    def signature(self, bound: tuple[str, ...] = (), self_param: bool = False) -> inspect.Signature:
        """The Python signature: unbound path parameters first (positional), then keyword-only ones."""
        params = []
        if self_param:
            params.append(inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY))
        for p in self.path_params:
            if p.name not in bound:
                params.append(inspect.Parameter(p.py, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                annotation=p.annotation))
        others = [p for p in self.params if p.where != "path"]
        for p in sorted(others, key=lambda p: not p.required):
            params.append(inspect.Parameter(
                p.py, inspect.Parameter.KEYWORD_ONLY, annotation=p.annotation,
                default=inspect.Parameter.empty if p.required else None))
        return inspect.Signature(params, return_annotation=result_annotation(self.response))

    def doc(self, bound: tuple[str, ...] = ()) -> str:
        """A docstring: the server's one-line summary, then the parameters and the HTTP call."""
        lines = [self.summary.strip() or f"{self.method} {self.path}", ""]
        shown = [p for p in self.params if p.name not in bound]
        if shown:
            lines.append("Parameters:")
            for p in shown:
                extra = []
                if p.required:
                    extra.append("required")
                if p.multiple:
                    extra.append("one or a list")
                if p.allowed:
                    extra.append("one of " + ", ".join(map(str, p.allowed)))
                if p.default not in (None, ""):
                    extra.append(f"server default {p.default}")
                note = f" ({'; '.join(extra)})" if extra else ""
                lines.append(f"    {p.py}: {p.description.strip()}{note}")
            lines.append("")
        lines.append(f"Returns {result_annotation(self.response)}. ARI: {self.method} {self.path}")
        if self.notes.strip():
            lines += ["", self.notes.strip()]
        return "\n".join(lines)


def result_annotation(response: str) -> str:
    """The Python type a response class comes back as."""
    if response in ("void", "", None):
        return "None"
    if response == "binary":
        return "bytes"
    m = re.fullmatch(r"List\[(\w+)\]", response)
    if m:
        return f"list[{m.group(1)}]"
    return response


@dataclass
class APIDescription:
    """Everything the server describes: operations by resource, and models (including events)."""

    operations: dict[str, dict[str, Operation]]
    models: dict[str, dict]
    event_types: set[str]

    def all_operations(self) -> list[Operation]:
        """Every operation of every resource."""
        return [op for ops in self.operations.values() for op in ops.values()]


def parse(resource_docs: dict[str, dict]) -> APIDescription:
    """Build the description from the JSON of each resource file (keyed by file stem)."""
    operations: dict[str, dict[str, Operation]] = {}
    models: dict[str, dict] = {}
    event_types: set[str] = set()
    for stem, doc in resource_docs.items():
        group = snake(stem)
        ops = operations.setdefault(group, {})
        for api in doc.get("apis", []):
            for o in api.get("operations", []):
                params = []
                for p in o.get("parameters", []):
                    allowed = (p.get("allowableValues") or {}).get("values")
                    params.append(Param(
                        name=p["name"], py=py_name(p["name"]), where=p.get("paramType", "query"),
                        data_type=p.get("dataType", "string"),
                        required=bool(p.get("required")) or p.get("paramType") == "path",
                        multiple=bool(p.get("allowMultiple")), description=p.get("description", ""),
                        allowed=allowed, default=p.get("defaultValue")))
                name = snake(o["nickname"])
                ops[name] = Operation(group, o["nickname"], name, o["httpMethod"].upper(), api["path"],
                                      o.get("summary", ""), o.get("notes", ""),
                                      o.get("responseClass", "void"), params)
        models.update(doc.get("models") or {})
    # Event types: every model below Event (Asterisk lists them as its subTypes).
    todo = list((models.get("Event") or {}).get("subTypes") or [])
    while todo:
        mid = todo.pop()
        if mid not in event_types:
            event_types.add(mid)
            todo += (models.get(mid) or {}).get("subTypes") or []
    return APIDescription(operations, models, event_types)
