/**
 * Shown when the app cannot start at all (the Telegram bridge or the SDK failed). It uses no
 * TelegramUI component, because AppRoot itself may be what failed.
 */
export function StartupError({ error }: { error: unknown }) {
  const detail = error instanceof Error && error.message ? error.message : String(error);
  return (
    <main className="startup-error" data-testid="startup-error">
      <h1>signalhub could not start</h1>
      <p>Close the app and open it again from the bot. If it keeps happening, contact support.</p>
      <pre>{detail}</pre>
    </main>
  );
}
