"""The Markdown that articles are written in, rendered as Telegram HTML.

The subset: paragraphs separated by blank lines, `#`/`##`/`###` headings, `-` or `*` bullet and
`1.` numbered lists, **bold**, *italic*, `code` and [links](https://...). The Mini App renders
the same subset itself (miniapp/src/help/markdown.tsx). Nothing from an article reaches Telegram
unescaped, and only http(s) and tg links become links."""

from __future__ import annotations

import html
import re

TELEGRAM_MESSAGE_LIMIT = 4096

_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>[^)\s]+)\)"
    r"|(?<![\w*])\*(?P<italic>[^*\n]+?)\*(?![\w*])"
)
_HEADING = re.compile(r"^#{1,3}\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")
_SAFE_URL = re.compile(r"^(https?://|tg://)", re.IGNORECASE)


def render_inline(source: str) -> str:
    parts: list[str] = []
    position = 0
    for match in _INLINE.finditer(source):
        parts.append(html.escape(source[position : match.start()], quote=False))
        if match["code"] is not None:
            parts.append(f"<code>{html.escape(match['code'], quote=False)}</code>")
        elif match["bold"] is not None:
            parts.append(f"<b>{render_inline(match['bold'])}</b>")
        elif match["italic"] is not None:
            parts.append(f"<i>{render_inline(match['italic'])}</i>")
        elif _SAFE_URL.match(match["url"]):
            url = html.escape(match["url"], quote=True)
            parts.append(f'<a href="{url}">{render_inline(match["label"])}</a>')
        else:
            parts.append(render_inline(match["label"]))
        position = match.end()
    parts.append(html.escape(source[position:], quote=False))
    return "".join(parts)


def _render_line(line: str) -> str:
    if heading := _HEADING.match(line):
        return f"<b>{render_inline(heading[1])}</b>"
    if bullet := _BULLET.match(line):
        return f"• {render_inline(bullet[1])}"
    if numbered := _NUMBERED.match(line):
        return f"{numbered[1]}. {render_inline(numbered[2])}"
    return render_inline(line)


def paragraphs(markdown: str) -> list[str]:
    return [block.strip() for block in re.split(r"\n\s*\n", markdown.strip()) if block.strip()]


def render_block(block: str) -> str:
    return "\n".join(_render_line(line) for line in block.splitlines())


def _fit(block: str, limit: int) -> list[str]:
    """A paragraph too long for one message, cut between words (by source length, which the
    rendered HTML can exceed only by its tags, so half the limit leaves room)."""
    pieces: list[str] = []
    current = ""
    for word in block.split(" "):
        if current and len(current) + 1 + len(word) > limit // 2:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    pieces.append(current)
    return [render_block(piece) for piece in pieces]


def to_telegram_messages(
    title: str, markdown: str, limit: int = TELEGRAM_MESSAGE_LIMIT
) -> list[str]:
    """The article as Telegram HTML, split at paragraph boundaries into messages of at most
    `limit` characters."""
    blocks = [f"<b>{html.escape(title, quote=False)}</b>"]
    for paragraph in paragraphs(markdown):
        rendered = render_block(paragraph)
        blocks.extend([rendered] if len(rendered) <= limit else _fit(paragraph, limit))
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) > limit and current:
            messages.append(current)
            current = block
        else:
            current = candidate
    messages.append(current)
    return messages


_MARKUP = re.compile(r"\*\*|`|^#{1,3}\s+|^\s*[-*]\s+", re.MULTILINE)
_LINK = re.compile(r"\[([^\]\n]+)\]\([^)\s]*\)")


def strip_markup(markdown: str) -> str:
    """Markdown without its markup, whitespace runs as one space, ends left as they are."""
    return re.sub(r"\s+", " ", _MARKUP.sub("", _LINK.sub(r"\1", markdown)))


def plain_text(markdown: str) -> str:
    return strip_markup(markdown).strip()
