import { AppRoot } from '@telegram-apps/telegram-ui';
import { render, type RenderResult } from '@testing-library/react';
import type { ReactElement, ReactNode } from 'react';

const Wrapper = ({ children }: { children: ReactNode }) => <AppRoot>{children}</AppRoot>;

/** TelegramUI components refuse to render outside AppRoot, as in the real app. */
export const renderInApp = (ui: ReactElement): RenderResult => render(ui, { wrapper: Wrapper });
