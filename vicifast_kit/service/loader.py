"""``FILE.py[:name]``: the vk.App a service file makes, or an error that says what to write instead."""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import traceback
from pathlib import Path

from .app import App
from .errors import ServiceError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def split_target(target: str) -> tuple[str, str | None]:
    """"ivr.py:app" -> ("ivr.py", "app"); "ivr.py" -> ("ivr.py", None); a module name works as a file does."""
    where, sep, name = target.rpartition(":")
    if sep and where and _IDENTIFIER.fullmatch(name):
        return where, name
    return target, None


def load_app(target: str) -> App:
    """The App that FILE.py (or a module, package.module) makes: the one named after ':', else its only App."""
    where, name = split_target(target)
    path = Path(where)
    if path.suffix == ".py" or "/" in where or path.exists():
        namespace = _run_file(path, target)
        label = str(path)
    elif _MODULE.fullmatch(where):
        namespace = _import_module(where, target)
        label = where
    else:
        raise ServiceError(f"{where!r} is neither a Python file nor a module name: give FILE.py[:app], "
                           "e.g. `vicifast-kit serve vicifast_kit/examples/ivr.py`")
    apps = {key: value for key, value in namespace.items() if isinstance(value, App)}
    if name is not None:
        if name not in namespace:
            found = f"its Apps: {', '.join(sorted(apps))}" if apps else "it makes no vk.App"
            raise ServiceError(f"{label} has no {name!r} ({found}): name one of its Apps after the colon, "
                               f"e.g. {where}:{next(iter(sorted(apps)), 'app')}")
        app = namespace[name]
        if not isinstance(app, App):
            kind = type(app).__name__
            raise ServiceError(f"{name!r} in {label} is {'an' if kind[:1] in 'aeiouAEIOU' else 'a'} {kind}, not a "
                               "vk.App: name the App, "
                               f"e.g. `app = vk.App(\"ivr\")` then `{where}:app`")
    elif not apps:
        raise ServiceError(f"{label} makes no vk.App: add `app = vk.App(\"ivr\")` and a function decorated with "
                           "`@app.call` that handles one call")
    elif len({id(a) for a in apps.values()}) > 1:
        names = sorted(apps)
        raise ServiceError(f"{label} makes {len(names)} Apps ({', '.join(names)}): say which one, "
                           f"e.g. `vicifast-kit serve {where}:{names[0]}`")
    else:
        app = next(iter(apps.values()))
    if app.handler is None:
        raise ServiceError(f"App {app.name!r} of {label} has no call handler: decorate the function that handles "
                           "one call with @app.call")
    return app


def _run_file(path: Path, target: str) -> dict:
    """Run a service file as `python FILE.py` would import it (its folder first on sys.path); its names."""
    if not path.is_file():
        hint = " (a folder: name the .py file in it)" if path.is_dir() else ""
        raise ServiceError(f"No file {str(path)!r}{hint}: give the path of a Python file that makes a vk.App, "
                           "e.g. `vicifast-kit serve vicifast_kit/examples/ivr.py`")
    path = path.resolve()
    module_name = "vicifast_serve_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ServiceError(f"{path} cannot be loaded as Python: give a .py file that makes a vk.App")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except SystemExit:
        raise ServiceError(f"{path} exited while loading (sys.exit at its top level): keep starting code under "
                           "`if __name__ == \"__main__\":`") from None
    except BaseException as error:
        sys.modules.pop(module_name, None)
        raise ServiceError(f"{path} failed while loading: {_where(error, path)}: fix it, then serve it again") from None
    return vars(module)


def _import_module(name: str, target: str) -> dict:
    try:
        return vars(importlib.import_module(name))
    except ModuleNotFoundError as error:
        if error.name and name.startswith(error.name):
            raise ServiceError(f"No file or module {name!r}: give the path of a Python file that makes a vk.App "
                               "(FILE.py[:app]), e.g. `vicifast-kit serve vicifast_kit/examples/ivr.py`") from None
        raise ServiceError(f"Module {name} failed while loading: {_where(error, None)}") from None
    except BaseException as error:
        raise ServiceError(f"Module {name} failed while loading: {_where(error, None)}") from None


def _where(error: BaseException, path: Path | None) -> str:
    """An error raised while loading, in one line, with the user's file and line."""
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, SyntaxError):
        return f"SyntaxError: {error.msg} (line {error.lineno})"
    frames = traceback.extract_tb(error.__traceback__)
    mine = [f for f in frames if path is None or Path(f.filename) == path] or frames
    if mine:
        return f"{text} (line {mine[-1].lineno}{'' if path else ' of ' + mine[-1].filename})"
    return text
