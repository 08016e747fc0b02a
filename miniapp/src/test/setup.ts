import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterAll, afterEach, vi } from 'vitest';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  window.history.replaceState(null, '', '/');
});

// TelegramUI's ripple starts a 70 ms timer on pointer down and never clears it on unmount. Let
// such timers fire while jsdom still exists: after a file's environment is torn down they would
// crash the run with "window is not defined".
afterAll(() => new Promise((resolve) => setTimeout(resolve, 400)));
