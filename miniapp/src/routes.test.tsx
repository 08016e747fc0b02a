import { describe, expect, it } from 'vitest';
import { findRoute, HOME, matchPath, ROUTES, TABS, type Route } from './routes';

describe('matchPath', () => {
  it('matches literal segments exactly', () => {
    expect(matchPath('/billing', '/billing')).toEqual({});
    expect(matchPath('/billing', '/billing/x')).toBeNull();
    expect(matchPath('/billing', '/devices')).toBeNull();
  });

  it('captures and decodes named segments', () => {
    expect(matchPath('/help/:slug', '/help/how%20to%20pay')).toEqual({ slug: 'how to pay' });
    expect(matchPath('/help/:slug', '/help/')).toBeNull();
    expect(matchPath('/pay/:id/status', '/pay/7/status')).toEqual({ id: '7' });
  });
});

describe('the routes table', () => {
  it('puts the four tabs in the tab bar, Approvals first', () => {
    expect(TABS.map((tab) => tab.id)).toEqual(['approvals', 'billing', 'devices', 'positions']);
    expect(HOME).toBe('/approvals');
  });

  it('has one entry per path', () => {
    const paths = ROUTES.map((route) => route.path);
    expect(new Set(paths).size).toBe(paths.length);
  });

  it('finds the first matching route and its parameters', () => {
    const routes: Route[] = [
      { kind: 'page', path: '/help/search', render: () => 'search' },
      { kind: 'page', path: '/help/:slug', render: () => 'article' },
    ];
    expect(findRoute('/help/search', routes)?.route).toBe(routes[0]);
    expect(findRoute('/help/refunds', routes)?.params).toEqual({ slug: 'refunds' });
    expect(findRoute('/nowhere', routes)).toBeNull();
  });
});
