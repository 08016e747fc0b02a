import { EmptyState } from '../components/EmptyState';

export const ApprovalsTab = () => (
  <EmptyState header="No pending approvals yet" description="Signals that need your approval will appear here." />
);

export const PositionsTab = () => (
  <EmptyState header="No positions yet" description="Open positions from your linked devices will appear here." />
);
