"""Text from a file, the warehouse or the URL is data, never markup: the one place it is escaped.

Why: streamlit renders `st.markdown`, `st.caption`, `st.info`, `st.metric(help=...)` and the like
as GitHub-flavoured markdown plus streamlit's own directives (`:blue-badge[...]`, `:red[...]`,
`:material/icon:`) and `$...$` maths. A partner's estimate whose notes say
`![p](http://host/p.png)` would make every visitor's browser fetch that image; `[official](...)`
shows a phishing link; `:blue-badge[official]` a fake badge; a blank line ends the map's raw-HTML
block. So every value that did not come from our own code goes through `md` (for markdown
elements) or `html` (for HTML we build), and links from the warehouse through `link`.

`md` backslash-escapes every ASCII punctuation character markdown gives a meaning to (CommonMark
lets any ASCII punctuation be backslash-escaped, and streamlit's directives and maths are
parsed after that, so an escaped `:`, `[` or `$` is shown as itself), and turns line breaks into
spaces so a value can never start a new block (a list, a heading, a code fence, a table).
Imports: html, re, urllib.parse only.
"""
from __future__ import annotations

import html as _html
import re
from urllib.parse import urlsplit

# Characters CommonMark, GFM and streamlit's extensions give a meaning to anywhere in a line:
# emphasis, code, links and images, raw HTML, headings, tables, strikethrough, directives
# (`:blue-badge[...]`, `:material/x:`), maths (`$`), e-mail autolinks (`@`).
MARKDOWN_SPECIAL = "\\`*_[]()<>#!|~:$@"
_MD_RE = re.compile("([" + re.escape(MARKDOWN_SPECIAL) + "])")
# Block markers that only matter at the start of an element (list items, setext underline).
_LEADING_RE = re.compile(r"^([-+=]|\d+[.)])")
# GFM turns a bare `www.host` into a link: escaping its dot stops that.
_WWW_RE = re.compile(r"(?i)\b(www)\.")
_BREAKS_RE = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _plain(value: object) -> str:
    """The value as one line of text: line breaks become spaces, control characters go."""
    text = "" if value is None else str(value)
    return _CONTROL_RE.sub("", _BREAKS_RE.sub(" ", text))


def md(value: object) -> str:
    """`value` as markdown that renders as exactly its text, on one line: the image markup
    `![p](http://h/p.png)` comes back as `\\!\\[p\\]\\(http\\://h/p.png\\)`."""
    # Leading spaces would make an indented code block at the start of an element.
    text = _MD_RE.sub(r"\\\1", _plain(value)).lstrip(" \t")
    text = _WWW_RE.sub(r"\1\\.", text)
    return _LEADING_RE.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], text)


def html(value: object, *, newlines: str = " ") -> str:
    """`value` escaped for HTML text or a quoted attribute. Line breaks become `newlines` (a
    space by default; pass "&#10;" to keep them inside a <title>, where browsers show them as line
    breaks), because a blank line inside an HTML block handed to markdown ends the block and the
    rest of the markup is shown as text."""
    text = "" if value is None else str(value)
    text = _CONTROL_RE.sub("", text.replace("\r\n", "\n"))
    escaped = _html.escape(text, quote=True)
    return _BREAKS_RE.sub(newlines, escaped)


def safe_url(url: object) -> str | None:
    """The URL when it is an absolute http(s) URL with a host and nothing that could break out of
    a markdown link target; otherwise None (javascript:, data:, relative or malformed)."""
    if not isinstance(url, str):
        return None
    u = url.strip()
    if not u or any(c.isspace() or ord(c) < 32 for c in u) or any(c in u for c in "<>\"'`()\\"):
        return None
    try:
        parts = urlsplit(u)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return u


def link(label: object, url: object) -> str:
    """A markdown link whose label is escaped; only an http(s) URL becomes a link, anything else
    is shown as the escaped label alone."""
    target = safe_url(url)
    return f"[{md(label)}]({target})" if target else md(label)


def as_shown(markdown: str) -> str:
    """The text a reader sees for markdown `md` produced: backslash escapes removed (for tests and
    for comparing a rendered element with the value it came from)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


# plotly.js (the bundle streamlit ships) reads a few HTML tags in every string it draws: titles,
# axis and tick labels, legend names, annotations, hover text and the values a hovertemplate
# inserts (`<a href>` becomes a live SVG link, `<b>`, `<i>`, `<br>`, `<sup>`, `<sub>`,
# `<span style>`); it then decodes only `&amp; &lt; &gt;` and numeric entities (`&#37;`) in the
# text between tags (not `&quot;`). A hovertemplate also substitutes `%{...}` in its literal
# text, and a string wrapped in `$...$` is handed to MathJax when a page loads it.
_PLOTLY_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "%": "&#37;", "$": "&#36;"})


def plotly_text(value: object) -> str:
    """`value` as text plotly draws exactly as it is, on one line: `<a href="x">y</a>` comes
    back as `&lt;a href="x"&gt;y&lt;/a&gt;` (shown as typed, no link), `%{x}` as `&#37;{x}` (not
    a template field, shown as `%{x}`), `$x$` with `&#36;` (never maths). For every title,
    label, legend name, annotation, hover value and literal hovertemplate text that came from a
    file, the warehouse or the URL; the markup we add ourselves (`<br>`, `<b>`) goes around it."""
    return _plain(value).translate(_PLOTLY_ESCAPES)
