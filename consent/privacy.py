"""Noise for the restricted analyses (R6): the discrete Laplace distribution
(two-sided geometric), sampled exactly from a cryptographically secure source.

A draw ``k`` has probability ``(1 - a) / (1 + a) * a ** abs(k)`` for every
integer ``k``, with ``a = exp(-epsilon / sensitivity)``. Added to a table of
counts in which one citizen changes at most ``sensitivity`` in total (summed
over the cells), it makes the table epsilon-differentially private (the
geometric mechanism of Ghosh, Roughgarden and Sundararajan, 2009). Anything
computed from the noisy table alone — totals, suppression — costs nothing more.

Sampled with integer and rational arithmetic only, as in Canonne, Kamath and
Steinke, "The Discrete Gaussian for Differential Privacy" (2020), algorithms 1
and 2: floating-point noise can leak the value under it through its rounding
(Mironov, 2012). Every random bit comes from :mod:`secrets`, the operating
system's generator; a seeded generator could be replayed and the noise
subtracted.
"""

from __future__ import annotations

import secrets
from fractions import Fraction

__all__ = ["discrete_laplace"]


def _bernoulli(p: Fraction) -> bool:
    """True with probability ``p`` (0 ≤ p ≤ 1), exactly."""
    return secrets.randbelow(p.denominator) < p.numerator


def _bernoulli_exp_small(gamma: Fraction) -> bool:
    """True with probability ``exp(-gamma)`` for 0 ≤ gamma ≤ 1.

    Draw Bernoulli(gamma/1), Bernoulli(gamma/2), … until one fails; the number
    of draws made is odd with probability exactly ``exp(-gamma)`` (the series
    of ``exp(-gamma)``, summed by a coin).
    """
    k = 1
    while _bernoulli(gamma / k):
        k += 1
    return k % 2 == 1


def _bernoulli_exp(gamma: Fraction) -> bool:
    """True with probability ``exp(-gamma)`` for gamma ≥ 0: one coin of
    ``exp(-1)`` per whole unit, then one for the fraction left."""
    whole = gamma.numerator // gamma.denominator
    for _ in range(whole):
        if not _bernoulli_exp_small(Fraction(1)):
            return False
    return _bernoulli_exp_small(gamma - whole)


def discrete_laplace(*, epsilon: Fraction, sensitivity: int) -> int:
    """One draw of discrete Laplace noise with scale ``sensitivity / epsilon``.

    Writing ``epsilon / sensitivity`` as ``s / t``: a geometric number of whole
    ``t``-blocks plus a remainder ``u`` accepted with probability
    ``exp(-u / t)`` gives a geometric ``x`` with ratio ``exp(-1 / t)``; ``x // s``
    is then geometric with ratio ``exp(-s / t)``. A fair sign, with the
    negative zero thrown back, makes it two-sided.
    """
    if epsilon <= 0 or sensitivity < 1:
        raise ValueError("epsilon must be positive and sensitivity at least 1.")
    ratio = epsilon / sensitivity
    s, t = ratio.numerator, ratio.denominator
    while True:
        remainder = secrets.randbelow(t)
        if not _bernoulli_exp(Fraction(remainder, t)):
            continue
        blocks = 0
        while _bernoulli_exp(Fraction(1)):
            blocks += 1
        magnitude = (remainder + t * blocks) // s
        negative = secrets.randbelow(2) == 1
        if negative and magnitude == 0:
            continue
        return -magnitude if negative else magnitude
