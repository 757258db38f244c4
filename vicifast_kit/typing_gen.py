"""Write the kit's type stubs (vicifast_kit/operations.pyi) from an Asterisk's own description of ARI.

At run time the kit builds its operations from the live server's /ari/api-docs (see api.py). An
editor that runs no kernel (pyright, Jedi, VS Code) cannot do that, so this writes the same
operations as a stub: every ``ari.<resource>.<operation>`` and every handle method
(``ch.play(...)``), with its parameters and result types, and the fields of each handle. Only
facts are written — names, parameters, types and paths — with short docstrings of the kit's
own; none of Asterisk's descriptive text.

    python -m vicifast_kit.typing_gen                  # from the lab's server (its settings)
    python -m vicifast_kit.typing_gen --url http://host:8088 --user u --password p
    python -m vicifast_kit.typing_gen --from DIR       # from saved api-docs JSON files (resources.json + one per resource)
    python -m vicifast_kit.typing_gen --check          # exit 1 if the shipped stub differs from the server's

The result is deterministic (sorted), so a refresh for another Asterisk version is a reviewable diff.
"""

from __future__ import annotations

import argparse
import json
import keyword
import sys
from pathlib import Path
from typing import Any

from . import description as _api
from .handles import KINDS, Handle, binding_for

STUB = Path(__file__).with_name("operations.pyi")

#: ARI's scalar model types -> Python types, for handle fields.
_FIELD_TYPES = {"string": "str", "int": "int", "long": "int", "double": "float", "boolean": "bool",
                "Date": "str", "object": "Record", "containers": "Record", "binary": "bytes"}


# --- reading a description ------------------------------------------------------------------
def load_from_server(url: str, user: str, password: str, timeout: float = 10.0) -> dict[str, dict]:
    """The resource files a server describes itself with, keyed by file stem (as api.parse takes them)."""
    import requests

    base = url.rstrip("/")
    base = base[:-4] if base.endswith("/ari") else base
    session = requests.Session()
    session.auth = (user, password)
    session.trust_env = False

    def get(path: str) -> dict:
        reply = session.get(f"{base}/ari{path}", timeout=timeout)
        reply.raise_for_status()
        return reply.json()

    index = get("/api-docs/resources.json")
    return {stem: get(f"/api-docs/{stem}.json") for stem in _stems(index)}


def load_from_dir(folder: str | Path) -> dict[str, dict]:
    """The same from a folder of saved files: resources.json and the <stem>.json it lists."""
    folder = Path(folder)
    index = json.loads((folder / "resources.json").read_text())
    return {stem: json.loads((folder / f"{stem}.json").read_text()) for stem in _stems(index)}


def _stems(index: dict) -> list[str]:
    return [entry["path"].rsplit("/", 1)[-1].split(".")[0] for entry in index.get("apis", [])]


# --- writing the stub ------------------------------------------------------------------------
def _class_name(group: str) -> str:
    return "".join(w.capitalize() for w in group.split("_")) + "Resource"


def _result(response: str, handles: set[str]) -> str:
    """The type a response class comes back as: a handle, a list of them, a Record, bytes or None."""
    if response in ("void", "", None):
        return "None"
    if response == "binary":
        return "bytes"
    if response.startswith("List[") and response.endswith("]"):
        return f"List[{_result(response[5:-1], handles)}]"
    return response if response in handles else "Record"


def _param_type(p: _api.Param) -> str:
    base = {"string": "str", "int": "int", "long": "int", "double": "float", "boolean": "bool",
            "containers": "dict[str, Any]", "object": "dict[str, Any]", "binary": "bytes"}.get(p.data_type, "Any")
    if p.py in _api.HANDLE_PARAMS and base == "str":
        base = "str | Handle"
    if p.multiple:
        return f"{base} | List[{base}]" if base != "Any" else "Any"
    if p.allowed and base == "str" and all(isinstance(v, str) for v in p.allowed):
        return "Literal[" + ", ".join(json.dumps(v) for v in p.allowed) + "] | str"
    return base


def _signature(op: _api.Operation, bound: tuple[str, ...], handles: set[str]) -> str:
    parts = ["self"]
    for p in op.path_params:
        if p.name not in bound:
            parts.append(f"{p.py}: {'str | Handle' if p.py in _api.HANDLE_PARAMS else 'str'}")
    others = sorted((p for p in op.params if p.where != "path"), key=lambda p: not p.required)
    if others:
        parts.append("*")
    for p in others:
        parts.append(f"{p.py}: {_param_type(p)}" + ("" if p.required else f" | None = None"))
    result = "Any" if (op.resource, op.nickname) == ("events", "eventWebsocket") else _result(op.response, handles)
    return f"({', '.join(parts)}) -> {result}"


def _doc(op: _api.Operation) -> str:
    """A short docstring of the kit's own: the HTTP call and what comes back."""
    return f"ARI {op.method} {op.path}; returns {_api.result_annotation(op.response)}."


def _field_type(spec: dict, handles: set[str]) -> str:
    kind = spec.get("type", "")
    if kind.startswith("List["):
        return "List[Any]"
    return _FIELD_TYPES.get(kind, "Record")


def stub_source(description: _api.APIDescription, version: str = "") -> str:
    """The text of operations.pyi for a parsed description."""
    handles = {k.model for k in KINDS}
    lines = [
        '"""Types of the operations an Asterisk describes (generated by `python -m vicifast_kit.typing_gen`; do not edit).',
        "",
        "Made from an Asterisk's api-docs" + (f" (ARI {version})" if version else "") + ": names, parameters, types and "
        "paths only. At run time the kit builds the same from the server it connects to.",
        '"""',
        "",
        "from typing import Any, List, Literal  # List: a resource has a method named list",
        "",
        "from .handles import (" + ", ".join(sorted(handles | {"Handle", "Record"})) + ")",
        "",
    ]
    # Resource groups: ari.channels, ari.bridges, ...
    groups = sorted(description.operations)
    shadowed = {"str", "int", "float", "bool", "bytes", "dict", "Any", "List", "Literal", "Record", "Handle"} & {
        name for ops in description.operations.values() for name in ops}
    if shadowed:
        raise ValueError(f"Operations named like the types the stub uses: {sorted(shadowed)}; alias them as List is")
    for group in groups:
        lines += ["", f"class {_class_name(group)}:", f'    """The {group} operations (``ari.{group}``)."""', ""]
        for name, op in sorted(description.operations[group].items()):
            lines += [f"    def {name}{_signature(op, (), handles)}:", f'        """{_doc(op)}"""', ""]
    lines += ["", "class ARIOperations:", '    """The resource groups of a client (``ari.channels``, ...)."""', ""]
    for group in groups:
        lines.append(f"    {group}: {_class_name(group)}")
    # Handles: the operations whose path names the object, with its ids bound; and its fields.
    reserved = set(dir(Handle)) | {"raw", "client"}
    for kind in KINDS:
        methods: dict[str, str] = {}
        for group in groups:
            for name, op in sorted(description.operations[group].items()):
                found = binding_for(op.path)
                if found and found[0] is kind:
                    for method in kind.method_names(name):
                        if method not in methods and not hasattr(kind.handle, method):
                            methods[method] = (f"    def {method}{_signature(op, tuple(found[1]), handles)}:\n"
                                               f'        """{_doc(op)}"""\n')
        fields = {}
        for field, spec in sorted(((description.models.get(kind.model) or {}).get("properties") or {}).items()):
            if field not in reserved and field not in methods and field.isidentifier() and not keyword.iskeyword(field):
                fields[field] = _field_type(spec, handles)
        lines += ["", f"class {kind.model}Operations:",
                  f'    """What a {kind.model} handle has: its fields and the operations on it."""', ""]
        lines += [f"    {field}: {kind_}" for field, kind_ in fields.items()]
        if fields:
            lines.append("")
        for method in sorted(methods):
            lines.append(methods[method])
        if not fields and not methods:
            lines.append("    ...")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """The command line: write (or --check) vicifast_kit/operations.pyi from a server or saved files."""
    parser = argparse.ArgumentParser(prog="python -m vicifast_kit.typing_gen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="folder", help="a folder of saved api-docs JSON files (resources.json, ...)")
    parser.add_argument("--url", help="the server (default: the lab's ARI_URL)")
    parser.add_argument("--user", help="ARI user (default: the lab's)")
    parser.add_argument("--password", help="ARI password (default: the lab's)")
    parser.add_argument("--out", default=str(STUB), help=f"where to write (default: {STUB})")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the stub differs")
    args = parser.parse_args(argv)
    version = ""
    if args.folder:
        docs = load_from_dir(args.folder)
    else:
        from . import settings
        s = settings.load() if None in (args.url, args.user, args.password) else None
        docs = load_from_server(args.url or s.ari_url, args.user or s.ari_user, args.password or s.ari_password)
    for doc in docs.values():
        version = version or str(doc.get("apiVersion", ""))
    text = stub_source(_api.parse(docs), version)
    out = Path(args.out)
    if args.check:
        same = out.exists() and out.read_text() == text
        print(f"{out} is {'up to date' if same else 'out of date: run python -m vicifast_kit.typing_gen'}")
        return 0 if same else 1
    out.write_text(text)
    print(f"Wrote {out} ({sum(len(o) for o in _api.parse(docs).operations.values())} operations)")
    return 0


if __name__ == "__main__":      # pragma: no cover
    sys.exit(main())
