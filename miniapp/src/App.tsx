import { lazy, Suspense, useEffect, useSyncExternalStore, type ReactNode } from 'react';
import type { Api } from './api';
import type { Auth, AuthStatus } from './auth';
import { Loading } from './components/Loading';
import { TabLayout, TABS } from './components/TabLayout';
import { BillingTab } from './pages/BillingTab';
import { ApprovalsTab, DevicesTab, PositionsTab } from './pages/EmptyTabs';
import { navigate, usePath } from './router';

// The QR generator is only needed by people signing in from a browser; keep it out of the main chunk.
const SignInPage = lazy(() => import('./pages/SignInPage'));

const isTab = (path: string) => TABS.some((tab) => tab.path === path);

/** Where the current path must send the user, or null to render it. */
export function redirectFor(path: string, status: AuthStatus): string | null {
  if (status === 'starting') return null;
  const signedIn = status === 'signed-in';
  if (path === '/login') return signedIn ? '/approvals' : null;
  if (isTab(path)) return signedIn ? null : '/login';
  return signedIn ? '/approvals' : '/login';
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

  const tabs: Record<string, ReactNode> = {
    '/approvals': <ApprovalsTab />,
    '/billing': <BillingTab api={api} />,
    '/devices': <DevicesTab />,
    '/positions': <PositionsTab />,
  };
  return <TabLayout path={path}>{tabs[path]}</TabLayout>;
}
