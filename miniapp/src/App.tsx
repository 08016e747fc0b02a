import { lazy, Suspense, useEffect, useSyncExternalStore } from 'react';
import type { Api } from './api';
import type { Auth, AuthStatus } from './auth';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Loading } from './components/Loading';
import { Page } from './components/Page';
import { TabLayout } from './components/TabLayout';
import { navigate, usePath } from './router';
import { findRoute, HOME } from './routes';

// The QR generator is only needed by people signing in from a browser; keep it out of the main chunk.
const SignInPage = lazy(() => import('./pages/SignInPage'));

/** Where the current path must send the user, or null to render it. */
export function redirectFor(path: string, status: AuthStatus): string | null {
  if (status === 'starting') return null;
  const signedIn = status === 'signed-in';
  if (path === '/login') return signedIn ? HOME : null;
  if (findRoute(path)) return signedIn ? null : '/login';
  return signedIn ? HOME : '/login';
}

export function App({ auth, api }: { auth: Auth; api: Api }) {
  const path = usePath();
  const { status, error } = useSyncExternalStore(auth.subscribe, auth.getState);
  const redirect = redirectFor(path, status);

  useEffect(() => {
    if (redirect) navigate(redirect, { replace: true });
  }, [redirect]);

  if (status === 'starting' || redirect) return <Loading />;

  if (path === '/login') {
    return (
      <Suspense fallback={<Loading />}>
        <SignInPage error={error} onSignedIn={(tokens) => auth.setTokens(tokens)} />
      </Suspense>
    );
  }

  const match = findRoute(path);
  if (!match) return <Loading />;
  const { route, params } = match;
  // Keyed by path: a page that failed is retried when the user navigates away and back.
  const content = (
    <ErrorBoundary key={path}>
      <Suspense fallback={<Loading />}>{route.render({ api, params })}</Suspense>
    </ErrorBoundary>
  );
  return route.kind === 'tab' ? <TabLayout path={path}>{content}</TabLayout> : <Page>{content}</Page>;
}
