"""Messages in the student's language: English by default, Russian with ``--lang ru``.

Every message a student reads is written in English in the code and passed through
:func:`tr`. The English text (a template with ``{fields}``) is the key; a catalog maps it
to the other language. Catalogs are flat TOML tables, ``"English" = "Перевод"``:
the grader's own in ``grader/locale/<lang>.toml``, an assignment's next to its checks
(``checks/public/messages.<lang>.toml``, ``checks/messages.<lang>.toml`` for the support
module, ``checks/hidden/messages.<lang>.toml``). A text without a translation stays in
English, so a missing entry never loses a message.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Iterable

from grader.errors import GraderError

LANGUAGES = ("en", "ru")
LOCALE_DIR = Path(__file__).with_name("locale")

_language = "en"
_catalog: dict[str, str] = {}


def load_catalog(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise GraderError(f"{path}: not a readable message catalog ({error}); fix the TOML") from None
    bad = [key for key, value in data.items() if not isinstance(value, str)]
    if bad:
        raise GraderError(f"{path}: {bad[0]!r} is not a string; a catalog maps English text to its translation")
    return data


def catalog_files(language: str, check_folders: Iterable[Path] = ()) -> list[Path]:
    files = [LOCALE_DIR / f"{language}.toml"]
    files += [folder / f"messages.{language}.toml" for folder in check_folders]
    return [path for path in files if path.is_file()]


def set_language(language: str, check_folders: Iterable[Path] = ()) -> None:
    """Choose the language of every later :func:`tr`; ``check_folders`` add an assignment's catalogs."""
    global _language, _catalog
    if language not in LANGUAGES:
        raise GraderError(f"--lang {language}: expected one of {', '.join(LANGUAGES)}")
    catalog: dict[str, str] = {}
    if language != "en":
        for path in catalog_files(language, check_folders):
            catalog.update(load_catalog(path))
    _language, _catalog = language, catalog


def current_language() -> str:
    return _language


def tr(text: str, /, **fields) -> str:
    """``text`` in the current language, with ``fields`` filled in."""
    template = _catalog.get(text, text) if _catalog else text
    if not fields:
        return template
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError):  # a broken translation must not lose the message
        return text.format(**fields)
