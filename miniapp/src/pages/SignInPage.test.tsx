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

const advance = (ms: number) => act(() => vi.advanceTimersByTimeAsync(ms));

function mockQrBackend(callback: (call: Call, attempt: number) => ReturnType<typeof ok>) {
  let starts = 0;
  let polls = 0;
  return mockFetch({
    'POST /oauth/mini_app/start': () => ok(start(++starts)),
    'POST /oauth/mini_app/callback': (call) => callback(call, ++polls),
  });
}

describe('SignInPage', () => {
  beforeEach(() => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
  });

  it('shows the QR code, link and match code, then signs in once the bot confirms', async () => {
    const { callsTo } = mockQrBackend((_call, poll) => (poll < 3 ? fail(400, 'authorization_pending') : ok(tokens('qr'))));
    const onSignedIn = vi.fn();
    renderInApp(<SignInPage error={null} onSignedIn={onSignedIn} />);

    expect(await screen.findByTestId('match-code')).toHaveTextContent('MATCH-1');
    expect(screen.getByTestId('signin-page')).toHaveTextContent(/bot shows the same code/);
    expect(screen.getByTestId('qr-code').tagName.toLowerCase()).toBe('svg');
    expect(screen.getByTestId('login-link')).toHaveAttribute('href', start().qr_code_url);

    await advance(2000);
    await advance(2000);
    expect(onSignedIn).not.toHaveBeenCalled();
    await advance(2000);

    expect(onSignedIn).toHaveBeenCalledWith(tokens('qr'));
    const polls = callsTo('POST /oauth/mini_app/callback');
    expect(polls).toHaveLength(3);
    expect(polls[0].body).toEqual({
      auth_code: 'code-1',
      signature: createHmac('sha256', 'secret-1').update('code-1').digest('hex'),
    });
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

  it('shows access_denied and starts a new code on Try again', async () => {
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    const { callsTo } = mockQrBackend(() => fail(400, 'access_denied'));
    renderInApp(<SignInPage error={null} onSignedIn={vi.fn()} />);
    await screen.findByTestId('match-code');
    await advance(2000);

    expect(await screen.findByRole('alert')).toHaveTextContent('Sign-in was declined in the bot.');
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
