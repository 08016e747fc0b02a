import {
  bindThemeParamsCssVars,
  bindViewportCssVars,
  init as initSdk,
  isTMA,
  isThemeParamsDark,
  miniAppReady,
  mountBackButton,
  mountThemeParamsSync,
  mountViewport,
  retrieveLaunchParams,
  retrieveRawInitData,
} from '@telegram-apps/sdk-react';
import { hasTelegramClient } from './telegram';

export interface TelegramEnv {
  /** Raw initData exactly as Telegram passed it; undefined outside Telegram. */
  initData: string | undefined;
  /** The `startapp` parameter the Mini App was opened with (a broadcast button sets one). */
  startParam?: string;
  platform: 'base' | 'ios';
  appearance: 'light' | 'dark';
}

function systemAppearance(): TelegramEnv['appearance'] {
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Reads initData straight from the hash when the SDK cannot parse the launch params. */
function initDataFromHash(): string | undefined {
  return new URLSearchParams(window.location.hash.slice(1)).get('tgWebAppData') ?? undefined;
}

export async function initTelegram(): Promise<TelegramEnv> {
  if (import.meta.env.DEV) await import('./mockEnv');

  if (!isTMA()) {
    return { initData: initDataFromHash(), platform: 'base', appearance: systemAppearance() };
  }

  const inClient = hasTelegramClient();
  // Without a client nothing would receive SDK calls and postEvent would throw; make them no-ops.
  initSdk(inClient ? undefined : { postEvent: () => undefined });
  mountBackButton.ifAvailable();
  if (mountThemeParamsSync.isAvailable()) {
    mountThemeParamsSync();
    bindThemeParamsCssVars.ifAvailable();
  }
  if (inClient && mountViewport.isAvailable()) {
    // Safe-area vars are cosmetic and the CSS falls back to env(); a failed mount must not block start.
    mountViewport()
      .then(() => bindViewportCssVars.ifAvailable())
      .catch(() => undefined);
  }
  miniAppReady.ifAvailable();

  const launchParams = retrieveLaunchParams();
  const platform = launchParams.tgWebAppPlatform;
  return {
    initData: retrieveRawInitData(),
    startParam: launchParams.tgWebAppStartParam,
    platform: platform === 'ios' || platform === 'macos' ? 'ios' : 'base',
    appearance: isThemeParamsDark() ? 'dark' : 'light',
  };
}
