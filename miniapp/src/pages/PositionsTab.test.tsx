import { act, fireEvent, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createApi, type AccountLink, type Positions } from '../api';
import { Auth } from '../auth';
import { formatLocalDateTime } from '../format';
import { fail, mockFetch, ok, tokens } from '../test/fetch';
import { renderInApp } from '../test/render';
import { PositionsTab } from './PositionsTab';

const NOW = new Date('2026-11-30T14:00:00Z');

const account = (overrides: Partial<AccountLink> = {}): AccountLink => ({
  id: 1,
  mt5_login: 5123456,
  server: 'ICMarketsSC-Demo',
  company: 'Raw Trading Ltd',
  currency: 'USD',
  leverage: 500,
  trade_mode: 'demo',
  is_primary: true,
  status: 'verified',
  pairing_code: 'ABCD-EFGH',
  expires_at: '2026-12-01T10:00:00Z',
  verified_at: '2026-11-30T10:05:00Z',
  created_at: '2026-11-30T10:00:00Z',
  error: null,
  ...overrides,
});

const positions = (overrides: Partial<Positions> = {}): Positions => ({
  account: {
    login: 5123456,
    server: 'ICMarketsSC-Demo',
    company: 'Raw Trading Ltd',
    currency: 'USD',
    leverage: 500,
    trade_mode: 'demo',
    balance: '10000.00000000',
    equity: '9923.20000000',
    margin: '250.00000000',
    free_margin: '9673.20000000',
    margin_level: '3969.28000000',
    drawdown_percent: '0.77',
  },
  positions: [
    {
      ticket: 11,
      symbol: 'EURUSD',
      type: 'buy',
      volume: '0.10000000',
      price_open: '1.08512000',
      price_current: '1.08391000',
      sl: '1.08000000',
      tp: '0E-8',
      profit: '-120.30000000',
      swap: '-1.20000000',
      commission: null,
      pnl: '-121.50000000',
      opened_at: '2026-11-30T09:15:00Z',
      magic: 20240001,
      comment: 'signalhub',
    },
    {
      ticket: 12,
      symbol: 'XAUUSD',
      type: 'sell',
      volume: '0.05000000',
      price_open: '2351.20000000',
      price_current: '2342.17000000',
      sl: '2370.00000000',
      tp: '2300.00000000',
      profit: '45.15000000',
      swap: '0E-8',
      commission: '-0.70000000',
      pnl: '44.45000000',
      opened_at: '2026-11-30T11:00:00Z',
      magic: 20240001,
      comment: '',
    },
  ],
  totals: { profit: '-75.15', swap: '-1.20', commission: '-0.70', pnl: '-77.05' },
  as_of: '2026-11-30T13:59:58Z',
  stale: false,
  source: 'ea_bridge',
  ...overrides,
});

function renderTab() {
  const auth = new Auth(undefined);
  auth.setTokens(tokens());
  return renderInApp(<PositionsTab api={createApi(auth)} />);
}

function setVisibility(state: DocumentVisibilityState) {
  vi.spyOn(document, 'visibilityState', 'get').mockReturnValue(state);
  act(() => {
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

const user = () => userEvent.setup({ advanceTimers: vi.advanceTimersByTime });

describe('PositionsTab', () => {
  beforeEach(() => {
    vi.useFakeTimers({ shouldAdvanceTime: true, now: NOW });
  });

  it('shows the header figures and position cards with coloured P&L', async () => {
    mockFetch({ 'GET /api/v1/accounts': ok([account()]), 'GET /api/v1/positions': ok(positions()) });
    renderTab();

    expect(await screen.findByTestId('equity')).toHaveTextContent('$9,923.20');
    expect(screen.getByTestId('balance')).toHaveTextContent('$10,000.00');
    expect(screen.getByTestId('drawdown')).toHaveTextContent('0.77 %');
    expect(screen.getByTestId('margin-level')).toHaveTextContent('3969.28 %');
    expect(screen.getByTestId('trade-mode')).toHaveTextContent('Demo');
    expect(screen.queryByTestId('account-switcher')).not.toBeInTheDocument();

    const [loss, profit] = screen.getAllByTestId('position-card');
    expect(loss).toHaveTextContent('EURUSD');
    expect(loss).toHaveTextContent('Buy');
    expect(loss).toHaveTextContent('0.1');
    expect(loss).toHaveTextContent('1.08512 → 1.08391');
    expect(within(loss).getByTestId('pnl')).toHaveTextContent('-$121.50');
    expect(within(loss).getByTestId('pnl')).toHaveClass('pnl--loss');
    expect(within(profit).getByTestId('pnl')).toHaveTextContent('+$44.45');
    expect(within(profit).getByTestId('pnl')).toHaveClass('pnl--profit');
    expect(profit).toHaveTextContent('Sell');
  });

  it('shows details on tap: SL, TP, open time, ticket, swap', async () => {
    mockFetch({ 'GET /api/v1/accounts': ok([account()]), 'GET /api/v1/positions': ok(positions()) });
    renderTab();
    const [first, second] = await screen.findAllByTestId('position-card');
    expect(screen.queryByTestId('position-details')).not.toBeInTheDocument();

    await user().click(first);
    const details = screen.getByTestId('position-details');
    expect(details).toHaveTextContent('Stop loss1.08');
    expect(details).toHaveTextContent('Take profit—');
    expect(details).toHaveTextContent('Ticket11');
    expect(details).toHaveTextContent('Swap-$1.20');
    // In the user's own time zone, whatever the test machine's is.
    expect(details).toHaveTextContent(`Opened${formatLocalDateTime('2026-11-30T09:15:00Z')}`);
    expect(details).not.toHaveTextContent('Commission');

    await user().click(second);
    expect(screen.getAllByTestId('position-details')).toHaveLength(1);
    expect(screen.getByTestId('position-details')).toHaveTextContent('Commission-$0.70');
    await user().click(second);
    expect(screen.queryByTestId('position-details')).not.toBeInTheDocument();
  });

  it('says "No open positions" for an account without trades', async () => {
    mockFetch({
      'GET /api/v1/accounts': ok([account()]),
      'GET /api/v1/positions': ok(positions({ positions: [] })),
    });
    renderTab();
    expect(await screen.findByTestId('no-positions')).toHaveTextContent('No open positions');
  });

  it('shows a stale banner with the snapshot age', async () => {
    mockFetch({
      'GET /api/v1/accounts': ok([account()]),
      'GET /api/v1/positions': ok(positions({ stale: true, as_of: '2026-11-30T13:57:00Z' })),
    });
    renderTab();
    expect(await screen.findByTestId('stale-banner')).toHaveTextContent('last update 3 min ago');
    expect(screen.getByTestId('equity')).toBeInTheDocument();
  });

  it('switches between verified accounts', async () => {
    const second = account({ id: 2, mt5_login: 7001, server: 'Pepperstone-Live', is_primary: false, trade_mode: 'real' });
    const { callsTo } = mockFetch({
      'GET /api/v1/accounts': ok([account(), second, account({ id: 3, mt5_login: 9, status: 'pending' })]),
      'GET /api/v1/positions': ok(positions()),
      'GET /api/v1/accounts/2/positions': ok(
        positions({
          account: { ...positions().account, login: 7001, server: 'Pepperstone-Live', trade_mode: 'real', currency: 'EUR' },
          positions: [],
        }),
      ),
    });
    renderTab();
    const switcher = await screen.findByTestId('account-switcher');
    expect(within(switcher).getAllByRole('tab')).toHaveLength(2);
    await screen.findByTestId('equity');

    await user().click(within(switcher).getByRole('tab', { name: '7001' }));
    expect(await screen.findByTestId('no-positions')).toBeInTheDocument();
    expect(screen.getByTestId('equity')).toHaveTextContent('€9,923.20');
    expect(screen.getByTestId('trade-mode')).toHaveTextContent('Real');
    expect(callsTo('GET /api/v1/accounts/2/positions')).toHaveLength(1);
  });

  it('refreshes every 10 s only while visible, and on pull-to-refresh', async () => {
    const { callsTo } = mockFetch({
      'GET /api/v1/accounts': ok([account()]),
      'GET /api/v1/positions': ok(positions()),
    });
    const loads = () => callsTo('GET /api/v1/positions').length;
    renderTab();
    await screen.findByTestId('equity');
    expect(loads()).toBe(1);

    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(loads()).toBe(2);

    setVisibility('hidden');
    await act(() => vi.advanceTimersByTimeAsync(60_000));
    expect(loads()).toBe(2);
    setVisibility('visible');
    await vi.waitFor(() => expect(loads()).toBe(3));

    fireEvent.touchStart(window, { touches: [{ clientY: 100 }] });
    fireEvent.touchEnd(window, { changedTouches: [{ clientY: 220 }] });
    await vi.waitFor(() => expect(loads()).toBe(4));
    fireEvent.touchStart(window, { touches: [{ clientY: 100 }] });
    fireEvent.touchEnd(window, { changedTouches: [{ clientY: 130 }] });
    await act(() => vi.advanceTimersByTimeAsync(100));
    expect(loads()).toBe(4);
  });

  it('keeps the figures when a refresh fails', async () => {
    let attempts = 0;
    mockFetch({
      'GET /api/v1/accounts': ok([account()]),
      'GET /api/v1/positions': () =>
        ++attempts === 1 ? ok(positions()) : fail(503, 'broker_unavailable', 'The broker did not answer'),
    });
    renderTab();
    await screen.findByTestId('equity');
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(await screen.findByRole('status')).toHaveTextContent("Couldn't refresh: The broker did not answer");
    expect(screen.getByTestId('equity')).toBeInTheDocument();
  });

  it('invites to link an account, or to run the EA on a pending one', async () => {
    mockFetch({ 'GET /api/v1/accounts': ok([]) });
    const { unmount } = renderTab();
    expect(await screen.findByTestId('no-account')).toHaveTextContent('Link your MT5 account');
    await user().click(screen.getByRole('button', { name: 'Link an account' }));
    expect(window.location.pathname).toBe('/miniapp/positions/accounts');
    unmount();

    mockFetch({ 'GET /api/v1/accounts': ok([account({ status: 'pending', is_primary: false })]) });
    renderTab();
    expect(await screen.findByTestId('no-account')).toHaveTextContent('Run the SignalHub EA on 5123456 · ICMarketsSC-Demo');
  });

  it('shows an error with Retry when nothing could be loaded', async () => {
    let attempts = 0;
    mockFetch({
      'GET /api/v1/accounts': () => (++attempts === 1 ? fail(500, 'internal', 'Server exploded') : ok([account()])),
      'GET /api/v1/positions': ok(positions()),
    });
    renderTab();
    const error = await screen.findByTestId('positions-error');
    expect(error).toHaveTextContent('Server exploded');
    await user().click(within(error).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByTestId('equity')).toBeInTheDocument();
  });
});
