import { describe, expect, it } from 'vitest';
import { createApi } from './api';
import { Auth } from './auth';
import { fail, mockFetch, tokens } from './test/fetch';
import { reportBroadcastLaunch } from './marketing';

function signedIn() {
  const auth = new Auth(undefined);
  auth.setTokens(tokens());
  return { auth, api: createApi(auth) };
}

describe('reportBroadcastLaunch', () => {
  it("reports a broadcast button's startapp parameter", async () => {
    const fetch = mockFetch({ 'POST /api/v1/marketing/cta': { status: 204, body: null } });
    const { auth, api } = signedIn();
    await reportBroadcastLaunch(auth, api, 'bc12_1');
    expect(fetch.callsTo('POST /api/v1/marketing/cta').map((call) => call.body)).toEqual([
      { start_param: 'bc12_1' },
    ]);
  });

  it('ignores other launches and failures', async () => {
    const fetch = mockFetch({ 'POST /api/v1/marketing/cta': fail(404, 'link_not_found') });
    const { auth, api } = signedIn();
    await reportBroadcastLaunch(auth, api, undefined);
    await reportBroadcastLaunch(auth, api, 'shop');
    expect(fetch.calls).toEqual([]);
    await expect(reportBroadcastLaunch(auth, api, 'bc1_0')).resolves.toBeUndefined();
    expect(auth.getState().status).toBe('signed-in');
  });

  it('does nothing when not signed in', async () => {
    const fetch = mockFetch({});
    await reportBroadcastLaunch(new Auth(undefined), createApi(new Auth(undefined)), 'bc1_0');
    expect(fetch.calls).toEqual([]);
  });
});
