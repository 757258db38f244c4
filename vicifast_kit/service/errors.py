"""The errors of a call flow run as a service: what went wrong and what to do next."""

from ..errors import Error


class ServiceError(Error, RuntimeError):
    """A vk.App could not be loaded, started or used as asked; the message says what to do next."""

    __module__ = "vicifast_kit.service"
