import { Button, Placeholder, Text } from '@telegram-apps/telegram-ui';
import { useEffect, useState } from 'react';
import { ApiError, type Api, type Article } from '../api';
import { Loading } from '../components/Loading';
import { navigate } from '../router';
import { getReaderLanguage } from './language';
import { Markdown } from './markdown';

export function HelpArticlePage({ api, slug }: { api: Api; slug: string }) {
  const [article, setArticle] = useState<Article | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    let current = true;
    setArticle(null);
    setError(null);
    api.article(slug, getReaderLanguage()).then(
      (result) => current && setArticle(result),
      (failure: unknown) =>
        current && setError(failure instanceof ApiError ? failure : new ApiError(0, 'unknown', 'Something went wrong.')),
    );
    return () => {
      current = false;
    };
  }, [api, slug]);

  if (error) {
    return (
      <Placeholder
        data-testid="help-article-error"
        header={error.status === 404 ? 'Article not found' : "Couldn't load the article"}
        description={error.message}
        action={
          <Button size="m" onClick={() => navigate('/help')}>
            All help
          </Button>
        }
      />
    );
  }
  if (!article) return <Loading />;
  return (
    <article className="help-article" data-testid="help-article">
      <h2>{article.title}</h2>
      <Markdown source={article.body} />
      <Text className="hint">
        <a
          href="/miniapp/help"
          onClick={(event) => {
            event.preventDefault();
            navigate('/help');
          }}
        >
          More help
        </a>
      </Text>
    </article>
  );
}
