import { Button, Placeholder } from '@telegram-apps/telegram-ui';

/** What a screen shows when its first load failed: what could not be loaded, why, and a way to
 * try again (a refresh failure after a good load is shown inline by the screen instead). */
export function LoadError({
  testId,
  header,
  message,
  onRetry,
}: {
  testId: string;
  header: string;
  message: string;
  onRetry: () => void;
}) {
  return (
    <Placeholder
      data-testid={testId}
      header={header}
      description={message}
      action={
        <Button size="m" onClick={onRetry}>
          Retry
        </Button>
      }
    />
  );
}
