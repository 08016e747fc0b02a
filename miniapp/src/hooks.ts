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
