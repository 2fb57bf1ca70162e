"""Screenshots of a built site for a person to look at: `make screenshots` (not committed).

usage: python scripts/screenshots.py SITE_DIR OUT_DIR
Takes the index, a date page, a paper page and a search result, at phone (375 px) and desktop
(1280 px) width, in the light and dark colour schemes, from the site opened as file://.
"""
from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def main(site: str, out: str) -> int:
    site_dir, out_dir = Path(site).resolve(), Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    dates = sorted((site_dir / "dates").glob("*.html"))
    papers = sorted((site_dir / "papers").glob("*.html"))
    if not dates or not papers:
        print(f"{site_dir}: no date or paper pages: build the site first", file=sys.stderr)
        return 1
    shots = {"index": "index.html", "date": f"dates/{dates[-1].name}", "paper": f"papers/{papers[0].name}",
             "search": "search.html?q=diffusion"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for width, label in ((375, "phone"), (1280, "desktop")):
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
                for name, path in shots.items():
                    page.goto(site_dir.as_uri() + "/" + path)
                    if name == "search":
                        page.wait_for_selector(".search-result")
                    target = out_dir / f"{name}-{label}-{scheme}.png"
                    page.screenshot(path=str(target), full_page=False)
                    print(target)
                page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]) if len(sys.argv) == 3 else (print(__doc__), 2)[1])
