"""The plan as an Excel workbook (openpyxl, the ``excel`` extra): what a media buyer
works from.

Sheets: ``Weekly plan`` (one row per period: its date, spend per tactic, and the funnel
and workload that period), ``Monthly plan`` (with a ``start_date``), ``Totals`` (the
campaign by phase, costs and KPIs) and ``Assumptions`` (value used, source, changes).
Numbers are stored as numbers (Excel formats them), never as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelopt import metrics
from funnelopt.errors import FunnelOptError
from funnelopt.report.calendar import by_month, tactic_names

if TYPE_CHECKING:
    from funnelopt.plan import Plan

#: Per-period metric columns of the weekly sheet, after the spend columns.
PERIOD_METRICS = (
    "impressions",
    "reach",
    "visits",
    "new_followers",
    "followers",
    "conversions",
    "comments",
    "webcare_hours",
    "ae_cases",
    "ae_cases_p95",
    "cost_total",
)
#: The sheet ``simulate`` reads a plan back from.
PLAN_SHEET = "Weekly plan"


def require_openpyxl() -> Any:
    """The openpyxl module, or an error that says how to install it."""
    try:
        import openpyxl
    except ImportError:
        raise FunnelOptError(
            "Excel files need openpyxl: pip install 'funnelopt[excel]' (or pip install openpyxl)"
        ) from None
    return openpyxl


def _label(m: str) -> str:
    info = metrics.info(m)
    stock = " (to date)" if info.kind == "stock" else ""
    return f"{info.label}{stock}"


def write_plan(plan: Plan, path: str | Path) -> Path:
    """Write ``plan`` to an .xlsx workbook at ``path``."""
    openpyxl = require_openpyxl()
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    if plan.outcome is None or plan.spend is None:
        raise FunnelOptError(
            "this plan is infeasible: there is no spend to write (see plan.diagnosis)"
        )
    s, o, spend = plan.scenario, plan.outcome, plan.spend
    names = tactic_names(plan)
    wb = openpyxl.Workbook()
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="EEF3F8")

    def sheet(title: str, header: list[str], rows: list[list[Any]], formats: dict[int, str]) -> Any:
        ws = wb.create_sheet(title)
        ws.append(header)
        for c in ws[1]:
            c.font, c.fill = bold, fill
        for r in rows:
            ws.append(r)
        for col, fmt in formats.items():
            for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                cell.number_format = fmt
        for i, h in enumerate(header, start=1):
            width = max(
                [
                    len(str(h)),
                    *(
                        len(f"{r[i - 1]:,.0f}" if isinstance(r[i - 1], float) else str(r[i - 1]))
                        for r in rows
                    ),
                ]
            )
            ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 9), 60)
        ws.freeze_panes = "B2"
        return ws

    label = o.period_label
    dated = s is not None and s.start_date is not None
    header = [label, *(["starts"] if dated else []), *names, "media spend"]
    header += [_label(m) for m in PERIOD_METRICS]
    rows = []
    for t in range(o.periods):
        day = s.period_start(t + 1) if s is not None else None
        row: list[Any] = [t + 1, *([day] if dated else [])]
        row += [round(float(v), 2) for v in spend[t]] + [round(float(spend[t].sum()), 2)]
        row += [float(o.per_period[m][t]) for m in PERIOD_METRICS]
        rows.append(row)
    first = 2 + dated
    money = {c: "#,##0.00" for c in range(first, first + len(names) + 1)}
    counts = {c: "#,##0.0" for c in range(first + len(names) + 1, len(header) + 1)}
    sheet(PLAN_SHEET, header, rows, {**money, **counts, **({2: "yyyy-mm-dd"} if dated else {})})

    if dated:
        months = by_month(plan)
        mh = ["month", *names, "media spend", "visits", "conversions", "webcare hours", "AE cases"]
        mrows = [
            [
                m.label,
                *(round(m.spend[tid], 2) for tid in plan.tactic_ids),
                round(sum(m.spend.values()), 2),
                m.totals["visits"],
                m.totals["conversions"],
                m.totals["webcare_hours"],
                m.totals["ae_cases"],
            ]
            for m in months
        ]
        sheet("Monthly plan", mh, mrows, {c: "#,##0" for c in range(2, len(mh) + 1)})

    totals = o.totals
    trows: list[list[Any]] = [
        [phase, _label(m), float(totals[m])]
        for phase in ("awareness", "consideration", "conversion", "workload", "costs")
        for m in metrics.in_phase(phase)
    ]
    trows += [["KPI", k.replace("_", " "), v] for k, v in o.kpis.items() if v is not None]
    trows += [["community", c, "on" if on else "off"] for c, on in plan.community.items()]
    sheet("Totals", ["phase", "measure", "value"], trows, {3: "#,##0.00"})

    arows: list[list[Any]] = []
    if s is not None:
        changed = s.overridden
        for p in sorted(set(s.sources) | set(changed)):
            try:
                value = s.value_at(p)
            except FunnelOptError:
                value = None
            value = value if isinstance(value, int | float | str) or value is None else str(value)
            was = changed.get(p, "")
            was = was if isinstance(was, int | float | str) or was is None else str(was)
            arows.append([p, value, s.sources.get(p, ""), "" if p not in changed else was])
    sheet("Assumptions", ["input", "value used", "source", "changed from"], arows, {})
    del wb["Sheet"]
    out = Path(path)
    wb.save(out)
    return out


def read_plan(path: str | Path) -> list[list[Any]]:
    """The rows of a workbook's plan sheet (``Weekly plan``, else the first sheet), header
    first, as values."""
    openpyxl = require_openpyxl()
    from zipfile import BadZipFile

    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None
    ws = wb[PLAN_SHEET] if PLAN_SHEET in wb.sheetnames else wb.worksheets[0]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    wb.close()
    return rows
