"""Pages -> bytes, through the Jinja templates in `templates/`.

Autoescaping is on and undefined names are errors. Content is only ever passed as values,
never compiled as a template, so `{{ 7*7 }}` in a title stays text. The `url` filter turns
a root-relative output path into a link relative to the page being rendered.
"""
from __future__ import annotations

import contextlib
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import __version__, urls
from .config import Config
from .errors import UserError
from .model import Problem
from .site import paper_view
from .views import Deferred, Page, PaperParts, Site


class TemplateError(UserError):
    """A template is missing or broken; the message names the template and line, and
    `template` is the template's name where it is known."""

    def __init__(self, message: str, template: str = ""):
        super().__init__(message)
        self.template = template


def loader(templates) -> jinja2.FileSystemLoader:
    """Templates from a folder, or from folders searched in order (a project's overrides first,
    then the packaged theme)."""
    folders = [templates] if isinstance(templates, (str, Path)) else list(templates)
    return jinja2.FileSystemLoader([str(f) for f in folders])


@functools.lru_cache(maxsize=8)
def environment(templates) -> jinja2.Environment:
    """The one Jinja environment of a theme (`templates`: a folder, or a tuple of folders searched
    in order), for pages and emails alike: HTML templates autoescaped, text ones (email.txt) not."""
    env = jinja2.Environment(
        loader=loader(templates),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # a build renders from one set of templates: no stat() per page
    )

    @jinja2.pass_context
    def url(context, path: str) -> str:
        return urls.relative(context["page"].path, path)

    @jinja2.pass_context
    def absolute(context, path: str) -> str | None:
        return urls.absolute(context["site"].base_url, path)

    env.filters["url"] = url
    env.filters["absolute"] = absolute
    env.filters["json_script"] = json_script
    env.filters["wordwrap"] = wordwrap
    return env


def fresh_environment(templates) -> jinja2.Environment:
    """The environment for one build, made anew: a process that builds again (`serve` on an
    edit) renders with the templates as they are now, not as an earlier build compiled them
    (the environment never checks its templates' files again: `auto_reload` is off)."""
    environment.cache_clear()
    return environment(templates)


def json_script(value) -> Markup:
    """JSON safe inside <script>: no `</script>` or `<!--` breakout, no U+2028 surprises."""
    s = json.dumps(value, ensure_ascii=False, sort_keys=True)
    s = s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    s = s.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(s)


@dataclass(frozen=True)
class RenderSettings:
    """What rendering needs of the site besides each page's own record: a render helper
    process is sent this rather than the whole site."""
    config: Config
    has_feed: bool


class Renderer:
    def __init__(self, site: Site | RenderSettings, templates):
        self.env = environment(templates)
        self.config = site.config
        self.globals = {
            "site": site.config,
            "generator": f"sitegen {__version__}",
            "nav": {"index": urls.INDEX, "search": urls.SEARCH, "stylesheet": urls.STYLESHEET,
                    "catalog": urls.CATALOG, "archive": urls.ARCHIVE, "favicon": urls.FAVICON, "site_script": urls.SITE_SCRIPT, "search_script": urls.SEARCH_SCRIPT, "engine_script": urls.ENGINE_SCRIPT,
                    "worker_script": urls.WORKER_SCRIPT,
                    "lunr": urls.LUNR, "search_manifest": urls.SEARCH_MANIFEST,
                    "feed": urls.FEED if site.has_feed else None,
                    "json_feed": urls.JSON_FEED if site.has_feed else None},
        }

    def render(self, page: Page) -> bytes:
        with rendering(page.template, page.path):
            template = self.env.get_template(page.template)
            view = page.view
            if isinstance(view, PaperParts):  # a paper's page: its view is made now, as it is rendered
                view = paper_view(view, self.config)
            elif isinstance(view, Deferred):
                view = view.make()
            html = template.render(page=page, view=view, **self.globals)
        return html.encode("utf-8")


@contextlib.contextmanager
def rendering(template: str, path: str):
    """Rendering `template` into `path`: any mistake of the template's (syntax, a missing
    template, an undefined name, a filter given the wrong type) becomes one TemplateError line
    naming the template (and its line where Jinja knows it), never a traceback."""
    try:
        yield
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{e.filename or e.name}:{e.lineno}: template error: {e.message}") from None
    except jinja2.TemplateNotFound as e:
        raise TemplateError(f"template not found: {e.name}") from None
    except jinja2.UndefinedError as e:
        raise TemplateError(f"{template}: {e.message} (while rendering {path})", template) from None
    except TemplateError:
        raise
    except Exception as e:  # a template's own mistake, e.g. a filter given the wrong type
        raise TemplateError(f"{template}: {type(e).__name__}: {e} (while rendering {path})", template) from None


def syntax_problems(templates) -> list[Problem]:
    """Every template of the theme compiled: each that cannot be, with its file and line."""
    env = environment(templates)
    problems = []
    for name in env.list_templates(extensions=["html", "txt", "xml"]):
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as e:
            problems.append(Problem(e.filename or name, e.lineno or 0, f"template error: {e.message}", "error",
                                    "template-syntax"))
    return problems


@jinja2.pass_environment
def wordwrap(environment, s, width: int = 79, break_long_words: bool = True, wrapstring: str | None = None,
             break_on_hyphens: bool = True):
    """Jinja's `wordwrap` filter (textwrap, paragraph by paragraph), with the same result made
    the quick way where it is sure to be the same: one line of printable text, words apart by
    single spaces, each line filled greedily, as long as no word is longer than a line and no
    word that moves to the next line has a hyphen (textwrap may break it there). Anything else
    goes to Jinja's own filter. textwrap's general chunking took two thirds of the time of
    composing an email."""
    if (type(s) is str and s and break_long_words and s.isprintable() and "  " not in s
            and not s.startswith(" ") and not s.endswith(" ")):
        lines, line = [], ""
        for word in s.split(" "):
            if len(word) > width:
                break
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= width:
                line = f"{line} {word}"
            elif break_on_hyphens and "-" in word:
                break
            else:
                lines.append(line)
                line = word
        else:
            lines.append(line)
            return (wrapstring or environment.newline_sequence).join(lines)
    return jinja2.filters.do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)
