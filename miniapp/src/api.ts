import type { components } from './api-schema';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What to tell the user about a failed request. */
export const errorMessage = (error: unknown): string =>
  error instanceof ApiError ? error.message : 'Something went wrong. Please try again.';

/** Generated from the backend's /openapi.json by `make api-types`; never edit by hand. */
export type Schemas = components['schemas'];

export type Tier = Schemas['Tier'];
export type TokenResponse = Schemas['TokenResponse'];
export type AppConfig = Schemas['AppConfigOut'];
export type QrStart = Schemas['LoginStarted'];
export type PaymentStatus = Schemas['PaymentStatus'];
export type Payment = Schemas['PaymentOut'];
export type Billing = Schemas['BillingOut'];
export type Device = Schemas['DeviceOut'];
export type DeviceRegistered = Schemas['DeviceRegistered'];
export type AccountLink = Schemas['AccountLinkOut'];
export type LinkRequest = Schemas['LinkRequest'];
export type Positions = Schemas['PositionsOut'];
export type Position = Schemas['PositionOut'];
export type TradeMode = Schemas['TradeMode'];

export async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection.');
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    throw new ApiError(
      response.status,
      typeof error?.code === 'string' ? error.code : 'http_error',
      typeof error?.message === 'string' ? error.message : `Request failed (HTTP ${response.status})`,
    );
  }
  return body as T;
}

const withJson = (method: string, body?: unknown): RequestInit => ({
  method,
  headers: { 'Content-Type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
});

const postJson = <T>(path: string, body?: unknown): Promise<T> => request<T>(path, withJson('POST', body ?? {}));

export const publicApi = {
  appConfig: () => request<AppConfig>('/api/v1/app-config'),
  exchangeInitData: (initData: string) =>
    postJson<TokenResponse>('/api/v1/auth/telegram', { init_data: initData }),
  refresh: (refreshToken: string) =>
    postJson<TokenResponse>('/api/v1/auth/refresh', { refresh_token: refreshToken }),
  startQrLogin: () => postJson<QrStart>('/oauth/mini_app/start'),
  pollQrLogin: (authCode: string, signature: string) =>
    postJson<TokenResponse>('/oauth/mini_app/callback', { auth_code: authCode, signature }),
};

export interface Credentials {
  accessToken(): string | null;
  /** Resolves true when a fresh access token is available to retry with. */
  reauthenticate(): Promise<boolean>;
  signOut(): void;
}

export function createApi(credentials: Credentials) {
  const send = <T>(path: string, init: RequestInit) =>
    request<T>(path, {
      ...init,
      headers: { ...init.headers, Authorization: `Bearer ${credentials.accessToken() ?? ''}` },
    });

  async function authorized<T>(path: string, init: RequestInit = {}): Promise<T> {
    try {
      return await send<T>(path, init);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      if (!(await credentials.reauthenticate())) throw error;
    }
    try {
      return await send<T>(path, init);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) credentials.signOut();
      throw error;
    }
  }

  return {
    billing: () => authorized<Billing>('/api/v1/billing'),
    accounts: () => authorized<AccountLink[]>('/api/v1/accounts'),
    linkAccount: (body: LinkRequest) => authorized<AccountLink>('/api/v1/accounts/link', withJson('POST', body)),
    makePrimary: (id: number) => authorized<AccountLink>(`/api/v1/accounts/${id}/primary`, { method: 'PUT' }),
    unlinkAccount: (id: number) => authorized<null>(`/api/v1/accounts/${id}`, { method: 'DELETE' }),
    /** The primary account's positions, or the given account's. */
    positions: (accountId?: number) =>
      authorized<Positions>(accountId === undefined ? '/api/v1/positions' : `/api/v1/accounts/${accountId}/positions`),
    devices: () => authorized<Device[]>('/api/v1/devices'),
    registerDevice: (name: string) => authorized<DeviceRegistered>('/api/v1/devices', withJson('POST', { name })),
    renameDevice: (id: number, name: string) => authorized<Device>(`/api/v1/devices/${id}`, withJson('PATCH', { name })),
    removeDevice: (id: number) => authorized<null>(`/api/v1/devices/${id}`, { method: 'DELETE' }),
  };
}

export type Api = ReturnType<typeof createApi>;
