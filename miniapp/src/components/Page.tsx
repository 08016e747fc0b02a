import { hideBackButton, onBackButtonClick, showBackButton } from '@telegram-apps/sdk-react';
import { useEffect, type ReactNode } from 'react';

interface PageProps {
  /** Show Telegram's BackButton; tab roots and the sign-in page have nowhere to go back to. */
  back?: boolean;
  className?: string;
  children: ReactNode;
}

export function Page({ back = true, className, children }: PageProps) {
  useEffect(() => {
    if (!back) {
      hideBackButton.ifAvailable();
      return;
    }
    showBackButton.ifAvailable();
    const [subscribed, off] = onBackButtonClick.ifAvailable(() => window.history.back());
    return subscribed ? off : undefined;
  }, [back]);

  return <main className={className ? `page ${className}` : 'page'}>{children}</main>;
}
