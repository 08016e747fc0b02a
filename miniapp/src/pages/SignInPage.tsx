import { Button, Spinner, Text, Title } from '@telegram-apps/telegram-ui';
import qrcode from 'qrcode-generator';
import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import { ApiError, publicApi, type QrStart, type TokenResponse } from '../api';
import { Page } from '../components/Page';
import { signAuthCode } from '../hmac';
import { hasTelegramClient, openTelegramUrl } from '../telegram';

const SLOW_DOWN_SECONDS = 5;
const QR_MARGIN = 4;

type Phase = { kind: 'starting' } | { kind: 'waiting'; start: QrStart } | { kind: 'failed'; message: string };

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

async function pollForTokens(start: QrStart, signature: string, signal: AbortSignal): Promise<TokenResponse> {
  const deadline = Date.now() + start.expires_in * 1000;
  let interval = start.interval;
  for (;;) {
    await sleep(interval * 1000, signal);
    if (Date.now() >= deadline) throw new ApiError(400, 'expired_token', 'The sign-in code expired.');
    try {
      return await publicApi.pollQrLogin(start.auth_code, signature);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === 'slow_down' || error.code === 'rate_limited') interval += SLOW_DOWN_SECONDS;
      // Network blips (status 0) shouldn't end a sign-in the user is still completing in the bot.
      else if (error.code !== 'authorization_pending' && error.status !== 0) throw error;
    }
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof ApiError && error.code === 'access_denied') return 'Sign-in was declined in the bot.';
  if (error instanceof ApiError && error.code === 'expired_token') return 'This sign-in code has expired.';
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong. Please try again.';
}

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

interface SignInPageProps {
  /** Why automatic Telegram sign-in failed, if it was attempted. */
  error: string | null;
  onSignedIn: (tokens: TokenResponse) => void;
}

export default function SignInPage({ error, onSignedIn }: SignInPageProps) {
  const [attempt, setAttempt] = useState(0);
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
      setPhase({ kind: 'waiting', start });
      return pollForTokens(start, signature, controller.signal);
    })().then(
      (tokens) => !controller.signal.aborted && signedIn.current(tokens),
      (failure: unknown) => !controller.signal.aborted && setPhase({ kind: 'failed', message: describeFailure(failure) }),
    );
    return () => controller.abort();
  }, [attempt]);

  const openLink = (event: MouseEvent<HTMLAnchorElement>) => {
    if (!hasTelegramClient()) return;
    event.preventDefault();
    openTelegramUrl(event.currentTarget.href);
  };

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
            <Text>Scan this code with your phone, or open the link in Telegram, then confirm in the bot.</Text>
            <QrCode value={phase.start.qr_code_url} />
            <a data-testid="login-link" href={phase.start.qr_code_url} target="_blank" rel="noreferrer" onClick={openLink}>
              Open the sign-in link in Telegram
            </a>
            <Text>
              Check that the bot shows the same code: <strong data-testid="match-code">{phase.start.match_code}</strong>
            </Text>
          </>
        )}
        {phase.kind === 'failed' && (
          <>
            <Text data-testid="qr-error" role="alert" className="error">
              {phase.message}
            </Text>
            <Button size="m" onClick={() => setAttempt((n) => n + 1)}>
              Try again
            </Button>
          </>
        )}
      </div>
    </Page>
  );
}
