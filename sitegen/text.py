"""Titles and abstracts -> safe HTML and plain text.

What a listing says is text. It goes through markdown-it-py with raw HTML, links, images
and block syntax off, so `<script>`, `[x](javascript:...)` and `{{ 7*7 }}` show as typed.
LaTeX is recognised in `$...$`, `\\(...\\)` and `\\[...\\]`: for pages it becomes MathML
(rebuilt from an allowlist, since latex2mathml passes `\\href`, `\\style` and `\\text{<tag>}`
through); for plain text (search, feeds, mail, <title>) it becomes Unicode via pylatexenc.
TeX that neither can read is shown as its source, in `<code>`.
A few text-mode commands (`{\\em x}`, `\\emph{x}`, `\\textbf{x}`, ...) become emphasis.
"""
from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as ET
from functools import lru_cache

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

logging.getLogger("pylatexenc").setLevel(logging.CRITICAL)

# Private-use markers carry emphasis from the TeX pre-pass through markdown-it untouched.
_EM_OPEN, _EM_CLOSE, _STRONG_OPEN, _STRONG_CLOSE = "\ue000", "\ue001", "\ue002", "\ue003"
_MARKERS = re.compile("[\ue000-\ue003]")
_TEX_EM = re.compile(r"\{\\(?:em|it|sl)\s+([^{}$]*)\}|\\(?:emph|textit|textsl)\{([^{}$]*)\}")
_TEX_BF = re.compile(r"\{\\bf\s+([^{}$]*)\}|\\textbf\{([^{}$]*)\}")
_TEX_QUOTES = re.compile(r"``((?:(?!``|'').)+)''")  # each try stops at the next `` : linear
_TEX_PLAIN = re.compile(r"\\(?:textsc|texttt|textrm|textsf|textup|textmd)\{([^{}$]*)\}")

_MATHML_ELEMENTS = {
    "math", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow", "mfrac", "msqrt", "mroot", "mstyle",
    "merror", "mpadded", "mphantom", "mfenced", "menclose", "msub", "msup", "msubsup", "munder",
    "mover", "munderover", "mmultiscripts", "mprescripts", "none", "mtable", "mtr", "mtd",
    "mlabeledtr", "semantics", "annotation",
}
_MATHML_ATTRIBUTES = {
    "display", "mathvariant", "stretchy", "fence", "separator", "form", "lspace", "rspace",
    "accent", "accentunder", "columnalign", "rowalign", "columnspacing", "rowspacing",
    "columnlines", "rowlines", "frame", "linethickness", "displaystyle", "scriptlevel",
    "width", "height", "depth", "notation", "movablelimits", "largeop", "symmetric",
    "minsize", "maxsize", "open", "close", "separators", "encoding", "voffset",
}
_MATHML_NS = "{http://www.w3.org/1998/Math/MathML}"


# The TeX converters are imported when TeX is first met: most builds meet none (a paper's text
# comes from the build cache), and importing them took 50-60 ms (latex2mathml brings urllib,
# http.client and ssl along).
@lru_cache(maxsize=1)
def _latex_to_mathml():
    from latex2mathml.converter import convert

    return convert


@lru_cache(maxsize=1)
def _latex_text():
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text", strict_latex_spaces=True)


def _bracket_math(state, silent: bool) -> bool:
    """`\\(...\\)` (inline) and `\\[...\\]` (display) math, in linear time: the closing
    delimiter is found with one `str.find` from the opener, and once none is left after some
    point, later openers of that kind fail at once (texmath's rule matched a regex against the
    rest of the text for each opener: quadratic, seconds for 40 KB of `\\(`)."""
    src, pos = state.src, state.pos
    if src[pos] != "\\" or pos + 1 >= state.posMax or src[pos + 1] not in "([":
        return False
    closer = "\\)" if src[pos + 1] == "(" else "\\]"
    exhausted = state.env.setdefault("_math_closers_exhausted", {})
    if pos >= exhausted.get(closer, len(src) + 1):
        return False
    end = src.find(closer, pos + 2, state.posMax)
    if end < 0:
        exhausted[closer] = pos
        return False
    content = src[pos + 2:end]
    if not content.strip():
        return False
    if not silent:
        token = state.push("math_inline" if closer == "\\)" else "math_inline_double", "math", 0)
        token.content = content
        token.markup = src[pos:pos + 2]
    state.pos = end + 2
    return True


def _arithmetic_star(state, silent: bool) -> bool:
    """A run of `*` between two letters or digits (`6*7`, `p*q`, `O(n*m)`) is arithmetic, not
    emphasis: CommonMark lets `*` open and close inside words, so `6*7 ... p*q` came out in
    italics. Such a run is kept as text; `*word*` with spaces around still emphasises."""
    src, pos = state.src, state.pos
    if src[pos] != "*" or pos == 0 or not src[pos - 1].isalnum():
        return False
    end = pos
    while end < state.posMax and src[end] == "*":
        end += 1
    if end >= state.posMax or not src[end].isalnum():
        return False
    if not silent:
        state.pending += src[pos:end]
    state.pos = end
    return True


def _markdown() -> MarkdownIt:
    md = MarkdownIt("zero").enable(["emphasis", "backticks", "escape", "newline"])
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    md.inline.ruler.before("escape", "bracket_math", _bracket_math)
    md.inline.ruler.before("emphasis", "arithmetic_star", _arithmetic_star)
    return md


_MD = _markdown()
# A URL with its scheme, in an abstract's text (never in code or math: those are other tokens).
# Trailing punctuation and an unmatched closing parenthesis are the sentence's, not the URL's.
_URL = re.compile(r"https?://[^\s<>\"'`{}|\\^\[\]]+")


def _linked(content: str) -> str:
    """Text with each http(s) URL in it a link (`rel="nofollow noopener"`), the rest escaped.
    A small leaf pattern: linkify-it-py, which does this for markdown-it, cost 1.1 s of a
    10k-paper build with its large regular expressions."""
    out, last = [], 0
    for m in _URL.finditer(content):
        url = m[0].rstrip(".,;:!?*_")
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1]
        if len(url) <= len("https://"):
            continue
        out.append(html.escape(content[last:m.start()], quote=False))
        out.append(f'<a href="{html.escape(url)}" rel="nofollow noopener">{html.escape(url, quote=False)}</a>')
        last = m.start() + len(url)
    out.append(html.escape(content[last:], quote=False))
    return "".join(out)


def _tex_prepass(s: str) -> str:
    s = _MARKERS.sub("", s)
    s = _TEX_QUOTES.sub("\u201c\\1\u201d", s)  # ``quoted'' -> “quoted”
    s = _TEX_EM.sub(lambda m: _EM_OPEN + (m[1] or m[2] or "") + _EM_CLOSE, s)
    s = _TEX_BF.sub(lambda m: _STRONG_OPEN + (m[1] or m[2] or "") + _STRONG_CLOSE, s)
    return _TEX_PLAIN.sub(lambda m: m[1], s)


def _markers_to_html(s: str) -> str:
    return (s.replace(_EM_OPEN, "<em>").replace(_EM_CLOSE, "</em>")
             .replace(_STRONG_OPEN, "<strong>").replace(_STRONG_CLOSE, "</strong>"))


MAX_MATH_DEPTH = 40  # groups nested deeper than this are shown as TeX source, not converted
MAX_MATH_LENGTH = 4000  # characters of one formula; a longer one is shown as its source


def too_deep(tex: str) -> bool:
    """Whether `tex` is longer, or nests `{`/`\\left` groups deeper, than a converter should
    be asked to read (both recurse per level: 800 braces raised RecursionError)."""
    if len(tex) > MAX_MATH_LENGTH:
        return True
    depth = deepest = 0
    for m in _GROUPING.finditer(tex):
        depth += 1 if m[0] in ("{", "\\left") else -1 if depth else 0
        deepest = max(deepest, depth)
    return deepest > MAX_MATH_DEPTH


_GROUPING = re.compile(r"\\left|\\right|[{}]")


@lru_cache(maxsize=4096)
def math_html(tex: str, display: bool = False) -> str:
    """TeX -> MathML rebuilt from an allowlist; TeX it cannot read comes back as escaped source."""
    if too_deep(tex):
        return f'<code class="tex">{html.escape(tex)}</code>'
    try:
        tree = ET.fromstring(_latex_to_mathml()(tex, display="block" if display else "inline"))
    except Exception:  # latex2mathml raises many types on bad input; all mean "cannot read"
        return f'<code class="tex">{html.escape(tex)}</code>'
    for el in tree.iter():
        if el.tag.removeprefix(_MATHML_NS) not in _MATHML_ELEMENTS:
            return f'<code class="tex">{html.escape(tex)}</code>'
    return _serialise(tree, top=True)


def _serialise(el: ET.Element, top: bool = False) -> str:
    tag = el.tag.removeprefix(_MATHML_NS)
    attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in sorted(el.attrib.items()) if k in _MATHML_ATTRIBUTES)
    if top:
        attrs = f' xmlns="http://www.w3.org/1998/Math/MathML"{attrs}'
    inner = html.escape(el.text or "", quote=False)
    inner += "".join(_serialise(child) + html.escape(child.tail or "", quote=False) for child in el)
    return f"<{tag}{attrs}>{inner}</{tag}>"


def _latex_to_text(tex: str):
    """pylatexenc's conversion, run in a generator's frame. On malformed TeX (`\\frac{a}{`) it
    leaves garbage in reference cycles that include frame objects of its own calls; a frame
    object keeps the frame that called it, and so on up, and each keeps its function's locals
    once it returns, so the build's papers (`assemble_papers`) lived on until the garbage
    collector ran. A suspended generator's frame has no caller, so the chain ends here."""
    yield _latex_text().latex_to_text(tex)


@lru_cache(maxsize=4096)
def math_text(tex: str) -> str:
    if too_deep(tex):
        return tex
    try:
        out = next(_latex_to_text(tex)).strip()
    except Exception:
        return tex
    return out if out and "%s" not in out else tex


_SPECIAL = re.compile(r"[\\$*_`\n\ue000-\ue003]")  # what markdown-it, the math rules or the TeX pre-pass act on


def _render(s: str, math: str, links: bool = False) -> str:
    links = links and math == "html" and "://" in s
    if not _SPECIAL.search(s):  # most titles and abstracts: nothing to interpret
        return _linked(s) if links else html.escape(s, quote=False)
    tokens = _MD.parseInline(_tex_prepass(s))
    out: list[str] = []
    for token in tokens[0].children or []:
        t = token.type
        if t == "text":
            out.append(_linked(token.content) if links else html.escape(token.content, quote=False))
        elif t in ("math_inline", "math_inline_double", "math_single", "math_block", "math_block_eqno"):
            display = t in ("math_inline_double", "math_block", "math_block_eqno")
            out.append(math_html(token.content, display) if math == "html" else html.escape(math_text(token.content), quote=False))
        elif t == "code_inline":
            out.append(f"<code>{html.escape(token.content, quote=False)}</code>")
        elif t in ("em_open", "em_close", "strong_open", "strong_close") and "_" in token.markup:
            out.append(token.markup)  # `x_{a} and y_{b}` is subscript notation, not emphasis
        elif t in ("em_open", "em_close", "strong_open", "strong_close"):
            out.append(f"<{'/' if t.endswith('close') else ''}{'em' if t.startswith('em') else 'strong'}>")
        elif t in ("softbreak", "hardbreak"):
            out.append(" ")
        else:  # anything else markdown-it might emit is shown as its source text
            out.append(html.escape(token.content, quote=False))
    return _markers_to_html("".join(out))


def inline_html(s: str) -> str:
    """A title as safe inline HTML (emphasis, code, MathML)."""
    return _render(s, "html")


def block_html(s: str) -> str:
    """An abstract as safe HTML paragraphs."""
    paragraphs = [p for p in re.split(r"\n\s*\n", s) if p.strip()]
    return "\n".join(f"<p>{_render(p, 'html', links=True)}</p>" for p in paragraphs)


_TAGS = re.compile(r"<[^>]*>")


def plain(s: str) -> str:
    """Title or abstract as plain text: math in Unicode, no markup."""
    return html.unescape(_TAGS.sub("", _render(s, "text"))).strip()


def excerpt(plain_text: str, limit: int) -> str:
    """The first `limit` characters, cut at a word, with an ellipsis when cut."""
    text = " ".join(plain_text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.-\u2013\u2014")
    return cut + "\u2026"
