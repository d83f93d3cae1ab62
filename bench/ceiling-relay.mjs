// The CEILING for `npm run bench`: the least work a relay on `ws` can do, so the real server's numbers
// can be read as a fraction of what Node + ws allow on this machine. It speaks just enough of the
// protocol (joined / peer_joined / peer_left) for the benchmark's client code to run unchanged, and
// forwards every frame byte for byte to the other peers of its room: no parsing, no validation, no
// limits, no logging. Never use it for anything but benchmarking.
//
// Usage: node bench/ceiling-relay.mjs   (env HOST, PORT; answers GET /health like the real server)
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { WebSocketServer } from 'ws';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8001);

/** room id -> Map(peer id -> socket) */
const rooms = new Map();
let connections = 0;

// Secure mode of the benchmark: the same certificate as the server (BENCH_TLS_CERT / BENCH_TLS_KEY).
const tls = process.env.BENCH_TLS_CERT
  ? { cert: readFileSync(process.env.BENCH_TLS_CERT), key: readFileSync(process.env.BENCH_TLS_KEY ?? '') }
  : null;
const onRequest = (req, res) => {
  if (req.method === 'GET' && req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'healthy', connections, rooms: rooms.size }));
    return;
  }
  res.writeHead(404).end();
};
const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);

// noServer + our own 'upgrade' handler mirrors how a real server routes /ws/{room}; the ws defaults
// otherwise (no permessage-deflate, no client tracking needed since rooms already hold the sockets).
const wss = new WebSocketServer({ noServer: true, clientTracking: false });

server.on('upgrade', (req, socket, head) => {
  const match = /^\/ws\/([^/?#]+)/.exec(req.url ?? '');
  if (!match) {
    socket.destroy();
    return;
  }
  const roomId = decodeURIComponent(match[1]);
  wss.handleUpgrade(req, socket, head, (ws) => join(ws, roomId));
});

function join(ws, roomId) {
  // Same shape as the server's ids (unguessable, url-safe) so message sizes stay comparable.
  const peerId = randomBytes(16).toString('base64url');
  let room = rooms.get(roomId);
  if (!room) {
    room = new Map();
    rooms.set(roomId, room);
  }
  ws.send(JSON.stringify({ type: 'joined', room_id: roomId, peer_id: peerId, peers: [...room.keys()] }));
  const announce = JSON.stringify({ type: 'peer_joined', peer_id: peerId });
  for (const other of room.values()) other.send(announce);
  room.set(peerId, ws);
  connections += 1;

  ws.on('message', (data, isBinary) => {
    // `data` is the received Buffer: re-sent without decoding, as a frame of the same kind.
    for (const [id, other] of room) if (id !== peerId) other.send(data, { binary: isBinary });
  });
  ws.on('close', () => {
    connections -= 1;
    room.delete(peerId);
    if (room.size === 0) {
      rooms.delete(roomId);
      return;
    }
    const left = JSON.stringify({ type: 'peer_left', peer_id: peerId });
    for (const other of room.values()) other.send(left);
  });
  // A reset connection must not crash the relay; the 'close' that follows cleans up.
  ws.on('error', () => {});
}

server.listen(port, host, () => {
  process.stderr.write(`ceiling relay listening on http://${host}:${port}\n`);
});

function shutdown() {
  for (const room of rooms.values()) for (const ws of room.values()) ws.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// The harness passes BENCH_WATCH_STDIN=1 with a stdin pipe: if the harness dies without killing us,
// the pipe closes and we go too instead of lingering on the port.
if (process.env.BENCH_WATCH_STDIN === '1') {
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}
