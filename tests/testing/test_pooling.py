"""Dorfman's pool-size advice against his published table and a brute-force computation."""

from __future__ import annotations

import math

import pytest

from phongdich.errors import Invalid
from phongdich.testing import pooling

# Dorfman (1943), "The detection of defective members of large populations", table 1:
# prevalence → optimum group size and relative cost (expected tests per person).
DORFMAN = [
    (0.01, 11, 0.196),
    (0.02, 8, 0.274),
    (0.05, 5, 0.426),
    (0.10, 4, 0.594),
    (0.15, 3, 0.724),
    (0.20, 3, 0.821),
    (0.30, 3, 0.990),
]


@pytest.mark.parametrize(("prevalence", "size", "cost"), DORFMAN)
def test_the_advice_matches_dorfmans_published_table(
    prevalence: float, size: int, cost: float
) -> None:
    advice = pooling.advise(prevalence)
    assert advice.pool_size == size
    # Dorfman's table was computed by hand; his 0.15 row is 0.005 off the exact figure.
    assert advice.tests_per_person == pytest.approx(cost, abs=0.006)
    assert advice.capacity_gain == pytest.approx(1 / advice.tests_per_person, rel=1e-3)
    assert advice.pool_positive_probability == pytest.approx(1 - (1 - prevalence) ** size, abs=1e-6)


@pytest.mark.parametrize("prevalence", [0.31, 0.4, 0.75, 1.0])
def test_above_about_a_third_pooling_does_not_pay(prevalence: float) -> None:
    advice = pooling.advise(prevalence)
    assert (advice.pool_size, advice.tests_per_person, advice.capacity_gain) == (1, 1.0, 1.0)
    assert advice.pool_positive_probability == prevalence


def test_the_break_even_prevalence_is_near_0_3066() -> None:
    assert pooling.advise(0.306).pool_size == 3
    assert pooling.advise(0.3075).pool_size == 1


def test_the_maximum_caps_the_pool() -> None:
    assert pooling.advise(0.01, 10).pool_size == 10
    assert pooling.advise(0.01, 10).max_pool_size == 10
    assert pooling.advise(0.01, 12).pool_size == 11
    assert pooling.advise(0.02, 1).pool_size == 1


def brute_force(prevalence: float, max_size: int) -> tuple[int, float]:
    """Expected tests per person by enumerating how many of a pool are positive."""
    best: tuple[int, float] | None = None
    for k in range(1, max_size + 1):
        if k == 1:
            cost = 1.0
        else:
            # P(no positive among k) from the binomial distribution, summed term by term.
            clean = math.comb(k, 0) * prevalence**0 * (1 - prevalence) ** k
            any_positive = sum(
                math.comb(k, j) * prevalence**j * (1 - prevalence) ** (k - j)
                for j in range(1, k + 1)
            )
            assert clean + any_positive == pytest.approx(1.0)
            cost = (1 + k * any_positive) / k
        if best is None or cost < best[1] - 1e-12:
            best = (k, cost)
    assert best is not None
    return best


@pytest.mark.parametrize("prevalence", [0.001, 0.003, 0.008, 0.03, 0.07, 0.12, 0.25, 0.29])
def test_the_formula_agrees_with_brute_force(prevalence: float) -> None:
    size, cost = brute_force(prevalence, 60)
    advice = pooling.advise(prevalence, 60)
    assert advice.pool_size == size
    assert advice.tests_per_person == pytest.approx(cost, abs=1e-6)
    for k in (2, 5, 17):
        expected = (1 + k * (1 - (1 - prevalence) ** k)) / k
        assert pooling.tests_per_person(prevalence, k) == pytest.approx(expected)


def test_no_prevalence_means_the_largest_pool() -> None:
    advice = pooling.advise(0.0, 30)
    assert advice.pool_size == 30
    assert advice.tests_per_person == pytest.approx(1 / 30, abs=1e-6)


@pytest.mark.parametrize("prevalence", [-0.01, 1.01, math.nan, math.inf, -math.inf])
def test_a_prevalence_outside_0_to_1_is_refused(prevalence: float) -> None:
    with pytest.raises(Invalid) as caught:
        pooling.advise(prevalence)
    assert caught.value.field == "prevalence"


@pytest.mark.parametrize("maximum", [0, -3, 1001])
def test_a_maximum_outside_1_to_1000_is_refused(maximum: int) -> None:
    with pytest.raises(Invalid) as caught:
        pooling.advise(0.02, maximum)
    assert caught.value.field == "max"
