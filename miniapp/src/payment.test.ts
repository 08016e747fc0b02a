import { describe, expect, it, vi } from 'vitest';
import { ApiError, createApi, type PaymentRequest } from './api';
import { Auth } from './auth';
import { fail, mockFetch, ok, tokens } from './test/fetch';
import { BACKOFF_MS, isRetryable, MAX_TRIES, PaymentAttempt, pollPayment } from './payment';

const pending: PaymentRequest = {
  id: 7,
  method: 'stars',
  status: 'pending',
  product: 'premium_monthly',
  amount_minor: 1500,
  currency: 'XTR',
  invoice_link: 'https://t.me/$invoice7',
};

function api() {
  const auth = new Auth(undefined);
  auth.setTokens(tokens());
  return createApi(auth);
}

const networkDown = () => {
  throw new TypeError('Failed to fetch');
};

describe('PaymentAttempt', () => {
  it('retries network failures with exponential backoff, always with the same key', async () => {
    let calls = 0;
    const server = mockFetch({
      'POST /api/v1/payments': () => {
        calls += 1;
        if (calls < 3) networkDown();
        return { status: 201, body: pending };
      },
    });
    const waits: number[] = [];
    const attempt = new PaymentAttempt(api(), { product: 'premium_monthly', method: 'stars' }, 'key-1', async (ms) => {
      waits.push(ms);
    });
    await expect(attempt.submit()).resolves.toEqual(pending);
    expect(waits).toEqual([BACKOFF_MS, BACKOFF_MS * 2]);
    const keys = server.callsTo('POST /api/v1/payments').map((call) => call.headers.get('Idempotency-Key'));
    expect(keys).toEqual(['key-1', 'key-1', 'key-1']);
    expect(server.calls[0].body).toEqual({ product: 'premium_monthly', method: 'stars' });
  });

  it('gives up after three tries and keeps its key for the next submit', async () => {
    const server = mockFetch({ 'POST /api/v1/payments': networkDown });
    const attempt = new PaymentAttempt(api(), { product: 'vip', method: 'stripe' }, undefined, async () => {});
    await expect(attempt.submit()).rejects.toMatchObject({ code: 'network_error' });
    expect(server.calls).toHaveLength(MAX_TRIES);
    await expect(attempt.submit()).rejects.toBeInstanceOf(ApiError);
    const keys = new Set(server.calls.map((call) => call.headers.get('Idempotency-Key')));
    expect(keys).toEqual(new Set([attempt.key]));
    expect(attempt.key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('waits out a request still in flight, but not a refusal', async () => {
    let calls = 0;
    mockFetch({
      'POST /api/v1/payments': () => {
        calls += 1;
        return calls === 1 ? fail(409, 'idempotency_request_in_progress') : { status: 201, body: pending };
      },
    });
    const attempt = new PaymentAttempt(api(), { product: 'p', method: 'stars' }, 'k', async () => {});
    await expect(attempt.submit()).resolves.toEqual(pending);

    const refused = mockFetch({ 'POST /api/v1/payments': fail(400, 'invalid_product', 'This product is no longer on sale.') });
    const another = new PaymentAttempt(api(), { product: 'gone', method: 'stars' }, 'k2', async () => {});
    await expect(another.submit()).rejects.toMatchObject({ code: 'invalid_product' });
    expect(refused.calls).toHaveLength(1);
  });

  it('classifies what is worth retrying', () => {
    expect(isRetryable(new ApiError(0, 'network_error', ''))).toBe(true);
    expect(isRetryable(new ApiError(503, 'stripe_unavailable', ''))).toBe(true);
    expect(isRetryable(new ApiError(422, 'idempotency_key_reused', ''))).toBe(false);
    expect(isRetryable(new Error('boom'))).toBe(false);
  });
});

describe('pollPayment', () => {
  it('polls until the payment is finished', async () => {
    let reads = 0;
    mockFetch({
      'GET /api/v1/payments/7': () => {
        reads += 1;
        return ok(reads < 3 ? pending : { ...pending, status: 'paid', tier: 'premium', tier_expires_at: '2027-01-01T00:00:00Z' });
      },
    });
    const wait = vi.fn(async () => {});
    const done = await pollPayment(api(), 7, (payment) => payment.status === 'paid', { wait });
    expect(done.tier).toBe('premium');
    expect(wait).toHaveBeenCalledTimes(2);
  });

  it('returns the last state at the deadline', async () => {
    mockFetch({ 'GET /api/v1/payments/7': ok(pending) });
    const done = await pollPayment(api(), 7, () => false, { timeoutMs: 0, wait: async () => {} });
    expect(done.status).toBe('pending');
  });
});
