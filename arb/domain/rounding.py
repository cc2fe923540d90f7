"""Exact step arithmetic for order amounts: truncate to a step, and the step two venues share."""

from __future__ import annotations

from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow
from functools import lru_cache
from math import lcm

# Every operation under this context either is exact or raises: amounts decide money, so a
# silently rounded product or quotient would be a bug, not a precision choice.
EXACT = Context(prec=200, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])


def round_down(amount: Decimal, step: Decimal) -> Decimal:
    """The largest whole multiple of `step` not above `amount` (step > 0), exactly."""
    if not step > 0:
        raise ValueError(f"step must be positive, got {step}")
    down = EXACT.multiply(EXACT.divide_int(amount, step), step)  # divide_int truncates to 0
    return EXACT.subtract(down, step) if down > amount else down  # negative amounts: floor


@lru_cache(maxsize=4096)
def common_step(a: Decimal, b: Decimal) -> Decimal:
    """The least common multiple of two positive decimal steps (0.000001, 0.0001 -> 0.0001).

    Cached: it depends only on two markets' static steps and is asked on every evaluation.
    """
    if not (a > 0 and b > 0):
        raise ValueError(f"steps must be positive, got {a} and {b}")
    scale = max(0, -_exponent(a), -_exponent(b))
    whole = lcm(int(a.scaleb(scale, EXACT)), int(b.scaleb(scale, EXACT)))
    step = Decimal(whole).scaleb(-scale, EXACT).normalize(EXACT)
    # normalize() drops trailing zeros (0.000100 -> 0.0001) but writes 10 as 1E+1: undo that.
    return step if _exponent(step) <= 0 else step.quantize(Decimal(1), context=EXACT)


def _exponent(x: Decimal) -> int:
    exponent = x.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: checked positive by the caller
    return exponent
