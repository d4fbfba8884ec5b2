"""Writes examples/mentions.csv: a SYNTHETIC social-listening export (no real data).

Weekly mentions of a condition in five topics over 2.5 years, with a slow upward trend,
a winter peak and negative-binomial noise; from 2027-03-01 (the community's launch) the
topics "daily life" and "diagnosis" are raised by 40% and 25%, the rest unchanged. So the
true lift of the total is known: +11% (30 of 270 weekly mentions) after the launch.

    python examples/make_mentions.py
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np

FIRST, LAUNCH, WEEKS = date(2025, 3, 3), date(2027, 3, 1), 130
#: topic: (mentions per week at the start, effect of the launch)
TOPICS = {
    "symptoms": (90.0, 0.0),
    "treatment": (70.0, 0.0),
    "diagnosis": (40.0, 0.25),
    "daily life": (50.0, 0.40),
    "side effects": (20.0, 0.0),
}
DISPERSION = 0.04  # NB2 alpha: variance = mu + alpha mu^2


def main() -> None:
    rng = np.random.default_rng(2027)
    lines = [
        "# SYNTHETIC example export made by examples/make_mentions.py - not real data.",
        "Date,Category,Volume",
    ]
    for w in range(WEEKS):
        day = FIRST + timedelta(weeks=w)
        season = 0.25 * np.cos(2 * np.pi * (day.timetuple().tm_yday - 15) / 365.25)
        for topic, (base, effect) in TOPICS.items():
            mu = base * np.exp(0.10 * w / 52 + season) * (1 + effect * (day >= LAUNCH))
            r = 1 / DISPERSION
            lines.append(f"{day.isoformat()},{topic},{rng.negative_binomial(r, r / (r + mu))}")
    out = Path(__file__).with_name("mentions.csv")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
