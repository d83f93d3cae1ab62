import type { MemberInfo, RoomEvent } from './broker.js';
import { CloseCode } from './errors.js';
import type { Peer } from './peer.js';
import type { PeerId } from './protocol.js';

/** This instance's view of one room: its local peers and every member across the fleet. */
export interface LocalRoom {
  readonly peers: Map<PeerId, Peer>;
  readonly members: Map<PeerId, MemberInfo>;
  /**
   * Peers whose `left` arrived while a join was in flight. With Redis the join reply and the event
   * travel on different connections, so a member listed in the reply may already have left.
   */
  readonly departed: Set<PeerId>;
  pendingJoins: number;
  ready: Promise<() => Promise<void>>;
}

/**
 * Delivers one room event to this instance's peers of the room, keeping its view of the members:
 * relays to their recipients (never back to the sender), presence once per change, admin kicks,
 * closes and server messages, session markers to the peer they are about. Peers closed by a kick
 * or a room close are added to `kicked`.
 */
export function deliverRoomEvent(room: LocalRoom, event: RoomEvent, kicked: WeakSet<Peer>): void {
  switch (event.kind) {
    case 'relay': {
      if (event.to !== undefined) {
        room.peers.get(event.to)?.sendEncoded(event.payload);
        return;
      }
      for (const [id, peer] of room.peers) if (id !== event.from) peer.sendEncoded(event.payload);
      return;
    }
    case 'joined': {
      const { member } = event;
      const known = room.members.has(member.peerId);
      room.members.set(member.peerId, member);
      if (known) return;
      const message =
        member.username === null
          ? ({ type: 'peer_joined', peer_id: member.peerId } as const)
          : ({ type: 'peer_joined', peer_id: member.peerId, username: member.username } as const);
      for (const [id, peer] of room.peers) if (id !== member.peerId) peer.send(message);
      return;
    }
    case 'left': {
      const known = room.members.delete(event.peerId);
      if (room.pendingJoins > 0) room.departed.add(event.peerId);
      if (!known) return;
      for (const [id, peer] of room.peers)
        if (id !== event.peerId) peer.send({ type: 'peer_left', peer_id: event.peerId });
      return;
    }
    case 'kick':
    case 'close':
      for (const peer of room.peers.values()) {
        if (event.kind === 'kick' && peer.id !== event.peerId) continue;
        kicked.add(peer);
        peer.close(CloseCode.Kicked, event.reason);
      }
      return;
    case 'server': {
      const message = { type: 'server', payload: event.payload } as const;
      if (event.to !== undefined) room.peers.get(event.to)?.send(message);
      else for (const peer of room.peers.values()) peer.send(message);
      return;
    }
    case 'session':
      room.peers.get(event.peerId)?.sessionEvent?.(event);
      return;
  }
}
