"""The `ci` job's step summary: crafted file names are escaped, never rendered."""

from __future__ import annotations

from buildctl import ci
from buildctl.build.results import BuildReport
from buildctl.config import load_map
from buildctl.detect.planner import RangeOptions, analyze
from tests.support.git import Repo


def test_the_ci_summary_escapes_crafted_file_names(mini: Repo) -> None:
    base = mini.head()
    mini.write("svc/b/src/x\n| a | yes | forged |\n<b>.rs", "// evil\n")
    mini.write("svc/a/src/<img src=x>|.rs", "// evil\n")
    mini.commit()
    cfg = load_map(mini.path, None)
    plan = analyze(mini.path, cfg, RangeOptions(base=base, environ={}))
    text = ci.summary(ci.CiResult(plan, BuildReport(plan.head, {}, {}), None), "graph LR\n")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert [r.split(" | ")[0] for r in rows] == ["| service", "| ---", "| a", "| b"]
    assert [r.replace("\\|", "").count("|") for r in rows[2:]] == [6, 6]  # five cells each
    assert "<b>" not in text and "<img" not in text and "&lt;b&gt;.rs -&gt; b" in text
    assert "```mermaid\ngraph LR\n```" in text
