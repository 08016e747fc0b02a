import { Cell, Section, Switch } from '@telegram-apps/telegram-ui';
import { useEffect, useState } from 'react';
import { ApiError, type Api } from '../api';

/** The marketing opt-out: the same switch as /stop_marketing and /start_marketing in the bot. */
export function MarketingSwitch({ api }: { api: Api }) {
  const [subscribed, setSubscribed] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.marketing().then(
      (preference) => setSubscribed(preference.subscribed),
      (failure: unknown) => setError(failure instanceof ApiError ? failure.message : 'Could not load.'),
    );
  }, [api]);

  const change = (next: boolean) => {
    setSubscribed(next);
    api.setMarketing(next).then(
      (preference) => {
        setSubscribed(preference.subscribed);
        setError(null);
      },
      (failure: unknown) => {
        setSubscribed(!next);
        setError(failure instanceof ApiError ? failure.message : 'Could not save.');
      },
    );
  };

  return (
    <Section header="Messages" footer={error ?? 'Signals and receipts always arrive.'}>
      <Cell
        Component="label"
        multiline
        subtitle="Offers and news from us in the bot"
        after={
          <Switch
            data-testid="marketing-switch"
            checked={subscribed ?? false}
            disabled={subscribed === null}
            onChange={(event) => change(event.target.checked)}
          />
        }
      >
        News and offers
      </Cell>
    </Section>
  );
}
