"""Text from a student, made inert for the medium it lands in: the one place that escapes it.

A student controls their file names, their name (from the file name), what their code
prints and every exception message, and a check's feedback may echo any of it. Each
output format passes such text through the function for its medium below, and through
nothing else.
"""

from __future__ import annotations

import html
import re

MAX_MESSAGE_CHARS = 1500  # per Markdown table cell or workflow command

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_XML_INVALID = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Markdown punctuation that can act inside a table cell: emphasis, code spans, links and
# images, cell breaks, strikethrough, math. (HTML is escaped separately; list and heading
# markers only act at the start of a line, where untrusted text never is.)
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~$])")
_SPREADSHEET_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cut(text: str, limit: int | None) -> str:
    return text[:limit] + " …" if limit is not None and len(text) > limit else text


def plain_text(text: str, limit: int | None = None) -> str:
    """Text without control characters (ANSI escapes, NUL, carriage returns); newlines kept."""
    return _cut(_CONTROL.sub("", text.replace("\r\n", "\n").replace("\t", " ")), limit)


def markdown_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Untrusted text made inert inside a Markdown table cell, on one source line.

    HTML is escaped (no tags, no `<!-- -->` markers), Markdown punctuation is
    backslash-escaped (no links, images, code spans or `|` cell breaks), `@` cannot
    mention anyone, and line breaks become `<br>` so the text never starts a line.
    """
    text = plain_text(text, limit)
    text = html.escape(text, quote=False)
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    text = text.replace("@", "@&#8203;")
    return "<br>".join(line.strip() for line in text.split("\n"))


def html_text(text: object) -> str:
    """Text for an HTML element or a quoted attribute."""
    return html.escape(str(text), quote=True)


def xml_text(text: str, limit: int | None = None) -> str:
    """Text XML 1.0 can hold (ElementTree escapes markup but writes NUL and escapes as they are)."""
    return _cut(_XML_INVALID.sub("", text), limit)


def command_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's own toolkit does: it stays on its line."""
    return plain_text(text, MAX_MESSAGE_CHARS).replace("%", "%25").replace("\n", "%0A")


def command_property(text: str) -> str:
    """A workflow command's property value (file=, title=)."""
    return command_data(text).replace(":", "%3A").replace(",", "%2C")


def spreadsheet_cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    return "'" + text if text.startswith(_SPREADSHEET_FORMULA_START) else text
