import { act, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createApi } from '../api';
import { Auth } from '../auth';
import { formatAgo } from '../format';
import { fail, mockFetch, ok, tokens } from '../test/fetch';
import { renderInApp } from '../test/render';
import { DevicesTab } from './DevicesTab';

const NOW = new Date('2026-12-01T12:00:00Z');

const office = {
  id: 7,
  name: 'Office MT5',
  masked_key: 'AbCd…WxYz',
  status: 'active',
  created_at: '2026-11-30T10:00:00Z',
  last_seen_at: '2026-12-01T11:58:00Z',
  last_ip: '203.0.113.9',
};
const old = { ...office, id: 3, name: 'Old laptop', status: 'revoked', last_seen_at: null, last_ip: null };
const registered = {
  ...office,
  id: 8,
  name: 'Home PC',
  masked_key: 'SeCr…et42',
  last_seen_at: null,
  last_ip: null,
  secret: 'SeCrEtSeCrEtSeCrEtSeCrEtSeCrEtSeCrEtet42',
};

function renderDevices() {
  const auth = new Auth(undefined);
  auth.setTokens(tokens());
  return renderInApp(<DevicesTab api={createApi(auth)} />);
}

const user = () => userEvent.setup({ advanceTimers: vi.advanceTimersByTime });

describe('DevicesTab', () => {
  beforeEach(() => {
    vi.useFakeTimers({ shouldAdvanceTime: true, now: NOW });
  });

  it('lists devices with masked key, last seen and status', async () => {
    mockFetch({ 'GET /api/v1/devices': ok([office, old]) });
    renderDevices();
    const rows = await screen.findAllByTestId('device-row');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('Office MT5');
    expect(rows[0]).toHaveTextContent('AbCd…WxYz');
    expect(rows[0]).toHaveTextContent('last seen 2 min ago from 203.0.113.9');
    expect(within(rows[0]).getByTestId('remove-device')).toBeInTheDocument();
    expect(rows[1]).toHaveTextContent('last seen never');
    expect(within(rows[1]).getByTestId('device-status')).toHaveTextContent('Removed');
    expect(within(rows[1]).queryByTestId('remove-device')).not.toBeInTheDocument();
  });

  it('shows an empty state without devices', async () => {
    mockFetch({ 'GET /api/v1/devices': ok([]) });
    renderDevices();
    expect(await screen.findByTestId('empty-state')).toHaveTextContent('No devices yet');
  });

  it('adds a device and shows its secret once, with a copy button and the EA settings', async () => {
    let listed: unknown[] = [];
    const { callsTo } = mockFetch({
      'GET /api/v1/devices': () => ok(listed),
      'POST /api/v1/devices': () => {
        listed = [registered];
        return { status: 201, body: registered };
      },
    });
    renderDevices();
    await screen.findByTestId('empty-state');

    // user-event stands in for the clipboard.
    const typist = user();
    await typist.type(screen.getByTestId('device-name'), '  Home PC ');
    await typist.click(screen.getByTestId('add-device'));

    expect(callsTo('POST /api/v1/devices')[0].body).toEqual({ name: 'Home PC' });
    expect(await screen.findByTestId('new-device-secret')).toHaveTextContent(registered.secret);
    expect(screen.getByRole('alert')).toHaveTextContent('it will not be shown again');
    expect(screen.getByTestId('new-device-settings')).toHaveTextContent(
      `Server URL: ${window.location.origin} Device id: 8 Secret: ${registered.secret}`,
    );
    expect(await screen.findByTestId('device-row')).toHaveTextContent('Home PC');

    await typist.click(screen.getByTestId('copy-secret'));
    expect(await screen.findByRole('status')).toHaveTextContent('Secret copied.');
    expect(await navigator.clipboard.readText()).toBe(registered.secret);

    await typist.click(screen.getByTestId('new-device-done'));
    expect(screen.queryByTestId('new-device-secret')).not.toBeInTheDocument();
    expect(document.body).not.toHaveTextContent(registered.secret);
  });

  it('says in words when the plan allows no more devices', async () => {
    mockFetch({
      'GET /api/v1/devices': ok([office]),
      'POST /api/v1/devices': fail(403, 'device_limit', 'Your Premium plan allows 1 active device; remove one or upgrade to add another.'),
    });
    renderDevices();
    await screen.findByTestId('device-row');
    await user().type(screen.getByTestId('device-name'), 'Second');
    await user().click(screen.getByTestId('add-device'));
    expect(await screen.findByTestId('add-device-error')).toHaveTextContent('Your Premium plan allows 1 active device');
    expect(screen.getAllByTestId('device-row')).toHaveLength(1);
  });

  it('removes a device only after confirmation', async () => {
    let listed: unknown[] = [office];
    const { callsTo } = mockFetch({
      'GET /api/v1/devices': () => ok(listed),
      'DELETE /api/v1/devices/7': () => {
        listed = [{ ...office, status: 'revoked' }];
        return { status: 204, body: null };
      },
    });
    const confirm = vi.spyOn(window, 'confirm').mockReturnValueOnce(false).mockReturnValueOnce(true);
    renderDevices();
    const remove = await screen.findByTestId('remove-device');

    await user().click(remove);
    expect(confirm).toHaveBeenCalledWith(expect.stringContaining('“Office MT5” will stop receiving signals at once'));
    expect(callsTo('DELETE /api/v1/devices/7')).toHaveLength(0);

    await user().click(screen.getByTestId('remove-device'));
    expect(callsTo('DELETE /api/v1/devices/7')).toHaveLength(1);
    expect(await screen.findByTestId('device-status')).toHaveTextContent('Removed');
  });

  it('renames a device and shows a refusal in words', async () => {
    let listed: unknown[] = [office];
    const { callsTo } = mockFetch({
      'GET /api/v1/devices': () => ok(listed),
      'PATCH /api/v1/devices/7': (call) => {
        const { name } = call.body as { name: string };
        if (name === 'Taken') return fail(404, 'device_not_found', 'Device not found.');
        listed = [{ ...office, name }];
        return ok(listed[0]);
      },
    });
    renderDevices();
    await user().click(await screen.findByRole('button', { name: 'Rename' }));
    const input = screen.getByLabelText('Device name');
    await user().clear(input);
    await user().type(input, 'Trading desk');
    await user().click(screen.getByRole('button', { name: 'Save' }));
    expect(callsTo('PATCH /api/v1/devices/7')[0].body).toEqual({ name: 'Trading desk' });
    expect(await screen.findByTestId('device-row')).toHaveTextContent('Trading desk');

    await user().click(screen.getByRole('button', { name: 'Rename' }));
    await user().clear(screen.getByLabelText('Device name'));
    await user().type(screen.getByLabelText('Device name'), 'Taken');
    await user().click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByTestId('device-action-error')).toHaveTextContent('Device not found.');
  });

  it('shows a load failure with Retry, and refreshes last seen while visible', async () => {
    let attempts = 0;
    const { callsTo } = mockFetch({
      'GET /api/v1/devices': () => (++attempts === 1 ? fail(500, 'internal', 'Server exploded') : ok([office])),
    });
    renderDevices();
    const error = await screen.findByTestId('devices-error');
    expect(error).toHaveTextContent('Server exploded');
    await user().click(within(error).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByTestId('last-seen')).toHaveTextContent('2 min ago');

    await act(() => vi.advanceTimersByTimeAsync(60_000));
    expect(screen.getByTestId('last-seen')).toHaveTextContent('3 min ago');
    expect(callsTo('GET /api/v1/devices').length).toBeGreaterThanOrEqual(5);
  });
});

describe('formatAgo', () => {
  it.each([
    [null, 'never'],
    ['2026-12-01T11:59:30Z', 'just now'],
    ['2026-12-01T11:00:00Z', '1 h ago'],
    ['2026-11-28T12:00:00Z', '3 d ago'],
  ])('%s reads %s', (iso, text) => {
    expect(formatAgo(iso, NOW.getTime())).toBe(text);
  });
});
