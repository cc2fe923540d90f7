"""round_down and common_step: exact step arithmetic, checked by example and by brute force."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arb.domain.rounding import common_step, round_down

D = Decimal


@pytest.mark.parametrize(
    ("amount", "step", "expected"),
    [
        ("0.1234", "0.001", "0.123"),
        ("0.123", "0.001", "0.123"),  # already on the grid
        ("0.0009", "0.001", "0"),
        ("7", "2.5", "5"),
        ("-1.2345", "0.01", "-1.24"),  # floor, not toward zero
        ("123456789012345678901234567890.123", "0.000001", "123456789012345678901234567890.123"),
    ],
)
def test_round_down(amount: str, step: str, expected: str) -> None:
    assert round_down(D(amount), D(step)) == D(expected)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("0.000001", "0.0001", "0.0001"),  # MEXC-style BTC step vs a coarser venue
        ("0.0001", "0.001", "0.001"),  # MEXC LTC vs Gate LTC
        ("0.01", "0.001", "0.01"),  # MEXC XRP vs Gate XRP
        ("0.25", "0.1", "0.5"),
        ("0.5", "0.2", "1"),
        ("10", "4", "20"),
        ("0.3", "0.3", "0.3"),
    ],
)
def test_common_step(a: str, b: str, expected: str) -> None:
    step = common_step(D(a), D(b))

    assert step == D(expected)
    assert str(step) == expected  # no trailing zeros, no exponent notation


@pytest.mark.parametrize(("a", "b"), [("0", "0.1"), ("0.1", "-0.1")])
def test_common_step_refuses_non_positive_steps(a: str, b: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        common_step(D(a), D(b))


def test_round_down_refuses_a_non_positive_step() -> None:
    with pytest.raises(ValueError, match="positive"):
        round_down(D(1), D(0))


# Steps like venues use (1e-6 .. 25), kept where the brute force below stays quick.
STEPS = st.builds(
    lambda units, places: D(units).scaleb(-places),
    st.sampled_from([1, 2, 4, 5, 25]),
    st.integers(0, 6),
)


@settings(max_examples=200, deadline=None)
@given(STEPS, STEPS)
def test_common_step_is_the_least_common_multiple(a: Decimal, b: Decimal) -> None:
    step = common_step(a, b)

    assert step % a == 0
    assert step % b == 0
    small, large = sorted((a, b))
    multiple = large
    while multiple % small:  # the brute-force least common multiple
        multiple += large
    assert step == multiple


@settings(max_examples=200, deadline=None)
@given(st.decimals(-(10**6), 10**6, places=8), STEPS)
def test_round_down_is_the_largest_multiple_not_above(amount: Decimal, step: Decimal) -> None:
    down = round_down(amount, step)

    assert down % step == 0
    assert down <= amount < down + step
