import { Button, Cell, Input, List, Placeholder, Section, Text } from '@telegram-apps/telegram-ui';
import { useEffect, useState } from 'react';
import { LoadError } from '../components/LoadError';
import { ApiError, type Api, type KnowledgeCategory, type KnowledgePage, type SnippetPart } from '../api';
import { Loading } from '../components/Loading';
import { navigate } from '../router';
import { getReaderLanguage } from './language';

export const SEARCH_DEBOUNCE_MS = 300;

const CATEGORIES: { id: KnowledgeCategory | null; label: string }[] = [
  { id: null, label: 'All' },
  { id: 'trading', label: 'Trading' },
  { id: 'billing', label: 'Billing' },
  { id: 'devices', label: 'Devices' },
  { id: 'general', label: 'General' },
];

export function Snippet({ parts }: { parts: SnippetPart[] }) {
  return (
    <span className="snippet">
      {parts.map((part, index) => (part.highlight ? <mark key={index}>{part.text}</mark> : <span key={index}>{part.text}</span>))}
    </span>
  );
}

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

export function HelpPage({ api }: { api: Api }) {
  const [query, setQuery] = useState('');
  const [category, setCategory] = useState<KnowledgeCategory | null>(null);
  const [page, setPage] = useState<KnowledgePage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const debouncedQuery = useDebounced(query.trim(), SEARCH_DEBOUNCE_MS);

  useEffect(() => {
    // Only the answer to the latest query and category may land: an older, slower one is dropped.
    let current = true;
    api.knowledge({ query: debouncedQuery, category, lang: getReaderLanguage() }).then(
      (result) => {
        if (!current) return;
        setPage(result);
        setError(null);
      },
      (failure: unknown) => {
        if (current) setError(failure instanceof ApiError ? failure.message : 'Something went wrong.');
      },
    );
    return () => {
      current = false;
    };
  }, [api, debouncedQuery, category, attempt]);

  return (
    <List data-testid="help-page">
      <Input
        data-testid="help-search"
        header="Help"
        placeholder="Search: refund, device limit…"
        value={query}
        maxLength={200}
        onChange={(event) => setQuery(event.target.value)}
      />
      <div className="help-categories" role="group" aria-label="Categories">
        {CATEGORIES.map(({ id, label }) => (
          <Button
            key={label}
            size="s"
            mode={category === id ? 'filled' : 'bezeled'}
            aria-pressed={category === id}
            data-testid={`help-category-${id ?? 'all'}`}
            onClick={() => setCategory(id)}
          >
            {label}
          </Button>
        ))}
      </div>
      {error ? (
        <LoadError testId="help-error" header="Couldn't load help" message={error} onRetry={() => setAttempt((n) => n + 1)} />
      ) : !page ? (
        <Loading />
      ) : page.items.length === 0 ? (
        <Placeholder
          data-testid="help-empty"
          header="Nothing found"
          description="Try other words, such as “refund” or “device”, or ask support: /help in the bot shows the contact."
        />
      ) : (
        <Section>
          {page.items.map((item) => (
            <Cell
              key={`${item.slug}-${item.language}`}
              data-testid="help-result"
              multiline
              subtitle={<Snippet parts={item.snippet} />}
              onClick={() => navigate(`/help/${item.slug}`)}
            >
              {item.title}
            </Cell>
          ))}
        </Section>
      )}
      {page?.has_more && !error && (
        <Text className="hint">More articles match: add a word to narrow the search.</Text>
      )}
    </List>
  );
}
