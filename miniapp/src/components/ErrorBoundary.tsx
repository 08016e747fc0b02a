import { Button, Placeholder } from '@telegram-apps/telegram-ui';
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  children: ReactNode;
}

interface State {
  error: Error | null;
}

/** A page that throws while rendering shows what happened and a way out, not a blank screen. */
export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('page failed to render', error, info.componentStack);
  }

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <Placeholder
        data-testid="page-error"
        header="This screen failed to load"
        description={error.message || 'An unexpected error happened.'}
        action={
          <Button size="m" onClick={() => window.location.reload()}>
            Reload
          </Button>
        }
      />
    );
  }
}
