"""Rendering the site: every page, email and feed through the theme, the static files, and the
search index the index worker made meanwhile, all into the one writer. `build` imports this
only once it knows there is something to build, so a build with nothing to do never loads
Jinja, the Markdown parser or the feed library."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from . import cache as build_cache
from . import feeds, search, urls
from .errors import BuildError
from .feeds import CatalogPart, catalog_index, catalog_json, catalog_parts
from .jobs import IndexJob, write_email
from .mail import compose, email_files
from .model import Problem, evolve
from .output import Writer
from .render import Renderer, RenderSettings, TemplateError, fresh_environment, syntax_problems
from .theme import Theme, lunr_js
from .views import Deferred, Page, PaperParts, Site
from .workers import ForkedJob

Progress = Callable  # `build.Progress`: progress(stage, total) gives a counter (update, close)


def ready_templates(templates: tuple[Path, ...]) -> None:
    """The theme's templates for this build, read afresh (`render.fresh_environment`) and every
    one compiled, each that cannot be reported together (`syntax_problems`) before any work:
    called before the render helper is forked, so that it inherits them compiled instead of
    compiling them again (at 10k papers a third of its work in a build that adds a day)."""
    fresh_environment(templates)
    _raise_theme_problems(syntax_problems(templates))


def render_site(site: Site, writer: Writer, templates: tuple[Path, ...], static: tuple[Path, ...], timings: dict[str, float],
                index: IndexJob, progress: Progress, renders: build_cache.RenderCache | None = None,
                helper: ForkedJob | None = None, related: Callable[[], Callable] | None = None) -> None:
    """Render every page, email and feed, copy the static files, and add the search index
    (built meanwhile by `index`), through the templates `ready_templates` compiled. With
    `renders`, a page rendered last time from the same inputs keeps the published file instead
    of being rendered again.

    With `related` (a site from `site.assemble_pages`, whose paper pages hold no related papers
    yet), everything else is done first: the catalogue, every other page, the emails, feeds and
    static files; then `related()` gives the function that joins a paper's related papers into
    its parts (`RelatedLinks.join`), waiting for the related-papers worker if it is not done,
    and each paper page is joined as it is rendered.

    `helper` (a `RenderHelper`, forked at the start of the build) renders a share of the pages
    and emails into the same staging folder: whenever its pipe has room for it, the next one to
    render is sent to it (pickled; a paper page goes with its parts, and the helper makes its
    view) instead of rendered here, so the two processes share the work at whatever pace each
    goes, and the helper only ever holds the page it is working on. Every path is claimed here first, in order, so two outputs that
    claim one path are refused as before."""
    t0 = time.perf_counter()
    shares = catalog_parts(site)
    _claim_rendered(site, writer, shares)
    papers = [page for page in site.pages if isinstance(page.view, PaperParts)]
    others = [page for page in site.pages if not isinstance(page.view, PaperParts)]
    files = waited = 0.0
    try:
        if helper is not None:
            helper.send(writer.part(), templates, RenderSettings(site.config, site.has_feed))
        _add_catalog(shares, writer, renders)
        bar = progress("render", len(site.pages) + len(site.emailed_digests))
        _render_pages(site, others, writer, templates, bar, renders, helper)
        _render_emails(site, writer, templates, bar, renders, helper)
        t1 = time.perf_counter()
        _add_files(site, writer, static)
        t2 = time.perf_counter()
        files = t2 - t1
        join = related() if related is not None else None  # the related-papers worker's lists
        waited = time.perf_counter() - t2
        _render_pages(site, papers, writer, templates, bar, renders, helper, join)
        if helper is not None:
            helper.finish()
            writer.merge(*helper.result())
        bar.close()
    except BaseException as e:
        if helper is not None:
            helper.cancel()  # before the staging folder it writes into is removed
        if isinstance(e, TemplateError):  # report every template that fails, not just the first
            _raise_theme_problems(_render_problems(site, templates))
        raise
    t3 = time.perf_counter()
    _add_index(writer, index, progress)
    # The workers run beside the other stages: their figures are how long the build waited.
    timings["index"] = time.perf_counter() - t3
    timings["related"] = waited
    timings["render"] = t3 - t0 - files - waited
    timings["feeds"] = files


def _claim_rendered(site: Site, writer: Writer, shares: list[CatalogPart]) -> None:
    """Claim, in order, every path that rendering fills (pages, emails, the catalogue)."""
    for page in site.pages:
        writer.claim(page.path, f"page {page.kind}")
    for digest in site.emailed_digests:
        for path, origin in email_files(digest).items():
            writer.claim(path, origin)
    writer.claim(urls.CATALOG, "catalogue")
    for share in shares:
        writer.claim(share.path, "catalogue part")


def _add_catalog(shares: list[CatalogPart], writer: Writer, renders: build_cache.RenderCache | None) -> None:
    """`papers.json` and its parts: a part keyed by its papers' origins, where known, is kept as
    published if its key is unchanged."""
    writer.put(urls.CATALOG, catalog_index(shares))
    for share in shares:
        if renders and share.origins is not None:
            key = build_cache.render_record(share.path, share.origins)
            if renders.unchanged(share.path, key) and writer.reuse(share.path):
                continue
        writer.put_chunks(share.path, catalog_json(share.papers))


def _render_pages(site: Site, pages: list[Page], writer: Writer, templates, bar, renders, helper,
                  join: Callable | None = None) -> None:
    """Each page: kept as published if its render key is unchanged, else sent to the helper if its pipe
    has room, else rendered here. `join` joins a paper page's related papers into its parts."""
    renderer = Renderer(site, templates)
    for n, page in enumerate(pages, 1):
        parts = page.view if isinstance(page.view, PaperParts) else None
        if parts is not None and join is not None:
            parts = join(parts)
        if renders:  # a paper's page, or a deferred view's, is keyed by what its view is made from
            if parts is not None:
                record = parts.inputs
            elif isinstance(page.view, Deferred):
                record = evolve(page, view=page.view.inputs)
            else:
                record = page
            key = build_cache.render_record(record, site.has_feed)
            if renders.unchanged(page.path, key) and writer.reuse(page.path):
                continue
        if parts is not None and parts is not page.view:
            page = dataclasses.replace(page, view=parts)
        if not (helper and helper.offer(("page", (page.path,), build_cache.pickled(page, site.has_feed)))):
            writer.put(page.path, renderer.render(page))
        if n % 100 == 0:
            bar.update(100)
    bar.update(len(pages) % 100)


def _render_problems(site: Site, templates: tuple[Path, ...]) -> list[Problem]:
    """After a template failed: the first page of each template, and the first email, rendered
    again, so that every broken template is reported in this build, not one per build. (A
    mistake only later pages meet is reported as it was met.)"""
    problems, renderer, tried = [], Renderer(site, templates), set()
    for page in site.pages:
        if page.template not in tried:
            tried.add(page.template)
            try:
                renderer.render(page)
            except TemplateError as e:
                problems.append(_render_problem(e, page.template))
    if site.emailed_digests:
        try:
            compose(site, site.emailed_digests[0], templates)
        except TemplateError as e:
            problems.append(_render_problem(e, "email.html"))
    return problems


def _raise_theme_problems(problems: list[Problem]) -> None:
    """Every template compiled before the build's work (`ready_templates`), or every
    template's first page tried after one failed (`_render_problems`): all reported together,
    each on a line of its own; nothing is written."""
    if len(problems) > 1:
        raise BuildError(f"{len(problems)} template errors (above); nothing was built", tuple(problems))
    if problems:
        raise BuildError(str(problems[0]))


def _render_problem(error: TemplateError, template: str) -> Problem:
    """`error` as a problem of its template (the one it names, else `template`)."""
    template = error.template or template
    return Problem(template, 0, str(error).removeprefix(f"{template}: "), "error", "template-render")


def _render_emails(site: Site, writer: Writer, templates, bar, renders, helper) -> None:
    """Each dated digest's email page and text, as pages are (`_render_pages`)."""
    for digest in site.emailed_digests:
        bar.update()
        record = build_cache.pickled(digest) if renders or helper is not None else None
        fresh = tuple(path for path in email_files(digest)
                      if not (renders and renders.unchanged(path, record) and writer.reuse(path)))
        if not fresh:
            continue
        if not (helper and helper.offer(("email", fresh, record))):
            write_email(site, digest, templates, fresh, writer)


def _add_files(site: Site, writer: Writer, static: tuple[Path, ...]) -> None:
    """Feeds and crawler files, static files, the project's extra files, lunr.js."""
    for path, data in feeds.files(site).items():
        writer.add(path, data, "feeds and crawler files")
    for rel, path in Theme((), static).static_files():
        writer.add(f"static/{rel}", path.read_bytes(), "static file")
    writer.copy_extra(site.config.resolve(site.config.extra))
    writer.add(urls.LUNR, lunr_js(site.config).read_bytes(), "lunr.js (npm)")


def _add_index(writer: Writer, index: IndexJob, progress: Progress) -> None:
    """The search index files, as the index worker hands them back, and their sizes."""
    bar = progress("search index", 1)  # shown while the build waits for the index
    sizes = {}
    for path, data in index.files():
        if isinstance(data, search.KeptFile):  # a file as the last build made it
            writer.claim(path, "search index")
            if writer.reuse(path, data.digest):
                sizes[path] = writer.manifest[path][0]
            elif data.number is None:  # a first tier's file, found as made by the worker a moment ago
                raise BuildError(f"{path} in the output folder changed while the site was being built; "
                                 "build again")
            else:  # not published as it was made: made here
                made = index.remake(data)
                writer.put(path, made)
                sizes[path] = len(made)
            continue
        writer.add(path, data, "search index")
        sizes[path] = len(data)
    bar.update()
    bar.close()
    writer.index_bytes = search.index_size(sizes)
