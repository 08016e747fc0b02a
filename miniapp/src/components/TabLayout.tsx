import { Tabbar } from '@telegram-apps/telegram-ui';
import type { ReactNode } from 'react';
import { navigate } from '../router';
import { Page } from './Page';

export const TABS = [
  { path: '/approvals', id: 'approvals', label: 'Approvals', icon: '✅' },
  { path: '/billing', id: 'billing', label: 'Billing', icon: '💳' },
  { path: '/devices', id: 'devices', label: 'Devices', icon: '📱' },
  { path: '/positions', id: 'positions', label: 'Positions', icon: '📈' },
] as const;

export function TabLayout({ path, children }: { path: string; children: ReactNode }) {
  return (
    <Page back={false} className="page--tabs">
      {children}
      <Tabbar className="tabbar">
        {TABS.map((tab) => (
          <Tabbar.Item
            key={tab.id}
            data-testid={`tab-${tab.id}`}
            text={tab.label}
            selected={tab.path === path}
            aria-current={tab.path === path ? 'page' : undefined}
            onClick={() => tab.path !== path && navigate(tab.path)}
          >
            <span className="tab-icon" aria-hidden>
              {tab.icon}
            </span>
          </Tabbar.Item>
        ))}
      </Tabbar>
    </Page>
  );
}
