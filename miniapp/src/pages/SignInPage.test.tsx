import { act, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createHmac } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fail, mockFetch, ok, tokens, type Call } from '../test/fetch';
import { renderInApp } from '../test/render';
import SignInPage from './SignInPage';

const start = (n = 1) => ({
  auth_code: `code-${n}`,
  qr_code_url: `https://t.me/signalhub_bot?start=login_code-${n}`,
  expires_in: 300,
  interval: 2,
  poll_secret: `secret-${n}`,
  match_code: `MATCH-${n}`,
});

const confirmedBy = (first_name: string, username: string | null = null) =>
  ok({ status: 'awaiting_acceptance', account: { first_name, username, initial: first_name[0].toUpperCase() } });

const advance = (ms: number) => act(() => vi.advanceTimersByTimeAsync(ms));

type Reply = ReturnType<typeof ok>;

function mockQrBackend(
  callback: (call: Call, attempt: number) => Reply,
  answers: { accept?: (call: Call) => Reply; refuse?: (call: Call) => Reply } = {},
) {
  let starts = 0;
  let polls = 0;
  return mockFetch({
    'POST /oauth/mini_app/start': () => ok(start(++starts)),
    'POST /oauth/mini_app/callback': (call) => callback(call, ++polls),
    'POST /oauth/mini_app/accept': answers.accept ?? (() => ok(tokens('qr'))),
    'POST /oauth/mini_app/refuse': answers.refuse ?? (() => ({ status: 204, body: null })),
  });
}

const signedBody = (n = 1) => ({
  auth_code: `code-${n}`,
  signature: createHmac('sha256', `secret-${n}`).update(`code-${n}`).digest('hex'),
});

describe('SignInPage', () => {
  beforeEach(() => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
  });

  it('shows who confirmed in the bot and signs in only when the browser accepts', async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    const { callsTo } = mockQrBackend((_call, poll) =>
      poll < 3 ? fail(400, 'authorization_pending') : confirmedBy('Anna', 'anna'),
    );
    const onSignedIn = vi.fn();
    renderInApp(<SignInPage error={null} onSignedIn={onSignedIn} />);

    expect(await screen.findByTestId('match-code')).toHaveTextContent('MATCH-1');
    expect(screen.getByTestId('signin-page')).toHaveTextContent(/bot shows the same code/);
    expect(screen.getByTestId('qr-code').tagName.toLowerCase()).toBe('svg');
    expect(screen.getByTestId('login-link')).toHaveAttribute('href', start().qr_code_url);

    await advance(2000);
    await advance(2000);
    expect(screen.queryByTestId('qr-confirm')).not.toBeInTheDocument();
    await advance(2000);

    expect(await screen.findByTestId('qr-account')).toHaveTextContent('Sign in as Anna (@anna)?');
    expect(screen.getByTestId('qr-avatar')).toHaveTextContent('A');
    expect(screen.queryByTestId('qr-code')).not.toBeInTheDocument();
    await advance(10_000);
    expect(callsTo('POST /oauth/mini_app/callback')).toHaveLength(3);
    expect(onSignedIn).not.toHaveBeenCalled();

    await user.click(screen.getByRole('button', { name: 'Accept' }));
    expect(onSignedIn).toHaveBeenCalledWith(tokens('qr'));
    expect(callsTo('POST /oauth/mini_app/callback')[0].body).toEqual(signedBody());
    expect(callsTo('POST /oauth/mini_app/accept').map((call) => call.body)).toEqual([signedBody()]);
  });

  it('Not me refuses the stranger and keeps the same code for the right person', async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    const { callsTo } = mockQrBackend((_call, poll) =>
      poll === 1 ? confirmedBy('Mallory') : poll === 2 ? fail(400, 'authorization_pending') : confirmedBy('Anna'),
    );
    const onSignedIn = vi.fn();
    renderInApp(<SignInPage error={null} onSignedIn={onSignedIn} />);
    await screen.findByTestId('match-code');
    await advance(2000);

    expect(await screen.findByTestId('qr-account')).toHaveTextContent('Sign in as Mallory?');
    await user.click(screen.getByRole('button', { name: 'Not me' }));
    expect(callsTo('POST /oauth/mini_app/refuse').map((call) => call.body)).toEqual([signedBody()]);
    expect(await screen.findByTestId('qr-notice')).toHaveTextContent('Mallory was not signed in.');
    expect(screen.getByTestId('match-code')).toHaveTextContent('MATCH-1');
    expect(callsTo('POST /oauth/mini_app/start')).toHaveLength(1);

    await advance(2000);
    expect(screen.queryByTestId('qr-confirm')).not.toBeInTheDocument();
    await advance(2000);
    expect(await screen.findByTestId('qr-account')).toHaveTextContent('Sign in as Anna?');
    await user.click(screen.getByRole('button', { name: 'Accept' }));
    expect(onSignedIn).toHaveBeenCalledTimes(1);
  });

  it('goes back to waiting when the confirmation was withdrawn before Accept', async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    const { callsTo } = mockQrBackend(
      (_call, poll) => (poll === 1 ? confirmedBy('Anna') : fail(400, 'authorization_pending')),
      { accept: () => fail(409, 'login_not_confirmed') },
    );
    const onSignedIn = vi.fn();
    renderInApp(<SignInPage error={null} onSignedIn={onSignedIn} />);
    await screen.findByTestId('match-code');
    await advance(2000);
    await user.click(await screen.findByRole('button', { name: 'Accept' }));

    expect(await screen.findByTestId('qr-notice')).toHaveTextContent('withdrawn');
    expect(screen.getByTestId('qr-code')).toBeInTheDocument();
    await advance(2000);
    expect(callsTo('POST /oauth/mini_app/callback')).toHaveLength(2);
    expect(onSignedIn).not.toHaveBeenCalled();
  });

  it('shows the failure of Accept or Not me with Try again', async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    mockQrBackend(() => confirmedBy('Anna'), { refuse: () => fail(400, 'expired_token') });
    renderInApp(<SignInPage error={null} onSignedIn={vi.fn()} />);
    await screen.findByTestId('match-code');
    await advance(2000);
    await user.click(await screen.findByRole('button', { name: 'Not me' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This sign-in code has expired.');
    expect(screen.getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });

  it('the question expires with the code', async () => {
    mockQrBackend(() => confirmedBy('Anna'));
    renderInApp(<SignInPage error={null} onSignedIn={vi.fn()} />);
    await screen.findByTestId('match-code');
    await advance(2000);
    expect(await screen.findByTestId('qr-confirm')).toBeInTheDocument();
    await advance(299_000);
    expect(await screen.findByRole('alert')).toHaveTextContent('This sign-in code has expired.');
    expect(screen.queryByRole('button', { name: 'Accept' })).not.toBeInTheDocument();
  });

  it('waits 5 s longer after slow_down', async () => {
    const { callsTo } = mockQrBackend((_call, poll) =>
      poll === 1 ? fail(400, 'slow_down') : fail(400, 'authorization_pending'),
    );
    renderInApp(<SignInPage error={null} onSignedIn={vi.fn()} />);
    await screen.findByTestId('match-code');

    await advance(2000);
    expect(callsTo('POST /oauth/mini_app/callback')).toHaveLength(1);
    await advance(6500);
    expect(callsTo('POST /oauth/mini_app/callback')).toHaveLength(1);
    await advance(1000);
    expect(callsTo('POST /oauth/mini_app/callback')).toHaveLength(2);
  });

  it('shows a refused poll and starts a new code on Try again', async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    const { callsTo } = mockQrBackend(() => fail(400, 'invalid_grant', 'This sign-in code was already used.'));
    renderInApp(<SignInPage error={null} onSignedIn={vi.fn()} />);
    await screen.findByTestId('match-code');
    await advance(2000);

    expect(await screen.findByRole('alert')).toHaveTextContent('This sign-in code was already used.');
    expect(screen.queryByTestId('qr-code')).not.toBeInTheDocument();
    await advance(10_000);
    expect(callsTo('POST /oauth/mini_app/callback')).toHaveLength(1);

    await user.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('match-code')).toHaveTextContent('MATCH-2');
    expect(callsTo('POST /oauth/mini_app/start')).toHaveLength(2);
  });

  it('shows expired_token with Try again', async () => {
    mockQrBackend(() => fail(400, 'expired_token'));
    renderInApp(<SignInPage error={null} onSignedIn={vi.fn()} />);
    await screen.findByTestId('match-code');
    await advance(2000);
    expect(await screen.findByRole('alert')).toHaveTextContent('This sign-in code has expired.');
    expect(screen.getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });

  it('gives up by itself when the code lifetime runs out', async () => {
    mockQrBackend(() => fail(400, 'authorization_pending'));
    renderInApp(<SignInPage error={null} onSignedIn={vi.fn()} />);
    await screen.findByTestId('match-code');
    await advance(301_000);
    expect(await screen.findByRole('alert')).toHaveTextContent('This sign-in code has expired.');
  });

  it('shows why Telegram sign-in failed next to the QR option', async () => {
    mockQrBackend(() => fail(400, 'authorization_pending'));
    renderInApp(<SignInPage error="Telegram sign-in data was rejected." onSignedIn={vi.fn()} />);
    expect(screen.getByTestId('signin-error')).toHaveTextContent('Telegram sign-in data was rejected.');
    expect(await screen.findByTestId('qr-code')).toBeInTheDocument();
  });

  it('offers Try again when the code cannot be started', async () => {
    mockFetch({ 'POST /oauth/mini_app/start': fail(429, 'rate_limited', 'Too many requests') });
    renderInApp(<SignInPage error={null} onSignedIn={vi.fn()} />);
    expect(await screen.findByRole('alert')).toHaveTextContent('Too many requests');
    expect(screen.getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });
});
