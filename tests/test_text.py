"""Titles and abstracts to safe HTML and plain text."""
from __future__ import annotations

import gc
import weakref
from html.parser import HTMLParser

import pytest

from sitegen import text


def tags(html: str) -> list[tuple[str, list]]:
    """The elements and attributes a browser would build from this HTML."""
    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collect().feed(html)
    return found


@pytest.mark.parametrize("source,expected_html,expected_plain", [
    ("HyperZ$\\cdot$Z$\\cdot$W Operator", "HyperZ<math", "HyperZ\u00b7Z\u00b7W Operator"),
    ("a $\\mathscr{W}_+$ Adapter", '<mi mathvariant="script">W</mi>', "a \U0001d4b2_+ Adapter"),
    ("\\(W\\) is small", "<mi>W</mi>", "W is small"),
    ("PixArt-$\u03b1$: Fast", "<mi>\u03b1</mi>", "PixArt-\u03b1: Fast"),
    ("{\\em Deep} and \\textbf{bold}", "<em>Deep</em> and <strong>bold</strong>", "Deep and bold"),
    ("costs $5 and $10", "costs $5 and $10", "costs $5 and $10"),
    ("simple ``behavior cloning'' for `a` and ``b''", "simple \u201cbehavior cloning\u201d for <code>a</code> and \u201cb\u201d",
     "simple \u201cbehavior cloning\u201d for a and \u201cb\u201d"),
])
def test_latex_shows_as_math_or_clean_text(source, expected_html, expected_plain):
    assert expected_html in text.inline_html(source)
    assert text.plain(source) == expected_plain


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "![x](http://evil/x.png)",
])
def test_markup_in_text_is_shown_as_text(hostile):
    assert {tag for tag, _ in tags(text.inline_html(hostile))} == set()
    block = tags(text.block_html(hostile))
    assert {tag for tag, _ in block} <= {"p", "a"}  # an http(s) URL in an abstract is a link, nothing else
    assert all(dict(attrs)["href"].startswith("http://evil/") and dict(attrs)["rel"] == "nofollow noopener"
               for tag, attrs in block if tag == "a")
    assert text.plain(hostile) == hostile


@pytest.mark.parametrize("tex", [
    "$\\text{<script>alert(1)</script>}$",
    "$\\href{javascript:alert(1)}{x}$",
    "$\\style{background:url(x)}{x}$",
])
def test_math_cannot_smuggle_markup(tex):
    found = tags(text.inline_html(tex))
    assert not {tag for tag, _ in found} - {"code", "math", "mrow", "mi", "mo", "mn", "mtext"}
    assert all(name in ("xmlns", "display", "mathvariant", "stretchy", "class") for _, attrs in found for name, _ in attrs)


def test_broken_latex_shows_its_source():
    assert text.inline_html("bad $\\frac{1}{$ x") == 'bad <code class="tex">\\frac{1}{</code> x'


@pytest.mark.parametrize("tex", [r"\frac{a}{", r"\begin{x"])
def test_malformed_tex_keeps_no_caller_alive(tex):
    """pylatexenc leaves garbage cycles on malformed TeX; they must not reach back to the
    caller's frame, whose locals (the build's papers) would then wait for the garbage collector."""
    class Papers:
        pass

    def caller():
        papers = Papers()
        text.math_text.cache_clear()
        text.math_text(tex)
        return weakref.ref(papers)

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        papers = caller()
        assert papers() is None
    finally:
        if was_enabled:
            gc.enable()


def test_abstract_paragraphs():
    assert text.block_html("One.\n\nTwo *three*.") == "<p>One.</p>\n<p>Two <em>three</em>.</p>"


def test_underscores_are_subscripts_not_emphasis():
    assert text.inline_html("{LoRETTA}_{adp} and {LoRETTA}_{rep}") == "{LoRETTA}_{adp} and {LoRETTA}_{rep}"
    assert text.inline_html("a *real* emphasis") == "a <em>real</em> emphasis"


def test_excerpt_cuts_at_a_word():
    assert text.excerpt("alpha beta gamma delta", 13) == "alpha beta\u2026"
    assert text.excerpt("short", 40) == "short"


# -- deep or long text (reliability round 2, items 4 and 9) -------------------------------------
@pytest.mark.parametrize("hostile", [
    "`" * 40000, "`` " * 13000, "\\( " * 13000, "\\[ " * 13000, "$ " * 20000,
    "``" + "a" * 40000, "\\(" + "a " * 20000,
])
def test_long_hostile_abstracts_render_in_linear_time(hostile):
    """40 KB of backticks, ``, or \\( took 5 to 24 s (quadratic). The budget is generous for a
    slow machine, and far below what quadratic work on 40 KB takes."""
    import time

    started = time.process_time()
    text.block_html(hostile), text.plain(hostile)
    assert time.process_time() - started < 1.0


@pytest.mark.parametrize("nested", [
    "$" + "{" * 800 + "x" + "}" * 800 + "$",
    "\\(" + "{" * 800 + "x" + "}" * 800 + "\\)",
    "$" + "\\left(" * 300 + "x" + "\\right)" * 300 + "$",
])
def test_deeply_nested_math_is_shown_as_its_source(nested):
    html = text.block_html(nested)  # raised RecursionError
    assert '<code class="tex">' in html and "<math" not in html
    assert text.plain(nested)


def test_display_math_in_brackets_is_math():
    html = text.block_html(r"We bound \[ \sum_i a_i \le 1 \] for all i, and \(x^2\) too.")
    assert html.count("<math") == 2 and 'display="block"' in html and "\\[" not in html


def test_arithmetic_is_not_emphasis():
    html = text.block_html("We get 6*7 = 42 and p*q = r, O(n*m) time; *this* stays emphasis.")
    assert "6*7" in html and "p*q" in html and "n*m" in html
    assert html.count("<em>") == 1 and "<em>this</em>" in html
