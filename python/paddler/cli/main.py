"""python -m paddler <command>."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from paddler.cli import agent_command, balancer_command, demo_command, quickstart_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paddler", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    agent_command.register(commands)
    balancer_command.register(commands)
    demo_command.register(commands)
    quickstart_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
