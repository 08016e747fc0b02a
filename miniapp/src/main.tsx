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
import { navigate } from './router';

const root = createRoot(document.getElementById('root')!);

initTelegram().then(
  (env) => {
    setReaderLanguage(languageFromInitData(env.initData) ?? navigator.language);
    const deepLink = pathForStartParam(env.startParam);
    if (deepLink) navigate(deepLink, { replace: true });
    const auth = new Auth(env.initData);
    void auth.start();
    root.render(
      <StrictMode>
        <AppRoot className="app-root" appearance={env.appearance} platform={env.platform}>
          <App auth={auth} api={createApi(auth)} />
        </AppRoot>
      </StrictMode>,
    );
  },
  (error: unknown) => {
    console.error('start-up failed', error);
    root.render(<StartupError error={error} />);
  },
);
