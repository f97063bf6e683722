"""Text from a student, made inert for the medium it lands in: the one place that escapes it.

A student controls their file names, their name (from the file name), what their code
prints and every exception message, and a check's feedback may echo any of it. Each
output format passes such text through the function for its medium below, and through
nothing else.

The common rule: a character that acts instead of showing (C0 and C1 controls such as
ESC, which starts a terminal escape sequence, and CR, which rewinds a line; DEL; the bidi
embeddings, overrides and isolates that reorder what a reader sees; line and paragraph
separators) is shown as its Python escape (``\\x1b``, ``\\r``, ``\\u202e``), so it does
nothing and the reader still sees that it was there. Text that stands in one line (a table
cell, a name, a message) shows a line break as ``\\n`` too: one verdict is one row, whatever
its name. Only a block of output (a submission's stdout) keeps its line breaks and tabs.
"""

from __future__ import annotations

import html
import re

MAX_MESSAGE_CHARS = 1500  # per Markdown table cell or workflow command

_OTHER_ACTING = r"\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"
_ACTING_IN_A_LINE = re.compile(rf"[\x00-\x1f{_OTHER_ACTING}]")
_ACTING_IN_A_BLOCK = re.compile(rf"[\x00-\x08\x0b-\x1f{_OTHER_ACTING}]")  # \t and \n are the block's own
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_XML_INVALID = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Markdown punctuation that can act inside a table cell: emphasis, code spans, links and
# images, cell breaks, strikethrough, math. (HTML is escaped separately; list and heading
# markers only act at the start of a line, where untrusted text never is.)
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~$])")
_SPREADSHEET_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match) -> str:
    char = match.group()
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _cut(text: str, limit: int | None) -> str:
    return text[:limit] + " …" if limit is not None and len(text) > limit else text


def visible_line(text: str, limit: int | None = None) -> str:
    """One line in which every acting character, line breaks included, is shown as its escape."""
    return _ACTING_IN_A_LINE.sub(_escape, _cut(str(text).replace("\r\n", "\n"), limit))


def visible_block(text: str, limit: int | None = None) -> str:
    """Lines of output: line breaks and tabs kept, every other acting character shown as its escape."""
    return _ACTING_IN_A_BLOCK.sub(_escape, _cut(str(text).replace("\r\n", "\n"), limit))


# -- terminal (rich): always wrapped in rich.text.Text as well, so `[red]` is not markup --------------

terminal_line = visible_line
terminal_block = visible_block


# -- Markdown ---------------------------------------------------------------------------------------

def markdown_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Untrusted text made inert inside a Markdown table cell, on one source line.

    Acting characters and line breaks are shown escaped (the text never starts a line),
    HTML is escaped (no tags, no `<!-- -->` markers), Markdown punctuation is
    backslash-escaped (no links, images, code spans or `|` cell breaks) and `@` cannot
    mention anyone.
    """
    text = visible_line(text, limit).strip()
    text = html.escape(text, quote=False)
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    return text.replace("@", "@&#8203;")


# -- HTML -------------------------------------------------------------------------------------------

def html_text(text: object) -> str:
    """Text for an HTML element or a quoted attribute, on one line."""
    return html.escape(visible_line(str(text)), quote=True)


def html_block(text: object) -> str:
    """Lines of text (a student's code, inside <pre>): line breaks and tabs kept, nothing else acts."""
    return html.escape(visible_block(str(text)), quote=True)


# -- XML (JUnit) ------------------------------------------------------------------------------------

def xml_text(text: str, limit: int | None = None) -> str:
    """An element's text: lines kept; nothing XML 1.0 cannot hold (ElementTree would write NUL as it is)."""
    return _XML_INVALID.sub(_escape, visible_block(text, limit))


def xml_attribute(text: str, limit: int | None = None) -> str:
    """An attribute's value (a failure's message, a property): one line."""
    return _XML_INVALID.sub(_escape, visible_line(text, limit))


# -- GitHub workflow commands -----------------------------------------------------------------------

def command_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's own toolkit does: it stays on its line."""
    return visible_block(text, MAX_MESSAGE_CHARS).replace("%", "%25").replace("\n", "%0A")


def command_property(text: str) -> str:
    """A workflow command's property value (file=, title=)."""
    return command_data(text).replace(":", "%3A").replace(",", "%2C")


# -- CSV --------------------------------------------------------------------------------------------

def spreadsheet_cell(text: str) -> str:
    """A CSV cell on one line that a spreadsheet will not run as a formula."""
    text = visible_line(text)
    return "'" + text if text.startswith(_SPREADSHEET_FORMULA_START) else text

