import type { MemberInfo, RoomEvent, RoomLifecycle } from '../signaling/broker.js';
import type { PeerId } from '../signaling/protocol.js';
import type { RoomId } from '../signaling/room-id.js';
import type { RedisCommands } from './redis-link.js';
import { indexEntry, splitEntry } from './redis-room-records.js';

/** What rewriting one instance's members needs from its `RedisBroker`. */
export interface MemberRepairContext {
  readonly redis: RedisCommands;
  readonly instanceId: string;
  /** This instance's index of the members it holds. */
  readonly indexKey: string;
  /** The room listing. */
  readonly roomsKey: string;
  readonly lifecycle: RoomLifecycle | null;
  now(): number;
  roomKeys(roomId: RoomId): [string, string];
  /** Removes one member; resolves it, or null when it was not there. */
  leave(roomId: RoomId, peerId: PeerId): Promise<MemberInfo | null>;
  publish(roomId: RoomId, event: RoomEvent): Promise<void>;
}

/**
 * Makes the instance's members in Redis exactly `held`: drops the ones that left while Redis was
 * away (ghosts that kept rooms full), re-adds the ones another instance reaped or a restarted Redis
 * forgot, and announces each change to the room. The caller holds joins back meanwhile.
 */
export async function rewriteHeldMembers(
  held: ReadonlyMap<RoomId, readonly MemberInfo[]>,
  ctx: MemberRepairContext,
): Promise<void> {
  const { redis, instanceId, indexKey, lifecycle } = ctx;
  const stale = new Set(await redis.smembers(indexKey));
  for (const [roomId, members] of held) {
    const entries = members.map((m) => indexEntry(roomId, m.peerId));
    for (const entry of entries) stale.delete(entry);
    if (entries.length > 0) await redis.sadd(indexKey, ...entries);
    const pairs = members.flatMap((m) => [m.peerId, JSON.stringify({ ...m, instance: instanceId })]);
    const [membersKey, metaKey] = ctx.roomKeys(roomId);
    const [removed, added, started, finished] = await redis.signalingReconcile(
      membersKey,
      metaKey,
      instanceId,
      ctx.now(),
      ...pairs,
    );
    if (members.length > 0) await redis.sadd(ctx.roomsKey, roomId);
    if (started === 1) lifecycle?.roomStarted(roomId, ctx.now());
    if (finished === 1) lifecycle?.roomFinished(roomId);
    for (const peerId of removed) await ctx.publish(roomId, { kind: 'left', peerId });
    for (const peerId of added) {
      const member = members.find((m) => m.peerId === peerId);
      if (member) await ctx.publish(roomId, { kind: 'joined', member });
    }
  }
  for (const entry of stale) {
    const [roomId, peerId] = splitEntry(entry);
    if ((await ctx.leave(roomId, peerId)) !== null) await ctx.publish(roomId, { kind: 'left', peerId });
    await redis.srem(indexKey, entry);
  }
}
