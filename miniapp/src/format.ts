import type { Payment, PaymentStatus, Tier, TradeMode } from './api';

const TIER_NAMES: Record<Tier, string> = {
  free: 'Free',
  premium: 'Premium',
  vip: 'VIP',
  enterprise: 'Enterprise',
};

const STATUS_NAMES: Record<PaymentStatus, string> = {
  pending: 'Pending',
  succeeded: 'Paid',
  failed: 'Failed',
  refunded: 'Refunded',
  disputed: 'Disputed',
  mismatched: 'Under review',
};

const dateFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });

export const tierName = (tier: Tier): string => TIER_NAMES[tier] ?? tier;

export const statusName = (status: PaymentStatus): string => STATUS_NAMES[status] ?? status;

export const formatDate = (iso: string): string => dateFormat.format(new Date(iso));

export function formatAmount({ amount_minor, currency }: Pick<Payment, 'amount_minor' | 'currency'>): string {
  if (currency === 'XTR') return `${amount_minor.toLocaleString('en-US')} ⭐`;
  return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount_minor / 100);
}

export function formatCountdown(milliseconds: number): string {
  const total = Math.max(0, Math.floor(milliseconds / 1000));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  return `${days}d ${hours}h ${minutes}m ${total % 60}s`;
}

/** "just now", "2 min ago", "3 h ago", "4 d ago"; `never` for no time at all. */
export function formatAgo(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}
const TRADE_MODE_NAMES: Record<TradeMode, string> = { demo: 'Demo', contest: 'Contest', real: 'Real' };

export const tradeModeName = (mode: TradeMode | null | undefined): string | null =>
  mode ? (TRADE_MODE_NAMES[mode] ?? mode) : null;

/** A broker figure (a decimal string) in the account's currency; brokers report codes Intl may not know. */
export function formatMoney(value: string, currency: string, { signed = false } = {}): string {
  const amount = Number(value);
  const sign = signed && amount > 0 ? '+' : '';
  try {
    const format = new Intl.NumberFormat('en-US', { style: 'currency', currency, signDisplay: 'auto' });
    return sign + format.format(amount);
  } catch {
    const plain = amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return `${sign}${plain} ${currency}`.trim();
  }
}

/** A price or volume as the broker wrote it, without trailing zeros ("1.08512000" → "1.08512"). */
export function formatDecimal(value: string): string {
  if (!value.includes('.')) return value;
  return value.replace(/0+$/, '').replace(/\.$/, '');
}

export const formatPercent = (value: string): string => `${Number(value).toFixed(2)} %`;

/** "12 s", "3 min", "2 h", "4 d": how long ago a snapshot was taken. */
export function formatAge(milliseconds: number): string {
  const seconds = Math.max(0, Math.round(milliseconds / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

const localDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** In the user's own time zone (the device's). */
export const formatLocalDateTime = (iso: string): string => localDateTime.format(new Date(iso));
