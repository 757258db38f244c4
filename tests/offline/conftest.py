"""The offline tier: fast tests of pure-Python parts of the kit that need no Asterisk lab."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def lab_settings():
    """Overrides tests/conftest.py's fixture of the same name, which starts the lab: these tests need none."""
    return None
