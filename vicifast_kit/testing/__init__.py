"""vk.testing: test a call flow with callers who talk and listen (a pytest plugin, and its parts for any use).

In a test (the plugin is registered through the ``pytest11`` entry point, so installing the kit is enough)::

    def test_billing(caller):
        result = caller("5551234", app="ivr", say="billing please", dtmf="2")
        assert "billing" in result.heard
        assert result.digits == "2" and result.answered is not None and result.cause == 16

The number arrives in the app named by ``app`` (default: the app under test, see the ``app_under_test``
fixture) through the lab's ``service`` context; with no instance of that app connected, the call reaches the
context's fallback ("All circuits are busy now", cause 34). ``result.heard`` is the text the caller heard in
order: the lab's transcripts for the prompts played to it, offline speech recognition for other speech.

The parts: `caller` (Caller, Call, Result), `hearing` (what was heard, from events and audio), `apps` (the app
under test from FILE.py:app) and `plugin` (the fixtures: caller, app_under_test, ari, lab). Outside pytest,
``with vk.testing.Caller(app="ivr") as caller: caller("5551234")`` works the same.
"""

from __future__ import annotations

__all__ = ["Caller", "Call", "Result", "Heard", "Step", "CallerError", "load_app"]

_WHERE = {"Caller": "caller", "Call": "caller", "Result": "caller", "Step": "caller", "CallerError": "caller",
          "Heard": "hearing", "load_app": "apps"}


def __getattr__(name: str):
    """The names of vk.testing, imported on first use (the plugin module alone stays light)."""
    import importlib

    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'vicifast_kit.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{where}", __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
