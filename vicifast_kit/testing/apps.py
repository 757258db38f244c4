"""The app under test: found from a spec ("FILE.py:app", "package.module:app") by vk.App's own loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_app(spec: str, root: Path | None = None) -> Any:
    """The vk.App a spec names ("path/to/ivr.py:app", "path/to/ivr.py", "package.module:app"); a file path may be relative to `root`."""
    from ..service.loader import load_app as service_load_app, split_target
    where, name = split_target(str(spec).strip())
    path = Path(where)
    if root is not None and not path.is_absolute() and not path.exists() and (Path(root) / path).exists():
        spec = str(Path(root) / path) + (f":{name}" if name else "")
    return service_load_app(spec)
