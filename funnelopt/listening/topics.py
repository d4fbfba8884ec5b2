"""What the target group talks about: topic (or sentiment) shares before and after the
launch with each one's own lift, and the shares just before a campaign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np

from funnelopt.errors import Problem
from funnelopt.listening.exports import ListeningError, Mentions
from funnelopt.listening.model import Lift, lift

#: A topic with fewer mentions than this before the launch gets a share but no lift.
MIN_TOPIC_MENTIONS = 30


@dataclass(frozen=True)
class TopicShare:
    """A topic's mentions and share of all tagged mentions over a stretch of periods."""

    topic: str
    mentions: int
    share: float

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "mentions": self.mentions, "share": self.share}


@dataclass(frozen=True)
class TopicLift:
    """A topic's share before and after the launch and its own lift (None, with the
    reason in ``note``, where there is too little to fit a baseline)."""

    topic: str
    share_before: float
    share_after: float
    lift: Lift | None
    note: str = ""

    @property
    def share_change(self) -> float:
        """After minus before, in share points (0.05 = five percentage points)."""
        return self.share_after - self.share_before

    def to_dict(self) -> dict[str, Any]:
        est = self.lift
        return {
            "topic": self.topic,
            "share_before": self.share_before,
            "share_after": self.share_after,
            "lift_pct": est.lift_pct if est else None,
            "interval": list(est.interval) if est else None,
            "p_positive": est.p_positive if est else None,
            "absolute": est.absolute if est else None,
            "verdict": est.verdict if est else None,
            "note": self.note,
        }


def _shares(groups: dict[str, int]) -> dict[str, float]:
    total = sum(groups.values())
    return {k: (v / total if total else 0.0) for k, v in groups.items()}


def _groups(m: Mentions, by: Literal["topic", "sentiment"]) -> dict[str, np.ndarray]:
    groups = dict(m.tagged(by))
    if not groups:
        raise ListeningError([Problem(by, "(none)", f"the data has no {by} column")])
    return groups


def topic_shares(
    m: Mentions,
    last: int = 8,
    before: date | str | int | None = None,
    by: Literal["topic", "sentiment"] = "topic",
) -> tuple[TopicShare, ...]:
    """Shares over the last ``last`` periods (before ``before``, the launch, when given),
    largest first: what the community's content could start from."""
    groups = _groups(m, by)
    end = m.index(before) if before is not None else len(m)
    if last < 1:
        raise ListeningError([Problem("last", last, "must be at least 1 period")])
    window = slice(max(0, end - last), end)
    counts = {k: int(v[window].sum()) for k, v in groups.items()}
    shares = _shares(counts)
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    return tuple(TopicShare(k, counts[k], shares[k]) for k in ranked)


def topic_lift(
    m: Mentions,
    start: date | str | int,
    by: Literal["topic", "sentiment"] = "topic",
    **options: Any,
) -> tuple[TopicLift, ...]:
    """Each topic's share before and after ``start`` and its own :func:`lift`, ranked by
    lift (topics without an estimate last, by share after the launch).

    Each interval holds at its own level: with ten topics, about one 90% interval misses
    by chance, so read a lone "more mentions" among many topics with care.
    """
    groups = _groups(m, by)
    pos = m.index(start)
    before = _shares({k: int(v[:pos].sum()) for k, v in groups.items()})
    after = _shares({k: int(v[pos:].sum()) for k, v in groups.items()})
    out = []
    for k, v in groups.items():
        pre = int(v[:pos].sum())
        if pre < MIN_TOPIC_MENTIONS:
            note = f"{pre} mentions before the launch: too few for a baseline (needs {MIN_TOPIC_MENTIONS})"
            out.append(TopicLift(k, before[k], after[k], None, note))
            continue
        try:
            est = lift(m.series(k, by), start, **options)
        except ListeningError as exc:
            out.append(
                TopicLift(k, before[k], after[k], None, "; ".join(p.rule for p in exc.problems))
            )
            continue
        out.append(TopicLift(k, before[k], after[k], est))
    return tuple(
        sorted(
            out,
            key=lambda t: (
                t.lift is None,
                -(t.lift.lift_pct if t.lift else t.share_after),
                t.topic,
            ),
        )
    )
