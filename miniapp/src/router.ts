import { useSyncExternalStore } from 'react';

export const BASE = '/miniapp';
const NAVIGATE_EVENT = 'miniapp:navigate';

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener(NAVIGATE_EVENT, listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener(NAVIGATE_EVENT, listener);
  };
}

/** The current path relative to the app base, e.g. "/billing"; "/" for the base itself. */
export function currentPath(): string {
  const { pathname } = window.location;
  const relative = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  return relative.replace(/\/+$/, '') || '/';
}

export function usePath(): string {
  return useSyncExternalStore(subscribe, currentPath);
}

export function navigate(path: string, { replace = false } = {}): void {
  const url = BASE + path;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}
