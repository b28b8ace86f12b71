// The interview socket, protocol openhire.v1 (docs/protocol.md), for candidates and watchers.
//
// - A socket opens with a single-use ticket from POST /interviews/{id}/ticket, never a token.
// - Every message carries a client id and stays in the outbox until its ack: after a reconnect
//   whatever was not acked is sent again, and the server stores it once (ids are deduplicated).
//   The candidate's outbox is kept in sessionStorage, so even a reload does not lose an answer.
// - A watcher remembers the highest offset it processed and reconnects with since=that offset.
// - Screenshots are binary frames: 4-byte big-endian header length, JSON header, JPEG bytes.
// - The close code says whether to come back (section 2 of the protocol); otherwise reconnect
//   with backoff, at once when the browser says it is back online.

import { ApiError, api } from "./api.js";

export const SUBPROTOCOL = "openhire.v1";

// Close codes after which reconnecting cannot help.
const FINAL_CODES = new Map([
  [1000, "ended"],
  [4000, "protocol_unsupported"],
  [4003, "forbidden"],
  [4004, "not_found"],
  [4009, "interview_ended"],
  [4010, "replaced"],
]);
const CONNECT_TIMEOUT_MS = 10000;
const MAX_BUFFERED_BYTES = 512 * 1024;

export function newClientId(prefix = "c") {
  return `${prefix}-${crypto.randomUUID()}`;
}

/** The delay before reconnect attempt `attempt` (0-based) after a close with `code`. */
export function reconnectDelay(code, attempt) {
  if (code === 4001 || code === 4008) return attempt === 0 ? 0 : Math.min(5000, 250 * 2 ** attempt);
  if (code === 1012) return 1000 + Math.random() * 4000;
  const base = Math.min(10000, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

export function screenshotFrame(clientId, takenAt, image) {
  const header = new TextEncoder().encode(JSON.stringify({ type: "screenshot", client_id: clientId, taken_at: takenAt }));
  const frame = new Uint8Array(4 + header.length + image.byteLength);
  new DataView(frame.buffer).setUint32(0, header.length, false);
  frame.set(header, 4);
  frame.set(new Uint8Array(image), 4 + header.length);
  return frame.buffer;
}

export class InterviewSocket {
  /**
   * role: "candidate" | "watcher". Listen with on(type, handler) for server messages by type
   * ("session.ready", "question.delta", "question.done", "event", "time.warning",
   * "interview.ended", "ack", "error") and for "status" ({state, delay, code, reason}) and
   * "closed" ({code, reason, why}).
   */
  constructor(interviewId, role, { since = 0 } = {}) {
    this.interviewId = interviewId;
    this.role = role;
    this.lastOffset = since;
    this.ready = null;
    this.state = "idle";
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.ended = false;
    this.timer = null;
    this.connectSeq = 0;
    this.handlers = new Map();
    this.waiting = new Map(); // client_id -> {resolve, reject} for send()'s promises
    this.storageKey = role === "candidate" ? `openhire.outbox.${interviewId}` : null;
    this.outbox = this.loadOutbox();
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.drop("offline");
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type).delete(handler);
  }

  emit(type, data) {
    for (const handler of this.handlers.get(type) || []) {
      try {
        handler(data);
      } catch (error) {
        console.error(error);
      }
    }
  }

  setState(state, extra = {}) {
    this.state = state;
    this.emit("status", { state, ...extra });
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.ready !== null;
  }

  // --- lifecycle ---------------------------------------------------------------------------

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  /** Leave for good (the user navigated away): no reconnect. The outbox is kept. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    if (this.ws) {
      const ws = this.ws;
      this.detach();
      ws.close(1000, "leaving");
    }
  }

  async connect() {
    clearTimeout(this.timer);
    if (this.stopped || this.ended) return;
    // A newer attempt (the browser came back online meanwhile) supersedes this one.
    const seq = ++this.connectSeq;
    this.setState("connecting", { attempt: this.attempt });
    let ticket;
    try {
      ticket = await api.post(`/interviews/${this.interviewId}/ticket`);
    } catch (error) {
      if (this.stopped || seq !== this.connectSeq) return;
      if (error instanceof ApiError && [401, 403, 404, 409].includes(error.status)) {
        const why = error.code === "interview_ended" ? "interview_ended" : error.code;
        this.finish(null, error.message, why);
        return;
      }
      this.scheduleReconnect(null, error.message);
      return;
    }
    if (this.stopped || seq !== this.connectSeq) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    let url = `${scheme}//${location.host}${ticket.url}`;
    if (this.role === "watcher") url += `&since=${this.lastOffset}`;
    const ws = new WebSocket(url, [SUBPROTOCOL]);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.ready = null;
    const openTimer = setTimeout(() => {
      if (this.ws === ws && this.ready === null) this.drop("timeout");
    }, CONNECT_TIMEOUT_MS);
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      if (typeof event.data !== "string") return; // the server sends text frames only
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "session.ready") clearTimeout(openTimer);
      this.receive(message);
    };
    ws.onclose = (event) => {
      clearTimeout(openTimer);
      if (this.ws !== ws) return;
      this.detach();
      this.closed(event.code, event.reason);
    };
    ws.onerror = () => {}; // a close event always follows, with the code that matters
  }

  detach() {
    if (!this.ws) return;
    this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
    this.ws = null;
    this.ready = null;
  }

  /** Give up on the current socket now (the browser went offline, or it never opened). */
  drop(why) {
    if (!this.ws || this.stopped) return;
    const ws = this.ws;
    this.detach();
    try {
      ws.close(1000, why);
    } catch {
      // Closing a socket that never opened may throw; it is gone either way.
    }
    this.closed(1006, why);
  }

  reconnectNow() {
    if (this.stopped || this.ended || this.ws) return;
    this.attempt = 0;
    this.connect();
  }

  closed(code, reason) {
    if (this.stopped) return;
    if (this.ended || FINAL_CODES.has(code)) {
      this.finish(code, reason, this.ended ? "ended" : FINAL_CODES.get(code));
      return;
    }
    this.scheduleReconnect(code, reason);
  }

  scheduleReconnect(code, reason) {
    // Offline, the browser's "online" event reconnects at once (reconnectNow); a slow retry
    // meanwhile covers a browser that is wrong about being offline.
    const offline = navigator.onLine === false;
    const delay = offline ? Math.max(5000, reconnectDelay(code, this.attempt)) : reconnectDelay(code, this.attempt);
    this.attempt += 1;
    this.setState(offline ? "offline" : "reconnecting", { delay, code, reason });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  finish(code, reason, why) {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    if (why === "ended" || why === "interview_ended") {
      this.outbox = [];
      this.saveOutbox();
    }
    this.setState("closed", { code, reason, why });
    this.emit("closed", { code, reason, why });
    for (const { reject } of this.waiting.values()) reject(new Error(reason || "the interview socket closed"));
    this.waiting.clear();
  }

  // --- incoming ----------------------------------------------------------------------------

  receive(message) {
    switch (message.type) {
      case "session.ready":
        this.ready = message;
        this.attempt = 0;
        this.setState("open", { resumed: message.resumed });
        if (this.role === "candidate") this.settleUpTo(message.last_client_id);
        this.emit("session.ready", message);
        this.flush();
        return;
      case "ack":
        this.settle(message.client_id, message);
        this.emit("ack", message);
        return;
      case "error":
        if (message.client_id) this.settle(message.client_id, message, true);
        this.emit("error", message);
        return;
      case "event":
        if (message.offset <= this.lastOffset) return; // already processed (a replay overlap)
        this.lastOffset = message.offset;
        this.emit("event", message);
        return;
      case "interview.ended":
        this.ended = true;
        this.emit("interview.ended", message);
        return;
      default:
        this.emit(message.type, message);
    }
  }

  // --- outgoing ----------------------------------------------------------------------------

  /**
   * Send a message with a client id; it is kept until the server acks it (resent after any
   * reconnect). Resolves with the ack, rejects with the server's error message.
   */
  send(type, fields = {}) {
    const message = { type, client_id: newClientId(type[0]), ...fields };
    this.outbox.push(message);
    this.saveOutbox();
    const done = new Promise((resolve, reject) => this.waiting.set(message.client_id, { resolve, reject }));
    done.catch(() => {}); // callers that do not await still see the "error" event
    if (this.isOpen) this.ws.send(JSON.stringify(message));
    return { clientId: message.client_id, done };
  }

  /** Send a screenshot if the socket is open and not backed up; returns its client id or null. */
  sendScreenshot(jpeg, takenAt = new Date().toISOString()) {
    if (!this.isOpen || this.ws.bufferedAmount > MAX_BUFFERED_BYTES) return null;
    const clientId = newClientId("s");
    this.ws.send(screenshotFrame(clientId, takenAt, jpeg));
    return clientId;
  }

  /** Messages sent but not yet acked (an answer waiting for the network, say). */
  pending() {
    return [...this.outbox];
  }

  flush() {
    for (const message of this.outbox) {
      if (!this.isOpen) return;
      this.ws.send(JSON.stringify(message));
    }
  }

  settle(clientId, reply, failed = false) {
    const index = this.outbox.findIndex((m) => m.client_id === clientId);
    if (index >= 0) {
      this.outbox.splice(index, 1);
      this.saveOutbox();
    }
    const waiter = this.waiting.get(clientId);
    if (waiter) {
      this.waiting.delete(clientId);
      if (failed) waiter.reject(Object.assign(new Error(reply.message), { code: reply.code }));
      else waiter.resolve(reply);
    }
  }

  /** session.ready's last_client_id is committed, and so is everything sent before it. */
  settleUpTo(lastClientId) {
    if (!lastClientId) return;
    const index = this.outbox.findIndex((m) => m.client_id === lastClientId);
    if (index < 0) return;
    for (const message of this.outbox.slice(0, index + 1)) {
      this.settle(message.client_id, { type: "ack", client_id: message.client_id, offset: null });
    }
  }

  loadOutbox() {
    if (!this.storageKey) return [];
    try {
      return JSON.parse(sessionStorage.getItem(this.storageKey) || "[]");
    } catch {
      return [];
    }
  }

  saveOutbox() {
    if (!this.storageKey) return;
    if (this.outbox.length) sessionStorage.setItem(this.storageKey, JSON.stringify(this.outbox));
    else sessionStorage.removeItem(this.storageKey);
  }
}
