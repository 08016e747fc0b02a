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
export type KnowledgeCategory = Schemas['KnowledgeCategory'];
export type KnowledgePage = Schemas['KnowledgePage'];
export type SnippetPart = Schemas['SnippetPart'];
export type Article = Schemas['ArticleOut'];

export interface KnowledgeQuery {
  query: string;
  category: KnowledgeCategory | null;
  lang: string;
}

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
  const send = <T>(path: string) =>
    request<T>(path, { headers: { Authorization: `Bearer ${credentials.accessToken() ?? ''}` } });

  async function authorized<T>(path: string): Promise<T> {
    try {
      return await send<T>(path);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      if (!(await credentials.reauthenticate())) throw error;
    }
    try {
      return await send<T>(path);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) credentials.signOut();
      throw error;
    }
  }

  return {
    billing: () => authorized<Billing>('/api/v1/billing'),
    knowledge: ({ query, category, lang }: KnowledgeQuery) => {
      const params = new URLSearchParams({ lang });
      if (query) params.set('query', query);
      if (category) params.set('category', category);
      return authorized<KnowledgePage>(`/api/v1/knowledge?${params}`);
    },
    // Signed in, so that the reader counts toward the article's views (once a day).
    article: (slug: string, lang: string) =>
      authorized<Article>(`/api/v1/knowledge/${encodeURIComponent(slug)}?${new URLSearchParams({ lang })}`),
  };
}

export type Api = ReturnType<typeof createApi>;
