"""The command line: `sitegen build`, `sitegen check`.

Problems print once, compiler-style (`seeds/x.txt:14: warning: ...`), then a summary.
A user's mistake ends in a one-line reason and exit status 1, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .build import BuildError, build, load_catalog
from .config import ConfigError, load
from .output import OutputError
from .render import TemplateError

FATAL = (BuildError, ConfigError, OutputError, TemplateError)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sitegen", description="Build a browsable, searchable digest from pasted paper listings.")
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("inputs", nargs="*", metavar="INPUT", help="listing files or folders (default: the config's sources, else seeds/)")
        p.add_argument("--config", metavar="FILE", help="settings file (default: ./sitegen.toml, else [tool.sitegen] in ./pyproject.toml)")
        p.add_argument("--strict", action="store_true", help="treat warnings as a failure")
        p.add_argument("-q", "--quiet", action="store_true", help="print problems and errors only")

    b = sub.add_parser("build", help="build the site")
    common(b)
    b.add_argument("--out", metavar="DIR", help="output folder (default: the config's `out`, else _site)")
    b.add_argument("--report", metavar="FILE", help="write a JSON build report")
    b.add_argument("--base-url", metavar="URL", help="absolute URL the site will be served from")

    c = sub.add_parser("check", help="parse and dedupe without writing; list problems and merges")
    common(c)
    c.add_argument("--merges", action="store_true", help="list every merge, not only the near-duplicates")
    return parser


def _config(args):
    config = load(args.config)
    if getattr(args, "base_url", None) is not None:
        from .config import from_mapping  # re-validate the URL the same way the file is validated
        checked = from_mapping({"base_url": args.base_url}, "--base-url", config.root)
        config = config.__class__(**{**config.__dict__, "base_url": checked.base_url})
    return config


def _print_problems(problems) -> None:
    for p in problems:
        print(p, file=sys.stderr)


def cmd_build(args) -> int:
    config = _config(args)
    result = build(config, args.inputs or None, Path(args.out) if args.out else None, strict=args.strict)
    _print_problems(result.problems)
    report = result.report()
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        print(f"Built {report['papers']} papers ({report['entries']} entries, {report['merged']} merged) "
              f"from {report['listings']} listings: {report['pages']} pages, {report['files']} files "
              f"in {result.out} ({report['seconds']['total']:.2f} s); {len(report['warnings'])} warnings")
    return 0


def cmd_check(args) -> int:
    config = _config(args)
    catalog = load_catalog(config, args.inputs or None, {})
    _print_problems(catalog.problems)
    for m in catalog.merges:
        if args.merges or not m.exact:
            abs_sim = "n/a" if m.abstract_similarity is None else f"{m.abstract_similarity:.0f}"
            print(f"{m.source}:{m.line}: merged into {m.paper_id} (title {m.title_similarity:.0f}, abstract {abs_sim}): {m.title}")
    errors = [p for p in catalog.problems if p.severity == "error"]
    if not args.quiet:
        exact = sum(1 for m in catalog.merges if m.exact)
        print(f"Checked {len(catalog.listings)} listings: {catalog.entry_count} entries, {len(catalog.papers)} papers, "
              f"{len(catalog.merges)} merged ({exact} identical, {len(catalog.merges) - exact} near-duplicates); "
              f"{len(catalog.problems) - len(errors)} warnings, {len(errors)} errors")
    return 1 if errors or (args.strict and catalog.problems) else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"build": cmd_build, "check": cmd_check}[args.command](args)
    except FATAL as e:
        _print_problems(getattr(e, "problems", ()))
        print(f"sitegen: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sitegen: interrupted; the previous output was left as it was", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
