import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApi } from '../api';
import { Auth } from '../auth';
import { TabLayout } from '../components/TabLayout';
import { currentPath } from '../router';
import { fail, mockFetch, ok, tokens } from '../test/fetch';
import { renderInApp } from '../test/render';
import { pathForStartParam } from './deepLink';
import { HelpArticlePage } from './HelpArticlePage';
import { HelpPage, SEARCH_DEBOUNCE_MS } from './HelpPage';
import { getReaderLanguage, languageFromInitData, setReaderLanguage } from './language';
import { Markdown } from './markdown';

const result = (slug: string, title: string, snippet = [{ text: 'Some text', highlight: false }]) => ({
  slug,
  language: 'en',
  title,
  category: 'billing',
  snippet,
});
const page = (items: ReturnType<typeof result>[], hasMore = false) => ({
  items,
  page: 1,
  page_size: 10,
  has_more: hasMore,
  language: 'en',
});

function api() {
  const auth = new Auth(undefined);
  auth.setTokens(tokens());
  return createApi(auth);
}

beforeEach(() => {
  vi.useFakeTimers({ shouldAdvanceTime: true });
  setReaderLanguage('en');
  window.history.replaceState(null, '', '/miniapp/help');
});

afterEach(() => {
  vi.useRealTimers();
});

describe('HelpPage', () => {
  it('lists articles, then searches once the typing pauses', async () => {
    const fetches = mockFetch({
      'GET /api/v1/knowledge?lang=en': ok(page([result('refunds', 'Refunds'), result('stars', 'Stars')])),
      'GET /api/v1/knowledge?lang=en&query=refund': ok(
        page([
          result('refunds', 'Refunds', [
            { text: 'A ', highlight: false },
            { text: 'refund', highlight: true },
            { text: ' ends the plan.', highlight: false },
          ]),
        ]),
      ),
    });
    renderInApp(<HelpPage api={api()} />);
    expect(await screen.findAllByTestId('help-result')).toHaveLength(2);

    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    await user.type(screen.getByTestId('help-search'), 'refund');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS);
    });
    await waitFor(() => expect(screen.getAllByTestId('help-result')).toHaveLength(1));
    expect(fetches.calls.filter((call) => call.path.includes('query='))).toHaveLength(1);
    expect(screen.getByText('refund', { selector: 'mark' })).toBeInTheDocument();
    expect(fetches.calls[0].headers.get('Authorization')).toBe('Bearer access-1');

    await user.click(screen.getByText('Refunds'));
    expect(currentPath()).toBe('/help/refunds');
  });

  it('filters by category and says when nothing is found', async () => {
    mockFetch({
      'GET /api/v1/knowledge?lang=ru': ok(page([result('refunds', 'Возвраты')])),
      'GET /api/v1/knowledge?lang=ru&category=devices': ok(page([])),
    });
    setReaderLanguage('ru-RU');
    renderInApp(<HelpPage api={api()} />);
    expect(await screen.findByText('Возвраты')).toBeInTheDocument();
    await userEvent.setup({ advanceTimers: vi.advanceTimersByTime }).click(screen.getByTestId('help-category-devices'));
    expect(await screen.findByTestId('help-empty')).toHaveTextContent('Nothing found');
    expect(screen.getByTestId('help-category-devices')).toHaveAttribute('aria-pressed', 'true');
  });

  it('shows a failure with a retry', async () => {
    let calls = 0;
    mockFetch({
      'GET /api/v1/knowledge?lang=en': () => (++calls === 1 ? fail(503, 'unavailable', 'Try later') : ok(page([result('a', 'Back')]))),
    });
    renderInApp(<HelpPage api={api()} />);
    expect(await screen.findByTestId('help-error')).toHaveTextContent('Try later');
    await userEvent.setup({ advanceTimers: vi.advanceTimersByTime }).click(screen.getByText('Retry'));
    expect(await screen.findByText('Back')).toBeInTheDocument();
  });
});

describe('HelpArticlePage', () => {
  it('renders the Markdown as elements, never as HTML', async () => {
    mockFetch({
      'GET /api/v1/knowledge/refunds?lang=en': ok({
        slug: 'refunds',
        language: 'en',
        title: 'Refunds',
        category: 'billing',
        body: 'A **full** refund <img src=x onerror=alert(1)>.\n\n- one\n- two',
        updated_at: '2026-11-30T10:00:00Z',
      }),
    });
    const { container } = renderInApp(<HelpArticlePage api={api()} slug="refunds" />);
    expect(await screen.findByRole('heading', { name: 'Refunds' })).toBeInTheDocument();
    expect(screen.getByText('full', { selector: 'strong' })).toBeInTheDocument();
    expect(container.querySelector('img')).toBeNull();
    expect(screen.getByText(/<img src=x onerror=alert\(1\)>/)).toBeInTheDocument();
    expect(screen.getAllByRole('listitem')).toHaveLength(2);
  });

  it('says when the article does not exist', async () => {
    mockFetch({ 'GET /api/v1/knowledge/gone?lang=en': fail(404, 'article_not_found', "No article 'gone'.") });
    renderInApp(<HelpArticlePage api={api()} slug="gone" />);
    expect(await screen.findByTestId('help-article-error')).toHaveTextContent('Article not found');
    await userEvent.setup({ advanceTimers: vi.advanceTimersByTime }).click(screen.getByText('All help'));
    expect(currentPath()).toBe('/help');
  });
});

describe('Markdown', () => {
  it('links only http, https and tg URLs', () => {
    const { container } = render(
      <Markdown source={'[safe](https://example.com) [tg](tg://resolve?domain=x) [bad](javascript:alert`1`)'} />,
    );
    expect(screen.getByText('safe').closest('a')).toHaveAttribute('href', 'https://example.com');
    expect(screen.getByText('tg').closest('a')).toHaveAttribute('href', 'tg://resolve?domain=x');
    expect(container.querySelectorAll('a')).toHaveLength(2);
    expect(container).toHaveTextContent('bad');
  });

  it('renders headings, numbered lists, code and italics', () => {
    const { container } = render(<Markdown source={'## Steps\n\n1. First `code`\n2. *Second*\n\nLine one\nline two'} />);
    expect(container.querySelector('h3')).toHaveTextContent('Steps');
    expect(container.querySelectorAll('ol li')).toHaveLength(2);
    expect(container.querySelector('code')).toHaveTextContent('code');
    expect(container.querySelector('em')).toHaveTextContent('Second');
    expect(container.querySelector('p br')).not.toBeNull();
  });
});

describe('the help entry points', () => {
  it('puts a help icon in the header of every tab', async () => {
    window.history.replaceState(null, '', '/miniapp/billing');
    renderInApp(
      <TabLayout path="/billing">
        <p>content</p>
      </TabLayout>,
    );
    await userEvent.setup({ advanceTimers: vi.advanceTimersByTime }).click(screen.getByTestId('help-button'));
    expect(currentPath()).toBe('/help');
  });

  it('maps startapp=help_<slug> to the article and refuses anything else', () => {
    expect(pathForStartParam('help_refunds')).toBe('/help/refunds');
    expect(pathForStartParam('help_ea-settings')).toBe('/help/ea-settings');
    expect(pathForStartParam('help')).toBe('/help');
    for (const bad of [undefined, '', 'shop', 'help_', 'help_../admin', 'help_UPPER', `help_${'a'.repeat(49)}`]) {
      expect(pathForStartParam(bad)).toBeNull();
    }
  });

  it("reads the reader's language from initData, else falls back", () => {
    const initData = new URLSearchParams({ user: JSON.stringify({ id: 1, language_code: 'ru' }) }).toString();
    expect(languageFromInitData(initData)).toBe('ru');
    expect(languageFromInitData('user=%7Bbroken')).toBeNull();
    expect(languageFromInitData(undefined)).toBeNull();
    setReaderLanguage('pt-BR');
    expect(getReaderLanguage()).toBe('pt');
    setReaderLanguage(null);
    expect(getReaderLanguage()).toBe('en');
  });
});
