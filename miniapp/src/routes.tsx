import type { ReactNode } from 'react';
import type { Api } from './api';
import { ApprovalsIcon, BillingIcon, DevicesIcon, PositionsIcon } from './components/TabIcons';
import { HelpArticlePage } from './help/HelpArticlePage';
import { HelpPage } from './help/HelpPage';
import { BillingTab } from './pages/BillingTab';
import { AccountsPage } from './pages/AccountsPage';
import { ApprovalsTab } from './pages/ApprovalsTab';
import { DevicesTab } from './pages/DevicesTab';
import { PositionsTab } from './pages/PositionsTab';
import { PaymentPage } from './pages/PaymentPage';

/** What a route's page is given: the typed API client and the path's parameters. */
export interface RouteContext {
  api: Api;
  params: Record<string, string>;
}

interface RouteBase {
  /** A path under the app base; `:name` segments become `params.name`. */
  path: string;
  render: (context: RouteContext) => ReactNode;
}

/** A signed-in page in the tab bar. */
export interface TabRoute extends RouteBase {
  kind: 'tab';
  id: string;
  label: string;
  icon: ReactNode;
}

/** A signed-in page outside the tab bar, reached from a tab or a deep link; it shows the BackButton. */
export interface PageRoute extends RouteBase {
  kind: 'page';
}

export type Route = TabRoute | PageRoute;

/**
 * Every signed-in screen of the Mini App, in one table: the tab bar, the router and the
 * redirects all read it. `/login` is the one public screen and lives in App.
 */
export const ROUTES: readonly Route[] = [
  { kind: 'tab', id: 'approvals', path: '/approvals', label: 'Approvals', icon: <ApprovalsIcon />, render: ({ api }) => <ApprovalsTab api={api} /> },
  { kind: 'tab', id: 'billing', path: '/billing', label: 'Billing', icon: <BillingIcon />, render: ({ api }) => <BillingTab api={api} /> },
  { kind: 'tab', id: 'devices', path: '/devices', label: 'Devices', icon: <DevicesIcon />, render: ({ api }) => <DevicesTab api={api} /> },
  { kind: 'tab', id: 'positions', path: '/positions', label: 'Positions', icon: <PositionsIcon />, render: ({ api }) => <PositionsTab api={api} /> },
  { kind: 'page', path: '/help', render: ({ api }) => <HelpPage api={api} /> },
  { kind: 'page', path: '/help/:slug', render: ({ api, params }) => <HelpArticlePage api={api} slug={params.slug} /> },
  { kind: 'page', path: '/positions/accounts', render: ({ api }) => <AccountsPage api={api} /> },
  { kind: 'page', path: '/pay', render: ({ api }) => <PaymentPage api={api} initialProduct={productParam()} /> },
  { kind: 'page', path: '/pay/:outcome', render: ({ api }) => <PaymentPage api={api} initialProduct={productParam()} /> },
];

/** `?product=<code>` preselects a plan (the bot's and the Billing tab's links use it). */
function productParam(): string | null {
  return new URLSearchParams(window.location.search).get('product');
}

export const TABS = ROUTES.filter((route): route is TabRoute => route.kind === 'tab');

export const APP_NAME = 'signalhub';

/** The document title for `path`: the tab's name, then the app's. */
export function titleFor(path: string): string {
  if (path === '/login') return `Sign in · ${APP_NAME}`;
  const tab = TABS.find((candidate) => candidate.path === path);
  return tab ? `${tab.label} · ${APP_NAME}` : APP_NAME;
}

/** The landing screen of a signed-in user. */
export const HOME = TABS[0].path;

/** `pattern`'s parameters when `path` matches it, else null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (const [index, segment] of want.entries()) {
    if (segment.startsWith(':')) {
      if (!got[index]) return null;
      params[segment.slice(1)] = decodeURIComponent(got[index]);
    } else if (segment !== got[index]) {
      return null;
    }
  }
  return params;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

export function findRoute(path: string, routes: readonly Route[] = ROUTES): RouteMatch | null {
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (params) return { route, params };
  }
  return null;
}
