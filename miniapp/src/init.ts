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
  platform: 'base' | 'ios';
  appearance: 'light' | 'dark';
  /** The `startapp` parameter of the link that opened the Mini App, e.g. `help_refunds` or a
   * broadcast button's `bc12_0`. */
  startParam: string | undefined;
}

function systemAppearance(): TelegramEnv['appearance'] {
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Reads a launch parameter straight from the hash when the SDK cannot parse the launch params. */
function fromHash(name: string): string | undefined {
  return new URLSearchParams(window.location.hash.slice(1)).get(name) ?? undefined;
}

export async function initTelegram(): Promise<TelegramEnv> {
  if (import.meta.env.DEV) await import('./mockEnv');

  if (!isTMA()) {
    return {
      initData: fromHash('tgWebAppData'),
      platform: 'base',
      appearance: systemAppearance(),
      startParam: fromHash('tgWebAppStartParam'),
    };
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
    platform: platform === 'ios' || platform === 'macos' ? 'ios' : 'base',
    appearance: isThemeParamsDark() ? 'dark' : 'light',
    startParam: launchParams.tgWebAppStartParam,
  };
}
