const HELP_ARTICLE = /^help_([a-z0-9]+(?:-[a-z0-9]+)*)$/;

/** The path a Telegram `startapp` parameter opens: `help_<slug>` → that article; `help` → the help. */
export function pathForStartParam(startParam: string | null | undefined): string | null {
  if (!startParam) return null;
  if (startParam === 'help') return '/help';
  const article = HELP_ARTICLE.exec(startParam);
  return article && article[1].length <= 48 ? `/help/${article[1]}` : null;
}
