// Following one project's run over the WebSocket (ARCHITECTURE.md §4; /asyncapi.json).
//
// Each connection gets a new single-use ticket and opens the URL the ticket names (the one
// WebSocket URL of a deployment, or the local gateway's), then subscribes with `after_seq`
// = the last seq shown, so a reconnect resumes: the server replays what was missed and
// nothing is shown twice (a seq at or below the last one is dropped). A dropped connection
// is retried with exponential back-off and full jitter; a ping every 4 minutes keeps the
// connection under API Gateway's 10-minute idle limit. A subscribe the server could not
// complete (an `unavailable` error, or on AWS API Gateway's own "Internal server error"
// frame) is not in effect: the page reconnects the same way and subscribes again.

const PING_EVERY_MS = 4 * 60 * 1000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30 * 1000;
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

// A failure the server had, not a refusal of what the page sent (asyncapi.json: the
// `unavailable` code, and API Gateway's GatewayError frame, which has no `event`).
export function isTransient(frame) {
  return (frame.event === 'error' && frame.error?.code === 'unavailable')
    || (frame.event === undefined && typeof frame.message === 'string');
}

export class LiveRun {
  // onEvent(event) for each project event once, in seq order; onStatus(text, kind) for
  // the connection's state ('live', 'connecting', 'waiting', 'ended', 'error').
  constructor(api, projectId, { afterSeq = 0, onEvent, onStatus }) {
    this.api = api;
    this.projectId = projectId;
    this.lastSeq = afterSeq;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.failures = 0;
    this.connections = 0;
    this.stopped = false;
    this.socket = null;
    this.pinger = null;
    this.retry = null;
    this.live = false;
    this.endedInReplay = false;
  }

  start() {
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.pinger);
    if (this.socket) this.socket.close(1000, 'done');
  }

  async connect() {
    if (this.stopped) return;
    this.onStatus(this.connections === 0 ? 'connecting…' : 'reconnecting…', 'connecting');
    let ticket;
    try {
      ticket = await this.api.ticket();
    } catch (e) {
      // A wrong key will not get better by waiting.
      if (e.status === 401) {
        this.onStatus(`not connected: ${e.message}`, 'error');
        return;
      }
      this.scheduleReconnect(e.retryAfter ? e.retryAfter * 1000 : null);
      return;
    }
    if (this.stopped) return;
    this.connections += 1;
    const socket = new WebSocket(ticket.websocket_url);
    this.socket = socket;
    // Each connection replays what was missed before it is live.
    this.live = false;
    this.endedInReplay = false;
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ action: 'subscribe', project_id: this.projectId, after_seq: this.lastSeq }));
      clearInterval(this.pinger);
      this.pinger = setInterval(() => socket.send(JSON.stringify({ action: 'ping' })), PING_EVERY_MS);
    });
    socket.addEventListener('message', (message) => this.receive(message.data));
    socket.addEventListener('close', () => {
      clearInterval(this.pinger);
      if (this.socket === socket) this.socket = null;
      if (!this.stopped) this.scheduleReconnect(null);
    });
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (isTransient(frame)) {
      // Live, it answered a ping: nothing is lost. Before replay_complete the subscribe
      // is not in effect: close, and the reconnect subscribes again after a back-off.
      if (!this.live && this.socket) this.socket.close(1000, 'subscribe again');
      return;
    }
    switch (frame.event) {
      case 'replay_complete':
        this.failures = 0;
        this.live = true;
        if (this.endedInReplay) {
          this.onStatus('run ended', 'ended');
          this.stop();
          return;
        }
        this.onStatus('live', 'live');
        return;
      case 'pong':
      case 'unsubscribed':
        return;
      case 'error':
        this.onStatus(`the server refused: ${frame.error.message}`, 'error');
        this.stop();
        return;
      default:
        break;
    }
    if (frame.project_id !== this.projectId || typeof frame.seq !== 'number') return;
    if (frame.seq <= this.lastSeq) return;
    this.lastSeq = frame.seq;
    this.onEvent(frame);
    const terminal = frame.event === 'project_deleted'
      || (frame.event === 'status_update' && TERMINAL.has(frame.state));
    if (terminal && this.live) {
      this.onStatus('run ended', 'ended');
      this.stop();
    }
    // In the replay, a terminal status ends the run only if nothing follows it: a FAILED
    // run may have been retried, and the new run's events come after it.
    this.endedInReplay = terminal && !this.live;
  }

  scheduleReconnect(waitMs) {
    if (this.stopped) return;
    this.failures += 1;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.failures - 1));
    const delay = waitMs ?? Math.round(Math.random() * ceiling);
    this.onStatus(`connection lost; retrying in ${Math.max(1, Math.round(delay / 1000))} s`, 'waiting');
    this.retry = setTimeout(() => this.connect(), delay);
  }
}
