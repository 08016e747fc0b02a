import { render } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';

const INIT_DATA = new URLSearchParams({
  user: JSON.stringify({ id: 42, first_name: 'Ann' }),
  chat_instance: '1',
  chat_type: 'sender',
  auth_date: '1700000000',
  signature: 'sig',
  hash: 'abc123',
}).toString();

function launchHash(
  platform = 'android',
  theme: Record<string, string> = { bg_color: '#ffffff' },
  extra: Record<string, string> = {},
) {
  return new URLSearchParams({
    tgWebAppData: INIT_DATA,
    tgWebAppVersion: '8.0',
    tgWebAppPlatform: platform,
    tgWebAppThemeParams: JSON.stringify(theme),
    ...extra,
  }).toString();
}

/** Fresh SDK module state per test: the SDK keeps launch params and mounts in module globals. */
async function load() {
  const [init, telegram, page, sdk] = await Promise.all([
    import('./init'),
    import('./telegram'),
    import('./components/Page'),
    import('@telegram-apps/sdk-react'),
  ]);
  return { ...init, ...telegram, ...page, sdk };
}

beforeEach(() => {
  vi.resetModules();
  sessionStorage.clear();
  Reflect.deleteProperty(window, 'TelegramWebviewProxy');
  window.history.replaceState(null, '', '/miniapp/');
});

describe('in a desktop browser without launch params', () => {
  it('starts without initData and without throwing', async () => {
    const { initTelegram } = await load();
    await expect(initTelegram()).resolves.toEqual({
      initData: undefined,
      platform: 'base',
      appearance: 'light',
      startParam: undefined,
    });
  });
});

describe('in a plain browser with launch params only in the URL hash', () => {
  it('reads raw initData and theme from the hash', async () => {
    window.history.replaceState(null, '', `/miniapp/#${launchHash('ios', { bg_color: '#000000' })}`);
    const { initTelegram } = await load();
    await expect(initTelegram()).resolves.toEqual({
      initData: INIT_DATA,
      platform: 'ios',
      appearance: 'dark',
      startParam: undefined,
    });
  });

  it('reads the startapp parameter of a deep link', async () => {
    window.history.replaceState(null, '', `/miniapp/#${launchHash('android', {}, { tgWebAppStartParam: 'help_refunds' })}`);
    const { initTelegram } = await load();
    await expect(initTelegram()).resolves.toMatchObject({ startParam: 'help_refunds' });
  });

  it('still finds initData when the SDK cannot parse the launch params', async () => {
    window.history.replaceState(null, '', `/miniapp/#tgWebAppData=${encodeURIComponent('garbage')}`);
    const { initTelegram } = await load();
    await expect(initTelegram()).resolves.toMatchObject({ initData: 'garbage' });
  });

  it('degrades Telegram-only features quietly', async () => {
    window.history.replaceState(null, '', `/miniapp/#${launchHash()}`);
    const { initTelegram, openTelegramUrl, Page } = await load();
    await initTelegram();
    const open = vi.spyOn(window, 'open').mockReturnValue(null);
    const assign = vi.fn();
    vi.stubGlobal('location', { ...window.location, assign });

    expect(() => render(<Page>content</Page>)).not.toThrow();
    openTelegramUrl('https://t.me/signalhub_bot?start=shop');
    expect(open).toHaveBeenCalledWith('https://t.me/signalhub_bot?start=shop', '_blank');
    expect(assign).toHaveBeenCalledWith('https://t.me/signalhub_bot?start=shop');
  });
});

describe('inside a Telegram client', () => {
  async function launchInClient() {
    const events: [string, unknown][] = [];
    const env = await load();
    env.sdk.mockTelegramEnv({
      launchParams: launchHash(),
      onEvent: (event) => {
        events.push(event as [string, unknown]);
      },
      resetPostMessage: true,
    });
    await env.initTelegram();
    return { ...env, events };
  }

  it('shows the BackButton on inner pages, hides it on roots and goes back on press', async () => {
    const { Page, sdk, events } = await launchInClient();
    const back = vi.spyOn(window.history, 'back').mockImplementation(() => undefined);

    const { rerender } = render(<Page>detail</Page>);
    expect(events).toContainEqual(['web_app_setup_back_button', { is_visible: true }]);
    sdk.emitEvent('back_button_pressed');
    expect(back).toHaveBeenCalledTimes(1);

    rerender(<Page back={false}>root</Page>);
    expect(events.at(-1)).toEqual(['web_app_setup_back_button', { is_visible: false }]);
    sdk.emitEvent('back_button_pressed');
    expect(back).toHaveBeenCalledTimes(1);
  });

  it('opens t.me links through Telegram', async () => {
    const { openTelegramUrl, events } = await launchInClient();
    const open = vi.spyOn(window, 'open');
    openTelegramUrl('https://t.me/signalhub_bot?start=shop');
    expect(events).toContainEqual(['web_app_open_tg_link', { path_full: '/signalhub_bot?start=shop' }]);
    expect(open).not.toHaveBeenCalled();
  });
});
