import { EmptyState } from '../components/EmptyState';

export const DevicesTab = () => (
  <EmptyState header="No devices yet" description="Trading terminals linked to your account will appear here." />
);
