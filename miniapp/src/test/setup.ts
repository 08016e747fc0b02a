import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterAll, afterEach, vi } from 'vitest';

// findBy*/waitFor give up after 1 s by default, which a busy two-core CI machine exceeds while
// rendering a screen: a false failure, not a slow app (speed is measured in bench/).
configure({ asyncUtilTimeout: 5000 });

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
