import { hapticFeedback } from '@telegram-apps/sdk-react';
import { Button, Cell, List, Section, Text } from '@telegram-apps/telegram-ui';
import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage, type Api, type Approval } from '../api';
import { EmptyState } from '../components/EmptyState';
import { Loading } from '../components/Loading';
import { formatCountdown, formatDecimal, formatLocalDateTime } from '../format';
import { useNow, useVisibleInterval } from '../hooks';

/** Polling while the live stream is down (and the pause before reconnecting it). */
export const POLL_MS = 3_000;

const STATUS_NAMES: Record<Approval['status'], string> = {
  pending: 'Pending',
  approved: 'Approved',
  rejected: 'Rejected',
  expired: 'Expired',
  cancelled: 'Cancelled',
};

function haptic(kind: 'impact' | 'success' | 'error'): void {
  if (kind === 'impact') {
    if (hapticFeedback.impactOccurred.isAvailable()) hapticFeedback.impactOccurred('medium');
  } else if (hapticFeedback.notificationOccurred.isAvailable()) {
    hapticFeedback.notificationOccurred(kind);
  }
}

function SignalCard({
  approval,
  deadline,
  now,
  error,
  onDecide,
}: {
  approval: Approval;
  deadline: number;
  now: number;
  error: string | undefined;
  onDecide: (approve: boolean) => void;
}) {
  const { signal } = approval;
  const levels: [string, string][] = [
    ['Entry', formatDecimal(signal.entry_price)],
    ['Stop loss', formatDecimal(signal.stop_loss)],
    ['Take profit', signal.take_profits.map(formatDecimal).join(' · ')],
  ];
  return (
    <Section
      className="signal-card"
      data-testid="signal-card"
      header={
        <Section.Header>
          <span className="signal-card__symbol">{signal.symbol}</span>{' '}
          <span className={`side side--${signal.side}`} data-testid="side">
            {signal.side.toUpperCase()}
          </span>{' '}
          <span className="hint-inline">{signal.order_type}</span>
        </Section.Header>
      }
    >
      <dl className="signal-levels">
        {levels.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {signal.note && <Text className="hint">{signal.note}</Text>}
      <Text className="hint" data-testid="countdown">
        {formatLocalDateTime(signal.created_at)} · expires in {formatCountdown(deadline - now)}
      </Text>
      {error && (
        <Text className="hint error" role="alert" data-testid="decision-error">
          {error}
        </Text>
      )}
      <div className="signal-card__actions">
        <Button mode="filled" size="m" stretched onClick={() => onDecide(true)}>
          Approve
        </Button>
        <Button mode="outline" size="m" stretched onClick={() => onDecide(false)}>
          Reject
        </Button>
      </div>
    </Section>
  );
}

function History({ items }: { items: Approval[] }) {
  if (items.length === 0) return null;
  return (
    <Section header="History" data-testid="history">
      {items.map((approval) => (
        <Cell
          key={approval.id}
          data-testid="history-item"
          subtitle={formatLocalDateTime(approval.decided_at ?? approval.created_at)}
          after={<span className={`decision decision--${approval.status}`}>{STATUS_NAMES[approval.status]}</span>}
        >
          {approval.signal.symbol} {approval.signal.side.toUpperCase()} @ {formatDecimal(approval.signal.entry_price)}
        </Cell>
      ))}
    </Section>
  );
}

/**
 * Pending signals as cards, newest first, and the trader's recent decisions. Live: a stream of
 * server-sent events says when something changed; while it is down the list is polled every
 * 3 s (only while visible), each poll a conditional request that costs a 304 when nothing did.
 */
export function ApprovalsTab({ api }: { api: Api }) {
  const [approvals, setApprovals] = useState<Approval[] | null>(null);
  const [history, setHistory] = useState<Approval[]>([]);
  const [deadlines, setDeadlines] = useState<Record<number, number>>({});
  const [deciding, setDeciding] = useState<ReadonlySet<number>>(new Set());
  const [errors, setErrors] = useState<Record<number, string>>({});
  const [loadError, setLoadError] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const etag = useRef<string | null>(null);
  const now = useNow();

  const load = useCallback(async () => {
    try {
      const fetchedAt = Date.now();
      const result = await api.pendingApprovals(etag.current);
      setLoadError(null);
      if (result === null) return;
      etag.current = result.etag;
      setApprovals(result.approvals);
      // Counted from the server's seconds_left, so a wrong device clock cannot shorten it.
      setDeadlines(Object.fromEntries(result.approvals.map((a) => [a.id, fetchedAt + a.seconds_left * 1000])));
    } catch (failure) {
      setLoadError(errorMessage(failure));
    }
  }, [api]);

  const loadHistory = useCallback(async () => {
    try {
      const page = await api.approvalHistory();
      setHistory(page.items.filter((item) => item.status !== 'pending'));
    } catch {
      // History is secondary: the next change reloads it.
    }
  }, [api]);

  useEffect(() => {
    void load();
    void loadHistory();
  }, [load, loadHistory]);

  useVisibleInterval(() => {
    if (!live) void load();
  }, POLL_MS);

  useEffect(() => {
    const abort = new AbortController();
    const follow = async () => {
      while (!abort.signal.aborted) {
        try {
          await api.approvalEvents((event) => {
            setLive(true);
            void load();
            if (event.event !== 'ready') void loadHistory();
          }, abort.signal);
        } catch {
          // Dropped or refused: polling covers until the next attempt.
        }
        setLive(false);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    };
    void follow();
    return () => abort.abort();
  }, [api, load, loadHistory]);

  const decide = async (approval: Approval, approve: boolean) => {
    haptic('impact');
    setDeciding((ids) => new Set(ids).add(approval.id));
    setErrors(({ [approval.id]: _, ...rest }) => rest);
    try {
      await api.decide(approval.id, approve);
      haptic('success');
      setApprovals((list) => list?.filter((item) => item.id !== approval.id) ?? null);
      etag.current = null;
      void loadHistory();
    } catch (failure) {
      haptic('error');
      setErrors((all) => ({ ...all, [approval.id]: errorMessage(failure) }));
    } finally {
      setDeciding((ids) => {
        const rest = new Set(ids);
        rest.delete(approval.id);
        return rest;
      });
    }
  };

  if (approvals === null) {
    return loadError ? <EmptyState header="Could not load approvals" description={loadError} /> : <Loading />;
  }
  const shown = approvals.filter((a) => !deciding.has(a.id) && (deadlines[a.id] ?? 0) > now);
  return (
    <List>
      {loadError && (
        <Text className="hint error" role="alert">
          {loadError}
        </Text>
      )}
      {shown.length === 0 ? (
        <EmptyState header="No pending approvals" description="New signals appear here the moment they are published." />
      ) : (
        shown.map((approval) => (
          <SignalCard
            key={approval.id}
            approval={approval}
            deadline={deadlines[approval.id] ?? 0}
            now={now}
            error={errors[approval.id]}
            onDecide={(approve) => void decide(approval, approve)}
          />
        ))
      )}
      <History items={history} />
    </List>
  );
}
