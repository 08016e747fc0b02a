import type { Payment, PaymentStatus, Tier } from './api';

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
};

const dateFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
const usdFormat = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

export const tierName = (tier: Tier): string => TIER_NAMES[tier] ?? tier;

export const statusName = (status: PaymentStatus): string => STATUS_NAMES[status] ?? status;

export const formatDate = (iso: string): string => dateFormat.format(new Date(iso));

export function formatAmount({ amount_minor, currency }: Pick<Payment, 'amount_minor' | 'currency'>): string {
  if (currency === 'XTR') return `${amount_minor.toLocaleString('en-US')} ⭐`;
  return usdFormat.format(amount_minor / 100);
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
