import { vi } from 'vitest';
import type { TokenResponse } from '../api';

export interface Call {
  method: string;
  path: string;
  headers: Headers;
  body: unknown;
}

type Reply = { status?: number; body: unknown };
type Handler = (call: Call) => Reply | Promise<Reply>;

export const ok = (body: unknown): Reply => ({ status: 200, body });
export const fail = (status: number, code: string, message = code): Reply => ({
  status,
  body: { error: { code, message } },
});

/** Stubs global fetch with per-route handlers ("POST /api/v1/auth/telegram") and records calls. */
export function mockFetch(routes: Record<string, Handler | Reply>) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const method = init.method ?? 'GET';
    const path = String(input);
    const call: Call = {
      method,
      path,
      headers: new Headers(init.headers),
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    const route = routes[`${method} ${path}`];
    if (!route) throw new Error(`Unexpected request: ${method} ${path}`);
    const reply = typeof route === 'function' ? await route(call) : route;
    const noContent = reply.status === 204;
    return new Response(noContent ? null : JSON.stringify(reply.body), {
      status: reply.status ?? 200,
      headers: { 'Content-Type': 'application/json' },
    });
  });
  vi.stubGlobal('fetch', fetchMock);
  return { calls, callsTo: (route: string) => calls.filter((c) => `${c.method} ${c.path}` === route) };
}

export const tokens = (suffix = '1', expiresIn = 900): TokenResponse => ({
  access_token: `access-${suffix}`,
  refresh_token: `refresh-${suffix}`,
  token_type: 'bearer',
  expires_in: expiresIn,
  user: { id: 1, telegram_id: 42, tier: 'free', is_premium: false },
});
