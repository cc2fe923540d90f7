"""A cumulative histogram cheap enough for the per-update path (one bisect, two additions).

The metrics endpoint reads it at scrape time; the hot path never touches prometheus_client.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

# Frame arrival to decision, seconds: from well under our own p50 to a stalled loop.
LATENCY_BOUNDS_S = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)


@dataclass(slots=True)
class Histogram:
    """Counts per bucket (upper bounds inclusive, as Prometheus' `le`) and the running sum."""

    bounds: tuple[float, ...] = LATENCY_BOUNDS_S
    counts: list[int] = field(default_factory=list)  # one per bound, then the overflow
    total: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        """Count one value."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, int]]:
        """(le, count of values <= le) per bound, ending with +Inf: Prometheus' buckets."""
        out: list[tuple[str, int]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out
