import { Fragment, type ReactNode } from 'react';

/**
 * The article Markdown subset (see src/signalhub/knowledge/markdown.py), rendered as React
 * elements: text is always text, never HTML, and only http(s) and tg links become links.
 */
const INLINE =
  /`([^`\n]+)`|\*\*(.+?)\*\*|\[([^\]\n]+)\]\(([^)\s]+)\)|(?<![\w*])\*([^*\n]+?)\*(?![\w*])/g;
const HEADING = /^#{1,3}\s+(.*)$/;
const BULLET = /^\s*[-*]\s+(.*)$/;
const NUMBERED = /^\s*\d{1,3}[.)]\s+(.*)$/;
const SAFE_URL = /^(https?:\/\/|tg:\/\/)/i;

export function renderInline(source: string): ReactNode[] {
  const nodes: ReactNode[] = [];
  let position = 0;
  for (const match of source.matchAll(INLINE)) {
    const index = match.index ?? 0;
    if (index > position) nodes.push(source.slice(position, index));
    const [, code, bold, label, url, italic] = match;
    const key = nodes.length;
    if (code !== undefined) nodes.push(<code key={key}>{code}</code>);
    else if (bold !== undefined) nodes.push(<strong key={key}>{renderInline(bold)}</strong>);
    else if (italic !== undefined) nodes.push(<em key={key}>{renderInline(italic)}</em>);
    else if (SAFE_URL.test(url))
      nodes.push(
        <a key={key} href={url} target="_blank" rel="noopener noreferrer">
          {renderInline(label)}
        </a>,
      );
    else nodes.push(<Fragment key={key}>{renderInline(label)}</Fragment>);
    position = index + match[0].length;
  }
  if (position < source.length) nodes.push(source.slice(position));
  return nodes;
}

function renderBlock(block: string, key: number): ReactNode {
  const lines = block.split('\n');
  if (lines.every((line) => BULLET.test(line))) {
    return <ul key={key}>{lines.map((line, i) => <li key={i}>{renderInline(line.match(BULLET)![1])}</li>)}</ul>;
  }
  if (lines.every((line) => NUMBERED.test(line))) {
    return <ol key={key}>{lines.map((line, i) => <li key={i}>{renderInline(line.match(NUMBERED)![1])}</li>)}</ol>;
  }
  const heading = lines.length === 1 ? HEADING.exec(lines[0]) : null;
  if (heading) return <h3 key={key}>{renderInline(heading[1])}</h3>;
  return (
    <p key={key}>
      {lines.map((line, i) => (
        <Fragment key={i}>
          {i > 0 && <br />}
          {renderInline(line)}
        </Fragment>
      ))}
    </p>
  );
}

export function Markdown({ source }: { source: string }) {
  const blocks = source
    .trim()
    .split(/\n\s*\n/)
    .map((block) => block.trim())
    .filter(Boolean);
  return <div className="markdown">{blocks.map(renderBlock)}</div>;
}
