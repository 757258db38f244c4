"""Every test runs against the real lab: it is brought up once if it is not running."""

import pytest

from vicifast_kit import lab, settings


@pytest.fixture(scope="session", autouse=True)
def lab_settings():
    """The lab is up (started here if it was not); its connection settings."""
    if not lab.status().up:
        lab.up()
    return settings.load()


def pytest_collection_modifyitems(items):
    """Tests that stop or restart the lab run last, so the others see a steady lab."""
    items.sort(key=lambda item: item.get_closest_marker("restarts_lab") is not None)


def pytest_configure(config):
    config.addinivalue_line("markers", "restarts_lab: the test stops or restarts the lab (runs last)")
