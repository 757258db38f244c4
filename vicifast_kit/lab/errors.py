"""The error the lab raises: what went wrong and what to do next."""

from ..errors import Error


class LabError(Error, RuntimeError):
    """The lab could not be started, stopped or reached; the message says what to do next."""
