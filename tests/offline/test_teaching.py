"""vk.teaching's pure parts: how a check tells an exercise's unfilled blanks from an answer."""

from vicifast_kit.teaching import blank


def test_blank_finds_an_ellipsis_anywhere_in_an_answer():
    assert blank(...)
    assert blank([1, ...]) and blank({"a": ...}) and blank({...: 1}) and blank(("x", [2, (...,)]))
    assert blank(f"number:{...}")              # an f-string around a blank reads "Ellipsis"


def test_blank_passes_a_filled_answer():
    assert not blank("sound:hello-world", ["number:3"], {"a": 1}, 0, None, "")
