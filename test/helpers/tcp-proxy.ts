import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a server, to break connections the way networks do: `cut()` drops every
 * connection at once (both ends see the TCP connection end), `blackhole()` silently stops passing
 * bytes while the sockets stay open (neither end notices until its own timeout).
 */
export class TcpProxy {
  readonly port: number;
  readonly #server: Server;
  readonly #pairs: Set<[Socket, Socket]>;

  private constructor(server: Server, port: number, pairs: Set<[Socket, Socket]>) {
    this.#server = server;
    this.port = port;
    this.#pairs = pairs;
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const pairs = new Set<[Socket, Socket]>();
    const server = createServer((downstream) => {
      const upstream = connect(targetPort, '127.0.0.1');
      const pair: [Socket, Socket] = [downstream, upstream];
      pairs.add(pair);
      downstream.pipe(upstream);
      upstream.pipe(downstream);
      const drop = () => {
        pairs.delete(pair);
        downstream.destroy();
        upstream.destroy();
      };
      downstream.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    return new TcpProxy(server, port, pairs);
  }

  /** Ends every proxied connection now, on both sides. */
  cut(): void {
    for (const [down, up] of this.#pairs) {
      down.destroy();
      up.destroy();
    }
    this.#pairs.clear();
  }

  /** Stops passing bytes on every proxied connection; the sockets stay open. */
  blackhole(): void {
    for (const [down, up] of this.#pairs) {
      down.unpipe(up);
      up.unpipe(down);
      down.pause();
      up.pause();
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
