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
