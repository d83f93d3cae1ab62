/**
 * The browser client for the signaling server: `SignalingClient` (one connection to one room, with
 * heartbeat, token refresh and reconnect) and `PeerMesh` (a perfect-negotiation full mesh of
 * RTCPeerConnections on top of it), plus the helpers the example pages use and the server's catalog
 * of close and error codes.
 */
export { CloseCode, ErrorCode } from '../../src/signaling/errors.js';
export { type Clock, systemClock, type TimerHandle } from './clock.js';
export { Emitter, type Listener } from './emitter.js';
export { fallbackIceServers, fetchIceConfig, fetchIceServers, type IceConfig } from './ice-servers.js';
export {
  browserPeerConnection,
  type DataChannelLike,
  type EventHandler,
  type PeerConnectionFactory,
  type PeerConnectionLike,
} from './peer-connection.js';
export { type MeshEvents, PeerMesh, type PeerMeshOptions } from './peer-mesh.js';
export { type NegotiatorSignals, PeerNegotiator, type PeerNegotiatorOptions } from './peer-negotiator.js';
export {
  type ClientMessage,
  type PeerId,
  parseServerMessage,
  type ServerMessage,
  type ServerMessageOf,
  type ServerMessageType,
  signalingUrl,
  type WireCandidate,
  type WireDescription,
} from './protocol.js';
export {
  type BackoffOptions,
  backoffDelay,
  type CloseVerdict,
  classifyClose,
  defaultBackoff,
} from './reconnect-policy.js';
export { type ResumeParams, SessionResume } from './session-resume.js';
export {
  type ConnectionEvents,
  type ConnectionState,
  type ServerMessageEvents,
  SignalingClient,
  type SignalingClientOptions,
  type SignalingEvents,
} from './signaling-client.js';
export { type GetToken, jwtExpiresIn, LoginError, login, type TokenGrant, toGrant } from './token.js';
export {
  type Transport,
  type TransportEvents,
  type TransportFactory,
  type WebSocketConstructorLike,
  webSocketTransport,
} from './transport.js';
