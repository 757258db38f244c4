"""The shipped stub (vicifast_kit/operations.pyi) describes the lab's Asterisk: what editors complete is what runs."""

from vicifast_kit import typing_gen


def test_the_stub_is_what_the_labs_server_describes(capsys):
    status = typing_gen.main(["--check"])
    assert status == 0, ("vicifast_kit/operations.pyi differs from the lab's api-docs: refresh it with "
                         "`.venv/bin/python -m vicifast_kit.typing_gen` and review the diff")
    assert "up to date" in capsys.readouterr().out
