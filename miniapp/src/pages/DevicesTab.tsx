import { Button, Cell, Input, List, Section, Text } from '@telegram-apps/telegram-ui';
import { useCallback, useState, type FormEvent } from 'react';
import { LoadError } from '../components/LoadError';
import { errorMessage, type Api, type Device, type DeviceRegistered } from '../api';
import { EmptyState } from '../components/EmptyState';
import { Loading } from '../components/Loading';
import { formatAgo } from '../format';
import { useNow, useRefreshing } from '../hooks';
import { confirmAction, copyText } from '../telegram';

// Last seen moves at most once a minute on the server; a quarter of that keeps it current.
const REFRESH_MS = 15_000;
const NAME_MAX = 64;

/** What to paste into the Expert Advisor's inputs. */
export const eaSettings = (device: DeviceRegistered, serverUrl: string) =>
  `Server URL: ${serverUrl}\nDevice id: ${device.id}\nSecret: ${device.secret}`;

function NewDeviceSecret({ device, onDone }: { device: DeviceRegistered; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const settings = eaSettings(device, window.location.origin);
  const copy = async (what: string, text: string) =>
    setCopied((await copyText(text)) ? `${what} copied.` : 'Copying failed: select the text and copy it.');

  return (
    <Section header={`“${device.name}” added`} data-testid="new-device">
      <Text className="warning" role="alert">
        Copy the secret now: it will not be shown again. If you lose it, remove the device and add it again.
      </Text>
      <pre className="secret" data-testid="new-device-secret">
        {device.secret}
      </pre>
      <Text className="hint">Paste these into the SignalHub EA's inputs in MetaTrader 5:</Text>
      <pre className="secret" data-testid="new-device-settings">
        {settings}
      </pre>
      <div className="actions">
        <Button size="m" data-testid="copy-secret" onClick={() => void copy('Secret', device.secret)}>
          Copy secret
        </Button>
        <Button size="m" mode="bezeled" onClick={() => void copy('EA settings', settings)}>
          Copy EA settings
        </Button>
        <Button size="m" mode="plain" data-testid="new-device-done" onClick={onDone}>
          Done
        </Button>
      </div>
      {copied && (
        <Text className="hint" role="status">
          {copied}
        </Text>
      )}
    </Section>
  );
}

function AddDevice({ api, onAdded }: { api: Api; onAdded: (device: DeviceRegistered) => void }) {
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onAdded(await api.registerDevice(name.trim()));
      setName('');
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section header="Add a device">
      <form onSubmit={(event) => void submit(event)} className="add-device">
        <Input
          data-testid="device-name"
          placeholder="e.g. Office PC - MT5"
          value={name}
          maxLength={NAME_MAX}
          onChange={(event) => setName(event.target.value)}
        />
        <Button type="submit" size="m" data-testid="add-device" loading={busy} disabled={!name.trim()}>
          Add device
        </Button>
      </form>
      {error && (
        <Text className="error" role="alert" data-testid="add-device-error">
          {error}
        </Text>
      )}
    </Section>
  );
}

function DeviceRow({
  device,
  now,
  onRename,
  onRemove,
}: {
  device: Device;
  now: number;
  onRename: (name: string) => Promise<void>;
  onRemove: () => Promise<void>;
}) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(device.name);
  const active = device.status === 'active';

  const save = async (event: FormEvent) => {
    event.preventDefault();
    await onRename(name.trim());
    setEditing(false);
  };

  if (editing) {
    return (
      <form className="rename" onSubmit={(event) => void save(event)} data-testid="rename-form">
        <Input
          aria-label="Device name"
          value={name}
          maxLength={NAME_MAX}
          onChange={(event) => setName(event.target.value)}
        />
        <Button type="submit" size="s" disabled={!name.trim()}>
          Save
        </Button>
        <Button size="s" mode="plain" onClick={() => setEditing(false)}>
          Cancel
        </Button>
      </form>
    );
  }
  return (
    <Cell
      data-testid="device-row"
      multiline
      subtitle={
        <span>
          <code>{device.masked_key}</code> · last seen <span data-testid="last-seen">{formatAgo(device.last_seen_at, now)}</span>
          {device.last_ip ? ` from ${device.last_ip}` : ''}
        </span>
      }
      after={
        active ? (
          <span className="actions">
            <Button size="s" mode="plain" onClick={() => setEditing(true)}>
              Rename
            </Button>
            <Button size="s" mode="plain" data-testid="remove-device" onClick={() => void onRemove()}>
              Remove
            </Button>
          </span>
        ) : (
          <span className="status" data-testid="device-status">
            Removed
          </span>
        )
      }
    >
      {device.name}
    </Cell>
  );
}

export function DevicesTab({ api }: { api: Api }) {
  const fetchDevices = useCallback(() => api.devices(), [api]);
  const { data: devices, error, reload: load } = useRefreshing(fetchDevices, REFRESH_MS);
  const [actionError, setActionError] = useState<string | null>(null);
  const [added, setAdded] = useState<DeviceRegistered | null>(null);
  const now = useNow();

  const act = async (action: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await action();
    } catch (failure) {
      setActionError(errorMessage(failure));
    }
    await load();
  };

  const remove = async (device: Device) => {
    const confirmed = await confirmAction(
      'Remove device?',
      `“${device.name}” will stop receiving signals at once. To use it again, add it as a new device.`,
      'Remove',
    );
    if (confirmed) await act(() => api.removeDevice(device.id));
  };

  if (!devices) {
    if (!error) return <Loading />;
    return (
      <LoadError testId="devices-error" header="Couldn't load your devices" message={error} onRetry={() => void load()} />
    );
  }

  return (
    <List>
      {added && <NewDeviceSecret device={added} onDone={() => setAdded(null)} />}
      <AddDevice
        api={api}
        onAdded={(device) => {
          setAdded(device);
          void load();
        }}
      />
      {actionError && (
        <Text className="error" role="alert" data-testid="device-action-error">
          {actionError}
        </Text>
      )}
      <Section header="Your devices">
        {devices.length === 0 ? (
          <EmptyState header="No devices yet" description="Add the MetaTrader 5 terminal that should execute your approved signals." />
        ) : (
          devices.map((device) => (
            <DeviceRow
              key={device.id}
              device={device}
              now={now}
              onRename={(name) => act(() => api.renameDevice(device.id, name))}
              onRemove={() => remove(device)}
            />
          ))
        )}
      </Section>
    </List>
  );
}
