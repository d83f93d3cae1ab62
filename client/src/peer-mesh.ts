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
}

/** Events a `PeerMesh` emits; every one names the remote peer. */
export interface MeshEvents {
  /** A peer connection to `peerId` was created; `polite` is our role in it. */
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

interface RemotePeer {
  readonly id: PeerId;
  readonly negotiator: PeerNegotiator;
  readonly channel: DataChannelLike | null;
  senders: RTCRtpSender[];
}

/**
 * A full mesh over a `SignalingClient`: one `RTCPeerConnection` per other peer in the room, each
 * negotiated with perfect negotiation (the peer with the smaller id is polite), with every message
 * addressed `to` that peer. Connections are created when we join (for the peers already there) and
 * when a peer joins; they are closed when the peer leaves and when we rejoin, because a new join
 * means a new peer id that the other peers do not know.
 */
export class PeerMesh extends Emitter<MeshEvents> {
  readonly client: SignalingClient;
  readonly #createPeerConnection: PeerConnectionFactory;
  readonly #dataChannel: string | false;
  readonly #peers = new Map<PeerId, RemotePeer>();
  readonly #unsubscribe: Array<() => void>;
  #rtcConfiguration: RTCConfiguration;
  #localStream: MediaStream | null;

  constructor(client: SignalingClient, options: PeerMeshOptions = {}) {
    super();
    this.client = client;
    this.#createPeerConnection = options.createPeerConnection ?? browserPeerConnection;
    this.#dataChannel = options.dataChannel ?? 'chat';
    this.#rtcConfiguration = options.rtcConfiguration ?? {};
    this.#localStream = options.localStream ?? null;
    this.#unsubscribe = [
      client.on('joined', (message) => {
        this.#removeAll();
        for (const peerId of message.peers) this.#add(peerId);
      }),
      client.on('peer_joined', (message) => {
        if (!this.#peers.has(message.peer_id)) this.#add(message.peer_id);
      }),
      client.on('peer_left', (message) => this.#remove(message.peer_id)),
      client.on('offer', (message) => {
        // An offer may overtake the peer_joined that announces its sender.
        const peer = this.#forUs(message.to)
          ? (this.#peers.get(message.from) ?? this.#add(message.from))
          : null;
        void peer?.negotiator.handleDescription(message.offer);
      }),
      client.on('answer', (message) => {
        if (this.#forUs(message.to))
          void this.#peers.get(message.from)?.negotiator.handleDescription(message.answer);
      }),
      client.on('ice_candidate', (message) => {
        if (this.#forUs(message.to))
          void this.#peers.get(message.from)?.negotiator.handleCandidate(message.candidate);
      }),
      client.on('close', (event) => {
        if (!event.willReconnect) this.#removeAll();
      }),
    ];
  }

  /** The remote peers we hold a connection to. */
  get peerIds(): PeerId[] {
    return [...this.#peers.keys()];
  }

  /** The peer connection to `peerId`, for anything the mesh does not cover (stats, extra channels). */
  peerConnection(peerId: PeerId): PeerConnectionLike | null {
    return this.#peers.get(peerId)?.negotiator.pc ?? null;
  }

  /** Sends a data-channel message to one peer; false when its channel is not open. */
  send(peerId: PeerId, data: string): boolean {
    const channel = this.#peers.get(peerId)?.channel;
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
    for (const peer of this.#peers.values()) {
      for (const sender of peer.senders) peer.negotiator.pc.removeTrack(sender);
      peer.senders = this.#addLocalTracks(peer.negotiator.pc);
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

  #forUs(to: PeerId | undefined): boolean {
    const self = this.client.peerId;
    return self !== null && (to === undefined || to === self);
  }

  #add(peerId: PeerId): RemotePeer {
    const polite = this.client.peerId! < peerId;
    const pc = this.#createPeerConnection(this.#rtcConfiguration);
    const negotiator = new PeerNegotiator({
      pc,
      polite,
      signals: {
        sendDescription: (description) =>
          description.type === 'offer'
            ? this.client.sendOffer(description, peerId)
            : this.client.sendAnswer(description, peerId),
        sendCandidate: (candidate) => this.client.sendIceCandidate(candidate, peerId),
      },
      onError: (error) => this.emit('negotiation_error', { peerId, error }),
    });
    pc.onconnectionstatechange = () => {
      if (this.#peers.get(peerId)?.negotiator !== negotiator) return;
      this.emit('connection_state', { peerId, state: pc.connectionState });
      // ICE restart is itself a negotiation, so either side may start it.
      if (pc.connectionState === 'failed') pc.restartIce();
    };
    pc.ontrack = (event) => {
      if (this.#peers.get(peerId)?.negotiator !== negotiator) return;
      this.emit('track', { peerId, track: event.track, stream: event.streams[0] ?? null });
    };
    const channel = this.#dataChannel
      ? pc.createDataChannel(this.#dataChannel, { negotiated: true, id: 0 })
      : null;
    const peer: RemotePeer = { id: peerId, negotiator, channel, senders: [] };
    this.#peers.set(peerId, peer);
    if (channel) {
      const current = () => this.#peers.get(peerId) === peer;
      channel.onopen = () => current() && this.emit('channel_open', { peerId });
      channel.onclose = () => current() && this.emit('channel_close', { peerId });
      channel.onmessage = (event) => current() && this.emit('data', { peerId, data: event.data });
    }
    peer.senders = this.#addLocalTracks(pc);
    this.emit('peer_added', { peerId, polite });
    return peer;
  }

  #addLocalTracks(pc: PeerConnectionLike): RTCRtpSender[] {
    const stream = this.#localStream;
    return stream ? stream.getTracks().map((track) => pc.addTrack(track, stream)) : [];
  }

  #remove(peerId: PeerId): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    this.#peers.delete(peerId);
    peer.channel?.close();
    peer.negotiator.close();
    this.emit('peer_removed', { peerId });
  }

  #removeAll(): void {
    for (const peerId of [...this.#peers.keys()]) this.#remove(peerId);
  }
}
