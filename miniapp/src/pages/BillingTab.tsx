import { Button, Cell, List, Section, Text } from '@telegram-apps/telegram-ui';
import { useCallback } from 'react';
import { LoadError } from '../components/LoadError';
import { type Api, type Billing } from '../api';
import { EmptyState } from '../components/EmptyState';
import { Loading } from '../components/Loading';
import { MarketingSwitch } from '../components/MarketingSwitch';
import { formatAmount, formatCountdown, formatDate, statusName, tierName } from '../format';
import { useNow, useRefreshing } from '../hooks';
import { navigate } from '../router';

const REFRESH_MS = 30_000;

function Expiry({ billing }: { billing: Billing }) {
  const now = useNow();
  if (billing.tier === 'free' || !billing.expires_at) {
    return <span data-testid="billing-expiry">{billing.tier === 'free' ? 'No active subscription' : 'No expiry date'}</span>;
  }
  const remaining = new Date(billing.expires_at).getTime() - now;
  const date = formatDate(billing.expires_at);
  return (
    <span data-testid="billing-expiry">
      {remaining > 0 ? `Expires ${date} · ${formatCountdown(remaining)}` : `Expired ${date}`}
    </span>
  );
}

function Upgrade() {
  return (
    <div className="upgrade">
      <Button data-testid="upgrade-button" size="l" stretched onClick={() => navigate('/pay')}>
        Upgrade
      </Button>
    </div>
  );
}

export function BillingTab({ api }: { api: Api }) {
  const fetchBilling = useCallback(() => api.billing(), [api]);
  const { data: billing, error, reload: load } = useRefreshing(fetchBilling, REFRESH_MS);

  if (!billing) {
    if (!error) return <Loading />;
    return (
      <LoadError testId="billing-error" header="Couldn't load billing" message={error} onRetry={() => void load()} />
    );
  }

  return (
    <List>
      {error && (
        <Text className="hint" role="status">
          Couldn't refresh: {error}
        </Text>
      )}
      <Section header="Subscription">
        <Cell subtitle={<Expiry billing={billing} />} multiline>
          <span data-testid="billing-tier">{tierName(billing.tier)}</span>
        </Cell>
      </Section>
      <Upgrade />
      <Section header="Recent payments">
        {billing.payments.length === 0 ? (
          <EmptyState header="No payments yet" />
        ) : (
          billing.payments.map((payment) => (
            <Cell
              key={payment.id}
              data-testid="payment-row"
              subtitle={`${formatDate(payment.created_at)} · ${statusName(payment.status)}`}
              after={<span className="amount">{formatAmount(payment)}</span>}
            >
              {payment.product_name ?? payment.product_code ?? 'Payment'}
            </Cell>
          ))
        )}
      </Section>
      <MarketingSwitch api={api} />
    </List>
  );
}
