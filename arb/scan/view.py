"""What the summary, the live table and the status server read from a running scan.

One process (`arb.scan.engine.Pipeline`) and worker shards (`arb.scan.shards.Shards`) both
offer it, so those readers do not care how the books are spread over processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from arb.domain.opportunity import Opportunity
    from arb.scan.detector import Limits, Stats
    from arb.scan.engine import FeedState


class DetectionView(Protocol):
    """The detector's counters, its current opportunities and its limits."""

    @property
    def stats(self) -> Stats: ...

    @property
    def current(self) -> Mapping[tuple[str, str, str], Opportunity]: ...

    @property
    def limits(self) -> Limits: ...

    def set_limits(self, limits: Limits) -> None:
        """Use `limits` from the next evaluation on (settings reloaded while running)."""


class ScanView(Protocol):
    """A running scan: per-venue feeds, detection, and the venues that never answered."""

    @property
    def feeds(self) -> Mapping[str, FeedState]: ...

    @property
    def detector(self) -> DetectionView: ...

    def book_age_ms(self, venue: str) -> float | None:
        """Age of the oldest current book of `venue`, ms."""

    def unreachable(self) -> dict[str, str]:
        """Venues that have not answered since start-up, with their REST URL."""
