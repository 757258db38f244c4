"""The errors the lab raises: what went wrong and what to do next."""

from ..errors import Error

#: The last sentence of a message that finds the lab down.
START_HINT = "Start it with `vicifast-kit lab up` (or vicifast_kit.lab.up() in Python)."


class LabError(Error, RuntimeError):
    """The lab could not be started, stopped or reached; the message says what to do next."""


class LabStartFailed(LabError):
    """Asterisk stopped while the lab was starting; the message has its exit code and console."""
