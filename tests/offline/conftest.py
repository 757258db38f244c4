"""The offline tier: fast tests of pure-Python parts of the kit that need no Asterisk lab.

Run with the lab down or up, they never reach it: every test sees the lab's addresses pointed at
a port where nothing listens, so a test that quietly needed the lab fails here, not in CI. (They
carry no ``lab`` marker, so tests/conftest.py never brings the lab up for them.)
"""

import pytest


@pytest.fixture(autouse=True)
def no_lab(monkeypatch):
    """The lab's addresses point where nothing listens (port 9, discard) for every offline test."""
    monkeypatch.setenv("ARI_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AMI_HOST", "127.0.0.1")
    monkeypatch.setenv("AMI_PORT", "9")
