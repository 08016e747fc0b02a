import { ApiError, type Api, type PaymentCreate, type PaymentRequest } from './api';

/** Tries per attempt: the first and two retries. */
export const MAX_TRIES = 3;
/** Waits before the 2nd and 3rd try: 0.5 s, then 1 s. */
export const BACKOFF_MS = 500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A network failure, a request still in flight, or a server error: worth the same request again. */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  return error.status === 0 || error.code === 'idempotency_request_in_progress' || error.status >= 500;
}

/**
 * One payment attempt: its Idempotency-Key is made once, before the first submit, and sent by
 * every retry, so however often the request reaches the server only one invoice or checkout is
 * opened. A failed attempt keeps its key: "Retry" is the same attempt.
 */
export class PaymentAttempt {
  readonly key: string;

  constructor(
    private readonly api: Api,
    readonly order: PaymentCreate,
    key: string = crypto.randomUUID(),
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {
    this.key = key;
  }

  /** Submits with exponential backoff on retryable failures, at most MAX_TRIES times. */
  async submit(): Promise<PaymentRequest> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.api.createPayment(this.order, this.key);
      } catch (error) {
        if (attempt >= MAX_TRIES || !isRetryable(error)) throw error;
        await this.wait(BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  }
}

/** Polls the payment until `done` holds for it; resolves with that state. */
export async function pollPayment(
  api: Api,
  id: number,
  done: (payment: PaymentRequest) => boolean,
  { intervalMs = 1500, timeoutMs = 120_000, wait = sleep }: { intervalMs?: number; timeoutMs?: number; wait?: (ms: number) => Promise<void> } = {},
): Promise<PaymentRequest> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const payment = await api.payment(id);
    if (done(payment) || Date.now() >= deadline) return payment;
    await wait(intervalMs);
  }
}

/** Paid, and what it bought is visible: the moment to say the tier is upgraded. */
export const isUpgraded = (payment: PaymentRequest): boolean => payment.status === 'paid' && payment.tier != null;

/** Nothing more will change: upgraded, or failed, cancelled or expired. "Paid" without the tier
 * yet is not finished: the grant is a moment behind. */
export const isFinished = (payment: PaymentRequest): boolean =>
  isUpgraded(payment) || ['failed', 'cancelled', 'expired'].includes(payment.status);
