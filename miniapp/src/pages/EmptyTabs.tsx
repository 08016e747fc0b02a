import { EmptyState } from '../components/EmptyState';

export const ApprovalsTab = () => (
  <EmptyState header="No pending approvals yet" description="Signals that need your approval will appear here." />
);
