"""A labelling guide for reviewers, generated from the ontology: grades, defects, rubric, synonyms, examples.

Reviewers who label from the same written rules agree more; generating the guide from the
ontology keeps it in step with what the grader uses (the guide names the ontology version).
Rendered as Markdown (for docs and the repository) and as a self-contained HTML page (for
the review UI).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assetgrade.ontology import Defect, Ontology
from assetgrade.review.markdown import md_block, md_code, md_text, md_url

__all__ = ["GuideExample", "LabellingGuide", "labelling_guide"]


@dataclass(frozen=True)
class GuideExample:
    """A reviewed example shown in the guide: an image (path, URL or evidence id) and its confirmed labels."""

    image: str
    grade: str | None = None
    severity: str | None = None
    note: str = ""


@dataclass(frozen=True)
class _DefectEntry:
    defect: Defect
    depth: int
    grade_by_severity: tuple[tuple[str, str], ...]
    examples: tuple[GuideExample, ...]


@dataclass
class LabellingGuide:
    """The guide's content; render with :meth:`markdown` or :meth:`html`.

    Examples
    --------
    >>> from assetgrade.ontology import default_ontology
    >>> guide = labelling_guide(default_ontology())
    >>> "## Grades" in guide.markdown() and "<h2>Grades</h2>" in guide.html()
    True
    """

    ontology: Ontology
    entries: list[_DefectEntry]
    grade_examples: dict[str, tuple[GuideExample, ...]] = field(default_factory=dict)
    adjudication_rule: str = ""

    def _findings_per_grade(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {g: [] for g in self.ontology.grades.names}
        for e in self.entries:
            for sev, grade in e.grade_by_severity:
                out[grade].append(f"{e.defect.name} ({sev})")
        return out

    def markdown(self) -> str:
        """The guide as Markdown; every name, id, path and note is escaped to show as written (see ``markdown``)."""
        ont = self.ontology
        lines = [
            f"# Labelling guide — {_md(ont.name)}",
            "",
            f"Generated from ontology {md_code(ont.name)} version {md_code(ont.version)}. Label what you see; when two "
            "defects are present, the worst grade wins.",
            "",
            "## Grades",
            "",
            "Best first. A finding's grade comes from the rubric (defect × severity); the asset gets the worst.",
            "",
            "| grade | name | description | findings that lead here |",
            "|---|---|---|---|",
        ]
        per_grade = self._findings_per_grade()
        for g in ont.grades.grades:
            findings = ", ".join(per_grade[g.id]) or "—"
            lines.append(f"| {_strong(g.id)} | {_md(g.name)} | {_md(g.description)} | {_md(findings)} |")
        lines += ["", "## Cosmetic vs functional", ""]
        lines.append(
            "*Cosmetic* defects change how an asset looks; *functional* defects change whether it works, "
            "lasts or is safe. When unsure, label the defect and severity you see; the rubric decides the grade."
        )
        lines.append("")
        for kind in ("cosmetic", "functional"):
            names = [_md(e.defect.name) for e in self.entries if e.defect.kind == kind]
            lines.append(f"- **{kind}**: {', '.join(names) or '—'}")
        lines += ["", "## Defects", ""]
        for e in self.entries:
            d = e.defect
            hashes = "#" * min(3 + e.depth, 6)
            lines += [f"{hashes} {_md(d.name)} ({md_code(d.id)}) — {_md(d.kind)}", ""]
            if d.description:
                lines += [md_block(d.description), ""]
            if d.synonyms:
                lines += [f"Also called: {', '.join(_md(s) for s in d.synonyms)}.", ""]
            lines += ["| severity | grade |", "|---|---|"]
            lines += [f"| {_md(sev)} | {_strong(grade)} |" for sev, grade in e.grade_by_severity]
            lines.append("")
            if e.examples:
                lines.append("Examples:")
                lines += [f"- {_example_md(x)}" for x in e.examples]
                lines.append("")
        if self.grade_examples:
            lines += ["## Reviewed examples by grade", ""]
            for grade, exs in self.grade_examples.items():
                lines.append(f"{_strong(grade)}:")
                lines += [f"- {_example_md(x)}" for x in exs]
                lines.append("")
        if self.adjudication_rule:
            lines += ["## When reviewers disagree", "", md_block(self.adjudication_rule), ""]
        return "\n".join(lines).rstrip() + "\n"

    def html(self) -> str:
        """The guide as a self-contained HTML page."""
        ont = self.ontology
        esc = html.escape
        parts = [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>Labelling guide — {esc(ont.name)}</title>",
            "<style>body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
            ".cosmetic{color:#06c}.functional{color:#c30}img{max-height:8em}</style>",
            "</head><body>",
            f"<h1>Labelling guide — {esc(ont.name)}</h1>",
            f"<p>Generated from ontology <code>{esc(ont.name)}</code> version <code>{esc(ont.version)}</code>. "
            "Label what you see; when two defects are present, the worst grade wins.</p>",
            "<h2>Grades</h2>",
            "<table><tr><th>grade</th><th>name</th><th>description</th><th>findings that lead here</th></tr>",
        ]
        per_grade = self._findings_per_grade()
        for g in ont.grades.grades:
            parts.append(
                f'<tr id="grade-{esc(g.id)}"><td><b>{esc(g.id)}</b></td><td>{esc(g.name)}</td>'
                f"<td>{esc(g.description)}</td><td>{esc(', '.join(per_grade[g.id]) or '—')}</td></tr>"
            )
        parts += ["</table>", "<h2>Cosmetic vs functional</h2>", "<ul>"]
        for kind in ("cosmetic", "functional"):
            names = ", ".join(esc(e.defect.name) for e in self.entries if e.defect.kind == kind)
            parts.append(f'<li class="{kind}"><b>{kind}</b>: {names or "—"}</li>')
        parts += ["</ul>", "<h2>Defects</h2>"]
        for e in self.entries:
            d = e.defect
            level = min(3 + e.depth, 6)
            parts.append(
                f'<h{level} id="defect-{esc(d.id)}">{esc(d.name)} (<code>{esc(d.id)}</code>) — '
                f'<span class="{esc(d.kind)}">{esc(d.kind)}</span></h{level}>'
            )
            if d.description:
                parts.append(f"<p>{esc(d.description)}</p>")
            if d.synonyms:
                parts.append(f"<p>Also called: {esc(', '.join(d.synonyms))}.</p>")
            rows = "".join(f"<tr><td>{esc(s)}</td><td><b>{esc(g)}</b></td></tr>" for s, g in e.grade_by_severity)
            parts.append(f"<table><tr><th>severity</th><th>grade</th></tr>{rows}</table>")
            if e.examples:
                parts.append("<ul>" + "".join(f"<li>{_example_html(x)}</li>" for x in e.examples) + "</ul>")
        if self.grade_examples:
            parts.append("<h2>Reviewed examples by grade</h2>")
            for grade, exs in self.grade_examples.items():
                parts.append(
                    f"<h3>{esc(grade)}</h3><ul>" + "".join(f"<li>{_example_html(x)}</li>" for x in exs) + "</ul>"
                )
        if self.adjudication_rule:
            parts += ["<h2>When reviewers disagree</h2>", f"<p>{esc(self.adjudication_rule)}</p>"]
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"


def _md(text: str) -> str:
    return md_text(text) or "—"


def _strong(text: str) -> str:
    return f"**{md_text(text)}**" if md_text(text) else "—"


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")


def _example_md(x: GuideExample) -> str:
    is_image = x.image.lower().endswith(_IMAGE_SUFFIXES)
    img = f"![{md_text(x.image)}]({md_url(x.image)})" if is_image else md_code(x.image)
    bits = [md_text(b) for b in (f"grade {x.grade}" if x.grade else "", x.severity or "", x.note) if md_text(b)]
    return f"{img} — {'; '.join(bits)}" if bits else img


def _example_html(x: GuideExample) -> str:
    esc = html.escape
    if x.image.lower().endswith(_IMAGE_SUFFIXES):
        img = f'<img src="{esc(x.image, quote=True)}" alt="{esc(x.image, quote=True)}">'
    else:
        img = f"<code>{esc(x.image)}</code>"
    bits = [b for b in (f"grade {x.grade}" if x.grade else "", x.severity or "", x.note) if b]
    return f"{img} {esc('; '.join(bits))}" if bits else img


def labelling_guide(
    ontology: Ontology,
    *,
    examples: Mapping[str, Sequence[GuideExample]] | None = None,
    max_spread: int = 1,
) -> LabellingGuide:
    """Build the guide; ``examples`` maps a defect id or a grade id to reviewed examples.

    Defects are listed depth-first (children under their parent); each severity shows the grade
    the rubric gives it. Example keys that are neither a defect nor a grade raise OntologyError.
    """
    examples = dict(examples or {})
    grade_ids = set(ontology.grades.names)
    for key in examples:
        if key not in grade_ids:
            ontology.defect(key)  # raises naming the known defects
    children: dict[str | None, list[str]] = {}
    for did, d in ontology.defects.items():
        children.setdefault(d.parent, []).append(did)
    entries: list[_DefectEntry] = []

    def walk(parent: str | None, depth: int) -> None:
        for did in sorted(children.get(parent, [])):
            d = ontology.defects[did]
            anc = ontology.ancestors(did)
            by_sev = tuple((s, ontology.rubric.grade_for_finding(d, s, anc)) for s in d.severities)
            entries.append(_DefectEntry(d, depth, by_sev, tuple(examples.get(did, ()))))
            walk(did, depth + 1)

    walk(None, 0)
    rule = (
        f"An item goes to an adjudicator when its ratings are more than {max_spread} grade"
        f"{'s' if max_spread != 1 else ''} apart or no grade has a majority. The adjudicator, who is not one of "
        "the reviewers, enters the final grade as the asset's last review: the newest review is the grade the "
        "system learns from, and the earlier reviews stay on record."
    )
    return LabellingGuide(
        ontology=ontology,
        entries=entries,
        grade_examples={g: tuple(examples[g]) for g in ontology.grades.names if g in examples},
        adjudication_rule=rule,
    )
