import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { createApi } from '../api';
import { Auth } from '../auth';
import { fail, mockFetch, ok, tokens } from '../test/fetch';
import { renderInApp } from '../test/render';
import { MarketingSwitch } from './MarketingSwitch';

function renderSwitch() {
  const auth = new Auth(undefined);
  auth.setTokens(tokens());
  return renderInApp(<MarketingSwitch api={createApi(auth)} />);
}

describe('MarketingSwitch', () => {
  it('shows the preference and saves a change', async () => {
    const fetch = mockFetch({
      'GET /api/v1/me/marketing': ok({ subscribed: true }),
      'PUT /api/v1/me/marketing': ok({ subscribed: false }),
    });
    renderSwitch();
    const toggle = await screen.findByTestId('marketing-switch');
    await waitFor(() => expect(toggle).toBeChecked());
    await userEvent.click(toggle);
    await waitFor(() => expect(toggle).not.toBeChecked());
    const [put] = fetch.callsTo('PUT /api/v1/me/marketing');
    expect(put.body).toEqual({ subscribed: false });
    expect(put.headers.get('Authorization')).toBe('Bearer access-1');
  });

  it('puts the switch back and says why when saving fails', async () => {
    mockFetch({
      'GET /api/v1/me/marketing': ok({ subscribed: false }),
      'PUT /api/v1/me/marketing': fail(422, 'validation_error', 'Nope.'),
    });
    renderSwitch();
    const toggle = await screen.findByTestId('marketing-switch');
    await waitFor(() => expect(toggle).not.toBeDisabled());
    await userEvent.click(toggle);
    await screen.findByText('Nope.');
    expect(toggle).not.toBeChecked();
  });
});
