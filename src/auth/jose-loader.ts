/**
 * jose, imported on first use. A development server nobody logs in to never signs or verifies a
 * token, and the library holds ~0.6 MB of heap once loaded (~2 MB of RSS with its compiled code);
 * secure mode loads it at start (`createTokenService` calls `loadJose`), so no connection waits for the import.
 */
let jose: Promise<typeof import('jose')> | undefined;

export function loadJose(): Promise<typeof import('jose')> {
  jose ??= import('jose');
  return jose;
}
