"""Audit report output: the JSON document and a self-contained HTML page of one ``run_checks`` run."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from assetgrade.audit.base import AuditReport
from assetgrade.errors import StoreError, ValidationError

__all__ = ["report_html", "report_json", "write_report"]

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>assetgrade audit</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}
@media (max-width:600px){body{margin:1rem}}  /* a phone: its width for the text, not the margins */
.pass{color:#176d2c}.fail{color:#a3151b}.skip{color:#666}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
.scroll{overflow-x:auto}details{margin:.3rem 0}pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:24rem}
</style></head><body>
<h1>Data-fidelity audit:
<span class="{{ 'pass' if rep.passed else 'fail' }}">{{ 'PASSED' if rep.passed else 'FAILED' }}</span></h1>
<p>{{ rep.n_items }} items; failed: {{ rep.failed | join(', ') if rep.failed else 'none' }}</p>
<div class="scroll"><table><tr><th>check</th><th>status</th><th>summary</th><th>flagged</th><th>message</th></tr>
{% for name, c in rep.checks.items() %}
<tr><td><a href="#{{ name }}">{{ name }}</a></td>
{% set status = 'skipped' if c.skipped else ('pass' if c.passed else 'FAIL') %}
<td class="{{ 'skip' if c.skipped else ('pass' if c.passed else 'fail') }}">{{ status }}</td>
<td>{{ '%.3f' % c.summary }}</td><td>{{ c.n_flagged }}</td><td>{{ c.message }}</td></tr>
{% endfor %}
{% for name, err in rep.errors.items() %}
<tr><td>{{ name }}</td><td class="fail">error</td><td></td><td></td><td>{{ err }}</td></tr>
{% endfor %}
</table></div>
{% for name, c in rep.checks.items() %}
<h2 id="{{ name }}">{{ name }}</h2><p>{{ c.message }}</p>
{% if c.flagged %}<details><summary>{{ c.flagged | length }} most suspect flagged items</summary>
<div class="scroll"><table><tr><th>item</th><th>score</th></tr>
{% for f in c.flagged %}<tr><td>{{ f.item_id if f.item_id is not none else 'row %d' % f.row }}</td>
<td>{{ '%.3f' % f.score if f.score is not none else '–' }}</td></tr>{% endfor %}
</table></div></details>{% endif %}
<details><summary>details</summary><pre>{{ info_json[name] }}</pre></details>
{% endfor %}
</body></html>
"""


def report_json(report: AuditReport, *, max_rows: int = 50) -> str:
    """The report as indented JSON text (NaN becomes null)."""
    from assetgrade.jsonsafe import jsonable

    return json.dumps(jsonable(report.to_dict(max_rows=max_rows)), indent=2)


def report_html(report: AuditReport, *, max_rows: int = 50) -> str:
    """The report as one self-contained, escaped HTML page.

    It shows the figures of :func:`report_json` (the same document): a flagged row's score that is not a
    number (null in the JSON) is "–", a row without an item id is named by its row number.
    """
    import jinja2

    from assetgrade.jsonsafe import jsonable

    doc: dict[str, Any] = jsonable(report.to_dict(max_rows=max_rows))
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    info_json = {n: json.dumps(c["info"], indent=2) for n, c in doc["checks"].items()}
    return env.from_string(_TEMPLATE).render(rep=doc, info_json=info_json)


def write_report(report: AuditReport, *, json_path: Path | None = None, html_path: Path | None = None) -> None:
    """Write the JSON and/or HTML report (parent folders are created).

    Each file is written whole or not at all (a temporary file in the same folder, then renamed),
    so a pipeline reading the report never sees half of one, and a failed write leaves an older
    report as it was. One path for both is refused: the HTML would replace the JSON.
    """
    if json_path is not None and html_path is not None and _same_file(json_path, html_path):
        raise ValidationError(f"--json and --html name the same file {json_path}; give two", where="audit report")
    for path, render in ((json_path, report_json), (html_path, report_html)):
        if path is None:
            continue
        text = render(report) + "\n"
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            raise StoreError(f"cannot write audit report {path}: {exc.strerror or exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:  # a symlink loop: not the same as anything we could write
        return False
