import '@telegram-apps/telegram-ui/dist/styles.css';
import './styles.css';
import { AppRoot } from '@telegram-apps/telegram-ui';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApi } from './api';
import { App } from './App';
import { Auth } from './auth';
import { StartupError } from './components/StartupError';
import { pathForStartParam } from './help/deepLink';
import { languageFromInitData, setReaderLanguage } from './help/language';
import { initTelegram } from './init';
import { reportBroadcastLaunch } from './marketing';
import { navigate } from './router';

const root = createRoot(document.getElementById('root')!);

initTelegram().then(
  (env) => {
    setReaderLanguage(languageFromInitData(env.initData) ?? navigator.language);
    const deepLink = pathForStartParam(env.startParam);
    if (deepLink) navigate(deepLink, { replace: true });
    const auth = new Auth(env.initData);
    const api = createApi(auth);
    void auth.start().then(() => reportBroadcastLaunch(auth, api, env.startParam));
    root.render(
      <StrictMode>
        <AppRoot className="app-root" appearance={env.appearance} platform={env.platform}>
          <App auth={auth} api={api} />
        </AppRoot>
      </StrictMode>,
    );
  },
  (error: unknown) => {
    console.error('start-up failed', error);
    root.render(<StartupError error={error} />);
  },
);
