"""`import vicifast_kit` stays light: the heavy parts load on first use, and then they are there."""

import subprocess
import sys


def test_widgets_push_and_voice_load_on_first_use_only():
    code = (
        "import sys, vicifast_kit as vk\n"
        "heavy = ('ipywidgets', 'vicifast_kit.widgets', 'websockets', 'vicifast_kit.push', 'pocketsphinx')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "vk.push.connect; vk.widgets.Dashboard\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "[]"
    assert {"vicifast_kit.push", "vicifast_kit.widgets", "ipywidgets", "websockets"} <= set(eval(out[1]))


def test_an_unknown_attribute_is_an_attribute_error():
    import pytest

    import vicifast_kit as vk

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        vk.nothing_here
