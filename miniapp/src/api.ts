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

function postJson<T>(path: string, body?: unknown): Promise<T> {
  return request<T>(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
}

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
  const send = <T>(path: string, method: string, body: unknown) =>
    request<T>(path, {
      method,
      headers: {
        Authorization: `Bearer ${credentials.accessToken() ?? ''}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  async function authorized<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
    try {
      return await send<T>(path, method, body);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      if (!(await credentials.reauthenticate())) throw error;
    }
    try {
      return await send<T>(path, method, body);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) credentials.signOut();
      throw error;
    }
  }

  return {
    billing: () => authorized<Billing>('/api/v1/billing'),
    devices: () => authorized<Device[]>('/api/v1/devices'),
    registerDevice: (name: string) => authorized<DeviceRegistered>('/api/v1/devices', 'POST', { name }),
    renameDevice: (id: number, name: string) => authorized<Device>(`/api/v1/devices/${id}`, 'PATCH', { name }),
    removeDevice: (id: number) => authorized<null>(`/api/v1/devices/${id}`, 'DELETE'),
  };
}

export type Api = ReturnType<typeof createApi>;
