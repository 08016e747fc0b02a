import { ApiError, publicApi, type Credentials, type TokenResponse } from './api';

/** Refresh when this share of the token lifetime has passed, so short test lifetimes still work. */
const REFRESH_AT = 0.8;

export type AuthStatus = 'starting' | 'signed-in' | 'signed-out';

export interface AuthState {
  status: AuthStatus;
  /** Why the automatic Telegram sign-in failed, shown on the sign-in page. */
  error: string | null;
}

export class Auth implements Credentials {
  private tokens: TokenResponse | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private reauth: Promise<boolean> | null = null;
  private listeners = new Set<() => void>();
  private state: AuthState;

  constructor(private readonly initData: string | undefined) {
    this.state = { status: initData ? 'starting' : 'signed-out', error: null };
  }

  getState = (): AuthState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  accessToken(): string | null {
    return this.tokens?.access_token ?? null;
  }

  /** Signs in from Telegram launch data, if the app was opened with any. */
  async start(): Promise<void> {
    if (!this.initData) return;
    try {
      this.setTokens(await publicApi.exchangeInitData(this.initData));
    } catch (error) {
      this.clear({ status: 'signed-out', error: describeInitDataError(error) });
    }
  }

  setTokens(tokens: TokenResponse): void {
    this.tokens = tokens;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(), tokens.expires_in * REFRESH_AT * 1000);
    this.setState({ status: 'signed-in', error: null });
  }

  signOut(): void {
    this.clear({ status: 'signed-out', error: null });
  }

  reauthenticate(): Promise<boolean> {
    // Concurrent 401s share one exchange so initData is posted once.
    this.reauth ??= this.exchangeInitData().finally(() => {
      this.reauth = null;
    });
    return this.reauth;
  }

  private async refresh(): Promise<void> {
    const refreshToken = this.tokens?.refresh_token;
    if (!refreshToken) return;
    try {
      this.setTokens(await publicApi.refresh(refreshToken));
    } catch {
      await this.reauthenticate();
    }
  }

  private async exchangeInitData(): Promise<boolean> {
    if (this.initData) {
      try {
        this.setTokens(await publicApi.exchangeInitData(this.initData));
        return true;
      } catch {
        // Fall through: the session cannot be recovered without the user.
      }
    }
    this.signOut();
    return false;
  }

  private clear(state: AuthState): void {
    this.tokens = null;
    clearTimeout(this.refreshTimer);
    this.setState(state);
  }

  private setState(state: AuthState): void {
    this.state = state;
    this.listeners.forEach((listener) => listener());
  }
}

function describeInitDataError(error: unknown): string {
  if (error instanceof ApiError && error.code === 'init_data_expired') {
    return 'Your Telegram session data has expired. Reopen the app from the bot or sign in with the QR code.';
  }
  if (error instanceof ApiError && error.status === 401) {
    return 'Telegram sign-in data was rejected. Sign in with the QR code instead.';
  }
  return 'Could not sign you in automatically. Sign in with the QR code instead.';
}
