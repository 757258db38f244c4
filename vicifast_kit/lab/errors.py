"""The error the lab raises: what went wrong and what to do next."""

from ..errors import Error


class LabError(Error, RuntimeError):
    """The lab could not be started, stopped or reached; the message says what to do next."""


class LabStartFailed(LabError):
    """Asterisk stopped while the lab was starting; the message has its exit code and console."""
