import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderInApp } from '../test/render';
import { ErrorBoundary } from './ErrorBoundary';
import { StartupError } from './StartupError';

function Broken(): never {
  throw new Error('positions could not be read');
}

describe('ErrorBoundary', () => {
  afterEach(() => vi.restoreAllMocks());

  it('renders its children while they work', () => {
    renderInApp(
      <ErrorBoundary>
        <p>fine</p>
      </ErrorBoundary>,
    );
    expect(screen.getByText('fine')).toBeInTheDocument();
  });

  it('shows the error and a Reload button instead of a blank page', async () => {
    // React reports the caught error through console and jsdom's window error event; both are expected here.
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const silence = (event: ErrorEvent) => event.preventDefault();
    window.addEventListener('error', silence);
    const reload = vi.fn();
    vi.stubGlobal('location', { ...window.location, reload });
    renderInApp(
      <ErrorBoundary>
        <Broken />
      </ErrorBoundary>,
    );
    expect(screen.getByTestId('page-error')).toHaveTextContent('positions could not be read');
    await userEvent.setup().click(screen.getByRole('button', { name: 'Reload' }));
    expect(reload).toHaveBeenCalledOnce();
    window.removeEventListener('error', silence);
    vi.unstubAllGlobals();
  });
});

describe('StartupError', () => {
  it('says what failed and what to do', () => {
    renderInApp(<StartupError error={new Error('bridge unavailable')} />);
    expect(screen.getByTestId('startup-error')).toHaveTextContent('open it again from the bot');
    expect(screen.getByTestId('startup-error')).toHaveTextContent('bridge unavailable');
  });

  it('describes a thrown value that is not an Error', () => {
    renderInApp(<StartupError error="launch parameters missing" />);
    expect(screen.getByTestId('startup-error')).toHaveTextContent('launch parameters missing');
  });
});
