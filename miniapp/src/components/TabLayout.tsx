import { Tabbar } from '@telegram-apps/telegram-ui';
import type { ReactNode } from 'react';
import { navigate } from '../router';
import { TABS } from '../routes';
import { Page } from './Page';

export function TabLayout({ path, children }: { path: string; children: ReactNode }) {
  return (
    <Page back={false} className="page--tabs">
      <header className="tab-header">
        <button type="button" className="help-button" data-testid="help-button" aria-label="Help" onClick={() => navigate('/help')}>
          ?
        </button>
      </header>
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
