// Bundled by test/helpers/dialect-pages.ts for the browser tests: the real yjs + y-webrtc clients,
// driven by the test through `window.dialectTest`.
import { WebrtcProvider } from 'y-webrtc';
import * as Y from 'yjs';

/** What the test calls in the page. */
export interface YwebrtcPageApi {
  /** Shares a fresh Y.Doc as `room` through the signaling server at `url` (no ICE servers). */
  start(room: string, url: string): void;
  set(key: string, value: string): void;
  get(key: string): string | undefined;
  /**
   * WebRTC connections to other providers that are up (a conn is listed as soon as it is created,
   * before its data channel opens): proof the doc did not sync through BroadcastChannel.
   */
  webrtcPeers(): number;
  /** Signaling connections that are open. */
  signalingConnected(): number;
}

const doc = new Y.Doc();
let provider: WebrtcProvider | null = null;

const api: YwebrtcPageApi = {
  start: (room, url) => {
    provider = new WebrtcProvider(room, doc, {
      signaling: [url],
      filterBcConns: true,
      peerOpts: { config: { iceServers: [] } },
    });
  },
  set: (key, value) => doc.getMap<string>('shared').set(key, value),
  get: (key) => doc.getMap<string>('shared').get(key),
  webrtcPeers: () =>
    [...(provider?.room?.webrtcConns.values() ?? [])].filter((conn) => conn.connected).length,
  signalingConnected: () => provider?.signalingConns.filter((c) => c.connected).length ?? 0,
};

(window as unknown as { dialectTest: YwebrtcPageApi }).dialectTest = api;
