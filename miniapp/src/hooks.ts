import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from './api';

/**
 * Calls `callback` every `ms` while the page is visible, and once more as soon as it becomes
 * visible again, so a backgrounded Mini App neither polls nor shows stale data on return.
 */
export function useVisibleInterval(callback: () => void, ms: number): void {
  const latest = useRef(callback);
  latest.current = callback;

  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const sync = () => {
      clearInterval(timer);
      timer = undefined;
      if (document.visibilityState !== 'visible') return;
      timer = setInterval(() => latest.current(), ms);
    };
    const onVisibilityChange = () => {
      if (document.visibilityState === 'visible') latest.current();
      sync();
    };
    sync();
    document.addEventListener('visibilitychange', onVisibilityChange);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisibilityChange);
    };
  }, [ms]);
}

/** The current time, ticking every second while the page is visible. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now);
  useVisibleInterval(() => setNow(Date.now()), 1000);
  return now;
}

/** Pull down from the top of the page and let go to refresh (touch screens). */
export function usePullToRefresh(onRefresh: () => void, thresholdPx = 70): void {
  const latest = useRef(onRefresh);
  latest.current = onRefresh;

  useEffect(() => {
    let startY: number | null = null;
    const onStart = (event: TouchEvent) => {
      startY = window.scrollY <= 0 && event.touches.length === 1 ? event.touches[0].clientY : null;
    };
    const onEnd = (event: TouchEvent) => {
      const endY = event.changedTouches[0]?.clientY;
      if (startY !== null && endY !== undefined && endY - startY > thresholdPx) latest.current();
      startY = null;
    };
    window.addEventListener('touchstart', onStart, { passive: true });
    window.addEventListener('touchend', onEnd);
    return () => {
      window.removeEventListener('touchstart', onStart);
      window.removeEventListener('touchend', onEnd);
    };
  }, [thresholdPx]);
}

export interface Refreshing<T> {
  /** The last result; null until the first fetch succeeds. */
  data: T | null;
  /** The last failure's message, until a fetch succeeds again; the data from before stays. */
  error: string | null;
  reload: () => Promise<void>;
}

/**
 * What `fetch` returns, fetched on mount, every `everyMs` while the page is visible and on
 * `reload()`. `fetch` must keep its identity between renders (wrap it in useCallback).
 */
export function useRefreshing<T>(fetch: () => Promise<T>, everyMs: number): Refreshing<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(
    () =>
      fetch().then(
        (result) => {
          setData(result);
          setError(null);
        },
        (failure: unknown) => setError(errorMessage(failure)),
      ),
    [fetch],
  );
  useEffect(() => {
    void reload();
  }, [reload]);
  useVisibleInterval(() => void reload(), everyMs);
  return { data, error, reload };
}
