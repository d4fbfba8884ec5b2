"""The command line: parses, calls the library, renders. Nothing else."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from funnelopt import __version__
from funnelopt.errors import ScenarioError
from funnelopt.scenario import Scenario

EXIT_OK = 0
EXIT_INFEASIBLE = 1
EXIT_INVALID = 2
EXIT_SOLVER = 3


def _load(path: str) -> Scenario:
    if path == "-":
        return Scenario.from_text(sys.stdin.read())
    return Scenario.from_file(path)


def _cmd_check(args: argparse.Namespace) -> int:
    scenario = _load(args.file)
    n_t, n_c, n_g = len(scenario.tactics), len(scenario.communities), len(scenario.goals)
    print(
        f"{args.file}: valid - {scenario.name!r}, {scenario.periods} {scenario.period_label}s, "
        f"{n_t} tactic(s), {n_c} communit{'y' if n_c == 1 else 'ies'}, {n_g} goal(s)"
    )
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``funnelopt`` command."""
    parser = argparse.ArgumentParser(
        prog="funnelopt",
        description="Plan disease-awareness social-media campaigns and optimise their budget.",
    )
    parser.add_argument("--version", action="version", version=f"funnelopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = sub.add_parser("check", help="validate a scenario file (TOML or JSON; - for stdin)")
    check.add_argument("file", metavar="FILE")
    check.set_defaults(func=_cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``funnelopt`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INVALID
    try:
        code: int = args.func(args)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_INVALID
    return code


if __name__ == "__main__":
    sys.exit(main())
