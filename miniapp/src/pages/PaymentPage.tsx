import { openInvoice, openLink } from '@telegram-apps/sdk-react';
import { Button, Cell, List, Section, Text } from '@telegram-apps/telegram-ui';
import { useCallback, useEffect, useRef, useState } from 'react';
import { LoadError } from '../components/LoadError';
import { errorMessage, publicApi, type Api, type PaymentMethod, type PaymentRequest, type Product, type Tier } from '../api';
import { Loading } from '../components/Loading';
import { formatAmount, tierName } from '../format';
import { isFinished, isUpgraded, PaymentAttempt, pollPayment } from '../payment';
import { hasTelegramClient, openTelegramUrl } from '../telegram';

export const SUCCESS_MESSAGE = 'Payment successful! Tier upgraded.';

const METHOD_NAMES: Record<PaymentMethod, string> = { stars: 'Telegram Stars', stripe: 'Card (Stripe)' };

type Phase =
  | { kind: 'choosing' }
  | { kind: 'submitting' }
  | { kind: 'waiting'; payment: PaymentRequest; note: string }
  | { kind: 'done'; payment: PaymentRequest }
  | { kind: 'error'; message: string; retry: boolean };

const OUTCOME_MESSAGES: Record<string, string> = {
  cancelled: 'Payment cancelled. You were not charged.',
  failed: 'The payment did not go through. You were not charged.',
  expired: 'This checkout has expired. Start again to pay.',
};

function price(product: Product, method: PaymentMethod): string {
  return method === 'stars'
    ? formatAmount({ amount_minor: product.price_stars, currency: 'XTR' })
    : formatAmount({ amount_minor: product.price_amount_minor, currency: product.price_currency });
}

/** Opens what the server made for the attempt; for Stars inside Telegram, also reports how it went. */
async function openPayment(payment: PaymentRequest): Promise<string | null> {
  if (payment.invoice_link) {
    if (hasTelegramClient() && openInvoice.isAvailable()) return openInvoice(payment.invoice_link, 'url');
    openTelegramUrl(payment.invoice_link);
  } else if (payment.checkout_url) {
    if (hasTelegramClient() && openLink.isAvailable()) openLink(payment.checkout_url);
    else window.open(payment.checkout_url, '_blank');
  }
  return null;
}

export function PaymentPage({ api, initialProduct }: { api: Api; initialProduct?: string | null }) {
  const [products, setProducts] = useState<Product[] | null>(null);
  const [tier, setTier] = useState<Tier | null>(null);
  const [methods, setMethods] = useState<PaymentMethod[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(initialProduct ?? null);
  const [method, setMethod] = useState<PaymentMethod>('stars');
  const [phase, setPhase] = useState<Phase>({ kind: 'choosing' });
  // One attempt per choice of product and method: its key survives every retry.
  const attempt = useRef<PaymentAttempt | null>(null);

  const load = useCallback(() => {
    setLoadError(null);
    Promise.all([publicApi.catalog(), api.billing(), publicApi.appConfig()]).then(
      ([catalog, billing, config]) => {
        setProducts(catalog);
        setTier(billing.tier);
        setMethods(config.payment_methods);
        setMethod(config.payment_methods[0] ?? 'stars');
      },
      (error: unknown) => setLoadError(errorMessage(error)),
    );
  }, [api]);

  useEffect(load, [load]);

  const choose = (code: string, chosen: PaymentMethod) => {
    setSelected(code);
    setMethod(chosen);
    attempt.current = null;
    setPhase({ kind: 'choosing' });
  };

  const follow = async (payment: PaymentRequest, note: string) => {
    setPhase({ kind: 'waiting', payment, note });
    const latest = await pollPayment(api, payment.id, isFinished);
    if (isUpgraded(latest)) setPhase({ kind: 'done', payment: latest });
    else if (latest.status === 'pending' || latest.status === 'paid')
      setPhase({ kind: 'waiting', payment: latest, note: 'Still waiting for the payment to be confirmed.' });
    else setPhase({ kind: 'error', message: OUTCOME_MESSAGES[latest.status] ?? 'The payment did not go through.', retry: false });
  };

  const pay = async () => {
    if (!selected) return;
    attempt.current ??= new PaymentAttempt(api, { product: selected, method });
    setPhase({ kind: 'submitting' });
    let payment: PaymentRequest;
    try {
      payment = await attempt.current.submit();
    } catch (error) {
      setPhase({ kind: 'error', message: errorMessage(error), retry: true });
      return;
    }
    try {
      const outcome = await openPayment(payment);
      if (outcome === 'cancelled' || outcome === 'failed') {
        attempt.current = null;
        setPhase({ kind: 'error', message: OUTCOME_MESSAGES[outcome], retry: false });
        return;
      }
      const note =
        outcome === 'paid'
          ? 'Paid. Upgrading your tier…'
          : outcome === 'pending'
            ? 'Telegram is processing the payment…'
            : 'Complete the payment in the window that opened; this page updates by itself.';
      await follow(payment, note);
    } catch (error) {
      setPhase({ kind: 'error', message: errorMessage(error), retry: false });
    }
  };

  if (!products) {
    if (!loadError) return <Loading />;
    return (
      <LoadError testId="pay-load-error" header="Couldn't load the plans" message={loadError} onRetry={load} />
    );
  }

  const busy = phase.kind === 'submitting' || phase.kind === 'waiting';
  return (
    <List>
      <Section header="Choose a plan">
        {products.map((product) => {
          const current = product.tier === tier;
          return (
            <Cell
              key={product.code}
              data-testid={`plan-${product.code}`}
              multiline
              disabled={busy}
              onClick={() => choose(product.code, method)}
              subtitle={
                <>
                  <span>{`${price(product, 'stars')} or ${price(product, 'stripe')} · ${product.duration_days} days`}</span>
                  {product.features.map((feature) => (
                    <span key={feature} className="feature">{`• ${feature}`}</span>
                  ))}
                </>
              }
              after={current ? <span data-testid="current-tier">Current</span> : selected === product.code ? '✓' : undefined}
            >
              {`${product.name} (${tierName(product.tier)})`}
            </Cell>
          );
        })}
      </Section>
      {selected && (
        <Section header="Pay with">
          {methods.length === 0 && <Text className="hint">Payments are unavailable right now.</Text>}
          {methods.map((option) => (
            <Cell
              key={option}
              data-testid={`method-${option}`}
              disabled={busy}
              onClick={() => choose(selected, option)}
              after={method === option ? '✓' : undefined}
            >
              {METHOD_NAMES[option]}
            </Cell>
          ))}
        </Section>
      )}
      <div className="upgrade">
        {phase.kind === 'done' ? (
          <Text data-testid="pay-success">{`${SUCCESS_MESSAGE} ${tierName(phase.payment.tier ?? 'free')} until ${new Date(phase.payment.tier_expires_at ?? '').toLocaleDateString('en-GB')}.`}</Text>
        ) : (
          <Button data-testid="pay-button" size="l" stretched loading={busy} disabled={!selected || busy || methods.length === 0} onClick={() => void pay()}>
            {phase.kind === 'error' && phase.retry ? 'Retry' : 'Pay'}
          </Button>
        )}
        {phase.kind === 'waiting' && <Text className="hint" data-testid="pay-status">{phase.note}</Text>}
        {phase.kind === 'error' && <Text className="hint" role="alert" data-testid="pay-error">{phase.message}</Text>}
      </div>
    </List>
  );
}
