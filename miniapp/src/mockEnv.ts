import { emitEvent, isTMA, mockTelegramEnv } from '@telegram-apps/sdk-react';

// Development only (imported under import.meta.env.DEV): `npm run dev` opened with `?mock` behaves
// like a Telegram client. Without `?mock` the plain-browser QR sign-in flow stays reachable.
// Set VITE_MOCK_INIT_DATA to a really signed initData string to get past the backend check.
if (!isTMA() && new URLSearchParams(window.location.search).has('mock')) {
  const noInsets = { top: 0, bottom: 0, left: 0, right: 0 };
  const fakeInitData = new URLSearchParams({
    user: JSON.stringify({ id: 1, first_name: 'Dev' }),
    auth_date: String(Math.floor(Date.now() / 1000)),
    signature: 'dev',
    hash: 'dev',
  }).toString();

  mockTelegramEnv({
    launchParams: {
      tgWebAppData: import.meta.env.VITE_MOCK_INIT_DATA ?? fakeInitData,
      tgWebAppVersion: '8.0',
      tgWebAppPlatform: 'tdesktop',
      tgWebAppThemeParams: {
        bg_color: '#ffffff',
        text_color: '#000000',
        hint_color: '#707579',
        link_color: '#3390ec',
        button_color: '#3390ec',
        button_text_color: '#ffffff',
        secondary_bg_color: '#f4f4f5',
      },
    },
    onEvent([method]) {
      if (method === 'web_app_request_viewport') {
        emitEvent('viewport_changed', {
          height: window.innerHeight,
          width: window.innerWidth,
          is_expanded: true,
          is_state_stable: true,
        });
      } else if (method === 'web_app_request_safe_area') {
        emitEvent('safe_area_changed', noInsets);
      } else if (method === 'web_app_request_content_safe_area') {
        emitEvent('content_safe_area_changed', noInsets);
      }
    },
  });
}
