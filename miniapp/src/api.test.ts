import { describe, expect, it } from 'vitest';
import { ApiError, createApi, publicApi, request } from './api';
import { Auth } from './auth';
import { fail, mockFetch, ok, tokens } from './test/fetch';

const billing = { tier: 'premium', expires_at: null, payments: [] };

const INIT_DATA = 'query_id=1&hash=abc';

async function signedInFromTelegram() {
  mockFetch({ 'POST /api/v1/auth/telegram': ok(tokens('initial')) });
  const auth = new Auth(INIT_DATA);
  await auth.start();
  return auth;
}

/** A browser session from the QR flow: no initData to fall back on. */
function signedInViaQr() {
  const auth = new Auth(undefined);
  auth.setTokens(tokens('initial'));
  return auth;
}

describe('request', () => {
  it('parses error bodies into a typed ApiError', async () => {
    mockFetch({ 'GET /x': fail(401, 'init_data_invalid', 'Bad signature') });
    const error = await request('/x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, code: 'init_data_invalid', message: 'Bad signature' });
  });

  it('falls back to a generic error when the body is not the error envelope', async () => {
    mockFetch({ 'GET /x': { status: 502, body: 'Bad gateway' } });
    await expect(request('/x')).rejects.toMatchObject({ status: 502, code: 'http_error' });
  });

  it('reports network failures as status 0', async () => {
    mockFetch({ 'GET /x': () => Promise.reject(new TypeError('Failed to fetch')) });
    await expect(request('/x')).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('posts raw initData unchanged', async () => {
    const raw = 'user=%7B%22id%22%3A1%7D&auth_date=1&hash=abc';
    const { calls } = mockFetch({ 'POST /api/v1/auth/telegram': ok(tokens()) });
    await publicApi.exchangeInitData(raw);
    expect(calls[0].body).toEqual({ init_data: raw });
    expect(calls[0].headers.get('Content-Type')).toBe('application/json');
  });
});

describe('authorized calls', () => {
  it('send the access token as a Bearer header', async () => {
    const auth = signedInViaQr();
    const { calls } = mockFetch({ 'GET /api/v1/billing': ok(billing) });
    await expect(createApi(auth).billing()).resolves.toEqual(billing);
    expect(calls[0].headers.get('Authorization')).toBe('Bearer access-initial');
  });

  it('re-authenticate from initData once on 401 and retry with the new token', async () => {
    const auth = await signedInFromTelegram();
    const { calls, callsTo } = mockFetch({
      'POST /api/v1/auth/telegram': ok(tokens('fresh')),
      'GET /api/v1/billing': ({ headers }) =>
        headers.get('Authorization') === 'Bearer access-fresh' ? ok(billing) : fail(401, 'token_expired'),
    });
    await expect(createApi(auth).billing()).resolves.toEqual(billing);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /api/v1/billing',
      'POST /api/v1/auth/telegram',
      'GET /api/v1/billing',
    ]);
    expect(callsTo('POST /api/v1/auth/telegram')[0].body).toEqual({ init_data: INIT_DATA });
  });

  it('share one re-authentication between concurrent 401s', async () => {
    const auth = await signedInFromTelegram();
    const { callsTo } = mockFetch({
      'POST /api/v1/auth/telegram': ok(tokens('fresh')),
      'GET /api/v1/billing': ({ headers }) =>
        headers.get('Authorization') === 'Bearer access-fresh' ? ok(billing) : fail(401, 'token_expired'),
    });
    const api = createApi(auth);
    await Promise.all([api.billing(), api.billing()]);
    expect(callsTo('POST /api/v1/auth/telegram')).toHaveLength(1);
  });

  it('sign out when the retried call is still unauthorized', async () => {
    const auth = await signedInFromTelegram();
    const { callsTo } = mockFetch({
      'POST /api/v1/auth/telegram': ok(tokens('fresh')),
      'GET /api/v1/billing': fail(401, 'token_revoked'),
    });
    await expect(createApi(auth).billing()).rejects.toMatchObject({ status: 401 });
    expect(callsTo('GET /api/v1/billing')).toHaveLength(2);
    expect(auth.getState().status).toBe('signed-out');
  });

  it('sign out without retrying when there is no initData', async () => {
    const auth = signedInViaQr();
    const { calls } = mockFetch({ 'GET /api/v1/billing': fail(401, 'token_expired') });
    await expect(createApi(auth).billing()).rejects.toMatchObject({ code: 'token_expired' });
    expect(calls).toHaveLength(1);
    expect(auth.getState()).toEqual({ status: 'signed-out', error: null });
  });

  it('pass other errors through untouched', async () => {
    const auth = signedInViaQr();
    mockFetch({ 'GET /api/v1/billing': fail(403, 'forbidden', 'Nope') });
    await expect(createApi(auth).billing()).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    expect(auth.getState().status).toBe('signed-in');
  });
});
