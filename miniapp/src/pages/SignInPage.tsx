import { Button, Spinner, Text, Title } from '@telegram-apps/telegram-ui';
import qrcode from 'qrcode-generator';
import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import { ApiError, publicApi, type ConfirmingAccount, type QrStart, type TokenResponse } from '../api';
import { Page } from '../components/Page';
import { signAuthCode } from '../hmac';
import { hasTelegramClient, openTelegramUrl } from '../telegram';

const SLOW_DOWN_SECONDS = 5;
const QR_MARGIN = 4;

/** One QR code: what the browser shows and the signature only it can make. */
interface Attempt {
  start: QrStart;
  signature: string;
  deadline: number;
}

type Phase =
  | { kind: 'starting' }
  | { kind: 'waiting'; attempt: Attempt; notice: string | null }
  | { kind: 'confirming'; attempt: Attempt; account: ConfirmingAccount; busy: boolean }
  | { kind: 'failed'; message: string };

const expired = () => new ApiError(400, 'expired_token', 'The sign-in code expired.');

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Polls until a Telegram account confirmed in the bot; that account is not signed in yet. */
async function pollForConfirmation(attempt: Attempt, signal: AbortSignal): Promise<ConfirmingAccount> {
  let interval = attempt.start.interval;
  for (;;) {
    await sleep(interval * 1000, signal);
    if (Date.now() >= attempt.deadline) throw expired();
    try {
      return (await publicApi.pollQrLogin(attempt.start.auth_code, attempt.signature)).account;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === 'slow_down' || error.code === 'rate_limited') interval += SLOW_DOWN_SECONDS;
      // Network blips (status 0) shouldn't end a sign-in the user is still completing in the bot.
      else if (error.code !== 'authorization_pending' && error.status !== 0) throw error;
    }
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof ApiError && error.code === 'expired_token') return 'This sign-in code has expired.';
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong. Please try again.';
}

const accountName = (account: ConfirmingAccount) =>
  account.username ? `${account.first_name} (@${account.username})` : account.first_name;

function QrCode({ value }: { value: string }) {
  const { size, path } = useMemo(() => {
    const qr = qrcode(0, 'M');
    qr.addData(value);
    qr.make();
    const count = qr.getModuleCount();
    let d = '';
    for (let row = 0; row < count; row++) {
      for (let col = 0; col < count; col++) {
        if (qr.isDark(row, col)) d += `M${col + QR_MARGIN} ${row + QR_MARGIN}h1v1h-1z`;
      }
    }
    return { size: count + QR_MARGIN * 2, path: d };
  }, [value]);

  // Always dark-on-light regardless of theme: many scanners fail on inverted codes.
  return (
    <svg data-testid="qr-code" className="qr" viewBox={`0 0 ${size} ${size}`} role="img" aria-label="Sign-in QR code">
      <rect width={size} height={size} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}

/** Who confirmed in Telegram, for the browser's user to accept: anyone who saw the QR code can
 * confirm it, and must not be able to sign this browser in as themselves. */
function ConfirmAccount({
  account,
  busy,
  onAccept,
  onRefuse,
}: {
  account: ConfirmingAccount;
  busy: boolean;
  onAccept: () => void;
  onRefuse: () => void;
}) {
  return (
    <div data-testid="qr-confirm" className="signin__confirm">
      <span data-testid="qr-avatar" className="avatar" aria-hidden="true">
        {account.initial}
      </span>
      <Title level="3" weight="2" data-testid="qr-account">
        Sign in as {accountName(account)}?
      </Title>
      <Text>
        This Telegram account confirmed the sign-in. If it is not yours, someone else used your code: choose Not
        me and confirm with your own account.
      </Text>
      <div className="signin__actions">
        <Button size="m" loading={busy} disabled={busy} onClick={onAccept}>
          Accept
        </Button>
        <Button size="m" mode="outline" disabled={busy} onClick={onRefuse}>
          Not me
        </Button>
      </div>
    </div>
  );
}

interface SignInPageProps {
  /** Why automatic Telegram sign-in failed, if it was attempted. */
  error: string | null;
  onSignedIn: (tokens: TokenResponse) => void;
}

export default function SignInPage({ error, onSignedIn }: SignInPageProps) {
  const [generation, setGeneration] = useState(0);
  const [phase, setPhase] = useState<Phase>({ kind: 'starting' });
  const signedIn = useRef(onSignedIn);
  signedIn.current = onSignedIn;

  useEffect(() => {
    const controller = new AbortController();
    setPhase({ kind: 'starting' });
    (async () => {
      const start = await publicApi.startQrLogin();
      const signature = await signAuthCode(start.poll_secret, start.auth_code);
      controller.signal.throwIfAborted();
      setPhase({
        kind: 'waiting',
        attempt: { start, signature, deadline: Date.now() + start.expires_in * 1000 },
        notice: null,
      });
    })().catch(
      (failure: unknown) => !controller.signal.aborted && setPhase({ kind: 'failed', message: describeFailure(failure) }),
    );
    return () => controller.abort();
  }, [generation]);

  const waiting = phase.kind === 'waiting' ? phase : null;
  useEffect(() => {
    if (!waiting) return;
    const controller = new AbortController();
    pollForConfirmation(waiting.attempt, controller.signal).then(
      (account) =>
        !controller.signal.aborted && setPhase({ kind: 'confirming', attempt: waiting.attempt, account, busy: false }),
      (failure: unknown) => !controller.signal.aborted && setPhase({ kind: 'failed', message: describeFailure(failure) }),
    );
    return () => controller.abort();
  }, [waiting]);

  const confirmingDeadline = phase.kind === 'confirming' ? phase.attempt.deadline : null;
  useEffect(() => {
    if (confirmingDeadline === null) return;
    const timer = setTimeout(
      () => setPhase({ kind: 'failed', message: describeFailure(expired()) }),
      Math.max(0, confirmingDeadline - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [confirmingDeadline]);

  /** Accept or refuse the confirming account; a withdrawn confirmation goes back to waiting. */
  const answer = async (accept: boolean) => {
    if (phase.kind !== 'confirming') return;
    const { attempt, account } = phase;
    setPhase({ ...phase, busy: true });
    try {
      if (accept) {
        const tokens = await publicApi.acceptQrLogin(attempt.start.auth_code, attempt.signature);
        signedIn.current(tokens);
        return;
      }
      await publicApi.refuseQrLogin(attempt.start.auth_code, attempt.signature);
      setPhase({
        kind: 'waiting',
        attempt,
        notice: `${account.first_name} was not signed in. Confirm in Telegram with your own account.`,
      });
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === 'login_not_confirmed')
        setPhase({ kind: 'waiting', attempt, notice: 'That confirmation was withdrawn in Telegram.' });
      else setPhase({ kind: 'failed', message: describeFailure(failure) });
    }
  };

  const openLink = (event: MouseEvent<HTMLAnchorElement>) => {
    if (!hasTelegramClient()) return;
    event.preventDefault();
    openTelegramUrl(event.currentTarget.href);
  };

  const restart = () => setGeneration((n) => n + 1);

  return (
    <Page back={false}>
      <div data-testid="signin-page" className="signin__body">
        <Title weight="2">Sign in to signalhub</Title>
        {error && (
          <Text data-testid="signin-error" role="alert" className="error">
            {error}
          </Text>
        )}
        {phase.kind === 'starting' && <Spinner size="l" />}
        {phase.kind === 'waiting' && (
          <>
            {phase.notice && (
              <Text data-testid="qr-notice" role="status">
                {phase.notice}
              </Text>
            )}
            <Text>
              Scan this code with your phone, or open the link in Telegram, then confirm in the bot. You will then be
              asked to accept the account that confirmed.
            </Text>
            <QrCode value={phase.attempt.start.qr_code_url} />
            <a
              data-testid="login-link"
              href={phase.attempt.start.qr_code_url}
              target="_blank"
              rel="noreferrer"
              onClick={openLink}
            >
              Open the sign-in link in Telegram
            </a>
            <Text>
              Check that the bot shows the same code:{' '}
              <strong data-testid="match-code">{phase.attempt.start.match_code}</strong>
            </Text>
          </>
        )}
        {phase.kind === 'confirming' && (
          <ConfirmAccount
            account={phase.account}
            busy={phase.busy}
            onAccept={() => void answer(true)}
            onRefuse={() => void answer(false)}
          />
        )}
        {phase.kind === 'failed' && (
          <>
            <Text data-testid="qr-error" role="alert" className="error">
              {phase.message}
            </Text>
            <Button size="m" onClick={restart}>
              Try again
            </Button>
          </>
        )}
      </div>
    </Page>
  );
}
