"""The audit HTML page says what the JSON says, for every check, and cannot be broken by a check's numbers."""

from __future__ import annotations

import json
import re

import numpy as np

from assetgrade.audit.base import AuditReport, CheckResult
from assetgrade.audit.report import report_html, report_json


def _report() -> AuditReport:
    ok = CheckResult("imbalance", np.ones(4), np.zeros(4, bool), 0.91234, True, "balanced enough")
    bad = CheckResult("duplicates", np.array([np.nan, 0.25, 1.0, 0.5]), np.array([True, True, False, True]), 0.25,
                      False, "3 near-duplicates", info={"pairs": float("nan")})
    skip = CheckResult("synthetic_share", np.ones(4), np.zeros(4, bool), 1.0, True, "skipped: no origins",
                       skipped=True)
    return AuditReport({"imbalance": ok, "duplicates": bad, "synthetic_share": skip}, n_items=4,
                       item_ids=["a", "b&c", "<d>", "e"], errors={"label_noise": "ValueError: boom"})


def _rows(html: str) -> dict[str, list[str]]:
    table = html.split("<table>", 1)[1].split("</table>", 1)[0]
    out = {}
    for row in table.split("<tr>")[2:]:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        out[cells[0]] = cells[1:]
    return out


def test_every_checks_verdict_and_figures_are_the_jsons() -> None:
    rep = _report()
    doc = json.loads(report_json(rep))
    html = report_html(rep)  # a flagged row whose score is NaN (null in the JSON) broke the page: TypeError
    rows = _rows(html)
    for name, c in doc["checks"].items():
        status = "skipped" if c["skipped"] else ("pass" if c["passed"] else "FAIL")
        assert rows[name] == [status, f"{c['summary']:.3f}", str(c["n_flagged"]), c["message"]], name
    assert rows["label_noise"] == ["error", "", "", "ValueError: boom"]
    assert "FAILED" in html and doc["passed"] is False
    # the failed check and the error stand out by more than colour: their own words and class
    assert '<td class="fail">FAIL</td>' in html and '<td class="fail">error</td>' in html
    flagged = html.split('<h2 id="duplicates">', 1)[1].split("</table>", 1)[0]
    cells = [re.findall(r"<td>(.*?)</td>", r) for r in flagged.split("<tr>")[2:]]
    assert cells == [[f["item_id"].replace("&", "&amp;"), "–" if f["score"] is None else f"{f['score']:.3f}"]
                     for f in doc["checks"]["duplicates"]["flagged"]]
    assert cells[-1] == ["a", "–"] and not re.search(r"\bnan\b|\bNone\b", html)


def test_a_flagged_row_without_an_item_id_names_its_row() -> None:
    res = CheckResult("duplicates", np.array([0.1, 1.0]), np.array([True, False]), 0.5, False, "one")
    html = report_html(AuditReport({"duplicates": res}, n_items=2, item_ids=None))  # type: ignore[arg-type]
    assert "<td>row 0</td>" in html and "None" not in html
