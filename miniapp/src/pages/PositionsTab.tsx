import { Button, Cell, List, Placeholder, Section, SegmentedControl, Text } from '@telegram-apps/telegram-ui';
import { useCallback, useEffect, useState } from 'react';
import { LoadError } from '../components/LoadError';
import { errorMessage, type AccountLink, type Api, type Position, type Positions } from '../api';
import { Loading } from '../components/Loading';
import {
  formatAge,
  formatDecimal,
  formatLocalDateTime,
  formatMoney,
  formatPercent,
  tradeModeName,
} from '../format';
import { useNow, usePullToRefresh, useVisibleInterval } from '../hooks';
import { navigate } from '../router';

export const REFRESH_MS = 10_000;
export const ACCOUNTS_PATH = '/positions/accounts';

const accountName = (account: AccountLink) => `${account.mt5_login} · ${account.server}`;

function AccountSwitcher({
  accounts,
  selected,
  onSelect,
}: {
  accounts: AccountLink[];
  selected: number;
  onSelect: (id: number) => void;
}) {
  return (
    <SegmentedControl className="account-switcher" data-testid="account-switcher">
      {accounts.map((account) => (
        <SegmentedControl.Item
          key={account.id}
          selected={account.id === selected}
          aria-selected={account.id === selected}
          onClick={() => onSelect(account.id)}
        >
          {account.mt5_login}
        </SegmentedControl.Item>
      ))}
    </SegmentedControl>
  );
}

function StaleBanner({ asOf }: { asOf: string }) {
  const now = useNow();
  return (
    <Text className="hint stale" role="alert" data-testid="stale-banner">
      ⚠️ Not live: last update {formatAge(now - new Date(asOf).getTime())} ago. The terminal has stopped reporting.
    </Text>
  );
}

function Header({ positions, mode }: { positions: Positions; mode: string | null }) {
  const { account } = positions;
  const figure = (label: string, value: string, testId: string) => (
    <div className="figure">
      <span className="figure__label">{label}</span>
      <span className="figure__value" data-testid={testId}>
        {value}
      </span>
    </div>
  );
  return (
    <Section
      header={
        <Section.Header>
          {account.login} · {account.server}
          {mode && (
            <span className={`mode mode--${account.trade_mode}`} data-testid="trade-mode">
              {' '}
              {mode}
            </span>
          )}
        </Section.Header>
      }
    >
      <div className="figures" data-testid="account-figures">
        {figure('Equity', formatMoney(account.equity, account.currency), 'equity')}
        {figure('Balance', formatMoney(account.balance, account.currency), 'balance')}
        {figure('Drawdown', formatPercent(account.drawdown_percent), 'drawdown')}
        {figure('Margin level', formatPercent(account.margin_level), 'margin-level')}
      </div>
    </Section>
  );
}

function PnL({ value, currency }: { value: string; currency: string }) {
  const amount = Number(value);
  const tone = amount > 0 ? 'pnl--profit' : amount < 0 ? 'pnl--loss' : 'pnl--flat';
  return (
    <span className={`pnl ${tone}`} data-testid="pnl">
      {formatMoney(value, currency, { signed: true })}
    </span>
  );
}

const priceOrDash = (value: string) => (Number(value) === 0 ? '—' : formatDecimal(value));

function PositionDetails({ position, currency }: { position: Position; currency: string }) {
  const rows: [string, string][] = [
    ['Stop loss', priceOrDash(position.sl)],
    ['Take profit', priceOrDash(position.tp)],
    ['Opened', formatLocalDateTime(position.opened_at)],
    ['Ticket', String(position.ticket)],
    ['Swap', formatMoney(position.swap, currency)],
  ];
  if (position.commission !== null) rows.push(['Commission', formatMoney(position.commission, currency)]);
  return (
    <dl className="position-details" data-testid="position-details">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function PositionCard({
  position,
  currency,
  open,
  onToggle,
}: {
  position: Position;
  currency: string;
  open: boolean;
  onToggle: () => void;
}) {
  const side = position.type === 'buy' ? 'Buy' : 'Sell';
  return (
    <>
      <Cell
        data-testid="position-card"
        aria-expanded={open}
        onClick={onToggle}
        subtitle={`${formatDecimal(position.price_open)} → ${formatDecimal(position.price_current)}`}
        after={<PnL value={position.pnl} currency={currency} />}
      >
        {position.symbol} <span className={`side side--${position.type}`}>{side}</span>{' '}
        {formatDecimal(position.volume)}
      </Cell>
      {open && <PositionDetails position={position} currency={currency} />}
    </>
  );
}

function NoVerifiedAccount({ accounts }: { accounts: AccountLink[] }) {
  const pending = accounts.filter((account) => account.status === 'pending' && !account.error);
  return (
    <Placeholder
      data-testid="no-account"
      header={pending.length ? 'Waiting for your terminal' : 'Link your MT5 account'}
      description={
        pending.length
          ? `Run the SignalHub EA on ${accountName(pending[0])}; its first report verifies the link.`
          : 'See your balance, equity and open trades live. No password needed.'
      }
      action={
        <Button size="m" onClick={() => navigate(ACCOUNTS_PATH)}>
          {pending.length ? 'Linked accounts' : 'Link an account'}
        </Button>
      }
    />
  );
}

export function PositionsTab({ api }: { api: Api }) {
  const [accounts, setAccounts] = useState<AccountLink[] | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const [positions, setPositions] = useState<Positions | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [openTicket, setOpenTicket] = useState<number | null>(null);

  const load = useCallback(async () => {
    try {
      const linked = await api.accounts();
      setAccounts(linked);
      const verified = linked.filter((account) => account.status === 'verified');
      const current = verified.find((account) => account.id === selected) ?? verified.find((a) => a.is_primary);
      if (!current) {
        setPositions(null);
        setError(null);
        return;
      }
      setPositions(await api.positions(current.is_primary ? undefined : current.id));
      setError(null);
    } catch (failure) {
      setError(errorMessage(failure));
    }
  }, [api, selected]);

  useEffect(() => {
    void load();
  }, [load]);
  useVisibleInterval(() => void load(), REFRESH_MS);
  usePullToRefresh(() => void load());

  if (!accounts) {
    if (!error) return <Loading />;
    return (
      <LoadError testId="positions-error" header="Couldn't load positions" message={error} onRetry={() => void load()} />
    );
  }

  const verified = accounts.filter((account) => account.status === 'verified');
  if (verified.length === 0) return <NoVerifiedAccount accounts={accounts} />;

  const currentId = verified.find((account) => account.id === selected)?.id ?? verified.find((a) => a.is_primary)?.id;
  const showing = positions && positions.account.login === verified.find((a) => a.id === currentId)?.mt5_login;

  return (
    <List>
      {verified.length > 1 && currentId !== undefined && (
        <AccountSwitcher
          accounts={verified}
          selected={currentId}
          onSelect={(id) => {
            setSelected(id);
            setOpenTicket(null);
          }}
        />
      )}
      {error && (
        <Text className="hint error" role="status">
          Couldn't refresh: {error}
        </Text>
      )}
      {!showing ? (
        !error && <Loading />
      ) : (
        <>
          {positions.stale && <StaleBanner asOf={positions.as_of} />}
          <Header positions={positions} mode={tradeModeName(positions.account.trade_mode)} />
          <Section header="Open positions">
            {positions.positions.length === 0 ? (
              <Placeholder data-testid="no-positions" header="No open positions" />
            ) : (
              positions.positions.map((position) => (
                <PositionCard
                  key={position.ticket}
                  position={position}
                  currency={positions.account.currency}
                  open={openTicket === position.ticket}
                  onToggle={() => setOpenTicket(openTicket === position.ticket ? null : position.ticket)}
                />
              ))
            )}
          </Section>
        </>
      )}
      <div className="actions">
        <Button mode="plain" size="m" data-testid="manage-accounts" onClick={() => navigate(ACCOUNTS_PATH)}>
          Linked accounts
        </Button>
      </div>
    </List>
  );
}
