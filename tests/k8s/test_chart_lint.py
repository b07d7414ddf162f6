"""`helm lint` with Helm's own library (helm-sdkpy): the chart is clean, and the lint does
catch a broken chart (its error text is dropped by the binding, so the broken copy is
checked by severity and path)."""

import shutil
from pathlib import Path

from chartkit import CHART, run_helm

ERROR = 3  # Helm's support.ErrorSev; 1 is INFO, 2 WARNING


async def test_chart_lints_clean() -> None:
    outcome = await run_helm("lint", str(CHART))
    assert outcome["ok"], outcome
    lint = outcome["lint"]
    assert lint["TotalChartsLinted"] == 1
    assert not lint["Errors"]
    assert not lint["Messages"], lint["Messages"]  # not even INFO (e.g. a missing icon)


async def test_lint_reports_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "triage"
    shutil.copytree(CHART, broken)
    (broken / "templates" / "broken.yaml").write_text("{{ .Values.nats.missing.key }}\n")
    outcome = await run_helm("lint", str(broken))
    messages = outcome["lint"]["Messages"]
    assert outcome["lint"]["Errors"]
    assert any(m["Severity"] == ERROR and m["Path"] == "templates/" for m in messages)


async def test_lint_reports_defaults_that_break_the_schema(tmp_path: Path) -> None:
    broken = tmp_path / "triage"
    shutil.copytree(CHART, broken)
    values = broken / "values.yaml"
    values.write_text(values.read_text().replace("streamReplicas: 3", "streamReplicas: three"))
    outcome = await run_helm("lint", str(broken))
    assert any(m["Severity"] == ERROR and m["Path"] == "values.yaml"
               for m in outcome["lint"]["Messages"])
