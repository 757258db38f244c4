"""VICIfast ARI Kit: learn, try and prototype with the Asterisk REST Interface against a real lab."""

from . import lab, settings

__all__ = ["lab", "settings"]
