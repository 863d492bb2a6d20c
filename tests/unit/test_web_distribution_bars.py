"""The grade-distribution bars write shares that add up to 1.00, as the distribution does."""

from __future__ import annotations

import re

import pytest

from assetgrade.web.svg import distribution_bars


def _shown(svg: str) -> list[float]:
    return [float(v) for v in re.findall(r'class="val">([^<]+)</text>', svg)]


@pytest.mark.parametrize("probs", [
    {"A": 1 / 3, "B": 1 / 3, "C": 1 / 3},            # 0.33 three times: 0.99
    {"A": 0.125, "B": 0.125, "C": 0.125, "D": 0.625},  # rounds half to even: 0.12 + 0.12 + 0.12 + 0.62 = 0.98
    {"A": 0.005, "B": 0.005, "C": 0.99},               # 0.01 + 0.01 + 0.99 = 1.01 with half up
])
def test_shares_written_add_up_to_one(probs: dict[str, float]) -> None:
    svg = distribution_bars(probs, chosen="A")
    shown = _shown(svg)
    assert len(shown) == len(probs) and round(sum(shown), 2) == 1.0, shown
    assert all(abs(s - p) < 0.01 for s, p in zip(shown, probs.values(), strict=True))  # each off by under 0.01
    label = re.search(r'aria-label="([^"]+)"', svg)
    assert label is not None and label.group(1).endswith(", ".join(f"{g} {s:.2f}" for g, s in zip(probs, shown,
                                                                                                   strict=True)))


def test_a_distribution_that_does_not_add_up_is_written_as_it_is() -> None:
    # stored by another tool, say: the page must not hide that its shares do not add up to one
    assert _shown(distribution_bars({"A": 0.3, "B": 0.3}, chosen="A")) == [0.3, 0.3]
