import type { RawData, WebSocket } from 'ws';
import { CloseCode } from '../../signaling/errors.js';
import type { ClientConnection } from './client-connection.js';

/** How long a connection without a token in its URL or headers has to send one as its first message. */
export const TOKEN_MESSAGE_TIMEOUT_MS = 5000;

/** Reads a dialect's auth message: the token it carries, or null when the frame is not one. */
export type TokenMessageReader = (data: RawData, isBinary: boolean) => string | null;

/** Frames that arrived after the token message but before the session opened, in order. */
export type EarlyFrames = ReadonlyArray<readonly [RawData, boolean]>;

/**
 * Lets a connection send its token as the first message instead of in the URL (where proxies log
 * it). Reads frames until the first one: when `read` finds a token there, resolves with it and the
 * frames that came right behind it (the socket is paused again, so these are few); otherwise, or
 * when nothing comes within `timeoutMs`, closes the connection with 4401 and resolves null. Nothing
 * is sent to the client meanwhile: its `joined` waits for the token's verdict.
 */
export function readTokenMessage(
  connection: ClientConnection,
  read: TokenMessageReader,
  timeoutMs: number = TOKEN_MESSAGE_TIMEOUT_MS,
): Promise<{ token: string; early: EarlyFrames } | null> {
  const ws: WebSocket = connection.ws;
  return new Promise((resolve) => {
    const early: Array<readonly [RawData, boolean]> = [];
    let token: string | null = null;
    const finish = (result: { token: string; early: EarlyFrames } | null) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      resolve(result);
    };
    const onMessage = (data: RawData, isBinary: boolean) => {
      if (token !== null) {
        early.push([data, isBinary]);
        return;
      }
      token = read(data, isBinary);
      if (token === null) {
        connection.close(CloseCode.Unauthorized, 'expected {"type":"auth","token"} as the first message');
        finish(null);
        return;
      }
      ws.pause();
      // Frames parsed from the same read arrive synchronously after this one; keep them.
      setImmediate(() => finish({ token: token!, early }));
    };
    const onClose = () => finish(null);
    const timer = setTimeout(() => {
      connection.close(CloseCode.Unauthorized, 'missing token');
      finish(null);
    }, timeoutMs);
    ws.on('message', onMessage);
    ws.once('close', onClose);
    ws.resume();
  });
}
