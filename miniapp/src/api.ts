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
export type QrConfirmation = Schemas['LoginAwaitingAcceptance'];
export type ConfirmingAccount = Schemas['ConfirmingAccountOut'];
export type PaymentStatus = Schemas['PaymentStatus'];
export type Payment = Schemas['PaymentOut'];
export type Billing = Schemas['BillingOut'];
export type Device = Schemas['DeviceOut'];
export type DeviceRegistered = Schemas['DeviceRegistered'];
export type KnowledgeCategory = Schemas['KnowledgeCategory'];
export type KnowledgePage = Schemas['KnowledgePage'];
export type SnippetPart = Schemas['SnippetPart'];
export type Article = Schemas['ArticleOut'];

export interface KnowledgeQuery {
  query: string;
  category: KnowledgeCategory | null;
  lang: string;
}
export type AccountLink = Schemas['AccountLinkOut'];
export type LinkRequest = Schemas['LinkRequest'];
export type Positions = Schemas['PositionsOut'];
export type Position = Schemas['PositionOut'];
export type TradeMode = Schemas['TradeMode'];
export type MarketingPreference = Schemas['MarketingPreference'];
export type Approval = Schemas['ApprovalOut'];
export type ApprovalPage = Schemas['ApprovalPage'];
export type Signal = Schemas['SignalOut'];
export type Product = Schemas['ProductOut'];
export type PaymentMethod = Schemas['PaymentMethod'];
export type PaymentCreate = Schemas['PaymentCreate'];
export type PaymentRequest = Schemas['PaymentRequestOut'];

/** The pending approvals and the validator to send next time; null when nothing changed (304). */
export type PendingApprovals = { approvals: Approval[]; etag: string | null } | null;

/** One server-sent event of the approvals stream: its name and JSON data. */
export interface LiveEvent {
  event: string;
  data: Record<string, unknown>;
}

/** The response when it succeeded (or is a 304), else an ApiError carrying the server's error body. */
async function respond(path: string, init: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection.');
  }
  if (response.ok || response.status === 304) return response;
  const body: unknown = await response.json().catch(() => null);
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  throw new ApiError(
    response.status,
    typeof error?.code === 'string' ? error.code : 'http_error',
    typeof error?.message === 'string' ? error.message : `Request failed (HTTP ${response.status})`,
  );
}

export async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await respond(path, init);
  return (await response.json().catch(() => null)) as T;
}

/** Reads a text/event-stream body, calling `onEvent` per event; resolves when the stream ends. */
export async function readEvents(response: Response, onEvent: (event: LiveEvent) => void): Promise<void> {
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (!reader) return;
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent({ event, data: JSON.parse(data) as Record<string, unknown> });
    }
  }
}

const withJson = (method: string, body?: unknown): RequestInit => ({
  method,
  headers: { 'Content-Type': 'application/json' },
  body: body === undefined ? undefined : JSON.stringify(body),
});

const postJson = <T>(path: string, body?: unknown): Promise<T> => request<T>(path, withJson('POST', body ?? {}));

export const publicApi = {
  appConfig: () => request<AppConfig>('/api/v1/app-config'),
  catalog: () => request<Product[]>('/api/v1/catalog'),
  exchangeInitData: (initData: string) =>
    postJson<TokenResponse>('/api/v1/auth/telegram', { init_data: initData }),
  refresh: (refreshToken: string) =>
    postJson<TokenResponse>('/api/v1/auth/refresh', { refresh_token: refreshToken }),
  startQrLogin: () => postJson<QrStart>('/oauth/mini_app/start'),
  /** Resolves once someone confirmed in the bot: the account the browser's user must accept. */
  pollQrLogin: (authCode: string, signature: string) =>
    postJson<QrConfirmation>('/oauth/mini_app/callback', { auth_code: authCode, signature }),
  acceptQrLogin: (authCode: string, signature: string) =>
    postJson<TokenResponse>('/oauth/mini_app/accept', { auth_code: authCode, signature }),
  refuseQrLogin: (authCode: string, signature: string) =>
    postJson<null>('/oauth/mini_app/refuse', { auth_code: authCode, signature }),
};

export interface Credentials {
  accessToken(): string | null;
  /** Resolves true when a fresh access token is available to retry with. */
  reauthenticate(): Promise<boolean>;
  signOut(): void;
}

export function createApi(credentials: Credentials) {
  const send = (path: string, init: RequestInit) =>
    respond(path, {
      ...init,
      headers: { ...init.headers, Authorization: `Bearer ${credentials.accessToken() ?? ''}` },
    });

  /** The response, signing in again once if the access token has expired. */
  async function authorizedResponse(path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await send(path, init);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      if (!(await credentials.reauthenticate())) throw error;
    }
    try {
      return await send(path, init);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) credentials.signOut();
      throw error;
    }
  }

  const authorized = async <T>(path: string, init: RequestInit = {}): Promise<T> =>
    (await (await authorizedResponse(path, init)).json().catch(() => null)) as T;

  return {
    billing: () => authorized<Billing>('/api/v1/billing'),
    marketing: () => authorized<MarketingPreference>('/api/v1/me/marketing'),
    setMarketing: (subscribed: boolean) =>
      authorized<MarketingPreference>('/api/v1/me/marketing', withJson('PUT', { subscribed })),
    /** A broadcast's Mini App button opened the app with this `startapp` parameter. */
    reportCta: (startParam: string) =>
      authorized<null>('/api/v1/marketing/cta', withJson('POST', { start_param: startParam })),
    knowledge: ({ query, category, lang }: KnowledgeQuery) => {
      const params = new URLSearchParams({ lang });
      if (query) params.set('query', query);
      if (category) params.set('category', category);
      return authorized<KnowledgePage>(`/api/v1/knowledge?${params}`);
    },
    // Signed in, so that the reader counts toward the article's views (once a day).
    article: (slug: string, lang: string) =>
      authorized<Article>(`/api/v1/knowledge/${encodeURIComponent(slug)}?${new URLSearchParams({ lang })}`),
    accounts: () => authorized<AccountLink[]>('/api/v1/accounts'),
    linkAccount: (body: LinkRequest) => authorized<AccountLink>('/api/v1/accounts/link', withJson('POST', body)),
    makePrimary: (id: number) => authorized<AccountLink>(`/api/v1/accounts/${id}/primary`, { method: 'PUT' }),
    unlinkAccount: (id: number) => authorized<null>(`/api/v1/accounts/${id}`, { method: 'DELETE' }),
    /** The primary account's positions, or the given account's. */
    positions: (accountId?: number) =>
      authorized<Positions>(accountId === undefined ? '/api/v1/positions' : `/api/v1/accounts/${accountId}/positions`),
    /** Conditional: with the last ETag, an unchanged list costs a 304 and answers null. */
    pendingApprovals: async (etag: string | null): Promise<PendingApprovals> => {
      const response = await authorizedResponse('/api/v1/approvals/pending', {
        cache: 'no-store',
        headers: etag ? { 'If-None-Match': etag } : {},
      });
      if (response.status === 304) return null;
      return { approvals: (await response.json()) as Approval[], etag: response.headers.get('ETag') };
    },
    approvalHistory: () => authorized<ApprovalPage>('/api/v1/approvals?limit=20'),
    decide: (id: number, approve: boolean) =>
      authorized<Approval>(`/api/v1/approvals/${id}/${approve ? 'approve' : 'reject'}`, { method: 'POST' }),
    /** Follows the approvals stream until it ends or `signal` aborts it (fetch, for the bearer token). */
    approvalEvents: async (onEvent: (event: LiveEvent) => void, signal: AbortSignal): Promise<void> => {
      const response = await authorizedResponse('/api/v1/approvals/stream', {
        signal,
        headers: { Accept: 'text/event-stream' },
      });
      await readEvents(response, onEvent);
    },
    /** Every retry of one attempt sends the same `key`: the server opens one invoice or checkout. */
    createPayment: (order: PaymentCreate, key: string) =>
      authorized<PaymentRequest>('/api/v1/payments', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
        body: JSON.stringify(order),
      }),
    payment: (id: number) => authorized<PaymentRequest>(`/api/v1/payments/${id}`),
    devices: () => authorized<Device[]>('/api/v1/devices'),
    registerDevice: (name: string) => authorized<DeviceRegistered>('/api/v1/devices', withJson('POST', { name })),
    renameDevice: (id: number, name: string) => authorized<Device>(`/api/v1/devices/${id}`, withJson('PATCH', { name })),
    removeDevice: (id: number) => authorized<null>(`/api/v1/devices/${id}`, { method: 'DELETE' }),
  };
}

export type Api = ReturnType<typeof createApi>;
