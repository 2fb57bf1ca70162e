"""Checks a reader's experience depends on, as functions the tests apply to the built site and
to deliberately broken pages: the Nu Html Checker, axe-core, and sideways scrolling."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def validate(files: list[Path]) -> list[dict]:
    """Nu Html Checker messages for these files: [{type, file, line, message}] (type error or info)."""
    java = shutil.which("java")
    assert java, "Java is needed for the Nu Html Checker (make browser installs it)"
    assert VNU.is_file(), "vnu.jar is missing: run npm ci"
    proc = subprocess.run([java, "-jar", str(VNU), "--format", "json", "--exit-zero-always", *map(str, files)],
                          capture_output=True, text=True, timeout=300)
    messages = json.loads(proc.stderr or proc.stdout)["messages"]
    return [{"type": m["type"], "sub": m.get("subType"), "file": m.get("url", "").rsplit("/", 1)[-1],
             "line": m.get("lastLine"), "message": m["message"]} for m in messages]


def errors(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["type"] in ("error", "non-document-error")]


def axe(page, impacts=("serious", "critical")) -> list[str]:
    """axe-core violations of these impacts on the page as it is now."""
    assert AXE.is_file(), "axe-core is missing: run npm ci"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in impacts]


def sideways_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
