import { Button, Cell, Input, List, Placeholder, Section, Text } from '@telegram-apps/telegram-ui';
import { useCallback, useState, type FormEvent } from 'react';
import { errorMessage, type AccountLink, type Api } from '../api';
import { Loading } from '../components/Loading';
import { tradeModeName } from '../format';
import { useRefreshing } from '../hooks';

const REFRESH_MS = 10_000;

function statusLine(account: AccountLink): string {
  if (account.error) return account.error;
  if (account.status === 'pending') return `Waiting for the EA · code ${account.pairing_code}`;
  const parts = ['Verified', tradeModeName(account.trade_mode), account.company].filter(Boolean);
  return parts.join(' · ');
}

function LinkForm({ onLinked, api }: { onLinked: () => void; api: Api }) {
  const [login, setLogin] = useState('');
  const [server, setServer] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!/^\d{1,19}$/.test(login.trim()) || Number(login) < 1) {
      setError('The login is the account number MetaTrader shows, digits only.');
      return;
    }
    setBusy(true);
    try {
      await api.linkAccount({ mt5_login: Number(login.trim()), server: server.trim() });
      setLogin('');
      setServer('');
      setError(null);
      onLinked();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(event) => void submit(event)} data-testid="link-form">
      <Section header="Link an MT5 account" footer="No password: the SignalHub EA running on the account confirms it.">
        <Input
          header="Login"
          placeholder="5123456"
          inputMode="numeric"
          value={login}
          onChange={(event) => setLogin(event.target.value)}
          data-testid="link-login"
        />
        <Input
          header="Server"
          placeholder="ICMarketsSC-Demo"
          value={server}
          maxLength={64}
          onChange={(event) => setServer(event.target.value)}
          data-testid="link-server"
        />
        {error && (
          <Text className="hint error" role="alert" data-testid="link-error">
            {error}
          </Text>
        )}
        <div className="actions">
          <Button type="submit" size="m" stretched loading={busy} disabled={!login || !server} data-testid="link-submit">
            Link account
          </Button>
        </div>
      </Section>
    </form>
  );
}

function AccountRow({ account, api, onChanged }: { account: AccountLink; api: Api; onChanged: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async (action: () => Promise<unknown>) => {
    try {
      await action();
      setError(null);
      onChanged();
    } catch (failure) {
      setError(errorMessage(failure));
    }
  };

  return (
    <div data-testid="account-row" data-account-id={account.id}>
      <Cell
        multiline
        subtitle={<span className={account.error ? 'error' : undefined}>{statusLine(account)}</span>}
        after={account.is_primary ? <span className="badge" data-testid="primary-badge">Primary</span> : undefined}
      >
        {account.mt5_login} · {account.server}
      </Cell>
      <div className="actions actions--row">
        {account.status === 'verified' && !account.is_primary && (
          <Button size="s" mode="bezeled" onClick={() => void run(() => api.makePrimary(account.id))}>
            Make primary
          </Button>
        )}
        {confirming ? (
          <>
            <Text className="hint">Unlink {account.mt5_login}? It stops receiving signals at once.</Text>
            <Button
              size="s"
              mode="filled"
              className="destructive"
              data-testid="confirm-unlink"
              onClick={() => void run(() => api.unlinkAccount(account.id))}
            >
              Unlink
            </Button>
            <Button size="s" mode="plain" onClick={() => setConfirming(false)}>
              Cancel
            </Button>
          </>
        ) : (
          <Button size="s" mode="plain" data-testid="unlink" onClick={() => setConfirming(true)}>
            Unlink
          </Button>
        )}
      </div>
      {error && (
        <Text className="hint error" role="alert">
          {error}
        </Text>
      )}
    </div>
  );
}

export function AccountsPage({ api }: { api: Api }) {
  const fetchAccounts = useCallback(() => api.accounts(), [api]);
  // A pending link turns verified when the EA reports; keep the page current while it waits.
  const { data: accounts, error, reload: load } = useRefreshing(fetchAccounts, REFRESH_MS);

  if (!accounts) {
    if (!error) return <Loading />;
    return <Placeholder data-testid="accounts-error" header="Couldn't load accounts" description={error} />;
  }

  return (
    <List>
      <LinkForm api={api} onLinked={() => void load()} />
      <Section header="Linked accounts">
        {accounts.length === 0 ? (
          <Placeholder data-testid="no-accounts" header="No linked accounts yet" />
        ) : (
          accounts.map((account) => (
            <AccountRow key={account.id} account={account} api={api} onChanged={() => void load()} />
          ))
        )}
      </Section>
    </List>
  );
}
