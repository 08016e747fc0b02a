import { Placeholder } from '@telegram-apps/telegram-ui';

export function EmptyState({ header, description }: { header: string; description?: string }) {
  return <Placeholder data-testid="empty-state" header={header} description={description} />;
}
