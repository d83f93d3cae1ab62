// The call panels shared by simple_client.html and secure_client.html: room, peers, video, chat.
// Everything is built with DOM APIs and textContent: the server's CSP forbids inline scripts and
// styles, and nothing a peer sends is ever interpreted as HTML.
import { fetchIceServers, PeerMesh, SignalingClient } from '/client/signaling-client.js';

const ROOM_ID = /^[A-Za-z0-9_.-]{1,64}$/;

const STATE_LABELS = {
  idle: 'not connected',
  connecting: 'connecting…',
  open: 'joining…',
  joined: 'joined',
  reconnecting: 'reconnecting…',
  closed: 'disconnected',
};

const ROUTE_LABELS = { host: 'direct', srflx: 'direct (NAT)', prflx: 'direct (NAT)', relay: 'relayed' };

const CLOSE_EXPLANATIONS = {
  1000: 'closed',
  1001: 'the server is restarting',
  1006: 'the connection was lost',
  1009: 'a message was too large',
  4400: 'the room id is not valid',
  4401: 'the server needs a valid sign-in token',
  4403: 'the server does not allow this page’s origin',
  4409: 'the room is full',
  4429: 'too many messages were sent',
};

function element(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found;
}

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Wires the call panels of an example page. `getToken` (secure page) is handed to the
 * SignalingClient, which calls it to connect, to refresh the token and after a 4401 close.
 * Returns `{ leave }` so the page can end the call, for example on sign-out.
 */
export function mountCallUi({ getToken } = {}) {
  const explainClose = (code) =>
    code === 4401 && !getToken
      ? 'this server requires signing in; use the secure client'
      : (CLOSE_EXPLANATIONS[code] ?? `connection closed (code ${code})`);

  const ui = {
    joinForm: element('join-form'),
    roomInput: element('room-id'),
    useMedia: element('use-media'),
    joinButton: element('join'),
    leaveButton: element('leave'),
    connectionState: element('connection-state'),
    peerId: element('peer-id'),
    notice: element('notice'),
    mediaNotice: element('media-notice'),
    peerCount: element('peer-count'),
    noPeers: element('no-peers'),
    peerList: element('peer-list'),
    localTile: element('local-tile'),
    localVideo: element('local-video'),
    remoteVideos: element('remote-videos'),
    noVideo: element('no-video'),
    chatLog: element('chat-log'),
    chatForm: element('chat-form'),
    chatInput: element('chat-input'),
    chatSend: element('chat-send'),
  };

  const requestedRoom = new URLSearchParams(location.search).get('room');
  if (requestedRoom && ROOM_ID.test(requestedRoom)) ui.roomInput.value = requestedRoom;

  /** The current call: { client, mesh, stream, names, peers: Map<peerId, {item, badge, chat, tile}> }. */
  let session = null;
  let joining = false;

  ui.joinForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void join();
  });
  ui.leaveButton.addEventListener('click', () => leave());
  ui.chatForm.addEventListener('submit', (event) => {
    event.preventDefault();
    sendChat();
  });
  window.addEventListener('pagehide', () => leave());

  async function join() {
    if (session || joining) return;
    const room = ui.roomInput.value.trim();
    if (!ROOM_ID.test(room) || room === '.' || room === '..') {
      showNotice('A room id is 1 to 64 letters, digits, “_”, “-” or “.”.', true);
      return;
    }
    joining = true;
    setJoinControls(true);
    hideNotice();
    let stream = null;
    hideMediaNotice();
    if (ui.useMedia.checked) {
      if (!navigator.mediaDevices) {
        showMediaNotice(`${insecureContextExplanation()} Joining without camera and microphone.`);
      } else {
        try {
          stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        } catch (error) {
          showMediaNotice(
            `Camera and microphone are not available (${error?.name ?? error}); joining without them.`,
          );
        }
      }
    }
    // One token for both: the ICE server list needs it when the server requires sign-in.
    const grant = getToken
      ? await Promise.resolve()
          .then(getToken)
          .catch(() => null)
      : null;
    const token = typeof grant === 'string' ? grant : (grant?.token ?? null);
    const iceServers = await fetchIceServers(location.origin, undefined, undefined, token);
    const client = new SignalingClient({ url: location.origin, room, token: grant ?? undefined, getToken });
    const mesh = new PeerMesh(client, { rtcConfiguration: { iceServers }, localStream: stream });
    const current = { client, mesh, stream, names: new Map(), peers: new Map() };
    session = current;
    joining = false;
    follow(current);
    if (stream) {
      ui.localVideo.srcObject = stream;
      ui.localTile.hidden = false;
    }
    updateVideoHint();
    ui.leaveButton.disabled = false;
    history.replaceState(null, '', `${location.pathname}?room=${encodeURIComponent(room)}`);
    addSystemLine(`Joining room “${room}”…`);
    client.connect();
  }

  /** Ends the call; `reason` (a final close) stays on screen. */
  function leave(reason) {
    const ended = session;
    if (!ended) return;
    session = null;
    ended.mesh.close();
    ended.client.disconnect();
    for (const track of ended.stream?.getTracks() ?? []) track.stop();
    ui.localVideo.srcObject = null;
    ui.localTile.hidden = true;
    ui.peerList.replaceChildren();
    ui.remoteVideos.replaceChildren();
    ui.peerId.textContent = '–';
    setConnectionState('idle');
    setJoinControls(false);
    ui.leaveButton.disabled = true;
    updatePeerCount();
    updateChatControls();
    updateVideoHint();
    if (reason) showNotice(reason, true);
    else hideNotice();
    addSystemLine(reason ?? 'You left the room.');
  }

  function follow(current) {
    const { client, mesh } = current;
    const active = () => session === current;
    const label = (peerId) => {
      const name = current.names.get(peerId);
      return name ? `${name} (${peerId.slice(0, 6)})` : `peer ${peerId.slice(0, 6)}`;
    };

    client.on('state', ({ state }) => active() && setConnectionState(state));
    client.on('joined', (message) => {
      ui.peerId.textContent = message.peer_id;
      for (const { peer_id: id, username } of message.peer_info ?? []) {
        if (username) current.names.set(id, username);
        const entry = current.peers.get(id);
        if (entry) entry.name.textContent = label(id);
      }
      hideNotice();
      if (message.resumed) {
        // Same peer id, nothing missed: the peer connections carried on through the blip.
        addSystemLine(
          message.recovered
            ? 'Reconnected; the call went on.'
            : 'Reconnected; some signaling was lost, so the connections renegotiate.',
        );
        return;
      }
      if (message.resume_refused)
        addSystemLine(`Could not resume the call (${message.resume_refused}); joined again.`);
      const others = message.peers.length;
      addSystemLine(
        others === 0
          ? 'Joined. Waiting for someone else…'
          : `Joined with ${others} other peer${others > 1 ? 's' : ''}.`,
      );
    });
    client.on('peer_joined', (message) => {
      if (message.username) current.names.set(message.peer_id, message.username);
      const entry = current.peers.get(message.peer_id);
      if (entry) entry.name.textContent = label(message.peer_id);
      addSystemLine(`${label(message.peer_id)} joined.`);
    });
    client.on('peer_left', (message) => addSystemLine(`${label(message.peer_id)} left.`));
    client.on('reconnecting', ({ attempt, delayMs, code }) => {
      // The call is not torn down: peer connections keep going, and the session resumes.
      showNotice(
        `Reconnecting… (${explainClose(code)}; next try in ${(delayMs / 1000).toFixed(1)} s, attempt ${attempt}). The call goes on meanwhile.`,
      );
    });
    client.on('close', ({ code, willReconnect }) => {
      if (!willReconnect && active()) leave(`Disconnected: ${explainClose(code)}.`);
    });
    client.on('error', (message) => showNotice(`The server refused a message: ${message.message}`, true));
    client.on('client_error', ({ error, during }) => console.warn(`signaling client (${during}):`, error));

    mesh.on('peer_added', ({ peerId }) => {
      const item = make('li');
      item.dataset.peerId = peerId;
      item.dataset.testid = 'peer';
      const name = make('span', 'peer-name', label(peerId));
      const badges = make('span', 'peer-badges');
      const badge = make('span', 'badge', 'new');
      badge.dataset.role = 'connection';
      const chat = make('span', 'badge', 'chat');
      chat.dataset.role = 'chat';
      chat.dataset.state = 'closed';
      chat.title = 'data channel';
      const route = make('span', 'badge');
      route.dataset.role = 'route';
      route.hidden = true;
      badges.append(badge, route, chat);
      item.append(name, badges);
      ui.peerList.append(item);
      current.peers.set(peerId, { item, name, badge, chat, route, tile: null });
      setPeerState(peerId, 'new');
      updatePeerCount();
    });
    mesh.on('peer_removed', ({ peerId }) => {
      const entry = current.peers.get(peerId);
      current.peers.delete(peerId);
      entry?.item.remove();
      entry?.tile?.remove();
      updatePeerCount();
      updateChatControls();
      updateVideoHint();
    });
    mesh.on('connection_state', ({ peerId, state }) => {
      setPeerState(peerId, state);
      if (state === 'connected') void showRoute(peerId, mesh.peerConnection(peerId));
    });
    mesh.on('channel_open', ({ peerId }) => setChannel(peerId, true));
    mesh.on('channel_close', ({ peerId }) => setChannel(peerId, false));
    mesh.on('data', ({ peerId, data }) => addChatLine(label(peerId), String(data), peerId));
    mesh.on('track', ({ peerId, stream }) => {
      const entry = current.peers.get(peerId);
      if (!entry || !stream) return;
      if (!entry.tile) {
        entry.tile = make('figure', 'tile remote');
        entry.tile.dataset.peerId = peerId;
        const video = make('video');
        video.autoplay = true;
        video.playsInline = true;
        entry.tile.append(video, make('figcaption', '', label(peerId)));
        ui.remoteVideos.append(entry.tile);
      }
      const video = entry.tile.querySelector('video');
      if (video.srcObject !== stream) {
        video.srcObject = stream;
        // Autoplay with sound can be refused without a user gesture; muted video still plays.
        video.play().catch(() => {
          video.muted = true;
          video.play().catch(() => {});
        });
      }
      updateVideoHint();
    });
    mesh.on('negotiation_error', ({ peerId, error }) => console.warn(`negotiation with ${peerId}:`, error));
  }

  function setPeerState(peerId, state) {
    const entry = session?.peers.get(peerId);
    if (!entry) return;
    entry.item.dataset.state = state;
    entry.badge.dataset.state = state;
    entry.badge.textContent = state;
  }

  /** Shows whether the media path is direct or relayed, from the selected ICE candidate pair. */
  async function showRoute(peerId, pc) {
    let type = null;
    try {
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((report) => {
        if (report.type === 'transport' && report.selectedCandidatePairId)
          pair = stats.get(report.selectedCandidatePairId);
      });
      if (!pair) {
        stats.forEach((report) => {
          if (report.type === 'candidate-pair' && report.nominated && report.state === 'succeeded')
            pair = report;
        });
      }
      type = (pair && stats.get(pair.localCandidateId)?.candidateType) ?? null;
    } catch {
      return;
    }
    const entry = session?.peers.get(peerId);
    if (!entry || !type) return;
    entry.item.dataset.route = type;
    entry.route.textContent = ROUTE_LABELS[type] ?? type;
    entry.route.title = `local ICE candidate type: ${type}`;
    entry.route.hidden = false;
  }

  function setChannel(peerId, open) {
    const entry = session?.peers.get(peerId);
    if (!entry) return;
    entry.item.dataset.channel = open ? 'open' : 'closed';
    entry.chat.dataset.state = open ? 'connected' : 'closed';
    updateChatControls();
  }

  function sendChat() {
    const text = ui.chatInput.value.trim();
    if (!text || !session) return;
    if (session.mesh.broadcast(text) === 0) {
      addSystemLine('Nobody is connected yet; the message was not sent.');
      return;
    }
    addChatLine('You', text, 'me');
    ui.chatInput.value = '';
    ui.chatInput.focus();
  }

  function addChatLine(who, text, from) {
    const line = make('p', from === 'me' ? 'mine' : '');
    line.dataset.from = from;
    line.append(make('span', 'who', who), make('span', 'text', text));
    appendToLog(line);
  }

  function addSystemLine(text) {
    appendToLog(make('p', 'system', text));
  }

  function appendToLog(line) {
    const atBottom = ui.chatLog.scrollHeight - ui.chatLog.scrollTop - ui.chatLog.clientHeight < 40;
    ui.chatLog.append(line);
    if (atBottom) ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
  }

  function setConnectionState(state) {
    ui.connectionState.dataset.state = state;
    ui.connectionState.textContent = STATE_LABELS[state] ?? state;
  }

  function setJoinControls(busy) {
    ui.joinButton.disabled = busy;
    ui.roomInput.disabled = busy;
    ui.useMedia.disabled = busy;
  }

  function updatePeerCount() {
    const count = session?.peers.size ?? 0;
    ui.peerCount.textContent = String(count);
    ui.noPeers.hidden = count > 0;
  }

  function updateChatControls() {
    const open = [...(session?.peers.values() ?? [])].some((entry) => entry.item.dataset.channel === 'open');
    ui.chatInput.disabled = !open;
    ui.chatSend.disabled = !open;
  }

  function updateVideoHint() {
    ui.noVideo.hidden = !ui.localTile.hidden || ui.remoteVideos.children.length > 0;
  }

  function showNotice(text, isError = false) {
    ui.notice.textContent = text;
    ui.notice.classList.toggle('error', isError);
    ui.notice.hidden = false;
  }

  function hideNotice() {
    ui.notice.hidden = true;
    ui.notice.textContent = '';
  }

  // Kept apart from the connection notice, which `joined` clears: a call without media stays
  // explained for as long as it lasts.
  function showMediaNotice(text) {
    ui.mediaNotice.textContent = text;
    ui.mediaNotice.hidden = false;
  }

  function hideMediaNotice() {
    ui.mediaNotice.hidden = true;
    ui.mediaNotice.textContent = '';
  }

  /** Browsers offer camera and microphone only to secure contexts: HTTPS, or localhost. */
  function insecureContextExplanation() {
    return `Camera and microphone need a secure context: this page is at ${location.origin}, which is neither HTTPS nor localhost. Open it over HTTPS (./start_secure_server.sh) or as http://localhost on this machine.`;
  }

  if (!window.isSecureContext) showMediaNotice(insecureContextExplanation());

  return { leave: () => leave() };
}
