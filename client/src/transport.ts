/** What a transport reports back to the client. Called at most once each for `open` and `close`. */
export interface TransportEvents {
  open(): void;
  message(text: string): void;
  /** The connection ended; `code` is the WebSocket close code (1006 when it was never opened). */
  close(code: number, reason: string): void;
}

/** One WebSocket-like connection: text frames out, close with a code. */
export interface Transport {
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * Opens one connection to `url`. Injected into the client so tests can use a fake transport and
 * other runtimes (for example the `ws` package in Node) can supply their own WebSocket.
 */
export type TransportFactory = (url: string, events: TransportEvents) => Transport;

/** The minimal WebSocket surface `webSocketTransport` needs; the browser's WebSocket and `ws` fit. */
export interface WebSocketConstructorLike {
  new (
    url: string,
  ): {
    send(data: string): void;
    close(code?: number, reason?: string): void;
    addEventListener(type: 'open' | 'error', listener: () => void): void;
    addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
    addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  };
}

/**
 * A transport over the global `WebSocket` (or the given constructor). Binary frames are ignored
 * because the protocol is JSON text only.
 */
export function webSocketTransport(WebSocketImpl?: WebSocketConstructorLike): TransportFactory {
  return (url, events) => {
    const Impl = WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
    if (!Impl) throw new Error('no WebSocket implementation available; pass one to webSocketTransport()');
    const socket = new Impl(url);
    socket.addEventListener('open', () => events.open());
    socket.addEventListener('message', (event) => {
      if (typeof event.data === 'string') events.message(event.data);
    });
    socket.addEventListener('close', (event) => events.close(event.code, event.reason));
    return {
      send: (text) => socket.send(text),
      close: (code, reason) => socket.close(code, reason),
    };
  };
}
