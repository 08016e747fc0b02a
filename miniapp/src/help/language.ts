/** The language help is read in: the Telegram user's, else the browser's; the API falls back to English. */
let readerLanguage = 'en';

const CODE = /^[a-z]{2}/i;

export function languageFromInitData(initData: string | undefined): string | null {
  if (!initData) return null;
  try {
    const user = JSON.parse(new URLSearchParams(initData).get('user') ?? 'null') as { language_code?: unknown } | null;
    return typeof user?.language_code === 'string' ? user.language_code : null;
  } catch {
    return null;
  }
}

export function setReaderLanguage(code: string | null | undefined): void {
  const match = code ? CODE.exec(code) : null;
  readerLanguage = match ? match[0].toLowerCase() : 'en';
}

export const getReaderLanguage = (): string => readerLanguage;
