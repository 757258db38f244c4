"""The errors the lab raises: what went wrong and what to do next."""

from ..errors import Error

#: What `vicifast-kit lab compose` says first when the kit runs from an installed package (no checkout).
PACKAGED_COMPOSE_NOTE = (
    "this kit is installed from a package: the lab's files are its packaged copy, so the asterisk service works "
    "(as `vicifast-kit lab up --backend docker`), but the jupyter service does not: its image builds the kit from "
    "the repository (requirements.txt, pyproject.toml) and mounts the repository's notebooks/. For JupyterLab in "
    "Docker, clone the kit's repository and run `vicifast-kit lab compose` there; or run JupyterLab yourself "
    "beside this installed kit.")

#: The last sentence of a message that finds the lab down.
START_HINT = "Start it with `vicifast-kit lab up` (or vicifast_kit.lab.up() in Python)."


class LabError(Error, RuntimeError):
    """The lab could not be started, stopped or reached; the message says what to do next."""


class LabStartFailed(LabError):
    """Asterisk stopped while the lab was starting; the message has its exit code and console."""


class NotTheLab(LabError):
    """A helper of the kit's lab used where the lab is not: your settings point at another Asterisk, or the
    server lacks what the lab has (its `sim-caller` dialplan, its prompt transcript); the message says what
    is missing and what to do instead."""


def refuse_elsewhere(what: str, instead: str) -> None:
    """Raise NotTheLab when the settings (ARI_URL, AMI_HOST) point at another server than the lab on this machine.

    `what` says what acts on the lab here ("`vicifast-kit lab cli` runs the command in the kit's lab"),
    `instead` what to do for that other server.
    """
    from .. import settings

    where = settings.elsewhere()
    if where:
        raise NotTheLab(
            f"{what} on this machine, but your settings point at another Asterisk: {where}. For that server, "
            f"{instead}. For the lab, unset ARI_URL and AMI_HOST (to move the lab to other ports, set ARI_PORT, "
            "AMI_PORT, ... instead).")
