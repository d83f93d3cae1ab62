import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { Emitter } from './emitter.js';
import {
  browserPeerConnection,
  type DataChannelLike,
  type PeerConnectionFactory,
  type PeerConnectionLike,
} from './peer-connection.js';
import { PeerNegotiator } from './peer-negotiator.js';
import type { PeerId } from './protocol.js';
import type { SignalingClient } from './signaling-client.js';

/** How the mesh sets up each peer connection. */
export interface PeerMeshOptions {
  /** Passed to every new peer connection (ICE servers, for instance). */
  readonly rtcConfiguration?: RTCConfiguration;
  /** Tracks to send to every peer; change later with `setLocalStream`. */
  readonly localStream?: MediaStream | null;
  /**
   * Label of the data channel opened with every peer, or `false` for none. Default `chat`. The
   * channel is pre-negotiated (id 0) on both sides, so it exists as soon as the connection does and
   * neither side has to wait for the other to create it.
   */
  readonly dataChannel?: string | false;
  /** Makes peer connections; defaults to the browser's `RTCPeerConnection`. */
  readonly createPeerConnection?: PeerConnectionFactory;
  /**
   * How long a peer already in the room waits for a newcomer's offer before offering itself.
   * Default 3 s. Letting the newcomer offer first avoids offer collisions at call set-up.
   */
  readonly offerWaitMs?: number;
  readonly clock?: Clock;
}

/** Events a `PeerMesh` emits; every one names the remote peer. */
export interface MeshEvents {
  /** A peer is in the room (its connection follows); `polite` is our role in negotiating with it. */
  peer_added: { readonly peerId: PeerId; readonly polite: boolean };
  /** The peer left (or we rejoined under a new id) and its connection was closed. */
  peer_removed: { readonly peerId: PeerId };
  /** The `RTCPeerConnection.connectionState` of one peer changed. */
  connection_state: { readonly peerId: PeerId; readonly state: RTCPeerConnectionState };
  /** A remote track arrived; `stream` is the remote stream it belongs to, when it has one. */
  track: { readonly peerId: PeerId; readonly track: MediaStreamTrack; readonly stream: MediaStream | null };
  /** The data channel with `peerId` opened; `send` to it works from now on. */
  channel_open: { readonly peerId: PeerId };
  channel_close: { readonly peerId: PeerId };
  /** A data-channel message from `peerId`. */
  data: { readonly peerId: PeerId; readonly data: unknown };
  /** A negotiation step failed; the connection may still recover with the next negotiation. */
  negotiation_error: { readonly peerId: PeerId; readonly error: unknown };
}

interface Connection {
  readonly negotiator: PeerNegotiator;
  readonly channel: DataChannelLike | null;
  senders: RTCRtpSender[];
}

interface RemotePeer {
  readonly id: PeerId;
  readonly polite: boolean;
  connection: Connection | null;
  /** Pending while we wait for the newcomer's offer. */
  offerWait: TimerHandle | null;
}

/**
 * A full mesh over a `SignalingClient`: one `RTCPeerConnection` per other peer in the room, each
 * negotiated with perfect negotiation (the peer with the smaller id is polite), with every message
 * addressed `to` that peer. The newcomer offers to the peers it finds in the room; they answer, and
 * only offer themselves if no offer came within `offerWaitMs`. Renegotiation (media added later,
 * ICE restarts) may start on either side. Connections are closed when the peer leaves and when we
 * rejoin under a new peer id (which the other peers do not know); a resumed session keeps them.
 */
export class PeerMesh extends Emitter<MeshEvents> {
  readonly client: SignalingClient;
  readonly #createPeerConnection: PeerConnectionFactory;
  readonly #dataChannel: string | false;
  readonly #offerWaitMs: number;
  readonly #clock: Clock;
  readonly #peers = new Map<PeerId, RemotePeer>();
  readonly #unsubscribe: Array<() => void>;
  #rtcConfiguration: RTCConfiguration;
  #localStream: MediaStream | null;

  constructor(client: SignalingClient, options: PeerMeshOptions = {}) {
    super();
    this.client = client;
    this.#createPeerConnection = options.createPeerConnection ?? browserPeerConnection;
    this.#dataChannel = options.dataChannel ?? 'chat';
    this.#offerWaitMs = options.offerWaitMs ?? 3000;
    this.#clock = options.clock ?? systemClock;
    this.#rtcConfiguration = options.rtcConfiguration ?? {};
    this.#localStream = options.localStream ?? null;
    this.#unsubscribe = [
      client.on('joined', (message) => {
        if (message.resumed) {
          this.#resumed(message.peers, message.recovered === true);
          return;
        }
        this.#removeAll();
        for (const peerId of message.peers) this.#connect(this.#track(peerId));
      }),
      client.on('ice_servers', ({ iceServers }) => this.#useIceServers(iceServers)),
      client.on('peer_joined', (message) => {
        if (this.#peers.has(message.peer_id)) return;
        const peer = this.#track(message.peer_id);
        peer.offerWait = this.#clock.setTimeout(() => {
          peer.offerWait = null;
          if (this.#peers.get(peer.id) === peer && !peer.connection) this.#connect(peer);
        }, this.#offerWaitMs);
      }),
      client.on('peer_left', (message) => this.#remove(message.peer_id)),
      client.on('offer', (message) => {
        if (!this.#forUs(message.to)) return;
        // An offer may overtake the peer_joined that announces its sender.
        const peer = this.#peers.get(message.from) ?? this.#track(message.from);
        const connection = peer.connection ?? this.#connect(peer);
        void connection.negotiator.handleDescription(message.offer);
      }),
      client.on('answer', (message) => {
        if (!this.#forUs(message.to)) return;
        void this.#peers.get(message.from)?.connection?.negotiator.handleDescription(message.answer);
      }),
      client.on('ice_candidate', (message) => {
        if (!this.#forUs(message.to)) return;
        void this.#peers.get(message.from)?.connection?.negotiator.handleCandidate(message.candidate);
      }),
      client.on('close', (event) => {
        if (!event.willReconnect) this.#removeAll();
      }),
    ];
  }

  /** The other peers in the room, connected or not yet. */
  get peerIds(): PeerId[] {
    return [...this.#peers.keys()];
  }

  /** The peer connection to `peerId` (null before it exists), for stats or extra channels. */
  peerConnection(peerId: PeerId): PeerConnectionLike | null {
    return this.#peers.get(peerId)?.connection?.negotiator.pc ?? null;
  }

  /** Sends a data-channel message to one peer; false when its channel is not open. */
  send(peerId: PeerId, data: string): boolean {
    const channel = this.#peers.get(peerId)?.connection?.channel;
    if (channel?.readyState !== 'open') return false;
    channel.send(data);
    return true;
  }

  /** Sends a data-channel message to every peer whose channel is open; returns how many. */
  broadcast(data: string): number {
    let sent = 0;
    for (const peerId of this.#peers.keys()) if (this.send(peerId, data)) sent += 1;
    return sent;
  }

  /** Replaces the tracks sent to every peer (null: send none); each connection renegotiates. */
  setLocalStream(stream: MediaStream | null): void {
    this.#localStream = stream;
    for (const { connection } of this.#peers.values()) {
      if (!connection) continue;
      for (const sender of connection.senders) connection.negotiator.pc.removeTrack(sender);
      connection.senders = this.#addLocalTracks(connection.negotiator.pc);
    }
  }

  /** Used for connections created from now on (existing ones keep theirs). */
  setRtcConfiguration(configuration: RTCConfiguration): void {
    this.#rtcConfiguration = configuration;
  }

  /** Closes every peer connection and stops following the signaling client. */
  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#removeAll();
  }

  /**
   * The session resumed under the same peer id: connections carry on. Peers that left meanwhile are
   * removed, newcomers connected; ICE restarts only where it is needed: a connection that failed or
   * lost its path, or every one when some signaling was lost (`recovered` false).
   */
  #resumed(peers: readonly PeerId[], recovered: boolean): void {
    const present = new Set(peers);
    for (const peerId of [...this.#peers.keys()]) if (!present.has(peerId)) this.#remove(peerId);
    for (const peerId of peers) if (!this.#peers.has(peerId)) this.#connect(this.#track(peerId));
    for (const { connection } of this.#peers.values()) {
      const pc = connection?.negotiator.pc;
      if (pc && (!recovered || needsIceRestart(pc))) pc.restartIce();
    }
  }

  /** New ICE servers (fresh TURN credentials) for the connections to come and the open ones. */
  #useIceServers(iceServers: RTCIceServer[]): void {
    this.#rtcConfiguration = { ...this.#rtcConfiguration, iceServers };
    for (const [peerId, { connection }] of this.#peers) {
      const pc = connection?.negotiator.pc;
      if (!pc?.setConfiguration) continue;
      try {
        pc.setConfiguration({ ...(pc.getConfiguration?.() ?? this.#rtcConfiguration), iceServers });
      } catch (error) {
        this.emit('negotiation_error', { peerId, error });
      }
    }
  }

  #forUs(to: PeerId | undefined): boolean {
    const self = this.client.peerId;
    return self !== null && (to === undefined || to === self);
  }

  #track(peerId: PeerId): RemotePeer {
    const peer: RemotePeer = {
      id: peerId,
      polite: this.client.peerId! < peerId,
      connection: null,
      offerWait: null,
    };
    this.#peers.set(peerId, peer);
    this.emit('peer_added', { peerId, polite: peer.polite });
    return peer;
  }

  /** Creates the connection; the data channel and tracks added here make the browser negotiate. */
  #connect(peer: RemotePeer): Connection {
    const peerId = peer.id;
    if (peer.offerWait !== null) this.#clock.clearTimeout(peer.offerWait);
    peer.offerWait = null;
    const pc = this.#createPeerConnection(this.#rtcConfiguration);
    const negotiator = new PeerNegotiator({
      pc,
      polite: peer.polite,
      signals: {
        sendDescription: (description) =>
          description.type === 'offer'
            ? this.client.sendOffer(description, peerId)
            : this.client.sendAnswer(description, peerId),
        sendCandidate: (candidate) => this.client.sendIceCandidate(candidate, peerId),
      },
      onError: (error) => this.emit('negotiation_error', { peerId, error }),
    });
    const current = () => this.#peers.get(peerId) === peer && peer.connection?.negotiator === negotiator;
    pc.onconnectionstatechange = () => {
      if (!current()) return;
      this.emit('connection_state', { peerId, state: pc.connectionState });
      // ICE restart is itself a negotiation, so either side may start it.
      if (pc.connectionState === 'failed') pc.restartIce();
    };
    pc.ontrack = (event) => {
      if (current()) this.emit('track', { peerId, track: event.track, stream: event.streams[0] ?? null });
    };
    const channel = this.#dataChannel
      ? pc.createDataChannel(this.#dataChannel, { negotiated: true, id: 0 })
      : null;
    const connection: Connection = { negotiator, channel, senders: [] };
    peer.connection = connection;
    if (channel) {
      channel.onopen = () => current() && this.emit('channel_open', { peerId });
      channel.onclose = () => current() && this.emit('channel_close', { peerId });
      channel.onmessage = (event) => current() && this.emit('data', { peerId, data: event.data });
    }
    connection.senders = this.#addLocalTracks(pc);
    return connection;
  }

  #addLocalTracks(pc: PeerConnectionLike): RTCRtpSender[] {
    const stream = this.#localStream;
    return stream ? stream.getTracks().map((track) => pc.addTrack(track, stream)) : [];
  }

  #remove(peerId: PeerId): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    this.#peers.delete(peerId);
    if (peer.offerWait !== null) this.#clock.clearTimeout(peer.offerWait);
    peer.connection?.channel?.close();
    peer.connection?.negotiator.close();
    this.emit('peer_removed', { peerId });
  }

  #removeAll(): void {
    for (const peerId of [...this.#peers.keys()]) this.#remove(peerId);
  }
}

/** A connection whose media path is gone (or going) needs an ICE restart to find a new one. */
function needsIceRestart(pc: PeerConnectionLike): boolean {
  const state = pc.iceConnectionState ?? pc.connectionState;
  return state === 'failed' || state === 'disconnected';
}
