import { act, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createApi } from '../api';
import { Auth } from '../auth';
import { fail, mockFetch, ok, tokens } from '../test/fetch';
import { renderInApp } from '../test/render';
import { BillingTab } from './BillingTab';

const NOW = new Date('2026-12-01T00:00:00Z');

const premium = {
  tier: 'premium',
  expires_at: '2026-12-30T23:59:59Z',
  payments: [
    {
      id: 2,
      provider: 'telegram_stars',
      product_code: 'vip_month',
      product_name: 'VIP · 1 month',
      amount_minor: 250,
      currency: 'XTR',
      status: 'succeeded',
      created_at: '2026-11-30T10:00:00Z',
    },
    {
      id: 1,
      provider: 'stripe',
      product_code: 'premium_month',
      product_name: null,
      amount_minor: 1900,
      currency: 'USD',
      status: 'refunded',
      created_at: '2026-10-02T10:00:00Z',
    },
  ],
};

function renderBilling() {
  const auth = new Auth(undefined);
  auth.setTokens(tokens());
  return renderInApp(<BillingTab api={createApi(auth)} />);
}

function setVisibility(state: DocumentVisibilityState) {
  vi.spyOn(document, 'visibilityState', 'get').mockReturnValue(state);
  act(() => {
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

describe('BillingTab', () => {
  beforeEach(() => {
    vi.useFakeTimers({ shouldAdvanceTime: true, now: NOW });
  });

  it('shows tier, a live expiry countdown and formatted payments', async () => {
    mockFetch({ 'GET /api/v1/billing': ok(premium), 'GET /api/v1/app-config': ok({ bot_username: 'signalhub_bot' }) });
    renderBilling();

    expect(await screen.findByTestId('billing-tier')).toHaveTextContent('Premium');
    const expiry = screen.getByTestId('billing-expiry');
    expect(expiry).toHaveTextContent(/^Expires 30 Dec 2026 · 29d 23h 59m 5\ds$/);
    await act(() => vi.advanceTimersByTimeAsync(60_000));
    expect(expiry).toHaveTextContent(/^Expires 30 Dec 2026 · 29d 23h 58m 5\ds$/);

    const rows = screen.getAllByTestId('payment-row');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('VIP · 1 month');
    expect(rows[0]).toHaveTextContent('250 ⭐');
    expect(rows[0]).toHaveTextContent('30 Nov 2026');
    expect(rows[0]).toHaveTextContent('Paid');
    expect(rows[1]).toHaveTextContent('premium_month');
    expect(rows[1]).toHaveTextContent('$19.00');
    expect(rows[1]).toHaveTextContent('Refunded');
  });

  it.each([
    ['free', 'Free'],
    ['vip', 'VIP'],
    ['enterprise', 'Enterprise'],
  ])('names the %s tier %s', async (tier, name) => {
    mockFetch({
      'GET /api/v1/billing': ok({ tier, expires_at: null, payments: [] }),
      'GET /api/v1/app-config': ok({ bot_username: 'signalhub_bot' }),
    });
    renderBilling();
    expect(await screen.findByTestId('billing-tier')).toHaveTextContent(name);
  });

  it('shows the free tier without a subscription and an empty payment list', async () => {
    mockFetch({
      'GET /api/v1/billing': ok({ tier: 'free', expires_at: null, payments: [] }),
      'GET /api/v1/app-config': ok({ bot_username: 'signalhub_bot' }),
    });
    renderBilling();
    expect(await screen.findByTestId('billing-expiry')).toHaveTextContent('No active subscription');
    expect(screen.getByTestId('empty-state')).toHaveTextContent('No payments yet');
    expect(screen.queryByTestId('payment-row')).not.toBeInTheDocument();
  });

  it('shows an expired subscription as expired', async () => {
    mockFetch({
      'GET /api/v1/billing': ok({ ...premium, expires_at: '2026-11-20T12:00:00Z' }),
      'GET /api/v1/app-config': ok({ bot_username: 'signalhub_bot' }),
    });
    renderBilling();
    expect(await screen.findByTestId('billing-expiry')).toHaveTextContent('Expired 20 Nov 2026');
  });

  it('opens the payment page from Upgrade', async () => {
    mockFetch({ 'GET /api/v1/billing': ok(premium) });
    renderBilling();
    const button = await screen.findByTestId('upgrade-button');
    await userEvent.setup({ advanceTimers: vi.advanceTimersByTime }).click(button);
    expect(window.location.pathname).toBe('/miniapp/pay');
  });

  it('shows loading, then an error with Retry', async () => {
    let attempts = 0;
    mockFetch({
      'GET /api/v1/billing': () => (++attempts === 1 ? fail(500, 'internal', 'Server exploded') : ok(premium)),
      'GET /api/v1/app-config': ok({ bot_username: 'signalhub_bot' }),
    });
    renderBilling();
    expect(screen.getByTestId('loading')).toBeInTheDocument();
    const error = await screen.findByTestId('billing-error');
    expect(error).toHaveTextContent('Server exploded');
    await userEvent.setup({ advanceTimers: vi.advanceTimersByTime }).click(within(error).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByTestId('billing-tier')).toHaveTextContent('Premium');
  });

  it('refreshes every 30 s only while the page is visible', async () => {
    const { callsTo } = mockFetch({
      'GET /api/v1/billing': ok(premium),
      'GET /api/v1/app-config': ok({ bot_username: 'signalhub_bot' }),
    });
    const loads = () => callsTo('GET /api/v1/billing').length;
    renderBilling();
    await screen.findByTestId('billing-tier');
    expect(loads()).toBe(1);

    await act(() => vi.advanceTimersByTimeAsync(30_000));
    expect(loads()).toBe(2);

    setVisibility('hidden');
    await act(() => vi.advanceTimersByTimeAsync(120_000));
    expect(loads()).toBe(2);

    setVisibility('visible');
    expect(loads()).toBe(3);
    await act(() => vi.advanceTimersByTimeAsync(30_000));
    expect(loads()).toBe(4);
  });

  it('keeps showing data when a background refresh fails', async () => {
    let attempts = 0;
    mockFetch({
      'GET /api/v1/billing': () => (++attempts === 1 ? ok(premium) : fail(503, 'unavailable', 'Try later')),
      'GET /api/v1/app-config': ok({ bot_username: 'signalhub_bot' }),
    });
    renderBilling();
    await screen.findByTestId('billing-tier');
    await act(() => vi.advanceTimersByTimeAsync(30_000));
    expect(await screen.findByRole('status')).toHaveTextContent("Couldn't refresh: Try later");
    expect(screen.getByTestId('billing-tier')).toHaveTextContent('Premium');
  });
});
