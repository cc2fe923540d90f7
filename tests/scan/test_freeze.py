"""Start-up's heap leaves the collector's walks only where the imports' heap did."""

from __future__ import annotations

import gc

from arb.scan.engine import freeze_start_up


def test_start_up_is_frozen_only_after_the_imports_were() -> None:
    assert gc.get_freeze_count() == 0  # pytest's own process: nothing frozen
    assert freeze_start_up() is False
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        built = [[i] for i in range(1000)]  # what start-up builds (lists: always tracked)
        assert freeze_start_up() is True
        assert gc.get_freeze_count() >= frozen + len(built)
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
