import { act, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { createApi } from './api';
import { App, redirectFor } from './App';
import { Auth } from './auth';
import { fail, mockFetch, ok, tokens } from './test/fetch';
import { renderInApp } from './test/render';

const INIT_DATA = 'user=%7B%22id%22%3A42%7D&auth_date=1&hash=abc';
const qrStart = {
  auth_code: 'code',
  qr_code_url: 'https://t.me/signalhub_bot?start=login_code',
  expires_in: 300,
  interval: 2,
  poll_secret: 'secret',
  match_code: 'AB12',
};

const NO_APPROVALS = {
  'GET /api/v1/approvals/pending': ok([]),
  'GET /api/v1/approvals?limit=20': ok({ items: [], next_before: null }),
  'GET /api/v1/approvals/stream': ok({}),
};

function launch(path: string, initData?: string) {
  window.history.replaceState(null, '', path);
  const auth = new Auth(initData);
  renderInApp(<App auth={auth} api={createApi(auth)} />);
  return auth;
}

describe('routing', () => {
  it('sends a Telegram user from the root to Approvals', async () => {
    mockFetch({ 'POST /api/v1/auth/telegram': ok(tokens()), ...NO_APPROVALS });
    const auth = launch('/miniapp/', INIT_DATA);
    expect(screen.getByTestId('loading')).toBeInTheDocument();
    await act(() => auth.start());

    expect(await screen.findByTestId('empty-state')).toHaveTextContent('No pending approvals');
    expect(window.location.pathname).toBe('/miniapp/approvals');
    for (const tab of ['approvals', 'billing', 'devices', 'positions']) {
      // Drawn as SVG, not emoji: no emoji font is needed to see them.
      const icon = screen.getByTestId(`tab-${tab}`).querySelector(`svg[data-icon="${tab}"]`);
      expect(icon).not.toBeNull();
      expect(screen.getByTestId(`tab-${tab}`).textContent).not.toMatch(/\p{Extended_Pictographic}/u);
    }
  });

  it('switches tabs through the tab bar', async () => {
    mockFetch({
      'POST /api/v1/auth/telegram': ok(tokens()),
      'GET /api/v1/billing': ok({ tier: 'vip', expires_at: null, payments: [] }),
      'GET /api/v1/app-config': ok({ bot_username: 'signalhub_bot' }),
      'GET /api/v1/devices': ok([]),
      'GET /api/v1/accounts': ok([]),
      ...NO_APPROVALS,
    });
    const auth = launch('/miniapp/approvals', INIT_DATA);
    await act(() => auth.start());
    const user = userEvent.setup();

    expect(document.title).toBe('Approvals · signalhub');
    await user.click(screen.getByTestId('tab-billing'));
    expect(window.location.pathname).toBe('/miniapp/billing');
    expect(await screen.findByTestId('billing-tier')).toHaveTextContent('VIP');
    expect(document.title).toBe('Billing · signalhub');

    await user.click(screen.getByTestId('tab-devices'));
    expect(await screen.findByTestId('empty-state')).toHaveTextContent('No devices yet');
    await user.click(screen.getByTestId('tab-positions'));
    expect(await screen.findByTestId('no-account')).toHaveTextContent('Link your MT5 account');

    act(() => window.history.back());
    expect(await screen.findByText('No devices yet')).toBeInTheDocument();
  });

  it('redirects protected pages to sign-in without a session', async () => {
    mockFetch({ 'POST /oauth/mini_app/start': ok(qrStart), 'POST /oauth/mini_app/callback': fail(400, 'authorization_pending') });
    launch('/miniapp/billing');
    expect(await screen.findByTestId('signin-page')).toBeInTheDocument();
    expect(window.location.pathname).toBe('/miniapp/login');
    expect(screen.queryByTestId('signin-error')).not.toBeInTheDocument();
    expect(await screen.findByTestId('qr-code')).toBeInTheDocument();
  });

  it('shows the sign-in page with an error when initData is rejected', async () => {
    mockFetch({
      'POST /api/v1/auth/telegram': fail(401, 'init_data_invalid'),
      'POST /oauth/mini_app/start': ok(qrStart),
      'POST /oauth/mini_app/callback': fail(400, 'authorization_pending'),
    });
    const auth = launch('/miniapp/', 'tampered');
    await act(() => auth.start());
    expect(await screen.findByTestId('signin-error')).toHaveTextContent(/rejected/);
    expect(window.location.pathname).toBe('/miniapp/login');
    expect(auth.accessToken()).toBeNull();
  });

  it('lands on the tabs after QR sign-in, once the browser accepted the account', async () => {
    mockFetch({
      'POST /oauth/mini_app/start': ok({ ...qrStart, interval: 0 }),
      'POST /oauth/mini_app/callback': ok({
        status: 'awaiting_acceptance',
        account: { first_name: 'Anna', username: null, initial: 'A' },
      }),
      'POST /oauth/mini_app/accept': ok(tokens('qr')),
      ...NO_APPROVALS,
    });
    const auth = launch('/miniapp/login');
    await userEvent.click(await screen.findByRole('button', { name: 'Accept' }));
    expect(await screen.findByText('No pending approvals')).toBeInTheDocument();
    expect(window.location.pathname).toBe('/miniapp/approvals');
    expect(auth.accessToken()).toBe('access-qr');
  });
});

describe('redirectFor', () => {
  it.each([
    ['/', 'signed-in', '/approvals'],
    ['/', 'signed-out', '/login'],
    ['/login', 'signed-in', '/approvals'],
    ['/login', 'signed-out', null],
    ['/billing', 'signed-out', '/login'],
    ['/billing', 'signed-in', null],
    ['/nope', 'signed-in', '/approvals'],
    ['/billing', 'starting', null],
  ] as const)('%s while %s → %s', (path, status, target) => {
    expect(redirectFor(path, status)).toBe(target);
  });
});
