import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AuthGuard } from '../../security/auth-guard.js';
import type { ClientAddress, ClientAddressResolver } from '../../security/client-address.js';
import type { ConnectionCapStore } from '../../security/limit-stores.js';
import type { SecurityEvents } from '../../security/security-events.js';
import { refuseUpgrade } from './upgrade-refusal.js';

const CONNECTION_CAP_RETRY_SECONDS = 5;

export interface UpgradeAdmissionDeps {
  readonly addresses: ClientAddressResolver;
  readonly guard: AuthGuard;
  readonly connections: ConnectionCapStore;
  readonly events: SecurityEvents;
}

/**
 * The first gate of every WebSocket, whatever its dialect: a blocked address or one over
 * `MAX_CONNECTIONS_PER_IP` is answered 429 + `Retry-After` before any WebSocket exists. An admitted
 * client holds one connection slot until its TCP/TLS socket closes, however the connection ends.
 */
export class UpgradeAdmission {
  readonly #deps: UpgradeAdmissionDeps;

  constructor(deps: UpgradeAdmissionDeps) {
    this.#deps = deps;
  }

  /** The admitted client, or null when the upgrade was refused (the socket is then answered). */
  async admit(req: IncomingMessage, socket: Duplex): Promise<ClientAddress | null> {
    const client = this.#deps.addresses.fromRequest(req);
    const blocked = await this.#deps.guard.blockedFor(client, 'upgrade refused while blocked');
    if (blocked !== null) {
      refuseUpgrade(socket, 429, 'Too Many Requests', { 'Retry-After': String(blocked) });
      return null;
    }
    if (!(await this.#deps.connections.tryAcquire(client.key))) {
      this.#deps.events.emit('connection_cap', { ip: client.ip });
      refuseUpgrade(socket, 429, 'Too Many Requests', {
        'Retry-After': String(CONNECTION_CAP_RETRY_SECONDS),
      });
      return null;
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#deps.connections.release(client.key);
    };
    // `on`, not `once`: a socket closes once and `release` is idempotent; `once` would keep a
    // wrapper state and a bound function per connection.
    socket.on('close', release);
    if (socket.destroyed) {
      release();
      return null;
    }
    return client;
  }
}
