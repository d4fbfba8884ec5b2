"""The command line: parses, calls the library, renders. Nothing else.

Exit codes: 0 success; 1 the goals cannot be met (the diagnosis is printed); 2 invalid
input (one line per problem, naming the field) or a missing optional extra (the message
says what to install); 3 solver failure.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelopt import metrics
from funnelopt._json import dumps
from funnelopt._version import __version__
from funnelopt.errors import (
    _MISSING,
    FunnelOptError,
    InputError,
    Problem,
    ScenarioError,
    SolverError,
)
from funnelopt.metrics import KEY_TOTALS
from funnelopt.scenario import Scenario, decode, example_text, read_text
from funnelopt.schemas import DOCUMENTS

if TYPE_CHECKING:
    from funnelopt.outcome import Outcome
    from funnelopt.plan import Plan

EXIT_OK = 0
EXIT_INFEASIBLE = 1
EXIT_INVALID = 2
EXIT_SOLVER = 3

FORMATS = ("table", "json", "csv", "markdown")


# -- input -----------------------------------------------------------------------------------


def load(path: str, sets: Sequence[str] = ()) -> Scenario:
    """A scenario from a file (or ``-`` for stdin) with ``--set PATH=VALUE`` overrides applied."""
    scenario = (
        Scenario.from_text(decode(sys.stdin.buffer.read(), "<stdin>"), "<stdin>")
        if path == "-"
        else Scenario.from_file(path)
    )
    overrides = parse_sets(sets)
    return scenario.with_overrides(overrides) if overrides else scenario


def parse_sets(sets: Sequence[str]) -> dict[str, Any]:
    """``["budget.total=120000", "name=X"]`` -> ``{"budget.total": 120000, "name": "X"}``.

    Values are read as JSON where they parse (numbers, true/false, null, lists, quoted
    strings) and as plain strings otherwise; the scenario then validates them by type.
    """
    out: dict[str, Any] = {}
    problems = []
    for item in sets:
        path, sep, raw = item.partition("=")
        if not sep or not path.strip():
            problems.append(Problem("--set", item, "must be PATH=VALUE, e.g. budget.total=120000"))
            continue
        try:
            value: Any = json.loads(raw, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            value = raw
        out[path.strip()] = value
    if problems:
        raise ScenarioError(problems)
    return out


def _no_constant(name: str) -> float:
    raise ValueError(name)


def _unwritable(option: str, path: str, exc: OSError) -> InputError:
    """An output path the user gave that cannot be written, named by its option."""
    return InputError([Problem(option, path, f"cannot be written: {exc.strerror or exc}")])


def _write(text: str, out: str | None) -> None:
    if out:
        try:
            Path(out).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        except OSError as exc:
            raise _unwritable("--out", out, exc) from None
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


# -- commands ------------------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Any:
    from funnelopt.app import Settings

    limit = args.time_limit
    if limit is not None and not 0 < limit <= 86_400:
        raise InputError([Problem("--time-limit", limit, "must be in (0, 86400] seconds")])
    confidence = getattr(args, "confidence", None)
    if confidence is not None and not 0 < confidence < 1:
        raise InputError([Problem("--confidence", confidence, "must be in (0, 1), e.g. 0.9")])
    return Settings(
        backend=args.backend, tolerance=args.tolerance, time_limit=limit, confidence=confidence
    )


def _optimize(s: Scenario, args: argparse.Namespace) -> Plan:
    from funnelopt import app

    return app.plan(s, _settings(args))


def _warn(found: Sequence[Problem]) -> None:
    """Plausibility warnings on stderr (the output itself stays a clean document)."""
    for w in found:
        print(f"warning: {w}", file=sys.stderr)


def cmd_plan(args: argparse.Namespace) -> int:
    from funnelopt.report.text import render_plan

    s = load(args.file, args.set)
    if args.format == "xlsx" and not args.out:
        raise InputError([Problem("--out", _MISSING, "--format xlsx needs --out PLAN.xlsx")])
    plan = _optimize(s, args)
    _warn(plan.warnings)
    if args.format == "xlsx":
        try:
            plan.to_excel(args.out)
        except OSError as exc:
            raise _unwritable("--out", args.out, exc) from None
        print(f"plan written to {args.out}", file=sys.stderr)
        return _report(plan, args)
    text = (
        plan.to_json() if args.format == "json" else render_plan(plan, args.format, s.budget.total)
    )
    _write(text, args.out)
    return _report(plan, args)


def _report(plan: Plan, args: argparse.Namespace) -> int:
    """Write ``--report`` if asked; the plan's exit code."""
    if args.report:
        try:
            written = plan.report(args.report)
        except OSError as exc:
            raise _unwritable("--report", args.report, exc) from None
        print(f"report written to {written}", file=sys.stderr)
    sure = plan.confidence is None or plan.confidence.met
    return EXIT_OK if plan.optimal and sure else EXIT_INFEASIBLE


def cmd_whatif(args: argparse.Namespace) -> int:
    from funnelopt.report.text import diagnosis_lines, whatif_table, wrap

    if not args.set:
        raise ScenarioError(
            [Problem("--set", "(none)", "whatif needs at least one --set PATH=VALUE")]
        )
    from funnelopt import app

    result = app.whatif(load(args.file), parse_sets(args.set), _settings(args))
    base, new = result.base, result.whatif
    if args.format == "json":
        _write(app.to_json(result.to_dict()), args.out)
    else:
        md = args.format == "markdown"
        changes = ", ".join(args.set)
        lines = [f"What if {changes}?", "", whatif_table(base, new, md)]
        if not new.optimal:
            lines += ["", *diagnosis_lines(new)]
        text = "\n".join(lines)
        _write(text if md else wrap(text), args.out)
    return EXIT_OK if new.optimal else EXIT_INFEASIBLE


def cmd_sweep(args: argparse.Namespace) -> int:
    from funnelopt import app
    from funnelopt.report.text import as_given, sweep_notes, sweep_table, wrap

    s = load(args.file, args.set)
    show = sys.stderr.isatty() and not args.quiet
    sw = app.run_sweep(
        s, args.param, args.values, _settings(args), progress=_progress_bar if show else None
    )
    if show:
        sys.stderr.write("\n")
    if args.format == "json":
        _write(sw.to_json(), args.out)
    elif args.format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        keys = KEY_TOTALS
        w.writerow([*sw.params, "status", "objective", *keys])
        for pt in sw.points:
            w.writerow(
                [*pt.values.values(), pt.status, pt.objective, *(pt.totals.get(k) for k in keys)]
            )
        _write(buf.getvalue(), args.out)
    else:
        md = args.format == "markdown"
        lines = [
            f"Sweep of {', '.join(sw.params)}: {sw.objective_name} per point",
            "",
            sweep_table(sw, md),
        ]
        lines += ["", *sweep_notes(sw)]
        if sw.knee:
            lines += [
                "Knee of the frontier (*): "
                + ", ".join(f"{k} = {as_given(v)}" for k, v in sw.knee["values"].items())
                + f" ({sw.objective_name} {sw.knee['objective']:,.1f})",
            ]
        _write(wrap("\n".join(lines)) if not md else "\n".join(lines), args.out)
    return EXIT_OK


def _progress_bar(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\rsweep [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


def cmd_frontier(args: argparse.Namespace) -> int:
    from funnelopt import app
    from funnelopt.report.text import frontier_table, wrap

    s = load(args.file, args.set)
    show = sys.stderr.isatty() and not args.quiet
    progress = _progress_bar if show else None
    front = app.frontier(s, args.x, args.y, args.points, _settings(args), progress)
    if show:
        sys.stderr.write("\n")
    if args.format == "json":
        _write(front.to_json(), args.out)
    else:
        md = args.format == "markdown"
        text = f"Trade-off: the most {front.y} for each level of {front.x}\n\n"
        text += frontier_table(front, md)
        _write(text if md else wrap(text), args.out)
    return EXIT_OK


def cmd_replan(args: argparse.Namespace) -> int:
    from funnelopt import app
    from funnelopt.actuals import read_actuals
    from funnelopt.report.text import render_plan, replan_csv, replan_lines, wrap

    s = load(args.file, args.set)
    names = dict(_pair(v, "--ad-set") for v in args.ad_set or [])
    actuals = read_actuals(args.actuals, s, start_date=args.start_date, names=names)
    result = app.replan(s, actuals, _settings(args))
    _warn(result.plan.warnings)
    if args.plot:
        _save_plot(lambda plots: plots.plan_vs_actual(result, args.metric), args.plot)
    if args.format == "json":
        _write(dumps(result.to_dict()), args.out)
    elif args.format == "csv":
        _write(replan_csv(result), args.out)
    else:
        md = args.format == "markdown"
        head = "\n".join(replan_lines(result, md))
        plan = render_plan(result.plan, args.format, result.scenario.budget.total)
        _write((head if md else wrap(head)) + "\n\n" + plan, args.out)
    if args.report:
        from funnelopt.report.document import write_replan

        try:
            written = write_replan(result, args.report)
        except OSError as exc:
            raise _unwritable("--report", args.report, exc) from None
        print(f"report written to {written}", file=sys.stderr)
    return EXIT_OK if result.plan.optimal else EXIT_INFEASIBLE


def _pair(text: str, option: str) -> tuple[str, str]:
    """``NAME=VALUE`` of an option, or an error naming the option."""
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise InputError([Problem(option, text, "must be NAME=VALUE")])
    return name, value


def cmd_compare(args: argparse.Namespace) -> int:
    from funnelopt import app
    from funnelopt.report.text import compare_table

    result = app.compare([(f, load(f, args.set)) for f in args.files], _settings(args))
    plans = list(result.plans)
    if args.format == "json":
        _write(app.to_json(result.to_dict()), args.out)
    else:
        _write(compare_table(_option_names(args.files), plans, args.format == "markdown"), args.out)
    if args.report:
        from funnelopt.report.document import write_comparison

        names = [p.scenario_name for p in plans]
        if len(set(names)) < len(names):  # same campaign name: the files tell them apart
            names = [f"{n} ({f})" for n, f in zip(names, _option_names(args.files), strict=True)]
        try:
            written = write_comparison(names, plans, args.report)
        except OSError as exc:
            raise _unwritable("--report", args.report, exc) from None
        print(f"report written to {written}", file=sys.stderr)
    return EXIT_OK if all(p.optimal for p in plans) else EXIT_INFEASIBLE


def _launched(s: Scenario, path: str) -> Scenario:
    """``s`` with the launch periods a plan JSON records (``start = "auto"`` chose them:
    the plan's costs and reach start there)."""
    if not path.lower().endswith(".json"):
        return s
    try:
        data = json.loads(read_text(path))
    except (ValueError, RecursionError):
        return s  # read_plan_file names the problem
    launch = data.get("launch") if isinstance(data, dict) else None
    if not isinstance(launch, dict) or not launch:
        return s
    return s.with_overrides({f"communities.{k}.start": v for k, v in launch.items()})


def _option_names(files: Sequence[str]) -> list[str]:
    """Column names for compared files: their stems (stdin as such)."""
    return [Path(f).stem if f != "-" else "stdin" for f in files]


def read_plan_file(path: str, scenario: Scenario) -> dict[str, list[float]]:
    """Spend per tactic from a CSV (a ``period`` column and one column per tactic) or JSON
    (``{"spend": {tactic: [...]}}`` as ``plan --format json`` writes, or ``{tactic: [...]}``)."""
    p = Path(path)
    if p.suffix.lower() == ".xlsx":
        return _plan_csv(_xlsx_as_csv(p), path, scenario)
    text = read_text(p)
    if p.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except RecursionError:
            raise ScenarioError([Problem("PLAN", path, "is nested too deeply")]) from None
        except ValueError as exc:
            raise ScenarioError([Problem("PLAN", path, f"not valid JSON: {exc}")]) from None
        from funnelopt.app import spend_from_data

        return spend_from_data(data, path)
    return _plan_csv(text, path, scenario)


def _plan_csv(text: str, path: str, scenario: Scenario) -> dict[str, list[float]]:
    """Spend per tactic from CSV rows; a ``period`` (or ``week``) column places each row.

    The delimiter is sniffed (``,``, ``;`` or tab); with ``;`` decimal commas are read
    (``1.234,5``: what Excel writes in Germany or the Netherlands). Columns may name
    tactics by id or display name; a ``date`` column and the metric columns ``plan
    --format csv`` writes are results, not inputs: they are skipped (see
    :func:`ignored_plan_columns`)."""
    import difflib

    delimiter = _sniff_delimiter(text)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    header = [c.strip() for c in (reader.fieldnames or []) if c is not None]
    rows = [{(k or "").strip(): v for k, v in r.items()} for r in rows]
    names = {"period", scenario.period_label.lower(), "week"}
    period_col = next((c for c in header if c.lower() in names), None)
    by_name = {t.display_name: t.id for t in scenario.tactics}
    skipped = set(ignored_plan_columns(header, scenario))
    problems = []
    for c in header:
        if (
            c != period_col
            and c not in scenario.tactic_ids
            and c not in by_name
            and c not in skipped
        ):
            hint = difflib.get_close_matches(c, scenario.tactic_ids, n=1)
            known = (
                f"did you mean '{hint[0]}'?"
                if hint
                else f"tactics: {', '.join(scenario.tactic_ids)}"
            )
            if len(header) == 1 or ";" in c or "\t" in c:
                known += "; use comma- or semicolon-separated values, one tactic per column"
            problems.append(Problem(f"PLAN column {c!r}", path, f"is not a tactic id ({known})"))
    if not rows:
        problems.append(Problem("PLAN", path, "has no rows"))
    if problems:
        raise ScenarioError(problems)
    decimal_comma = delimiter == ";"
    header = [c for c in header if c not in skipped]
    if skipped:
        print(
            f"note: {path}: columns {', '.join(sorted(skipped))} are results, not spend: "
            "ignored (simulate recomputes them)",
            file=sys.stderr,
        )
    tactic_cols = [c for c in header if c != period_col]
    spend = {by_name.get(c, c): [0.0] * scenario.periods for c in tactic_cols}
    seen: set[int] = set()
    for n, row in enumerate(rows, start=2):  # line 1 is the header
        if period_col is None:
            t = n - 1
        else:
            try:
                t = int(str(row[period_col]).strip())
            except ValueError:
                problems.append(
                    Problem(
                        f"PLAN line {n}, {period_col}", row[period_col], "must be a whole number"
                    )
                )
                continue
        if not 1 <= t <= scenario.periods:
            problems.append(
                Problem(
                    f"PLAN line {n}, {period_col or 'row'}",
                    t,
                    f"must be within 1..{scenario.periods}",
                )
            )
            continue
        if t in seen:
            problems.append(Problem(f"PLAN line {n}, {period_col}", t, "appears twice"))
            continue
        seen.add(t)
        for c in tactic_cols:
            raw = (row.get(c) or "").strip()
            try:
                spend[by_name.get(c, c)][t - 1] = _number(raw, decimal_comma) if raw else 0.0
            except ValueError:
                problems.append(
                    Problem(
                        f"PLAN line {n}, {c}", raw, "must be a number (no thousands separators)"
                    )
                )
    if period_col is None and len(rows) != scenario.periods:
        problems.append(
            Problem(
                "PLAN",
                f"{len(rows)} rows",
                f"needs {scenario.periods} (one per period) or a period column",
            )
        )
    if problems:
        raise ScenarioError(problems[:20])
    return spend


def _xlsx_as_csv(path: Path) -> str:
    """The plan sheet of a workbook (what ``plan --format xlsx`` writes) as CSV text."""
    from funnelopt.report.excel import read_plan

    try:
        rows = read_plan(path)
    except OSError as exc:
        raise ScenarioError([Problem("PLAN", str(path), f"cannot be read: {exc}")]) from None
    except (ValueError, KeyError) as exc:  # not a workbook (zipfile.BadZipFile is one)
        raise ScenarioError(
            [Problem("PLAN", str(path), f"is not an .xlsx workbook: {exc}")]
        ) from None
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        if any(c is not None for c in r):
            w.writerow(["" if c is None else c for c in r])
    return buf.getvalue()


def _sniff_delimiter(text: str) -> str:
    """``,``, ``;`` or tab: whichever splits the header line into the most columns."""
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return max((",", ";", "\t"), key=lambda d: (first.count(d), d == ","))


def _number(raw: str, decimal_comma: bool) -> float:
    """A number as a spreadsheet writes it: ``1234.5``, or with ``decimal_comma``
    ``1.234,5`` and ``1234,5``."""
    if decimal_comma and "," in raw:
        raw = raw.replace(".", "").replace(",", ".")
    return float(raw)


def ignored_plan_columns(header: Sequence[str], scenario: Scenario) -> list[str]:
    """Columns of a plan CSV that are results, not spend: ``date`` and metric columns
    (``plan --format csv`` writes them; ``simulate`` recomputes them)."""
    from funnelopt.metrics import CATALOGUE

    tactics = set(scenario.tactic_ids) | {t.display_name for t in scenario.tactics}
    results = set(CATALOGUE) | {m.label for m in CATALOGUE.values()}
    results |= {f"{m.label} (to date)" for m in CATALOGUE.values()} | {"media spend"}
    return [
        c for c in header if c not in tactics and (c.lower() in ("date", "starts") or c in results)
    ]


def cmd_simulate(args: argparse.Namespace) -> int:
    from funnelopt import app, objective
    from funnelopt.report.text import outcome_summary, wrap

    s = load(args.file, args.set)
    s = _launched(s, args.plan)
    result = app.simulate(s, read_plan_file(args.plan, s), _settings(args))
    outcome, value, best, gap = result.outcome, result.objective, result.best, result.gap
    if args.format == "json":
        _write(app.to_json(result.to_dict()), args.out)
    else:
        md = args.format == "markdown"
        name = best.objective_name
        penalty = result.penalty
        lines = [f"Plan {args.plan} on {s.name}"]
        # A score, not a metric: the trial read "conversions = 1,519.7" for 3,186.
        lines.append(objective.describe(name, value, penalty, name == "cost"))
        unit = "in score" if penalty > 0 else name
        if best.objective is not None and gap is not None:
            if not (outcome.feasible and outcome.goals_met):
                # A plan that breaks a limit or misses a hard goal is no alternative,
                # whatever its score (it once read as "better" while over budget).
                broken = sorted({v.split(":")[0] for v in outcome.violations})
                missed = [g.metric for g in outcome.goals if g.hard and not g.met]
                what = (
                    f"breaks {', '.join(broken[:3])}{' and more' if len(broken) > 3 else ''}"
                    if broken
                    else f"misses the hard goal(s) {', '.join(missed)}"
                )
                lines.append(
                    f"This plan {what} (below), so it is no alternative to the optimiser's "
                    f"plan, which scores {best.objective:,.1f} within every limit."
                )
            elif gap >= 0:
                lines.append(
                    f"The optimiser's plan scores {best.objective:,.1f}: this plan scores {gap:,.1f} less."
                    if penalty > 0
                    else f"The optimum is {best.objective:,.1f}: this plan is {gap:,.1f} {unit} away from it."
                )
            else:
                cert = best.certificate
                bound = (
                    f"; no plan can do better than {cert.bound:,.1f} (proven)"
                    if cert is not None and cert.bound is not None
                    else ""
                )
                lines.append(
                    f"The optimiser's plan gives {best.objective:,.1f}: this plan is {-gap:,.1f} "
                    f"{unit} better, within the optimiser's certified gap{bound}."
                )
            if best.outcome is not None:
                lines.append(
                    "Compared with the optimiser's plan: " + _versus(outcome, best.outcome)
                )
        text = wrap("\n".join(lines)) if not md else "\n".join(lines)
        _write(text + "\n\n" + outcome_summary(outcome, md), args.out)
    return EXIT_OK if outcome.feasible and outcome.goals_met else EXIT_INFEASIBLE


def cmd_forecast(args: argparse.Namespace) -> int:
    from funnelopt import app
    from funnelopt.report.text import forecast_text

    s = load(args.file, args.set)
    spend = read_plan_file(args.plan, s) if args.plan else None
    f = app.forecast(s, spend, args.draws, args.seed, _settings(args))
    doc = app.forecast_document(s, f)
    if args.format == "json":
        _write(app.to_json(doc), args.out)
    else:
        _write(forecast_text(f, doc["tornado"]["metric"], args.format == "markdown"), args.out)
    if args.plot:
        _plot_forecast(f, args.plot, args.metric or doc["tornado"]["metric"])
    return EXIT_OK


def _plot_forecast(f: Any, path: str, metric: str) -> None:
    """The fan chart of ``metric`` beside the tornado, in one figure file."""
    from funnelopt.report import plots

    if metric not in f.per_period:
        raise InputError(
            [Problem("--metric", metric, f"is not a metric ({', '.join(f.per_period)})")]
        )
    fig, (left, right) = plots._plt().subplots(1, 2, figsize=(13, 4.5))
    plots.fan(f, metric, ax=left)
    plots.tornado(f, metric, ax=right)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise _unwritable("--plot", path, exc) from None
    print(f"plot written to {path}", file=sys.stderr)


def _versus(mine: Outcome, best: Outcome) -> str:
    """Key totals of two plans side by side, in their own units (not score points)."""
    keys = ("conversions", "visits", "followers", "cost_total")
    return "; ".join(
        f"{metrics.info(k).label} {metrics.format_value(k, mine.totals[k])} vs "
        f"{metrics.format_value(k, best.totals[k])}"
        for k in keys
        if k in mine.totals and (mine.totals[k] or best.totals[k])
    )


def cmd_listen(args: argparse.Namespace) -> int:
    from funnelopt import listening
    from funnelopt.report import listening as section

    if not 1 <= args.last <= 520:
        raise InputError([Problem("--last", args.last, "must be in 1..520 periods")])
    if args.file == "-":
        raw = sys.stdin.buffer.read()
        mentions = listening.read_mentions("<stdin>", weekly=args.weekly, text=raw)
    else:
        mentions = listening.read_mentions(args.file, weekly=args.weekly)
    start = args.start  # a date, or a period number for numbered periods
    est = listening.lift(mentions, start, level=args.level, seed=args.seed)
    # By topic where the file has topics (asking for sentiment without the column is an error).
    grouped = args.by == "sentiment" or bool(mentions.topics)
    topics, shares = (
        (
            listening.topic_lift(mentions, start, args.by, level=args.level, seed=args.seed),
            listening.topic_shares(mentions, args.last, before=start, by=args.by),
        )
        if grouped
        else ((), ())
    )
    if args.format == "json":
        data = {
            "schema_version": 1,
            "lift": est.to_dict(),
            "by": args.by,
            "topics": [t.to_dict() for t in topics],
            "before_launch": {"last": args.last, "shares": [s.to_dict() for s in shares]},
        }
        _write(dumps(data), args.out)
    else:
        content = section.blocks(est, topics, shares, args.last, by=args.by)
        _write(section.to_text(content, args.format == "markdown"), args.out)
    if args.plot:
        _save_plot(lambda plots: plots.listening(est), args.plot)
    if args.report:
        try:
            written = section.write(
                args.report, section.blocks(est, topics, shares, args.last, args.by, figure=True)
            )
        except OSError as exc:
            raise _unwritable("--report", args.report, exc) from None
        print(f"report written to {written}", file=sys.stderr)
    return EXIT_OK


def _save_plot(draw: Callable[[Any], Any], path: str) -> None:
    """``draw(plots)`` saved as a PNG at ``path`` (``--plot``)."""
    from funnelopt.report import plots

    try:
        import matplotlib

        matplotlib.use("Agg")  # a file, never a window
        import matplotlib.pyplot as plt
    except ImportError:
        raise FunnelOptError(
            "--plot needs matplotlib: pip install 'funnelopt[notebook]' (or pip install matplotlib)"
        ) from None
    ax = draw(plots)
    try:
        ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    except OSError as exc:
        raise _unwritable("--plot", path, exc) from None
    finally:
        plt.close(ax.figure)
    print(f"plot written to {path}", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from funnelopt.app import Check
    from funnelopt.report.text import wrap

    result = Check(load(args.file, args.set), args.file)
    _warn(result.warnings)
    _write(dumps(result.to_dict()) if args.format == "json" else wrap(result.line()), args.out)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from funnelopt.schemas import schema

    _write(dumps(schema(args.kind)), args.out)
    return EXIT_OK


def cmd_convert(args: argparse.Namespace) -> int:
    scenario = load(args.file, args.set)
    to = args.to or ("json" if Path(args.file).suffix.lower() == ".toml" else "toml")
    _write(scenario.to_json() if to == "json" else scenario.to_toml(), args.out)
    return EXIT_OK


def cmd_example(args: argparse.Namespace) -> int:
    _write(example_text(args.kind), args.out)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from funnelopt import service

    config = service.Config(
        api_keys=service.read_keys(args.api_key_file) if args.api_key_file else (),
        max_body_bytes=args.max_body_bytes,
        time_limit=args.time_limit,
        max_sweep_points=args.max_sweep_points,
        cors_origins=tuple(args.cors_origin),
        workers=args.workers,
    )
    if not config.api_keys and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: serving on {args.host} without --api-key-file: anyone who can reach "
            "this address can use it",
            file=sys.stderr,
        )
    try:
        service.serve(config, args.host, args.port)
    except ModuleNotFoundError as exc:
        if str(exc) != service.MISSING:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


# -- parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``funnelopt`` command."""
    parser = argparse.ArgumentParser(
        prog="funnelopt",
        description="Plan disease-awareness social-media campaigns and optimise their budget.",
        epilog="Exit codes: 0 ok, 1 goals cannot be met, 2 invalid input, 3 solver failure.",
    )
    parser.add_argument("--version", action="version", version=f"funnelopt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str, func: Callable[[argparse.Namespace], int], help_: str, solve: bool = True
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        p.add_argument("--out", metavar="PATH", help="write to a file instead of standard output")
        if solve:
            p.add_argument(
                "--backend",
                choices=("highs", "pulp"),
                default="highs",
                help="solver (default highs)",
            )
            p.add_argument(
                "--tolerance", type=float, default=0.005, help="curve accuracy (default 0.005)"
            )
            p.add_argument(
                "--time-limit",
                type=float,
                default=None,
                metavar="SECONDS",
                help="answer within about this many seconds per plan (default 60): past it, "
                "the best certified plan so far",
            )
        return p

    def sets(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="PATH=VALUE",
            help="override a field, e.g. budget.total=120000",
        )

    def fmt(p: argparse.ArgumentParser, choices: Sequence[str] = FORMATS) -> None:
        p.add_argument(
            "--format", choices=choices, default="table", help="output format (default table)"
        )

    p = command("plan", cmd_plan, "optimise a scenario and show the plan")
    p.add_argument("file", metavar="FILE", help="scenario (TOML or JSON; - for stdin)")
    p.add_argument(
        "--report",
        metavar="PATH",
        help="also write a client report: PATH.html, PATH.pdf (printed by headless Chromium) or PATH.md",
    )
    p.add_argument(
        "--confidence",
        type=float,
        default=None,
        metavar="P",
        help="plan so that hard goals and capacities hold with probability P under the "
        "[uncertainty] ranges (exit 1 when P cannot be reached)",
    )
    sets(p)
    fmt(p, (*FORMATS, "xlsx"))

    p = command("whatif", cmd_whatif, "the plan under changes, beside the base plan")
    p.add_argument("file", metavar="FILE")
    sets(p)
    fmt(p, ("table", "json", "markdown"))

    p = command("sweep", cmd_sweep, "re-plan over a grid of one or two fields")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--param", action="append", required=True, metavar="PATH", help="field to vary (up to two)"
    )
    p.add_argument(
        "--values",
        action="append",
        required=True,
        metavar="SPEC",
        help="start:stop:count or a,b,c (one per --param)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    sets(p)
    fmt(p)

    p = command(
        "frontier", cmd_frontier, "the trade-off between two goods, e.g. followers vs conversions"
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--x", default="followers", help="the good along x (default followers)")
    p.add_argument("--y", default="conversions", help="the good along y (default conversions)")
    p.add_argument("--points", type=int, default=11, help="plans on the frontier (default 11)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    sets(p)
    fmt(p, ("table", "json", "markdown"))

    p = command("replan", cmd_replan, "calibrate on actuals, keep the past, re-optimise the rest")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--actuals",
        required=True,
        metavar="CSV",
        help="period (or week), tactic, and any of spend, impressions, clicks, visits; "
        "or a Meta Ads Manager export",
    )
    p.add_argument(
        "--start-date", metavar="YYYY-MM-DD", help="first day of the campaign (for dated exports)"
    )
    p.add_argument("--plot", metavar="PNG", help="also draw planned vs actual vs re-planned")
    p.add_argument(
        "--metric",
        default="visits",
        choices=("spend", "impressions", "clicks", "visits", "conversions"),
        help="what --plot draws (default visits)",
    )
    p.add_argument(
        "--ad-set",
        action="append",
        metavar="NAME=TACTIC",
        help="map an export's ad-set name to a tactic id (repeatable)",
    )
    p.add_argument(
        "--report",
        metavar="PATH",
        help="also write a client report (where the campaign stands, then the new plan): "
        "PATH.html, PATH.pdf or PATH.md",
    )
    sets(p)
    fmt(p)

    p = command("compare", cmd_compare, "optimise scenarios and show them side by side")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument(
        "--report",
        metavar="PATH",
        help="also write the options as one client document: PATH.html, PATH.pdf or PATH.md",
    )
    sets(p)
    fmt(p, ("table", "json", "markdown"))

    p = command(
        "simulate", cmd_simulate, "evaluate a hand-made plan and its distance to the optimum"
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "plan",
        metavar="PLAN",
        help="PLAN.csv (period + one column per tactic), PLAN.xlsx (plan --format xlsx) or PLAN.json",
    )
    sets(p)
    fmt(p, ("table", "json", "markdown"))

    p = command(
        "forecast",
        cmd_forecast,
        "a plan over draws of the scenario's [uncertainty] ranges: goal probabilities, "
        "P5/P50/P95 bands, overload risks",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--plan",
        metavar="PLAN",
        help="PLAN.csv or PLAN.json to forecast (default: the optimiser's plan)",
    )
    p.add_argument("--draws", type=int, default=10_000, help="number of draws (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--plot", metavar="PATH", help="also draw the fan chart and tornado (PNG/SVG)")
    p.add_argument("--metric", help="the metric of the plot (default: the objective's metric)")
    sets(p)
    fmt(p, ("table", "json", "markdown"))

    p = command(
        "check", cmd_check, "validate a scenario file (TOML or JSON; - for stdin)", solve=False
    )
    p.add_argument("file", metavar="FILE")
    sets(p)
    fmt(p, ("table", "json"))

    p = command(
        "schema",
        cmd_schema,
        "print a JSON Schema: scenario (default), or an output: " + ", ".join(DOCUMENTS),
        solve=False,
    )
    p.add_argument("kind", nargs="?", choices=("scenario", *DOCUMENTS), default="scenario")

    p = command(
        "convert",
        cmd_convert,
        "rewrite a scenario as JSON or TOML, validated (comments are not kept)",
        solve=False,
    )
    p.add_argument("file", metavar="FILE", help="scenario (.toml or .json; - for stdin)")
    p.add_argument("--to", choices=("json", "toml"), help="target format (default: the other one)")
    sets(p)

    p = command(
        "listen",
        cmd_listen,
        "social listening: the lift in mentions since a launch, and topics before and after",
        solve=False,
    )
    p.add_argument(
        "file", metavar="FILE", help="mention counts (CSV: date, mentions[, topic]; - for stdin)"
    )
    p.add_argument("--start", required=True, metavar="DATE", help="the launch, e.g. 2027-03-01")
    p.add_argument("--weekly", action="store_true", help="sum daily counts into weeks first")
    p.add_argument("--level", type=float, default=0.9, help="of the intervals (default 0.9)")
    p.add_argument(
        "--last",
        type=int,
        default=8,
        metavar="N",
        help="periods before the launch for topic shares (default 8)",
    )
    p.add_argument(
        "--by",
        choices=("topic", "sentiment"),
        default="topic",
        help="group the mentions by topic (default) or sentiment: shares and each one's lift",
    )
    p.add_argument("--seed", type=int, default=0, help="of the simulated counterfactuals")
    p.add_argument("--plot", metavar="PNG", help="also draw observed vs counterfactual")
    p.add_argument("--report", metavar="PATH", help="also write the section: PATH.html or PATH.md")
    fmt(p, ("table", "json", "markdown"))

    p = command("example", cmd_example, "print a commented starter scenario", solve=False)
    p.add_argument("--kind", choices=("full", "traffic"), default="full")

    p = sub.add_parser(
        "serve",
        help="answer these commands over HTTP, with a what-if page (docs/service.md)",
        description="Answer plan, whatif, sweep, compare, simulate and check over HTTP "
        "(JSON in, the --format json documents out) and serve the what-if page at /. "
        "Needs pip install funnelopt[service].",
    )
    p.set_defaults(func=cmd_serve)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="solver processes, i.e. solves at once (default: one per CPU)",
    )
    p.add_argument(
        "--api-key-file",
        metavar="PATH",
        help="accept only these keys (one per line) as Authorization: Bearer KEY",
    )
    p.add_argument(
        "--max-body-bytes",
        type=int,
        default=5_000_000,
        metavar="N",
        help="refuse larger request bodies with 413 (default 5,000,000)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="per request: past it the solve is stopped and answered 503 (default 30)",
    )
    p.add_argument(
        "--max-sweep-points",
        type=int,
        default=200,
        metavar="N",
        help="refuse larger sweeps with 422 (default 200)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a browser origin allowed to call the API, e.g. https://tool.example.com "
        "(repeatable; default none)",
    )
    return parser


def _joined_values(argv: list[str]) -> list[str]:
    """``--values -5,10`` as ``--values=-5,10``: argparse reads a value that starts with
    '-' (and is no plain negative number) as an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in ("--values", "--set") and i + 1 < len(argv) and argv[i + 1][:1] == "-":
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``funnelopt`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(_joined_values(sys.argv[1:] if argv is None else list(argv)))
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INVALID
    try:
        code: int = args.func(args)
    except InputError as exc:  # (ScenarioError is one)
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        if getattr(args, "format", None) == "json":
            # Programs asked for JSON: they get the errors as data too.
            from funnelopt.app import errors_document

            sys.stdout.write(dumps(errors_document(exc.problems)) + "\n")
        return EXIT_INVALID
    except SolverError as exc:
        print(f"solver failure: {exc}", file=sys.stderr)
        if getattr(args, "format", None) == "json":
            # As for invalid input: programs that asked for JSON get the failure as data
            # (the service's shape), not an empty stdout.
            from funnelopt.app import error_document

            sys.stdout.write(dumps(error_document(f"solver failure: {exc}")) + "\n")
        return EXIT_SOLVER
    except FunnelOptError as exc:  # an optional extra is missing: the message says which
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except BrokenPipeError:  # e.g. `funnelopt plan x.toml | head`
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
