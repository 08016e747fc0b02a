import { act, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createApi, type PaymentRequest } from '../api';
import { Auth } from '../auth';
import { fail, mockFetch, ok, tokens } from '../test/fetch';
import { renderInApp } from '../test/render';
import { PaymentPage, SUCCESS_MESSAGE } from './PaymentPage';

const sdk = vi.hoisted(() => ({
  openInvoice: Object.assign(vi.fn(), { isAvailable: () => true }),
  openLink: Object.assign(vi.fn(), { isAvailable: () => true }),
}));
const environment = vi.hoisted(() => ({ insideTelegram: true }));

vi.mock('@telegram-apps/sdk-react', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  openInvoice: sdk.openInvoice,
  openLink: sdk.openLink,
}));
vi.mock('../telegram', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  hasTelegramClient: () => environment.insideTelegram,
}));

const catalog = [
  {
    code: 'premium_monthly',
    name: 'Premium',
    description: '',
    tier: 'premium',
    duration_days: 30,
    price_amount_minor: 1900,
    price_currency: 'USD',
    price_stars: 1500,
    features: ['Every signal'],
    is_active: true,
  },
  {
    code: 'vip_monthly',
    name: 'VIP',
    description: '',
    tier: 'vip',
    duration_days: 30,
    price_amount_minor: 4900,
    price_currency: 'USD',
    price_stars: 4000,
    features: ['Every signal', 'Priority approvals'],
    is_active: true,
  },
];

const starsPending: PaymentRequest = {
  id: 7,
  method: 'stars',
  status: 'pending',
  product: 'vip_monthly',
  amount_minor: 4000,
  currency: 'XTR',
  invoice_link: 'https://t.me/$invoice7',
};
const paid: PaymentRequest = { ...starsPending, status: 'paid', tier: 'vip', tier_expires_at: '2027-01-01T00:00:00Z' };

function page(routes: Parameters<typeof mockFetch>[0], methods = ['stars', 'stripe']) {
  const server = mockFetch({
    'GET /api/v1/catalog': ok(catalog),
    'GET /api/v1/billing': ok({ tier: 'premium', expires_at: '2026-12-30T00:00:00Z', payments: [] }),
    'GET /api/v1/app-config': ok({ bot_username: 'signalhub_bot', payment_methods: methods }),
    ...routes,
  });
  const auth = new Auth(undefined);
  auth.setTokens(tokens());
  renderInApp(<PaymentPage api={createApi(auth)} initialProduct="vip_monthly" />);
  return server;
}

const user = () => userEvent.setup({ advanceTimers: vi.advanceTimersByTime });

describe('PaymentPage', () => {
  beforeEach(() => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    environment.insideTelegram = true;
    sdk.openInvoice.mockReset();
    sdk.openLink.mockReset();
  });

  it('lists the tiers with features and both prices, the current one marked', async () => {
    page({});
    const premium = await screen.findByTestId('plan-premium_monthly');
    expect(premium).toHaveTextContent('1,500 ⭐ or $19.00 · 30 days');
    expect(within(premium).getByTestId('current-tier')).toHaveTextContent('Current');
    const vip = screen.getByTestId('plan-vip_monthly');
    expect(vip).toHaveTextContent('Priority approvals');
    expect(within(vip).queryByTestId('current-tier')).toBeNull();
    const methods = screen.getAllByTestId(/^method-/).map((cell) => cell.dataset.testid);
    expect(methods).toEqual(['method-stars', 'method-stripe']);
  });

  it('pays with Stars in Telegram and says so only once the new tier is visible', async () => {
    sdk.openInvoice.mockResolvedValue('paid');
    let reads = 0;
    const server = page({
      'POST /api/v1/payments': { status: 201, body: starsPending },
      'GET /api/v1/payments/7': () => {
        reads += 1;
        return ok(reads < 2 ? { ...starsPending, status: 'paid' } : paid);
      },
    });
    await user().click(await screen.findByTestId('pay-button'));
    expect(await screen.findByTestId('pay-status')).toHaveTextContent(/Upgrading your tier/);
    expect(screen.queryByTestId('pay-success')).toBeNull();
    await act(() => vi.advanceTimersByTimeAsync(2000));
    expect(await screen.findByTestId('pay-success')).toHaveTextContent(SUCCESS_MESSAGE);
    expect(sdk.openInvoice).toHaveBeenCalledWith('https://t.me/$invoice7', 'url');
    expect(reads).toBe(2);
    const [post] = server.callsTo('POST /api/v1/payments');
    expect(post.body).toEqual({ product: 'vip_monthly', method: 'stars' });
    expect(post.headers.get('Idempotency-Key')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['cancelled', /cancelled/],
    ['failed', /did not go through/],
  ])('reports an invoice closed as %s in words', async (status, message) => {
    sdk.openInvoice.mockResolvedValue(status);
    page({ 'POST /api/v1/payments': { status: 201, body: starsPending } });
    await user().click(await screen.findByTestId('pay-button'));
    expect(await screen.findByTestId('pay-error')).toHaveTextContent(message);
  });

  it('keeps waiting while Telegram reports the payment pending', async () => {
    sdk.openInvoice.mockResolvedValue('pending');
    page({ 'POST /api/v1/payments': { status: 201, body: starsPending }, 'GET /api/v1/payments/7': ok(starsPending) });
    await user().click(await screen.findByTestId('pay-button'));
    expect(await screen.findByTestId('pay-status')).toHaveTextContent(/processing/);
  });

  it('after three network failures offers Retry, which keeps the key', async () => {
    environment.insideTelegram = false;
    const open = vi.spyOn(window, 'open').mockReturnValue({} as Window);
    let posts = 0;
    const server = page({
      'POST /api/v1/payments': () => {
        posts += 1;
        if (posts <= 3) throw new TypeError('Failed to fetch');
        return { status: 201, body: starsPending };
      },
      'GET /api/v1/payments/7': ok(paid),
    });
    await user().click(await screen.findByTestId('pay-button'));
    expect(await screen.findByTestId('pay-error', {}, { timeout: 5000 })).toHaveTextContent(/Cannot reach the server/);
    const retry = screen.getByTestId('pay-button');
    expect(retry).toHaveTextContent('Retry');
    await user().click(retry);
    expect(await screen.findByTestId('pay-success', {}, { timeout: 5000 })).toBeInTheDocument();
    const keys = new Set(server.callsTo('POST /api/v1/payments').map((call) => call.headers.get('Idempotency-Key')));
    expect(posts).toBe(4);
    expect(keys.size).toBe(1);
    expect(open).toHaveBeenCalledWith('https://t.me/$invoice7', '_blank');
  });

  it('opens Stripe Checkout with openLink and reports an expired checkout', async () => {
    const checkout = { ...starsPending, method: 'stripe', invoice_link: null, checkout_url: 'https://checkout.stripe.com/c/pay/cs_1', currency: 'USD', amount_minor: 4900 };
    page({
      'POST /api/v1/payments': { status: 201, body: checkout },
      'GET /api/v1/payments/7': ok({ ...checkout, status: 'expired' }),
    });
    await user().click(await screen.findByTestId('method-stripe'));
    await user().click(screen.getByTestId('pay-button'));
    expect(await screen.findByTestId('pay-error')).toHaveTextContent(/expired/);
    expect(sdk.openLink).toHaveBeenCalledWith('https://checkout.stripe.com/c/pay/cs_1');
  });

  it('shows a refusal in words', async () => {
    page({ 'POST /api/v1/payments': fail(409, 'method_unavailable', 'Card payments (Stripe) are not available here.') }, ['stars']);
    await user().click(await screen.findByTestId('pay-button'));
    expect(await screen.findByTestId('pay-error')).toHaveTextContent('Card payments (Stripe) are not available here.');
  });

  it('offers Retry when the plans cannot be loaded', async () => {
    mockFetch({
      'GET /api/v1/catalog': fail(503, 'unavailable', 'Try later.'),
      'GET /api/v1/billing': ok({ tier: 'free', expires_at: null, payments: [] }),
      'GET /api/v1/app-config': ok({ bot_username: null, payment_methods: [] }),
    });
    const auth = new Auth(undefined);
    auth.setTokens(tokens());
    renderInApp(<PaymentPage api={createApi(auth)} />);
    expect(await screen.findByTestId('pay-load-error')).toHaveTextContent('Try later.');
  });
});
