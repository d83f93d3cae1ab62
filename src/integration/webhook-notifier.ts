import { randomUUID } from 'node:crypto';
import type { MemberInfo, RoomLifecycle } from '../signaling/broker.js';
import type { RoomId } from '../signaling/room-id.js';
import type { LeaveReason, RoomObserver } from '../signaling/room-observer.js';
import type { RequestSigner } from './request-signer.js';
import { type DeliveryCounts, WebhookEndpoint, type WebhookEvent } from './webhook-endpoint.js';

export interface WebhookNotifierOptions {
  readonly urls: readonly string[];
  readonly signer: RequestSigner;
  readonly capacity: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  /** This instance's id, in every event. */
  readonly instance: string;
  readonly now: () => number;
  readonly onError?: (error: unknown, url: string) => void;
}

/**
 * Turns room life (from the broker: started, finished, reaped members) and peer comings and goings
 * (from the hub) into webhook events, one copy per endpoint, each endpoint with its own bounded
 * queue (`WebhookEndpoint`). Every method only enqueues: nothing here waits on a receiver.
 * In a fleet, `room_started`/`room_finished` come from the one instance whose join or leave the
 * broker found to start or finish the room; peer events from the instance holding the peer.
 */
export class WebhookNotifier implements RoomObserver, RoomLifecycle {
  readonly endpoints: readonly WebhookEndpoint[];
  readonly #options: WebhookNotifierOptions;

  constructor(options: WebhookNotifierOptions) {
    this.#options = options;
    this.endpoints = options.urls.map(
      (url) =>
        new WebhookEndpoint({
          url,
          signer: options.signer,
          capacity: options.capacity,
          timeoutMs: options.timeoutMs,
          maxAttempts: options.maxAttempts,
          ...(options.onError ? { onError: options.onError } : {}),
        }),
    );
  }

  roomStarted(roomId: RoomId, createdAt: number): void {
    this.#emit('room_started', { room_id: roomId, created_at: new Date(createdAt).toISOString() });
  }

  roomFinished(roomId: RoomId): void {
    this.#emit('room_finished', { room_id: roomId });
  }

  memberReaped(roomId: RoomId, member: MemberInfo): void {
    this.peerLeft(roomId, member, 'dropped');
  }

  peerJoined(roomId: RoomId, member: MemberInfo): void {
    this.#emit('peer_joined', { room_id: roomId }, member);
  }

  peerLeft(roomId: RoomId, member: MemberInfo, reason: LeaveReason): void {
    this.#emit('peer_left', { room_id: roomId }, member, reason);
  }

  /** Totals over every endpoint, and events waiting. */
  counts(): DeliveryCounts & { queued: number } {
    const total = { delivered: 0, failed: 0, dropped: 0, queued: 0 };
    for (const e of this.endpoints) {
      total.delivered += e.counts.delivered;
      total.failed += e.counts.failed;
      total.dropped += e.counts.dropped;
      total.queued += e.depth;
    }
    return total;
  }

  /** Gives every queue `graceMs` to drain, then forgets what is left. */
  async close(graceMs: number): Promise<void> {
    await Promise.all(this.endpoints.map((e) => e.close(graceMs)));
  }

  #emit(
    event: WebhookEvent['event'],
    room: WebhookEvent['room'],
    member?: MemberInfo,
    reason?: LeaveReason,
  ): void {
    const payload: WebhookEvent = {
      id: `EV_${randomUUID()}`,
      event,
      created_at: new Date(this.#options.now()).toISOString(),
      instance: this.#options.instance,
      room,
      ...(member ? { peer: { peer_id: member.peerId, username: member.username } } : {}),
      ...(reason ? { reason } : {}),
    };
    for (const endpoint of this.endpoints) endpoint.enqueue(payload);
  }
}
