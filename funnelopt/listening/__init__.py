"""Social listening: did the conversation grow after the launch, and about what?

Reading a listening tool's export (:func:`read_mentions`), the lift against a
counterfactual fitted before the launch (:func:`lift`, which needs the ``listening``
extra: statsmodels), and topics before and after (:func:`topic_lift`,
:func:`topic_shares`). An analysis of its own: it does not use the optimiser.

>>> from funnelopt.listening import read_mentions, lift
>>> m = read_mentions("examples/mentions.csv")  # doctest: +SKIP
>>> print(lift(m, "2027-03-01"))                 # doctest: +SKIP
"""

from __future__ import annotations

from funnelopt.listening.exports import HEADERS, ListeningError, Mentions, read_mentions
from funnelopt.listening.model import Lift, lift
from funnelopt.listening.topics import TopicLift, TopicShare, topic_lift, topic_shares

__all__ = [
    "HEADERS",
    "Lift",
    "ListeningError",
    "Mentions",
    "TopicLift",
    "TopicShare",
    "lift",
    "read_mentions",
    "topic_lift",
    "topic_shares",
]
