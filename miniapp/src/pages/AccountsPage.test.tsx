import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { createApi, type AccountLink } from '../api';
import { Auth } from '../auth';
import { fail, mockFetch, ok, tokens } from '../test/fetch';
import { renderInApp } from '../test/render';
import { AccountsPage } from './AccountsPage';

const link = (overrides: Partial<AccountLink> = {}): AccountLink => ({
  id: 1,
  mt5_login: 5123456,
  server: 'ICMarketsSC-Demo',
  company: 'Raw Trading Ltd',
  currency: 'USD',
  leverage: 500,
  trade_mode: 'real',
  is_primary: true,
  status: 'verified',
  pairing_code: 'ABCD-EFGH',
  expires_at: '2026-12-01T10:00:00Z',
  verified_at: '2026-11-30T10:05:00Z',
  created_at: '2026-11-30T10:00:00Z',
  error: null,
  ...overrides,
});

function renderPage() {
  const auth = new Auth(undefined);
  auth.setTokens(tokens());
  return renderInApp(<AccountsPage api={createApi(auth)} />);
}

const rows = () => screen.getAllByTestId('account-row');

describe('AccountsPage', () => {
  it('links an account and shows it pending with its pairing code', async () => {
    let linked: AccountLink[] = [];
    const { callsTo } = mockFetch({
      'GET /api/v1/accounts': () => ok(linked),
      'POST /api/v1/accounts/link': (call) => {
        linked = [link({ status: 'pending', is_primary: false, trade_mode: null, company: null, ...(call.body as object) })];
        return { status: 201, body: linked[0] };
      },
    });
    renderPage();
    expect(await screen.findByTestId('no-accounts')).toBeInTheDocument();
    const user = userEvent.setup();
    await user.type(screen.getByTestId('link-login'), '7001');
    await user.type(screen.getByTestId('link-server'), 'Pepperstone-Live 02');
    await user.click(screen.getByTestId('link-submit'));

    expect(callsTo('POST /api/v1/accounts/link')[0].body).toEqual({ mt5_login: 7001, server: 'Pepperstone-Live 02' });
    const [row] = await screen.findAllByTestId('account-row');
    expect(row).toHaveTextContent('7001 · Pepperstone-Live 02');
    expect(row).toHaveTextContent('Waiting for the EA · code ABCD-EFGH');
    expect(screen.getByTestId('link-login')).toHaveValue('');
  });

  it('refuses a login that is not a number before asking the server', async () => {
    const { callsTo } = mockFetch({ 'GET /api/v1/accounts': ok([]) });
    renderPage();
    await screen.findByTestId('no-accounts');
    const user = userEvent.setup();
    await user.type(screen.getByTestId('link-login'), 'abc');
    await user.type(screen.getByTestId('link-server'), 'Broker-Demo');
    await user.click(screen.getByTestId('link-submit'));
    expect(screen.getByTestId('link-error')).toHaveTextContent('digits only');
    expect(callsTo('POST /api/v1/accounts/link')).toHaveLength(0);
  });

  it("shows the server's refusal of a duplicate", async () => {
    mockFetch({
      'GET /api/v1/accounts': ok([link()]),
      'POST /api/v1/accounts/link': fail(409, 'account_already_linked', 'Account 5123456 on ICMarketsSC-Demo is already linked.'),
    });
    renderPage();
    await screen.findAllByTestId('account-row');
    const user = userEvent.setup();
    await user.type(screen.getByTestId('link-login'), '5123456');
    await user.type(screen.getByTestId('link-server'), 'ICMarketsSC-Demo');
    await user.click(screen.getByTestId('link-submit'));
    expect(await screen.findByTestId('link-error')).toHaveTextContent('already linked');
  });

  it('labels verified accounts, marks the primary, shows "Account not found" for an expired link', async () => {
    mockFetch({
      'GET /api/v1/accounts': ok([
        link(),
        link({ id: 2, mt5_login: 7001, is_primary: false, trade_mode: 'demo', company: null }),
        link({ id: 3, mt5_login: 9, status: 'pending', is_primary: false, error: 'Account not found' }),
      ]),
    });
    renderPage();
    const [primary, demo, expired] = await screen.findAllByTestId('account-row');
    expect(primary).toHaveTextContent('Verified · Real · Raw Trading Ltd');
    expect(within(primary).getByTestId('primary-badge')).toHaveTextContent('Primary');
    expect(within(primary).queryByRole('button', { name: 'Make primary' })).not.toBeInTheDocument();
    expect(demo).toHaveTextContent('Verified · Demo');
    expect(within(demo).queryByTestId('primary-badge')).not.toBeInTheDocument();
    expect(expired).toHaveTextContent('Account not found');
    expect(within(expired).queryByRole('button', { name: 'Make primary' })).not.toBeInTheDocument();
  });

  it('makes an account primary', async () => {
    let primaryId = 1;
    const { callsTo } = mockFetch({
      'GET /api/v1/accounts': () =>
        ok([link({ is_primary: primaryId === 1 }), link({ id: 2, mt5_login: 7001, is_primary: primaryId === 2 })]),
      'PUT /api/v1/accounts/2/primary': () => {
        primaryId = 2;
        return ok(link({ id: 2, mt5_login: 7001 }));
      },
    });
    renderPage();
    await screen.findAllByTestId('account-row');
    await userEvent.setup().click(within(rows()[1]).getByRole('button', { name: 'Make primary' }));
    expect(callsTo('PUT /api/v1/accounts/2/primary')).toHaveLength(1);
    expect(await within(rows()[1]).findByTestId('primary-badge')).toBeInTheDocument();
  });

  it('unlinks only after confirmation', async () => {
    let linked = [link()];
    const { callsTo } = mockFetch({
      'GET /api/v1/accounts': () => ok(linked),
      'DELETE /api/v1/accounts/1': () => {
        linked = [];
        return { status: 204, body: null };
      },
    });
    renderPage();
    await screen.findAllByTestId('account-row');
    const user = userEvent.setup();
    await user.click(screen.getByTestId('unlink'));
    expect(rows()[0]).toHaveTextContent('stops receiving signals at once');
    await user.click(within(rows()[0]).getByRole('button', { name: 'Cancel' }));
    expect(callsTo('DELETE /api/v1/accounts/1')).toHaveLength(0);

    await user.click(screen.getByTestId('unlink'));
    await user.click(screen.getByTestId('confirm-unlink'));
    expect(callsTo('DELETE /api/v1/accounts/1')).toHaveLength(1);
    expect(await screen.findByTestId('no-accounts')).toBeInTheDocument();
  });

  it('shows a failed action next to the account', async () => {
    mockFetch({
      'GET /api/v1/accounts': ok([link({ is_primary: false })]),
      'PUT /api/v1/accounts/1/primary': fail(409, 'account_not_verified', 'Only a verified account can be primary.'),
    });
    renderPage();
    await screen.findAllByTestId('account-row');
    await userEvent.setup().click(screen.getByRole('button', { name: 'Make primary' }));
    expect(await within(rows()[0]).findByRole('alert')).toHaveTextContent('Only a verified account can be primary.');
  });

  it('shows an error when the accounts cannot be loaded', async () => {
    mockFetch({ 'GET /api/v1/accounts': fail(500, 'internal', 'Server exploded') });
    renderPage();
    expect(await screen.findByTestId('accounts-error')).toHaveTextContent('Server exploded');
  });
});
