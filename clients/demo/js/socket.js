// The interview socket, protocol openhire.v1 (docs/protocol.md), for candidates and watchers.
//
// - A socket opens with a single-use ticket from POST /interviews/{id}/ticket, never a token.
// - Every message carries a client id and stays in the outbox until its ack: after a reconnect
//   whatever was not acked is sent again, and the server stores it once (ids are deduplicated).
//   The candidate's outbox is kept in sessionStorage, so even a reload does not lose an answer.
// - A watcher remembers the highest offset it processed and reconnects with since=that offset.
// - Screenshots are binary frames: 4-byte big-endian header length, JSON header, JPEG bytes.
// - The close code says whether to come back (section 2 of the protocol); otherwise reconnect
//   with the app's one backoff (backoff.js: exponential, jittered, capped, honouring a
//   ticket request's Retry-After), at once when the browser says it is back online.
// - Some messages report the page's state (is the tab visible?) rather than something that
//   happened: sent with {live: true}, they go out only on an open socket and are never resent,
//   because the next connection reports the state afresh. A stale "tab hidden" replayed after
//   a reconnect would accuse the candidate of an absence that had ended.
// - On unload (a reload, a closed tab) the page closes the socket itself at `pagehide` with
//   4100 "page leaving", which the server logs as a reload, as it does the browser's own 1001
//   (a script cannot send 1001, and the browser's may be lost when the page goes quickly). From
//   `pagehide` on the socket sends nothing and does not reconnect, so nothing the unload itself
//   causes (its visibilitychange to hidden) reaches the server.

import { ApiError, api } from "./api.js";
import { Backoff, retryAfterOf } from "./backoff.js";

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
// Sent by the page as it unloads (docs/protocol.md, section 2).
const PAGE_LEAVING = 4100;
const CONNECT_TIMEOUT_MS = 10000;
const MAX_BUFFERED_BYTES = 512 * 1024;
// A connection that lasted this long was a success: the next drop starts the backoff afresh.
// One that a server accepts and drops at once keeps it growing.
const STABLE_MS = 10000;

export function newClientId(prefix = "c") {
  return `${prefix}-${crypto.randomUUID()}`;
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
    this.backoff = new Backoff({ baseMs: 500, capMs: 30000 });
    this.openedAt = null;
    this.unloading = false;
    this.stopped = false;
    this.ended = false;
    this.timer = null;
    this.connectSeq = 0;
    this.handlers = new Map();
    this.waiting = new Map(); // client_id -> {resolve, reject} for send()'s promises
    this.live = new Set(); // client ids of live messages (send's {live: true}) not yet acked
    this.storageKey = role === "candidate" ? `openhire.outbox.${interviewId}` : null;
    this.outbox = this.loadOutbox();
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.drop("offline");
    this.onPageHide = () => {
      this.unloading = true;
      clearTimeout(this.timer);
      // Closed by the page itself, while it still runs: the browser's own 1001 at teardown can
      // be lost when the page goes quickly, and the server would log a network drop.
      const ws = this.ws;
      if (ws) {
        this.detach();
        ws.close(PAGE_LEAVING, "page unloading");
      }
    };
    this.onPageShow = (event) => {
      // Back from the back/forward cache: the page lives again, its socket does not.
      if (!event.persisted) return;
      this.unloading = false;
      if (this.ws) this.detach();
      this.reconnectNow();
    };
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    window.addEventListener("pagehide", this.onPageHide);
    window.addEventListener("pageshow", this.onPageShow);
  }

  removeListeners() {
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    window.removeEventListener("pagehide", this.onPageHide);
    window.removeEventListener("pageshow", this.onPageShow);
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
    return !this.unloading && this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.ready !== null;
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
    this.removeListeners();
    if (this.ws) {
      const ws = this.ws;
      this.detach();
      ws.close(1000, "leaving");
    }
  }

  async connect() {
    clearTimeout(this.timer);
    if (this.stopped || this.ended || this.unloading) return;
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
      this.scheduleReconnect(null, error.message, retryAfterOf(error));
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
    if (this.openedAt !== null && performance.now() - this.openedAt >= STABLE_MS) this.backoff.reset();
    this.openedAt = null;
    this.forgetLive();
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
    if (this.stopped || this.ended || this.ws || this.unloading) return;
    this.attempt = 0;
    this.backoff.reset();
    this.connect();
  }

  closed(code, reason) {
    if (this.stopped || this.unloading) return;
    if (this.ended || FINAL_CODES.has(code)) {
      this.finish(code, reason, this.ended ? "ended" : FINAL_CODES.get(code));
      return;
    }
    this.scheduleReconnect(code, reason);
  }

  /** The wait before the next connection after a close with `code` (null: the ticket failed). */
  reconnectDelay(code, retryAfterMs = null) {
    const first = this.backoff.failures === 0;
    const delay = this.backoff.next(retryAfterMs);
    // A used-up ticket or a slow consumer: come back at once, the first time.
    if ((code === 4001 || code === 4008) && first) return 0;
    // The server is restarting: 1–5 s (spread, so every client does not return at once).
    if (code === 1012) return Math.max(delay, 1000 + Math.random() * 4000);
    return delay;
  }

  scheduleReconnect(code, reason, retryAfterMs = null) {
    // Offline, the browser's "online" event reconnects at once (reconnectNow); a slow retry
    // meanwhile covers a browser that is wrong about being offline.
    const offline = navigator.onLine === false;
    const delay = offline ? Math.max(5000, this.reconnectDelay(code, retryAfterMs)) : this.reconnectDelay(code, retryAfterMs);
    this.attempt += 1;
    this.setState(offline ? "offline" : "reconnecting", { delay, code, reason });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  finish(code, reason, why) {
    this.stopped = true;
    clearTimeout(this.timer);
    this.removeListeners();
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
        this.openedAt = performance.now();
        this.setState("open", { resumed: message.resumed });
        if (this.role === "candidate") this.settleUpTo(message.last_client_id);
        // What was waiting goes first; then whatever the page says on connecting (its state).
        this.flush();
        this.emit("session.ready", message);
        return;
      case "ack":
        this.settle(message.client_id, message);
        this.emit("ack", message);
        return;
      case "answer.resumed": // the reply to an answer.resume (never acked)
        this.settle(message.client_id, message);
        this.emit("answer.resumed", message);
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
   *
   * With {live: true} (a report of the page's state) it is sent only if the socket is open,
   * and forgotten if the socket closes before its ack: the next connection reports afresh.
   * Returns null when it was not sent.
   */
  send(type, fields = {}, { live = false } = {}) {
    if (live && !this.isOpen) return null;
    const message = { type, client_id: newClientId(type[0]), ...fields };
    if (live) this.live.add(message.client_id);
    this.outbox.push(message);
    this.saveOutbox();
    const done = new Promise((resolve, reject) => this.waiting.set(message.client_id, { resolve, reject }));
    done.catch(() => {}); // callers that do not await still see the "error" event
    if (this.isOpen) this.ws.send(JSON.stringify(message));
    return { clientId: message.client_id, done };
  }

  /** The socket closed: live messages not acked on it are dropped, never resent. */
  forgetLive() {
    if (!this.live.size) return;
    this.outbox = this.outbox.filter((m) => !this.live.has(m.client_id));
    for (const clientId of this.live) {
      const waiter = this.waiting.get(clientId);
      this.waiting.delete(clientId);
      waiter?.reject(new Error("not sent: the connection closed"));
    }
    this.live.clear();
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
    this.live.delete(clientId);
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
    const kept = this.outbox.filter((m) => !this.live.has(m.client_id));
    if (kept.length) sessionStorage.setItem(this.storageKey, JSON.stringify(kept));
    else sessionStorage.removeItem(this.storageKey);
  }
}
