"""Stored feedback in the student's language: messages were formatted in English when the run was graded.

A check's message is stored as the text it was (``"scale(x): 2 of 2 values differ; ..."``), built
from catalog templates (``"{what}: {count} of {total} values differ; ..."``). To show it in
another language, each line is matched against the catalog's English templates, their
``{fields}`` taken back out of the text (and translated in turn: a field may be a phrase of
its own), and the translation formatted with them. A line no template matches stays as it
was, so nothing is ever lost; at worst a message stays in English.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Callable

from grader.models import Verdict

MAX_DEPTH = 3


class StoredTranslator:
    def __init__(self, catalog: dict[str, str]):
        self.catalog = catalog
        self.templates: list[tuple[re.Pattern, str]] = []
        for english, translation in catalog.items():
            fields = [name for _, name, _, _ in string.Formatter().parse(english) if name]
            if not fields:
                continue
            pattern = self._pattern(english)
            if pattern is not None:
                self.templates.append((pattern, translation))
        # The most specific (most literal text) first: "{what} returned {value}{shown}; ..." before "{what}".
        self.templates.sort(key=lambda item: -len(re.sub(r"\(\?P<\w+>\.\*\?\)|\(\?P=\w+\)", "", item[0].pattern)))

    @staticmethod
    def _pattern(template: str) -> re.Pattern | None:
        parts, seen = [], set()
        try:
            for literal, name, _spec, _conversion in string.Formatter().parse(template):
                parts.append(re.escape(literal))
                if name:
                    if not name.isidentifier():
                        return None
                    parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.*?)")
                    seen.add(name)
            return re.compile("".join(parts), re.DOTALL)
        except (ValueError, re.error):
            return None

    def __call__(self, text: str) -> str:
        if not self.catalog or not text:
            return text
        return "\n".join(self._line(line, 0) for line in text.split("\n"))

    def _line(self, line: str, depth: int) -> str:
        if line in self.catalog:
            return self.catalog[line]
        if depth >= MAX_DEPTH:
            return line
        for pattern, translation in self.templates:
            match = pattern.fullmatch(line)
            if match is None:
                continue
            fields = {name: self._line(value, depth + 1) for name, value in match.groupdict().items()}
            try:
                return translation.format(**fields)
            except (KeyError, IndexError, ValueError):
                return line
        return line


def verdict_translator(lang: str, check_folders: list[Path]) -> Callable[[Verdict], Verdict]:
    """A verdict with its stored messages (formatted in English at grading) in ``lang``, where the catalogs
    know them (``StoredTranslator``)."""
    if lang == "en":
        return lambda verdict: verdict
    from grader.i18n import catalog_files, load_catalog

    catalog: dict[str, str] = {}
    for path in catalog_files(lang, check_folders):
        catalog.update(load_catalog(path))
    translator = StoredTranslator(catalog)

    def translated(verdict: Verdict) -> Verdict:
        checks = [check.model_copy(update=dict(message=translator(check.message))) for check in verdict.checks]
        return verdict.model_copy(update=dict(checks=checks, message=translator(verdict.message)))

    return translated
