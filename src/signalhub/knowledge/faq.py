"""The FAQ shipped with signalhub: one Markdown file per article under faq/<language>/<slug>.md,
opened by front matter:

    ---
    title: How do I approve a signal?
    category: trading
    keywords: approve reject button
    ---
    The body, in the Markdown that knowledge/markdown.py renders.

The front matter is flat `key: value` lines; an unknown or missing key is an error, so a typo
never ships an article without its category."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from signalhub.models import KnowledgeCategory

FAQ_DIR = Path(__file__).parent / "faq"
_FIELDS = {"title", "category", "keywords"}


class FaqFileError(ValueError):
    pass


@dataclass(frozen=True)
class FaqArticle:
    slug: str
    language: str
    title: str
    category: KnowledgeCategory
    keywords: str
    body: str


def parse(path: Path, language: str) -> FaqArticle:
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in lines[1:]:
        raise FaqFileError(f"{path}: must open with front matter between '---' lines")
    end = lines.index("---", 1)
    fields: dict[str, str] = {}
    for line in lines[1:end]:
        key, separator, value = line.partition(":")
        if not separator or key.strip() not in _FIELDS:
            raise FaqFileError(f"{path}: unexpected front matter line {line!r}")
        fields[key.strip()] = value.strip()
    missing = _FIELDS - fields.keys()
    body = "\n".join(lines[end + 1 :]).strip()
    if missing or not body or not fields["title"]:
        raise FaqFileError(f"{path}: needs a title, {', '.join(sorted(_FIELDS))} and a body")
    try:
        category = KnowledgeCategory(fields["category"])
    except ValueError as error:
        raise FaqFileError(f"{path}: unknown category {fields['category']!r}") from error
    return FaqArticle(path.stem, language, fields["title"], category, fields["keywords"], body)


def load(directory: Path = FAQ_DIR) -> list[FaqArticle]:
    return [
        parse(path, language_dir.name)
        for language_dir in sorted(directory.iterdir())
        if language_dir.is_dir()
        for path in sorted(language_dir.glob("*.md"))
    ]
