"""How many assets have a grade and which grades they are, counted in SQL without loading the records.

:func:`grade_label_counts` gives what :func:`~assetgrade.store.loading.load_records` would give for
``AssetRecord.grade`` over the whole workspace (the assets, those with a grade, the distinct grades)
without building a record: a few aggregate queries over ``labels``, so that a request path (the
REST service's 404 for a workspace without a grader) can afford it on a large workspace.

It follows :mod:`assetgrade.store.precedence` exactly:

* an asset has a grade when it has a human grade label (:func:`~assetgrade.store.precedence.is_machine_label`
  decides, in Python, over the few distinct sources and annotators the store holds, so SQL never has
  to fold case or strip spaces its own way);
* an asset whose human grade labels all say one grade has that grade, whatever their order;
* only an asset whose human labels disagree needs the precedence rule, and only when one of its
  values is not among those grades (else its grade is one of them, whichever wins): its labels are
  read and ranked by
  :func:`~assetgrade.store.precedence.current_grade_label`, the function ``load_records`` uses.

Withdrawn evidence does not matter: ``load_records`` ranks an asset's grade labels whatever evidence
they name.

Given the ontology's grade scale, it also counts the assets whose grade is not on it (labels stored
under an earlier ontology, or imported in another vocabulary): ``assetgrade train`` refuses every
such label, so they decide whether it can run as much as the grades on the scale do. Those counts
are exact too: every asset whose disagreeing human labels include a value off the scale is ranked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from assetgrade.store.precedence import current_grade_label, grade_order, is_machine_label
from assetgrade.store.schema import Asset, Label

__all__ = ["GradeLabelCounts", "grade_label_counts"]

_CHUNK = 500


@dataclass(frozen=True)
class GradeLabelCounts:
    """The workspace's assets, how many have a grade (``AssetRecord.grade`` set) and the distinct grades, sorted.

    Examples
    --------
    >>> c = GradeLabelCounts(assets=4, labelled=2, grades=("B",))
    >>> c.trainable
    False
    >>> c = GradeLabelCounts(assets=9, labelled=8, grades=("A", "C", "good"), off_scale=(("good", 5),))
    >>> c.on_scale, c.n_off_scale, c.trainable
    (('A', 'C'), 5, False)
    """

    assets: int
    labelled: int
    grades: tuple[str, ...]
    off_scale: tuple[tuple[str, int], ...] = ()
    """The grades among ``grades`` that are not on the scale :func:`grade_label_counts` was given, each with
    its number of assets, most assets first (then by name); empty when it was given none."""

    @property
    def on_scale(self) -> tuple[str, ...]:
        """The grades on the scale (all of ``grades`` when no scale was given)."""
        off = {g for g, _ in self.off_scale}
        return tuple(g for g in self.grades if g not in off)

    @property
    def n_off_scale(self) -> int:
        """How many labelled assets have a grade that is not on the scale."""
        return sum(n for _, n in self.off_scale)

    @property
    def trainable(self) -> bool:
        """Whether ``assetgrade train`` can run: two grades or more on the scale and none off it (it refuses those).

        Train checks its folds itself.
        """
        return len(self.on_scale) >= 2 and not self.off_scale


def _human(session: Session) -> ColumnElement[bool]:
    """SQL for a human grade label: the machine spellings of source and annotator found in the store are left out."""
    def machine(col: InstrumentedAttribute[str]) -> list[str]:
        values = session.execute(select(col).where(Label.kind == "grade").distinct()).scalars()
        return sorted(v for v in values if is_machine_label(v, v))  # one value names a machine: it is one

    return and_(Label.kind == "grade", Label.source.not_in(machine(Label.source)),
                Label.annotator.not_in(machine(Label.annotator)))


def _ranked_grades(session: Session, asset_ids: Sequence[str]) -> Counter[str]:
    """How many of ``asset_ids`` have each grade by the precedence rule, ranked as load_records ranks them."""
    out: Counter[str] = Counter()
    for start in range(0, len(asset_ids), _CHUNK):
        chunk = list(asset_ids[start:start + _CHUNK])
        labels: dict[str, list[Label]] = defaultdict(list)
        for lb in session.execute(select(Label).where(Label.kind == "grade", Label.asset_id.in_(chunk))).scalars():
            labels[lb.asset_id].append(lb)
        versions = grade_order(session, chunk)
        for aid in chunk:
            if (best := current_grade_label(labels[aid], versions)) is not None:
                out[best.value] += 1
    return out


def grade_label_counts(session: Session, scale: Sequence[str] | None = None) -> GradeLabelCounts:
    """The assets, those with a grade and their distinct grades, as :func:`load_records` would give them.

    With ``scale`` (the ontology's grades), also the grades that are not on it and their assets
    (``off_scale``). Six queries (the distinct sources and annotators of grade labels, then four counts
    and lists), plus the precedence rule for the assets (usually none) whose human labels disagree and
    name a grade that is off the scale or that no asset with agreeing labels has.
    """
    human = _human(session)
    assets = int(session.scalar(select(func.count()).select_from(Asset)) or 0)
    labelled = int(session.scalar(select(func.count(Label.asset_id.distinct())).where(human)) or 0)
    agreed = (select(func.min(Label.value).label("value")).where(human).group_by(Label.asset_id)
              .having(func.count(Label.value.distinct()) == 1).subquery())
    per_grade = Counter({str(v): int(n) for v, n in
                         session.execute(select(agreed.c.value, func.count()).group_by(agreed.c.value))})
    settled = sorted(g for g in per_grade if scale is None or g in scale)
    disputed = select(Label.asset_id).where(human).group_by(Label.asset_id).having(
        func.count(Label.value.distinct()) > 1)
    # an asset whose values are all among the settled grades on the scale has one of them, whichever wins
    open_ids = sorted(session.execute(select(Label.asset_id).where(human, Label.asset_id.in_(disputed),
                                                                   Label.value.not_in(settled))
                                      .distinct()).scalars())
    per_grade.update(_ranked_grades(session, open_ids))
    off = [] if scale is None else [(g, n) for g, n in per_grade.items() if g not in scale]
    return GradeLabelCounts(assets=assets, labelled=labelled, grades=tuple(sorted(per_grade)),
                            off_scale=tuple(sorted(off, key=lambda gn: (-gn[1], gn[0]))))
