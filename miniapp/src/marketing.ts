import type { Api } from './api';
import type { Auth } from './auth';

// `startapp` of a broadcast's Mini App button: bc<broadcast id>_<button index>.
const BROADCAST_LAUNCH = /^bc\d{1,18}_\d$/;

/**
 * Opened from a broadcast's Mini App button: tell the server once, after signing in, so the
 * click is counted. Best effort: a failure never disturbs the app.
 */
export async function reportBroadcastLaunch(auth: Auth, api: Api, startParam: string | undefined): Promise<void> {
  if (!startParam || !BROADCAST_LAUNCH.test(startParam)) return;
  if (auth.getState().status !== 'signed-in') return;
  await api.reportCta(startParam).catch(() => undefined);
}
