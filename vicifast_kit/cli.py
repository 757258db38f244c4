"""The `vicifast-kit` command: `vicifast-kit lab up|down|restart|status|logs|cli|compose`, `vicifast-kit doctor` and
`vicifast-kit serve FILE.py[:app]` and `vicifast-kit load FILE.py[:app] --callers N --rate R`."""

from __future__ import annotations

import argparse
import sys

from . import lab, settings
from .errors import Error
from .doctor import command as doctor
from .lab.console import follow_logs
from .service import load, serve


def _parser() -> argparse.ArgumentParser:
    """The command line's parser: `vicifast-kit lab ACTION [options]`."""
    parser = argparse.ArgumentParser(prog="vicifast-kit", description="The VICIfast ARI Kit.")
    commands = parser.add_subparsers(dest="command", required=True)
    lab_parser = commands.add_parser("lab", help="the lab: a real Asterisk 22 with ARI and AMI")
    actions = lab_parser.add_subparsers(dest="action", required=True)
    up = actions.add_parser("up", help="start the lab (builds it the first time); harmless if it is up")
    up.add_argument("--backend", choices=sorted(lab.BACKENDS), help="force Docker or the root-filesystem lab")
    restart = actions.add_parser("restart", help="stop the lab and start it again with the same backend")
    restart.add_argument("--backend", choices=sorted(lab.BACKENDS), help="start it again with this backend")
    down = actions.add_parser("down", help="stop the lab, leaving no process, container or mount behind")
    down.add_argument("--backend", choices=sorted(lab.BACKENDS), help="stop only the lab of this backend")
    status = actions.add_parser("status", help="backend, Asterisk version, ARI/AMI, channels (exit 1 when down)")
    status.add_argument("--backend", choices=sorted(lab.BACKENDS), help="the lab of this backend only")
    logs = actions.add_parser("logs", help="the Asterisk log")
    logs.add_argument("-n", "--lines", type=int, default=50, help="how many lines (default 50)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    cli = actions.add_parser("cli", help='run an Asterisk CLI command, e.g. cli "core show channels"')
    cli.add_argument("words", nargs="+", metavar="COMMAND")
    compose = actions.add_parser(
        "compose", help="`docker compose` on the lab's compose file (Asterisk and JupyterLab), with the lab's "
                        "settings and passwords in its environment, e.g. compose up --build")
    compose.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="docker compose's arguments")
    doctor.add_arguments(commands.add_parser(
        "doctor", help="what an Asterisk offers the kit and what it exposes (exit 1 on a high-severity finding)"))
    serve.add_arguments(commands.add_parser(
        "serve", help="run a vk.App (a call flow) as a process: JSON logs, /healthz and /metrics, drains on SIGTERM"))
    load.add_arguments(commands.add_parser(
        "load", help="N simulated callers at R per second into a service (FILE.py, or --app of a running one)"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "doctor":
            return doctor.run(args)
        if args.command == "serve":
            return serve.run(args)
        if args.command == "load":
            return load.run(args)
        if args.action == "up":
            lab.up(args.backend)
        elif args.action == "restart":
            lab.restart(args.backend)
        elif args.action == "down":
            lab.down(args.backend)
        elif args.action == "status":
            result = lab.status(args.backend)
            print(result)
            return 0 if result.up else 1
        elif args.action == "logs":
            if args.follow:
                return follow_logs(args.lines)
            print(lab.logs(args.lines))
        elif args.action == "cli":
            print(lab.cli(" ".join(args.words)), end="")
        elif args.action == "compose":
            lab.docker.check_compose()
            if settings.lab_is_packaged():            # installed from a wheel: the jupyter service needs a checkout
                print(f"vicifast-kit: {lab.errors.PACKAGED_COMPOSE_NOTE}", file=sys.stderr)
            return lab.docker.compose(*args.args, timeout=None, capture=False).returncode
    except Error as error:             # the lab's, the settings', AMI's: one line that says what to do
        print(f"vicifast-kit: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
