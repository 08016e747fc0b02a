import { beforeEach, describe, expect, it, vi } from 'vitest';
import { Auth } from './auth';
import { fail, mockFetch, ok, tokens } from './test/fetch';

const INIT_DATA = 'query_id=1&hash=abc';

describe('Auth', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  it('starts signed out without initData and never calls the backend', async () => {
    const { calls } = mockFetch({});
    const auth = new Auth(undefined);
    await auth.start();
    expect(auth.getState()).toEqual({ status: 'signed-out', error: null });
    expect(calls).toHaveLength(0);
  });

  it('exchanges initData on start', async () => {
    mockFetch({ 'POST /api/v1/auth/telegram': ok(tokens()) });
    const auth = new Auth(INIT_DATA);
    expect(auth.getState().status).toBe('starting');
    await auth.start();
    expect(auth.getState()).toEqual({ status: 'signed-in', error: null });
    expect(auth.accessToken()).toBe('access-1');
  });

  it('explains a rejected initData and grants no session', async () => {
    mockFetch({ 'POST /api/v1/auth/telegram': fail(401, 'init_data_invalid') });
    const auth = new Auth(INIT_DATA);
    await auth.start();
    expect(auth.getState().status).toBe('signed-out');
    expect(auth.getState().error).toMatch(/rejected/);
    expect(auth.accessToken()).toBeNull();
  });

  it('explains expired initData', async () => {
    mockFetch({ 'POST /api/v1/auth/telegram': fail(401, 'init_data_expired') });
    const auth = new Auth(INIT_DATA);
    await auth.start();
    expect(auth.getState().error).toMatch(/expired/);
  });

  it('refreshes at 80% of a short token lifetime', async () => {
    const { callsTo } = mockFetch({
      'POST /api/v1/auth/telegram': ok(tokens('1', 5)),
      'POST /api/v1/auth/refresh': ok(tokens('2', 5)),
    });
    const auth = new Auth(INIT_DATA);
    await auth.start();

    await vi.advanceTimersByTimeAsync(3999);
    expect(callsTo('POST /api/v1/auth/refresh')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(callsTo('POST /api/v1/auth/refresh')[0].body).toEqual({ refresh_token: 'refresh-1' });
    expect(auth.accessToken()).toBe('access-2');

    await vi.advanceTimersByTimeAsync(4000);
    expect(callsTo('POST /api/v1/auth/refresh')[1].body).toEqual({ refresh_token: 'refresh-2' });
  });

  it('falls back to initData when refresh fails', async () => {
    let exchanges = 0;
    mockFetch({
      'POST /api/v1/auth/telegram': () => ok(tokens(`init-${++exchanges}`, 900)),
      'POST /api/v1/auth/refresh': fail(401, 'refresh_token_reused'),
    });
    const auth = new Auth(INIT_DATA);
    await auth.start();
    await vi.advanceTimersByTimeAsync(720_000);
    expect(auth.accessToken()).toBe('access-init-2');
    expect(auth.getState().status).toBe('signed-in');
  });

  it('signs out when both refresh and initData fail', async () => {
    let exchanges = 0;
    mockFetch({
      'POST /api/v1/auth/telegram': () => (++exchanges === 1 ? ok(tokens('1', 10)) : fail(401, 'init_data_expired')),
      'POST /api/v1/auth/refresh': fail(401, 'refresh_token_invalid'),
    });
    const auth = new Auth(INIT_DATA);
    const listener = vi.fn();
    auth.subscribe(listener);
    await auth.start();
    await vi.advanceTimersByTimeAsync(8000);
    expect(auth.getState().status).toBe('signed-out');
    expect(auth.accessToken()).toBeNull();
    expect(listener).toHaveBeenCalledTimes(2);
  });

  it('signs out a QR session whose refresh fails', async () => {
    const { calls } = mockFetch({ 'POST /api/v1/auth/refresh': fail(401, 'refresh_token_invalid') });
    const auth = new Auth(undefined);
    auth.setTokens(tokens('qr', 10));
    await vi.advanceTimersByTimeAsync(8000);
    expect(auth.getState().status).toBe('signed-out');
    expect(calls.map((c) => c.path)).toEqual(['/api/v1/auth/refresh']);
  });

  it('stops refreshing after sign-out', async () => {
    const { calls } = mockFetch({});
    const auth = new Auth(undefined);
    auth.setTokens(tokens('qr', 10));
    auth.signOut();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(0);
  });
});
