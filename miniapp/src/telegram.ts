import { copyTextToClipboard, openTelegramLink, showPopup } from '@telegram-apps/sdk-react';

/**
 * True when a Telegram client can receive SDK calls. Launch params alone are not enough: Telegram
 * Web links can be opened in a plain tab, where the params sit in the URL hash but nothing listens.
 */
export function hasTelegramClient(): boolean {
  const external = window.external as { notify?: unknown } | undefined;
  return window.self !== window.top || 'TelegramWebviewProxy' in window || typeof external?.notify === 'function';
}

export function openTelegramUrl(url: string): void {
  if (hasTelegramClient() && openTelegramLink.isAvailable()) {
    openTelegramLink(url);
    return;
  }
  const opened = window.open(url, '_blank');
  if (opened) opened.opener = null;
  else window.location.assign(url);
}

/** Asks before something that cannot be undone: Telegram's native popup, else the browser's. */
export async function confirmAction(title: string, message: string, confirmText: string): Promise<boolean> {
  if (hasTelegramClient() && showPopup.isAvailable()) {
    const pressed = await showPopup({
      title,
      message,
      buttons: [
        { id: 'confirm', type: 'destructive', text: confirmText },
        { id: 'cancel', type: 'cancel' },
      ],
    });
    return pressed === 'confirm';
  }
  return window.confirm(`${title}\n\n${message}`);
}

/** True when the text reached the clipboard. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await copyTextToClipboard(text);
    return true;
  } catch {
    return false;
  }
}
