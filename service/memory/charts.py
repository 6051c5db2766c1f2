"""What each clinician was last shown on each chart, so that reopening a chart shows the same
cards instead of the next ones.

The repeat window hides an item a learner was shown in the last 30 days. On its own it also
hid the cards of the chart the learner just closed: every reopening of the same chart showed
the next-ranked items (issue 16). The hook service passes the items a chart showed when last opened
to the ranking as `on_chart` (exempt from the window there, never from a dismissal, snooze or
completed cycle) and remembers what it shows now.

A chart is a keyed hash of the learner, the hook and the patient id (HMAC with the
learner-key secret): no patient id is held, nothing is written or logged. Per worker, in
memory, bounded (least recently used first out) and forgotten `ttl_seconds` after the
chart's first opening: a reopening served by another worker, after a restart or the next day
chooses afresh.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

MAX_CHARTS = 20_000
CHART_TTL_SECONDS = 12 * 3600.0  # a working day: the next visit may teach something new


def chart_key(secret: bytes, learner: str, hook: str, patient_id: str) -> bytes:
    """A pseudonymous key for one learner's chart of one patient in one hook."""
    message = "\x1f".join((learner, hook, patient_id)).encode()
    return hmac.new(secret, message, hashlib.sha256).digest()[:16]


class ChartMemory:
    """The items each recent chart showed when it was last opened."""

    def __init__(
        self,
        *,
        ttl_seconds: float = CHART_TTL_SECONDS,
        max_charts: int = MAX_CHARTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_charts
        self._clock = clock
        self._charts: OrderedDict[bytes, tuple[float, frozenset[str]]] = OrderedDict()

    def shown(self, chart: bytes) -> frozenset[str]:
        """The items the chart showed when last opened (none when unknown or expired)."""
        entry = self._charts.get(chart)
        if entry is None:
            return frozenset()
        if self._clock() - entry[0] > self._ttl:
            del self._charts[chart]
            return frozenset()
        return entry[1]

    def remember(self, chart: bytes, item_ids: Iterable[str]) -> None:
        """What the chart shows now (replacing what it showed before). The entry keeps the
        time of the chart's first opening, so that a chart reopened all day long still
        chooses afresh `ttl_seconds` after it was first opened."""
        now = self._clock()
        entry = self._charts.get(chart)
        since = entry[0] if entry is not None and now - entry[0] <= self._ttl else now
        self._charts[chart] = (since, frozenset(item_ids))
        self._charts.move_to_end(chart)
        while len(self._charts) > self._max:
            self._charts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._charts)
