import { act, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createApi, readEvents, type Approval, type LiveEvent } from '../api';
import { Auth } from '../auth';
import { fail, mockFetch, ok, tokens } from '../test/fetch';
import { renderInApp } from '../test/render';
import { ApprovalsTab, POLL_MS } from './ApprovalsTab';

const haptics = vi.hoisted(() => ({
  impact: vi.fn(),
  notification: vi.fn(),
}));

vi.mock('@telegram-apps/sdk-react', async (importOriginal) => {
  const original = await importOriginal<typeof import('@telegram-apps/sdk-react')>();
  const available = <T extends (...args: never[]) => void>(fn: T) => Object.assign(fn, { isAvailable: () => true });
  return {
    ...original,
    hapticFeedback: {
      impactOccurred: available(haptics.impact),
      notificationOccurred: available(haptics.notification),
    },
  };
});

const approval = (id: number, overrides: Partial<Approval['signal']> = {}, secondsLeft = 900): Approval => ({
  id,
  status: 'pending',
  decided_at: null,
  decided_via: null,
  created_at: '2026-11-30T14:00:00Z',
  seconds_left: secondsLeft,
  signal: {
    id: 100 + id,
    symbol: 'EURUSD',
    side: 'buy',
    order_type: 'market',
    entry_price: '1.085',
    stop_loss: '1.082',
    take_profits: ['1.09', '1.095'],
    note: null,
    min_tier: 'premium',
    status: 'active',
    expires_at: '2026-11-30T14:15:00Z',
    created_at: '2026-11-30T14:00:00Z',
    ...overrides,
  },
});

const EMPTY_HISTORY = { items: [], next_before: null };

/** A stream that stays open until the test pushes events through `send`. */
function streamFetch() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => (controller = c) });
  const encoder = new TextEncoder();
  return {
    response: () => new Response(body, { headers: { 'Content-Type': 'text/event-stream' } }),
    send: (event: string, data: object) => controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)),
  };
}

function withStream(stream: ReturnType<typeof streamFetch> | null) {
  const json = globalThis.fetch;
  vi.stubGlobal('fetch', (input: RequestInfo | URL, init?: RequestInit) =>
    String(input) === '/api/v1/approvals/stream'
      ? stream
        ? Promise.resolve(stream.response())
        : Promise.reject(new TypeError('offline'))
      : json(input, init),
  );
}

async function show() {
  const auth = new Auth(undefined);
  auth.setTokens(tokens());
  await act(async () => {
    renderInApp(<ApprovalsTab api={createApi(auth)} />);
  });
}

describe('ApprovalsTab', () => {
  beforeEach(() => {
    haptics.impact.mockClear();
    haptics.notification.mockClear();
  });

  it('shows each pending signal as a card with its levels and a countdown', async () => {
    mockFetch({
      'GET /api/v1/approvals/pending': ok([approval(2, { symbol: 'XAUUSD', side: 'sell', order_type: 'limit' }), approval(1)]),
      'GET /api/v1/approvals?limit=20': ok(EMPTY_HISTORY),
    });
    withStream(null);
    await show();

    const cards = await screen.findAllByTestId('signal-card');
    expect(cards).toHaveLength(2);
    expect(cards[0]).toHaveTextContent('XAUUSD');
    expect(within(cards[0]).getByTestId('side')).toHaveClass('side--sell');
    expect(cards[0]).toHaveTextContent('limit');
    expect(cards[1]).toHaveTextContent('Entry1.085');
    expect(cards[1]).toHaveTextContent('Take profit1.09 · 1.095');
    expect(within(cards[1]).getByTestId('countdown')).toHaveTextContent(/expires in 0d 0h 1[45]m/);
  });

  it('shows the empty state and the history of decisions', async () => {
    const decided = { ...approval(5), status: 'approved' as const, decided_at: '2026-11-30T14:05:00Z' };
    mockFetch({
      'GET /api/v1/approvals/pending': ok([]),
      'GET /api/v1/approvals?limit=20': ok({ items: [decided, approval(6)], next_before: null }),
    });
    withStream(null);
    await show();
    expect(await screen.findByTestId('empty-state')).toHaveTextContent('No pending approvals');
    const history = await screen.findAllByTestId('history-item');
    expect(history).toHaveLength(1);
    expect(history[0]).toHaveTextContent('EURUSD BUY @ 1.085');
    expect(history[0]).toHaveTextContent('Approved');
  });

  it('removes a card at once on Approve, with haptics, and records the decision', async () => {
    let answer!: () => void;
    const { callsTo } = mockFetch({
      'GET /api/v1/approvals/pending': ok([approval(1)]),
      'GET /api/v1/approvals?limit=20': ok(EMPTY_HISTORY),
      'POST /api/v1/approvals/1/approve': () =>
        new Promise((resolve) => (answer = () => resolve(ok({ ...approval(1), status: 'approved' })))),
    });
    withStream(null);
    await show();
    const user = userEvent.setup();
    await user.click(await screen.findByRole('button', { name: 'Approve' }));

    expect(screen.queryByTestId('signal-card')).not.toBeInTheDocument();
    expect(haptics.impact).toHaveBeenCalledWith('medium');
    await act(async () => answer());
    expect(haptics.notification).toHaveBeenCalledWith('success');
    expect(callsTo('POST /api/v1/approvals/1/approve')).toHaveLength(1);
    expect(screen.getByTestId('empty-state')).toBeInTheDocument();
    expect(callsTo('GET /api/v1/approvals?limit=20').length).toBeGreaterThan(1);
  });

  it('brings the card back with the reason when the server refuses', async () => {
    mockFetch({
      'GET /api/v1/approvals/pending': ok([approval(1)]),
      'GET /api/v1/approvals?limit=20': ok(EMPTY_HISTORY),
      'POST /api/v1/approvals/1/reject': fail(409, 'signal_expired', 'The signal has expired.'),
    });
    withStream(null);
    await show();
    await userEvent.setup().click(await screen.findByRole('button', { name: 'Reject' }));

    expect(await screen.findByTestId('decision-error')).toHaveTextContent('The signal has expired.');
    expect(screen.getByTestId('signal-card')).toBeInTheDocument();
    expect(haptics.notification).toHaveBeenCalledWith('error');
  });

  it('reloads when the stream says something changed, and does not poll meanwhile', async () => {
    const stream = streamFetch();
    let pending: Approval[] = [];
    const { callsTo } = mockFetch({
      'GET /api/v1/approvals/pending': () => ok(pending),
      'GET /api/v1/approvals?limit=20': ok(EMPTY_HISTORY),
    });
    withStream(stream);
    await show();
    expect(await screen.findByTestId('empty-state')).toBeInTheDocument();

    act(() => stream.send('ready', {}));
    pending = [approval(7, { symbol: 'US30.cash' })];
    act(() => stream.send('approval.created', { type: 'approval.created', approval_id: 7 }));
    await vi.waitFor(() => expect(screen.getByText('US30.cash')).toBeInTheDocument(), { timeout: 3000 });
    const before = callsTo('GET /api/v1/approvals/pending').length;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS + 200));
    expect(callsTo('GET /api/v1/approvals/pending')).toHaveLength(before);
  }, 10_000);
  it('polls every 3 s with the ETag while the stream is down, and drops expired cards', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let polls = 0;
    const { callsTo } = mockFetch({
      'GET /api/v1/approvals/pending': () => {
        polls += 1;
        return polls === 1 ? ok([approval(1, {}, 2)]) : { status: 304, body: null };
      },
      'GET /api/v1/approvals?limit=20': ok(EMPTY_HISTORY),
    });
    withStream(null);
    await show();
    expect(await screen.findByTestId('signal-card')).toBeInTheDocument();

    await act(() => vi.advanceTimersByTimeAsync(POLL_MS + 100));
    const polled = callsTo('GET /api/v1/approvals/pending');
    expect(polled.length).toBeGreaterThan(1);
    expect(screen.queryByTestId('signal-card')).not.toBeInTheDocument(); // its 2 s ran out
    expect(screen.getByTestId('empty-state')).toBeInTheDocument();
  });

});

describe('readEvents', () => {
  it('parses events split across chunks and ignores heartbeats', async () => {
    const chunks = ['event: ready\ndata: {}\n\n: heartbeat\n\nevent: approval.de', 'cided\ndata: {"approval_id":3}\n\n'];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });
    const seen: LiveEvent[] = [];
    await readEvents(new Response(body), (event) => seen.push(event));
    expect(seen).toEqual([
      { event: 'ready', data: {} },
      { event: 'approval.decided', data: { approval_id: 3 } },
    ]);
  });
});
