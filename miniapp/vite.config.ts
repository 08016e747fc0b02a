/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  base: '/miniapp/',
  plugins: [react()],
  build: { outDir: 'dist' },
  // `npm run dev` talks to a locally running backend (override with API_ORIGIN).
  server: {
    proxy: Object.fromEntries(
      ['/api', '/oauth'].map((prefix) => [prefix, process.env.API_ORIGIN ?? 'http://127.0.0.1:8000']),
    ),
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['src/test/setup.ts'],
    env: { TZ: 'UTC' },
    // The SDK keeps its state in module globals; inlining lets vi.resetModules() give each test a fresh SDK.
    server: { deps: { inline: [/@telegram-apps\/(sdk|sdk-react|bridge|signals|toolkit|transformers)\//] } },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.{ts,tsx}'],
      exclude: ['src/**/*.d.ts', 'src/**/*.test.{ts,tsx}', 'src/test/**', 'src/main.tsx', 'src/mockEnv.ts'],
      thresholds: { lines: 70, statements: 70, functions: 70, branches: 70 },
    },
  },
});
