"""Armed faults of one simulated venue: counted (429, 5xx, reject), timed (delay, stale, outage)."""

from __future__ import annotations

from collections.abc import Callable

from arb.sim.scenario import Fault, FaultKind

COUNTED = (
    FaultKind.HTTP_429,
    FaultKind.HTTP_5XX_AFTER_PLACE,
    FaultKind.REJECT_NEXT_ORDER,
    FaultKind.STRAY_SNAPSHOT,
)
TIMED = (FaultKind.DELAY, FaultKind.STALE, FaultKind.OUTAGE)


class FaultBoard:
    """What is currently going wrong on one venue; the clock is monotonic seconds."""

    def __init__(self, clock: Callable[[], float]) -> None:
        """Start with nothing armed."""
        self._clock = clock
        self._counted: dict[FaultKind, list[Fault]] = {k: [] for k in COUNTED}
        self._timed: dict[FaultKind, tuple[float, Fault]] = {}

    def arm(self, fault: Fault) -> None:
        """Arm a counted or timed fault (instant faults are not kept here)."""
        if fault.kind in COUNTED:
            self._counted[fault.kind].extend([fault] * max(fault.count, 1))
        elif fault.kind in TIMED:
            self._timed[fault.kind] = (self._clock() + fault.duration_ms / 1000, fault)
        else:
            raise ValueError(f"{fault.kind} is an instant fault; the simulator fires it")

    def take(self, kind: FaultKind, symbol: str = "") -> Fault | None:
        """Consume one armed occurrence of a counted fault (aimed at `symbol`), or None."""
        queue = self._counted[kind]
        for at, fault in enumerate(queue):
            if not symbol or not fault.symbol or fault.symbol == symbol:
                return queue.pop(at)
        return None

    def _active(self, kind: FaultKind) -> Fault | None:
        entry = self._timed.get(kind)
        if entry is None:
            return None
        until, fault = entry
        if self._clock() >= until:
            del self._timed[kind]
            return None
        return fault

    def delay_ms(self) -> int:
        """Milliseconds every REST answer waits now (0 when no delay fault is active)."""
        fault = self._active(FaultKind.DELAY)
        return fault.delay_ms if fault else 0

    def down(self) -> bool:
        """True while an outage fault is active: the venue answers nothing usable."""
        return self._active(FaultKind.OUTAGE) is not None

    def stale_ms(self) -> int:
        """Milliseconds venue timestamps lag now (0 when no stale fault is active)."""
        fault = self._active(FaultKind.STALE)
        return fault.stale_ms if fault else 0
