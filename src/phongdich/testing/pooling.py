"""Pool-size advice under Dorfman's two-stage scheme.

A pool of k swabs is tested once; if it is positive every member is retested alone. With
prevalence p the expected number of tests per person is 1/k + 1 - (1-p)^k (Dorfman, 1943).
Pooling pays only while that stays below 1 (p below about 0.31).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from phongdich.errors import Invalid

# The largest pool the advice considers when no maximum is given; past it dilution, not
# arithmetic, limits real pools.
DEFAULT_MAX = 100


@dataclass(frozen=True)
class Advice:
    prevalence: float
    max_pool_size: int
    pool_size: int
    tests_per_person: float
    capacity_gain: float  # people tested per test: 1 / tests_per_person
    pool_positive_probability: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def tests_per_person(prevalence: float, pool_size: int) -> float:
    """Expected tests per person; a pool of one is a single test."""
    if pool_size == 1:
        return 1.0
    return 1.0 / pool_size + 1.0 - (1.0 - prevalence) ** pool_size


def check_prevalence(value: float, field: str = "prevalence") -> float:
    if not 0.0 <= value <= 1.0 or value != value:
        raise Invalid(field, "a fraction from 0 to 1, such as 0.02 for 2%")
    return value


def advise(prevalence: float, max_pool_size: int = DEFAULT_MAX) -> Advice:
    """The pool size from 1 to the maximum with the fewest expected tests per person."""
    check_prevalence(prevalence)
    if not 1 <= max_pool_size <= 1000:
        raise Invalid("max", "a pool size from 1 to 1000")
    best = min(range(1, max_pool_size + 1), key=lambda k: (tests_per_person(prevalence, k), k))
    expected = tests_per_person(prevalence, best)
    return Advice(
        prevalence=prevalence,
        max_pool_size=max_pool_size,
        pool_size=best,
        tests_per_person=round(expected, 6),
        capacity_gain=round(1.0 / expected, 4),
        pool_positive_probability=round(
            1.0 - (1.0 - prevalence) ** best if best > 1 else prevalence, 6
        ),
    )
