import type { DataChannelLike, EventHandler, PeerConnectionLike } from '../../client/src/peer-connection.js';

/** A data channel that never opens by itself; `openNow()` opens it. */
export class FakeDataChannel implements DataChannelLike {
  readonly label: string;
  readyState: RTCDataChannelState = 'connecting';
  readonly sent: string[] = [];
  onopen: EventHandler<unknown> | null = null;
  onclose: EventHandler<unknown> | null = null;
  onmessage: EventHandler<{ readonly data: unknown }> | null = null;

  constructor(label: string) {
    this.label = label;
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(): void {
    this.readyState = 'closed';
  }

  openNow(): void {
    this.readyState = 'open';
    this.onopen?.({});
  }
}

/**
 * The signaling state machine of RTCPeerConnection (offer/answer/rollback, implicit rollback on a
 * colliding remote offer), asynchronous like the real one, with every step logged.
 */
export class FakePeerConnection implements PeerConnectionLike {
  readonly name: string;
  readonly configuration: RTCConfiguration;
  signalingState: RTCSignalingState = 'stable';
  connectionState: RTCPeerConnectionState = 'new';
  localDescription: RTCSessionDescriptionInit | null = null;
  remoteDescription: RTCSessionDescriptionInit | null = null;
  onnegotiationneeded: EventHandler<unknown> | null = null;
  onicecandidate: EventHandler<{ readonly candidate: { toJSON(): RTCIceCandidateInit } | null }> | null =
    null;
  onconnectionstatechange: EventHandler<unknown> | null = null;
  ontrack: PeerConnectionLike['ontrack'] = null;
  readonly log: string[] = [];
  readonly candidates: Array<RTCIceCandidateInit | null | undefined> = [];
  readonly channels: FakeDataChannel[] = [];
  closed = false;
  #descriptions = 0;

  constructor(name: string, configuration: RTCConfiguration = {}) {
    this.name = name;
    this.configuration = configuration;
  }

  async setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    if (description?.type === 'rollback') {
      if (this.signalingState !== 'have-local-offer' && this.signalingState !== 'have-remote-offer') {
        throw new Error(`InvalidStateError: rollback in ${this.signalingState}`);
      }
      this.log.push('rollback');
      this.signalingState = 'stable';
      this.localDescription = null;
      return;
    }
    if (this.signalingState === 'have-remote-offer') {
      this.localDescription = { type: 'answer', sdp: `answer ${this.name} ${++this.#descriptions}` };
      this.signalingState = 'stable';
    } else if (this.signalingState === 'stable' || this.signalingState === 'have-local-offer') {
      this.localDescription = { type: 'offer', sdp: `offer ${this.name} ${++this.#descriptions}` };
      this.signalingState = 'have-local-offer';
    } else {
      throw new Error(`InvalidStateError: setLocalDescription in ${this.signalingState}`);
    }
    this.log.push(`local ${this.localDescription.type}`);
  }

  async setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    await Promise.resolve();
    if (description.type === 'offer') {
      if (this.signalingState === 'have-local-offer') this.log.push('implicit rollback');
      else if (this.signalingState !== 'stable') {
        throw new Error(`InvalidStateError: remote offer in ${this.signalingState}`);
      }
      this.signalingState = 'have-remote-offer';
    } else if (description.type === 'answer') {
      if (this.signalingState !== 'have-local-offer') {
        throw new Error(`InvalidStateError: remote answer in ${this.signalingState}`);
      }
      this.signalingState = 'stable';
    }
    this.remoteDescription = description;
    this.log.push(`remote ${description.type}: ${description.sdp}`);
  }

  async addIceCandidate(candidate?: RTCIceCandidateInit | null): Promise<void> {
    await Promise.resolve();
    if (!this.remoteDescription) throw new Error('InvalidStateError: no remote description');
    this.candidates.push(candidate);
  }

  addTrack(): RTCRtpSender {
    throw new Error('FakePeerConnection.addTrack: media is tested in the browser');
  }

  removeTrack(): void {}

  createDataChannel(label: string): FakeDataChannel {
    const channel = new FakeDataChannel(label);
    this.channels.push(channel);
    return channel;
  }

  restartIce(): void {
    this.log.push('restartIce');
  }

  close(): void {
    this.closed = true;
    this.signalingState = 'closed';
  }

  /** What the browser does after tracks or channels are added. */
  needNegotiation(): void {
    this.onnegotiationneeded?.({});
  }

  /** A gathered candidate, or `null` for end of candidates. */
  gather(candidate: RTCIceCandidateInit | null): void {
    this.onicecandidate?.({ candidate: candidate ? { toJSON: () => candidate } : null });
  }

  setConnectionState(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    this.onconnectionstatechange?.({});
  }
}
