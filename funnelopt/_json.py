"""The one JSON encoding of every document funnelopt writes: sorted keys, two-space indent,
so the same input gives the same bytes (scenario, outcome, plan, sweep, the CLI's and the
service's documents)."""

from __future__ import annotations

import json
from typing import Any


def dumps(data: Any) -> str:
    """``data`` as deterministic JSON text."""
    return json.dumps(data, indent=2, sort_keys=True)
