/**
 * The parts of `RTCPeerConnection` and `RTCDataChannel` the mesh uses. The browser classes fit these
 * interfaces as they are; tests implement them with fakes so negotiation runs without a browser.
 */

/**
 * An event handler property. Declared through a method so its parameter is checked bivariantly,
 * which lets the DOM's handlers (typed with full `Event` subclasses) satisfy these smaller shapes.
 */
export type EventHandler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** An RTCDataChannel as the mesh uses it. */
export interface DataChannelLike {
  readonly label: string;
  readonly readyState: RTCDataChannelState;
  send(data: string): void;
  close(): void;
  onopen: EventHandler<unknown> | null;
  onclose: EventHandler<unknown> | null;
  onmessage: EventHandler<{ readonly data: unknown }> | null;
}

/** An RTCPeerConnection as the negotiator and the mesh use it. */
export interface PeerConnectionLike {
  readonly signalingState: RTCSignalingState;
  readonly connectionState: RTCPeerConnectionState;
  /** Optional in fakes; the mesh falls back to `connectionState`. */
  readonly iceConnectionState?: RTCIceConnectionState;
  readonly localDescription: RTCSessionDescriptionInit | null;
  onnegotiationneeded: EventHandler<unknown> | null;
  onicecandidate: EventHandler<{ readonly candidate: { toJSON(): RTCIceCandidateInit } | null }> | null;
  onconnectionstatechange: EventHandler<unknown> | null;
  ontrack: EventHandler<{
    readonly track: MediaStreamTrack;
    readonly streams: readonly MediaStream[];
  }> | null;
  setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void>;
  setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void>;
  addIceCandidate(candidate?: RTCIceCandidateInit | null): Promise<void>;
  addTrack(track: MediaStreamTrack, ...streams: MediaStream[]): RTCRtpSender;
  removeTrack(sender: RTCRtpSender): void;
  createDataChannel(label: string, init?: RTCDataChannelInit): DataChannelLike;
  restartIce(): void;
  /** Optional in fakes: new ICE servers (fresh TURN credentials) for an existing connection. */
  getConfiguration?(): RTCConfiguration;
  setConfiguration?(configuration: RTCConfiguration): void;
  close(): void;
}

/** Makes the peer connection for one remote peer. */
export type PeerConnectionFactory = (configuration: RTCConfiguration) => PeerConnectionLike;

/** The browser's `RTCPeerConnection`. */
export const browserPeerConnection: PeerConnectionFactory = (configuration) =>
  new RTCPeerConnection(configuration);
