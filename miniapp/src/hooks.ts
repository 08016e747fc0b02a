import { useEffect, useRef, useState } from 'react';

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
