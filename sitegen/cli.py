"""The command line: `sitegen build`, `check`, `serve`, `add`, `email`, `new`, `theme export`.

Problems print once, compiler-style (`seeds/x.txt:14: warning: ...`), then a summary.
A user's mistake ends in a one-line reason and exit status 1, never a traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import sys
from pathlib import Path

from . import __version__
from .build import assemble_only, build, load_catalog, theme_dirs
from .config import load
from .errors import UserError
from .output import OutputError
from .sources import cache_dir

# Each command imports what it needs when it runs (`sitegen build` never imports httpx, a
# no-change build never imports Jinja or markdown-it): every error a user can cause is a
# `UserError`, printed as one line.


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sitegen", description="Build a browsable, searchable digest from pasted paper listings.")
    parser.add_argument("--version", action="version", version=f"sitegen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in (_build_commands, _listing_commands, _project_commands, _email_command):
        add_command(sub)
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="listing files or folders (default: the config's sources, else seeds/)")
    p.add_argument("--config", metavar="FILE", help="settings file (default: ./sitegen.toml, else [tool.sitegen] in ./pyproject.toml)")
    p.add_argument("--strict", action="store_true", help="treat warnings as a failure")
    p.add_argument("-q", "--quiet", action="store_true", help="print problems and errors only")


def _caching(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", metavar="DIR", help="build cache folder (default: .sitegen-cache beside the config)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the build cache: a cold build")


def _build_commands(sub) -> None:
    """build, check, serve."""
    b = sub.add_parser("build", help="build the site")
    _common(b)
    b.add_argument("--out", metavar="DIR", help="output folder (default: the config's `out`, else _site)")
    b.add_argument("--report", metavar="FILE", help="write a JSON build report")
    b.add_argument("--base-url", metavar="URL", help="absolute URL the site will be served from")
    b.add_argument("--zip", metavar="FILE", help="also pack the built site into this zip archive")
    _caching(b)

    c = sub.add_parser("check", help="parse and dedupe without writing; list problems and merges")
    _common(c)
    c.add_argument("--merges", action="store_true", help="list every merge, not only the near-duplicates")

    s = sub.add_parser("serve", help="build, serve on localhost, rebuild and reload on changes")
    _common(s)
    s.add_argument("--out", metavar="DIR", help="output folder (default: the config's `out`)")
    s.add_argument("--base-url", metavar="URL", help="serve under this URL's path (default: the config's)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=_port, default=8000, help="port to listen on (0: any free port)")
    _caching(s)


def _listing_commands(sub) -> None:
    """add, fetch."""
    a = sub.add_parser("add", help="add a pasted page (a file, or - for standard input) to the listings, "
                                   "named for its digest date")
    a.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="the paste (default: standard input)")
    a.add_argument("--config", metavar="FILE")
    a.add_argument("--date", metavar="YYYY-MM-DD", help="the digest date, when the paste does not say it")
    a.add_argument("--force", action="store_true", help="replace a different listing of the same date")
    a.add_argument("-q", "--quiet", action="store_true")

    f = sub.add_parser("fetch", help="save a day from the Hugging Face daily-papers API into the listings")
    f.add_argument("date", nargs="?", metavar="DATE", help="the day, YYYY-MM-DD (default: today, UTC)")
    f.add_argument("--config", metavar="FILE")
    f.add_argument("--endpoint", metavar="URL", help="the API (default: https://huggingface.co/api/daily_papers)")
    f.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    f.add_argument("--force", action="store_true", help="replace a saved answer for that day that differs")
    f.add_argument("-q", "--quiet", action="store_true")


def _project_commands(sub) -> None:
    """new, theme export."""
    n = sub.add_parser("new", help="make a new digest project in DIR")
    n.add_argument("folder", metavar="DIR")
    n.add_argument("--title", help="the digest's title (default: from the folder's name)")
    n.add_argument("--force", action="store_true", help="write into a folder that is not empty")

    t = sub.add_parser("theme", help="the default theme: `sitegen theme export DIR` copies it, to change all of it")
    t.add_argument("action", choices=["export"])
    t.add_argument("folder", metavar="DIR")
    t.add_argument("--force", action="store_true", help="overwrite templates/ and static/ that hold files")


def _email_command(sub) -> None:
    e = sub.add_parser("email", help="a digest date as an email: write a .eml file or send it over SMTP")
    e.add_argument("date", metavar="DATE", help="the digest date (YYYY-MM-DD) or `latest`")
    e.add_argument("inputs", nargs="*", metavar="INPUT", help="listing files or folders (default: as for build)")
    e.add_argument("--config", metavar="FILE")
    e.add_argument("--base-url", metavar="URL", help="absolute site URL for the message's links (default: the config's)")
    e.add_argument("--out", metavar="FILE.eml", help="write the MIME message here (default: stdout, unless sending)")
    e.add_argument("--to", metavar="ADDR", action="append",
                   help="recipient (repeatable, or comma-separated); each gets a message of their own")
    e.add_argument("--bcc", action="store_true", help="send one message to all recipients as Bcc instead")
    e.add_argument("--from", dest="sender", metavar="ADDR", help="sender address")
    e.add_argument("--smtp", metavar="HOST:PORT", help="send through this SMTP server")
    e.add_argument("--starttls", action="store_true", help="upgrade the SMTP connection with STARTTLS")
    e.add_argument("--user", metavar="NAME", help="SMTP login; the password comes from $SITEGEN_SMTP_PASSWORD")
    e.add_argument("-q", "--quiet", action="store_true")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 65535, not {text!r}")
    return port


def _config(args):
    config = load(args.config)
    if getattr(args, "base_url", None) is not None:
        from .config import from_mapping  # re-validate the URL the same way the file is validated
        checked = from_mapping({"base_url": args.base_url}, "--base-url", config.root)
        config = dataclasses.replace(config, base_url=checked.base_url)
    return config


def _write_file(path: Path, data: bytes, option: str) -> None:
    """Write a file the user named, whole or not at all; a one-line error if it cannot be."""
    from .output import write_file

    try:
        write_file(path, data)
    except OSError as e:
        raise OutputError(f"{option} {path}: cannot write it ({e.strerror or e})") from None


def _print_problems(problems) -> None:
    for p in problems:
        print(p, file=sys.stderr)


def _progress(args):
    """Progress bars (tqdm) for the long stages, on a terminal only: never with -q, in CI
    (CI=true), or when stderr is a file or pipe."""
    from .build import QUIET
    if args.quiet or os.environ.get("CI", "").lower() in ("true", "1") or not sys.stderr.isatty():
        return QUIET
    from tqdm import tqdm

    names = {"render": "render pages and emails"}
    return lambda stage, total: tqdm(total=total, desc=f"sitegen: {names.get(stage, stage)}", unit="",
                                     leave=False, file=sys.stderr, dynamic_ncols=True)


def _cache(args, config):
    if args.no_cache:
        return None
    return Path(args.cache_dir) if args.cache_dir else cache_dir(config)


def cmd_build(args) -> int:
    config = _config(args)
    result = build(config, args.inputs or None, Path(args.out) if args.out else None, strict=args.strict,
                   progress=_progress(args), cache=_cache(args, config))
    # The command ends here: what the build made is left out of the garbage collector's sweeps,
    # which would otherwise scan all of it once more while the report is made (100k papers: 0.5 s),
    # and left for the process's end (`run`) rather than freed object by object (100k papers: 1 s).
    gc.freeze()
    if _LEFT is not None:
        _LEFT.append(result)
    _print_problems(result.problems)
    for note in result.notes:
        print(f"sitegen: note: {note}", file=sys.stderr)
    report = result.report()
    if args.zip:
        from .output import zip_site
        zip_site(result.out, Path(args.zip))
    if args.report:
        _write_file(Path(args.report), (json.dumps(report, indent=2) + "\n").encode("utf-8"), "--report")
    if not args.quiet and result.up_to_date:
        print(f"Up to date: {report['papers']} papers from {report['listings']} listings in {result.out}; "
              f"no input, template, static file or setting changed since the last build "
              f"({report['seconds']['total']:.2f} s); {len(report['warnings'])} warnings")
    elif not args.quiet:
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


def cmd_serve(args) -> int:
    import threading

    from . import serve

    config = _config(args)
    out = Path(args.out) if args.out else config.resolve(config.out)
    state = serve.State()
    latest = [config]  # the settings the last rebuild read: what the watcher watches

    def rebuild(changes=None, quiet: bool = False) -> None:
        """Build again (`changes` from the watcher; None: the first build, from the settings
        read at start). `quiet`: say nothing if the site is already up to date."""
        try:
            current = config if changes is None else _config(args)
            latest[0] = current
            result = build(current, args.inputs or None, out, cache=_cache(args, current))
            if result.up_to_date and quiet:
                return
            _print_problems(result.problems)
            if not result.up_to_date:  # the browser reloads only for a site that changed
                state.bump()
            verb = "Up to date:" if result.up_to_date else "Built"
            print(f"{verb} {result.report()['papers']} papers in {result.timings['total']:.2f} s", flush=True)
        except UserError as e:
            _print_problems(getattr(e, "problems", ()))
            print(f"sitegen: error: {e} (still serving the previous build)", file=sys.stderr, flush=True)

    rebuild()
    server = serve.make_server(out, config.base_url, args.host, args.port, state)
    url = f"http://{args.host}:{server.server_address[1]}{serve.base_path(config.base_url)}"
    print(f"Serving {out} at {url} (Ctrl-C stops)", flush=True)
    stop = threading.Event()

    def watched() -> tuple[list[Path], list[Path]]:
        return serve.watched(latest[0], args.inputs)

    caches = (cache_dir(config),) + ((Path(args.cache_dir),) if args.cache_dir else ())  # locks are always in the first
    # Once the watcher is in place, whatever changed since the first build is built (an edit
    # made in the moment between would otherwise wait for the next one).
    threading.Thread(target=serve.watch, args=(watched, rebuild, stop, out, caches, lambda: rebuild(set(), quiet=True)),
                     daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
    return 0


def cmd_add(args) -> int:
    import datetime as dt

    from .add import AddError, add

    config = _config(args)
    date = None
    if args.date:
        try:
            date = dt.date.fromisoformat(args.date)
        except ValueError:
            raise AddError(f"--date must be YYYY-MM-DD, not {args.date!r}") from None
    if args.file == "-":
        raw, name = sys.stdin.buffer.read(), "<stdin>"
    else:
        try:
            raw, name = Path(args.file).read_bytes(), args.file
        except OSError as e:
            raise AddError(f"{args.file}: cannot read it ({e.strerror})") from None
    added = add(raw, name, config, date, args.force)  # an AddError carries the problems found
    parsed = added.listing
    _print_problems(parsed.problems)
    if not args.quiet:
        ids = sum(1 for e in parsed.entries if e.arxiv_id)
        verb = "Added" if added.written else "Already there:"
        print(f"{verb} {added.path} ({parsed.format}): digest date {parsed.date.isoformat()}, "
              f"{len(parsed.entries)} papers, {ids} with arXiv ids, {len(parsed.problems)} problems. "
              f"Run `sitegen build` to publish it.")
    return 0


def cmd_fetch(args) -> int:
    import datetime as dt

    from .fetch import ENDPOINT, FetchError, fetch

    config = _config(args)
    try:
        day = dt.date.fromisoformat(args.date) if args.date else dt.datetime.now(dt.timezone.utc).date()
    except ValueError:
        raise FetchError(f"DATE must be YYYY-MM-DD, not {args.date!r}") from None
    fetched = fetch(day, config, args.endpoint or ENDPOINT, args.force, args.timeout)
    if not args.quiet:
        verb = "Saved" if fetched.written else "Already there:"
        print(f"{verb} {fetched.path}: {len(fetched.listing.entries)} papers for {day.isoformat()}. "
              f"Run `sitegen build` to publish it.")
    return 0


def cmd_new(args) -> int:
    from .new import PLACEHOLDER, install_spec, new

    folder = Path(args.folder)
    new(folder, args.title, args.force)
    print(f"Made a digest project in {folder}: sitegen.toml, listings/, .github/workflows/pages.yml, "
          f".gitignore, README.md.\nNext: cd {folder} && sitegen add PAGE.md && sitegen build")
    if install_spec() is None:
        print(f"Before publishing: in .github/workflows/pages.yml, replace {PLACEHOLDER!r} with where pip "
              f"finds sitegen (this copy was not installed from a git URL)")
    return 0


def cmd_theme(args) -> int:
    from .theme import export

    made = export(Path(args.folder), args.force)
    print(f"Copied the default theme ({len(made)} files) into {Path(args.folder) / 'templates'} and "
          f"{Path(args.folder) / 'static'}; a build now uses these instead of the packaged ones")
    return 0


def cmd_email(args) -> int:
    import datetime as dt
    import os

    from . import mail

    config = _config(args)
    if not config.base_url:
        raise mail.MailError("an emailed digest needs absolute links: give --base-url or set base_url in the config")
    site = assemble_only(config, args.inputs or None)
    dated = site.dated_digests
    if args.date == "latest":
        if not dated:
            raise mail.MailError("no listing has a date, so there is no latest digest")
        digest = max(dated, key=lambda d: d.date)
    else:
        try:
            day = dt.date.fromisoformat(args.date)
        except ValueError:
            raise mail.MailError(f"DATE must be YYYY-MM-DD or `latest`, not {args.date!r}") from None
        digest = next((d for d in dated if d.date == day), None)
        if digest is None:
            known = ", ".join(d.date.isoformat() for d in dated[-5:]) or "none"
            raise mail.MailError(f"no digest on {day.isoformat()} (latest dates: {known})")
    templates, _ = theme_dirs(config)
    composed = mail.compose(site, digest, templates)
    sending = bool(args.smtp)
    recipients = [a.strip() for value in args.to or () for a in value.split(",") if a.strip()]
    if sending and not (recipients and args.sender):
        raise mail.MailError("sending needs --to and --from")
    if sending:
        host, _, port = args.smtp.rpartition(":")
        if not host or not port.isdigit():
            raise mail.MailError(f"--smtp must be HOST:PORT, not {args.smtp!r}")
        outgoing = mail.outgoing(composed, args.sender, recipients, args.bcc, config.list_unsubscribe)
    if args.out or not sending:
        msg = mail.message(composed, args.sender, recipients, list_unsubscribe=config.list_unsubscribe)
        if args.out:
            _write_file(Path(args.out), bytes(msg), "--out")
        else:
            sys.stdout.buffer.write(bytes(msg))
    if sending:
        mail.send(outgoing, host, int(port), starttls=args.starttls, user=args.user,
                  password=os.environ.get("SITEGEN_SMTP_PASSWORD"))
    if not args.quiet and (sending or args.out):
        size = mail.encoded_size(composed.html)
        cut = f"; {composed.omitted} papers left to the web page" if composed.omitted else ""
        where = (f" to {len(recipients)} recipient{'s' if len(recipients) != 1 else ''}"
                 f"{' (Bcc)' if args.bcc else ', a message each'}" if sending else f" to {args.out}")
        print(f"{'Sent' if sending else 'Wrote'} {composed.subject!r}: HTML {size / 1024:.1f} KB as encoded "
              f"(Gmail clips at 102 KB){cut}{where}")
    return 0


_LEFT: list | None = None  # under `run`: what a command made, for the process's end to let go of


def run() -> None:
    """The `sitegen` program: `main`, then, its output flushed, the process ends at once
    (`os._exit`, as mypy ends), without freeing what the command made one object at a time:
    by then every file is closed, the site published and the workers joined. A caller of
    `main` in Python keeps nothing of what a command made."""
    global _LEFT
    _LEFT = []
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`sitegen build | head`) or stream
            pass
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"build": cmd_build, "check": cmd_check, "serve": cmd_serve, "email": cmd_email,
                "add": cmd_add, "new": cmd_new, "theme": cmd_theme, "fetch": cmd_fetch}[args.command](args)
    except UserError as e:
        _print_problems(getattr(e, "problems", ()))
        print(f"sitegen: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # the machine said no: a full disk, a read-only or unwritable folder
        where = f"{e.filename}: " if e.filename else ""
        print(f"sitegen: error: {where}{e.strerror or e}; nothing was published, the previous output "
              f"is as it was", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sitegen: interrupted; the previous output was left as it was", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
