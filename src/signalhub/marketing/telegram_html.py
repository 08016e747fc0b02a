"""Telegram HTML as the Bot API parses it (core.telegram.org/bots/api#html-style): a template
Telegram would refuse is refused when it is written, not when 100,000 messages bounce."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
# Placeholders and the most each may add: Telegram's first_name is at most 64 characters.
PLACEHOLDERS = {"first_name": 64}
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

_ALLOWED_TAGS = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "span": {"class"},
    "tg-spoiler": set(),
    "a": {"href"},
    "tg-emoji": {"emoji-id"},
    "code": {"class"},
    "pre": set(),
    "blockquote": {"expandable"},
}
_NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}
_LINK_SCHEMES = ("http://", "https://", "tg://")


class InvalidTemplate(ValueError):
    """The message says what Telegram would object to, for the admin who wrote it."""


def utf16_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open_tags: list[str] = []
        self.visible = 0
        self.placeholders: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        allowed = _ALLOWED_TAGS.get(tag)
        if allowed is None:
            raise InvalidTemplate(f"Telegram does not support the <{tag}> tag.")
        for name, value in attrs:
            if name not in allowed:
                raise InvalidTemplate(f"<{tag}> does not take the attribute '{name}'.")
            if tag == "a" and not (value or "").startswith(_LINK_SCHEMES):
                raise InvalidTemplate("A link's href must start with https://, http:// or tg://.")
            if tag == "span" and value != "tg-spoiler":
                raise InvalidTemplate('A <span> must be class="tg-spoiler".')
        if tag == "a" and "href" not in dict(attrs):
            raise InvalidTemplate("A link (<a>) needs an href.")
        self.open_tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise InvalidTemplate(f"Telegram does not support self-closing tags (<{tag}/>).")

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags[-1] != tag:
            expected = f"</{self.open_tags[-1]}>" if self.open_tags else "no closing tag"
            raise InvalidTemplate(f"</{tag}> does not match: expected {expected}.")
        self.open_tags.pop()

    def handle_data(self, data: str) -> None:
        for character in "<>&":
            if character in data:
                escaped = html.escape(character)
                raise InvalidTemplate(
                    f"A bare '{character}' must be written {escaped} in Telegram HTML."
                )
        for name in PLACEHOLDER.findall(data):
            if name not in PLACEHOLDERS:
                known = ", ".join(f"{{{known}}}" for known in PLACEHOLDERS)
                raise InvalidTemplate(f"Unknown placeholder {{{name}}}; known: {known}.")
            self.placeholders.append(name)
        self.visible += utf16_length(PLACEHOLDER.sub("", data))

    def handle_entityref(self, name: str) -> None:
        if name not in _NAMED_ENTITIES:
            raise InvalidTemplate(
                f"&{name}; is not supported: use &lt; &gt; &amp; &quot; or a numeric entity."
            )
        self.visible += 1

    def handle_charref(self, name: str) -> None:
        self.visible += 1

    def handle_comment(self, data: str) -> None:
        raise InvalidTemplate("Telegram HTML has no comments.")

    def handle_decl(self, decl: str) -> None:
        raise InvalidTemplate("Telegram HTML has no declarations.")

    def unknown_decl(self, data: str) -> None:
        raise InvalidTemplate("Telegram HTML has no declarations.")


def check(text: str, *, with_photo: bool) -> None:
    """Raises InvalidTemplate for anything Telegram would reject, counting each placeholder at
    its longest."""
    if not text.strip():
        raise InvalidTemplate("The text is empty.")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.open_tags:
        raise InvalidTemplate(f"<{checker.open_tags[-1]}> is never closed.")
    if checker.rawdata:
        raise InvalidTemplate("The text ends inside a tag.")
    longest = checker.visible + sum(PLACEHOLDERS[name] for name in checker.placeholders)
    limit = CAPTION_LIMIT if with_photo else TEXT_LIMIT
    if longest > limit:
        kind = "a photo caption" if with_photo else "a message"
        raise InvalidTemplate(
            f"Too long for {kind}: up to {longest} characters once placeholders are filled "
            f"(each {{first_name}} counts 64), Telegram allows {limit}."
        )


def render(text: str, values: dict[str, str]) -> str:
    """Fills the placeholders, escaped and cut to the length `check` allowed for."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return html.escape(_fit(values.get(name, ""), PLACEHOLDERS[name]))

    return PLACEHOLDER.sub(fill, text)


def _fit(value: str, units: int) -> str:
    while utf16_length(value) > units:
        value = value[:-1]
    return value
