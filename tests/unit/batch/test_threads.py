"""The thread limits a Ray task sets: read from the driver's environment, checked where they come from."""

from __future__ import annotations

import pytest

from assetgrade.batch.threads import ThreadLimits
from assetgrade.errors import ValidationError


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, ThreadLimits(blas=1, openmp=1)),  # a task holds one CPU
    ({"OMP_NUM_THREADS": "3"}, ThreadLimits(blas=3, openmp=3)),  # OpenBLAS and MKL fall back on OMP_NUM_THREADS
    ({"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "2"}, ThreadLimits(blas=2, openmp=3)),
    ({"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "1"}, ThreadLimits(blas=1, openmp=3)),
    ({"OMP_NUM_THREADS": "4,2"}, ThreadLimits(blas=4, openmp=4)),  # nested OpenMP: the outer level
    ({"OMP_NUM_THREADS": " ", "OPENBLAS_NUM_THREADS": ""}, ThreadLimits(blas=1, openmp=1)),  # empty is unset
])
def test_the_limits_come_from_the_drivers_thread_variables(environ: dict[str, str], expected: ThreadLimits) -> None:
    assert ThreadLimits.from_environ(environ) == expected


@pytest.mark.parametrize("value", ["0", "-1", "two", "2.5", ",2"])
def test_a_thread_variable_that_is_not_a_count_is_named(value: str) -> None:
    with pytest.raises(ValidationError, match=rf"^environment: OPENBLAS_NUM_THREADS={value!r} must be a whole number"):
        ThreadLimits.from_environ({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": value})


@pytest.mark.parametrize("bad", [0, -2, True, 1.0])
def test_limits_below_one_thread_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match=rf"^ThreadLimits: openmp={bad!r} must be a whole number"):
        ThreadLimits(blas=1, openmp=bad)  # type: ignore[arg-type]


def test_the_variables_a_task_sets_carry_the_limits() -> None:
    assert ThreadLimits(blas=2, openmp=3).environ() == {"OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "2",
                                                        "MKL_NUM_THREADS": "2"}
