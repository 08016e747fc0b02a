import { Spinner } from '@telegram-apps/telegram-ui';

export function Loading() {
  return (
    <div className="loading" data-testid="loading">
      <Spinner size="l" />
    </div>
  );
}
