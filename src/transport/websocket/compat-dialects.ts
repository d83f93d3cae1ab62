import type { Logger } from 'pino';
import type { Config } from '../../config/config.js';
import type { SecurityEvents } from '../../security/security-events.js';
import type { SignalingHub } from '../../signaling/signaling-hub.js';
import type { Dialect } from './dialect.js';
import { PeerjsDialect } from './peerjs-dialect.js';
import { YwebrtcDialect } from './ywebrtc-dialect.js';

/** The parts of the app the other dialects share with the native one. */
export interface CompatDialectsDeps {
  readonly hub: SignalingHub;
  readonly events: SecurityEvents;
  readonly log: Logger;
  readonly randomId: () => string;
}

/**
 * The wire formats of other projects' clients, each on its own path and each switched off by an
 * empty path: PeerJS (`PEERJS_PATH`) and y-webrtc (`YWEBRTC_PATH`). They run through the same
 * gateway as the native dialect, so admission, limits, origin and token checks are the same.
 */
export function compatDialects(
  config: Pick<
    Config,
    | 'peerjsPath'
    | 'peerjsExpireTimeoutSeconds'
    | 'peerjsMaxPeersPerKey'
    | 'ywebrtcPath'
    | 'ywebrtcMaxSubscribersPerTopic'
  >,
  deps: CompatDialectsDeps,
): Dialect[] {
  const dialects: Dialect[] = [];
  if (config.peerjsPath !== null)
    dialects.push(new PeerjsDialect({ path: config.peerjsPath, config, ...deps }));
  if (config.ywebrtcPath !== null)
    dialects.push(new YwebrtcDialect({ path: config.ywebrtcPath, config, ...deps }));
  return dialects;
}
