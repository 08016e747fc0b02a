import { act, renderHook, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from './api';
import { useRefreshing } from './hooks';

describe('useRefreshing', () => {
  it('fetches on mount and keeps the last data when a reload fails, with the failure message', async () => {
    const fetch = vi
      .fn<() => Promise<number>>()
      .mockResolvedValueOnce(1)
      .mockRejectedValueOnce(new ApiError(503, 'unavailable', 'The server is busy.'))
      .mockResolvedValueOnce(2);
    const { result } = renderHook(() => useRefreshing(fetch, 60_000));

    await waitFor(() => expect(result.current.data).toBe(1));
    expect(result.current.error).toBeNull();

    await act(() => result.current.reload());
    expect(result.current.data).toBe(1);
    expect(result.current.error).toBe('The server is busy.');

    await act(() => result.current.reload());
    expect(result.current.data).toBe(2);
    expect(result.current.error).toBeNull();
  });

  it('says something went wrong for a failure that is not an API error', async () => {
    const fetch = vi.fn<() => Promise<number>>().mockRejectedValue(new TypeError('Failed to fetch'));
    const { result } = renderHook(() => useRefreshing(fetch, 60_000));

    await waitFor(() => expect(result.current.error).toBe('Something went wrong. Please try again.'));
    expect(result.current.data).toBeNull();
  });
});
