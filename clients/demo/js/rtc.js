// Live media over WebRTC (issue 13): the candidate's camera and microphone to the server, and a
// recruiter watching and hearing them live. Signalling rides the interview socket (socket.js),
// as docs/protocol.md's WebRTC section says:
//
// - the server says in `session.ready.media` whether it takes WebRTC (null: it does not, and
//   the room sends canvas snapshots as before) and which ICE servers to use;
// - the client sends `rtc.offer {client_id, sdp}` once ICE gathering is complete (no trickle),
//   and the server replies `rtc.answer {client_id, sdp}` or an `error` naming the offer;
// - every offer uses a fresh RTCPeerConnection: the first one, a watcher's re-offer when the
//   candidate's tracks changed, a retry after a failure, and each reconnect. The server would
//   take a second offer on a socket as a renegotiation of that socket's peer, so an offer after
//   the first on a socket follows an `rtc.close` (the server closes the old peer first; it
//   handles a socket's rtc.* messages in order);
// - offers are "live" messages: sent only on an open socket and never replayed after a
//   reconnect (a stale offer is useless; the next connection offers afresh).
//
// CandidateMedia sends; WatcherMedia receives (recvonly); MicLevel is the level meter
// (WebAudio's AnalyserNode). Nothing here touches the page's layout beyond the elements it
// hands out.

import { Backoff } from "./backoff.js";
import { h } from "./dom.js";

const GATHER_TIMEOUT_MS = 3000; // loopback and LAN host candidates come in well under this
const ANSWER_TIMEOUT_MS = 10000;
const CONNECT_TIMEOUT_MS = 15000;
const RETRIES_PER_CONNECTION = 2;

export function rtcSupported() {
  return typeof RTCPeerConnection === "function" && typeof RTCRtpTransceiver === "function";
}

/** The microphone and camera (video preferred at 640×480), both if the browser gives both;
 * video alone if the microphone is refused or missing; the video error if even that fails. */
export async function captureCameraAndMic(video = { width: { ideal: 640 }, height: { ideal: 480 } }) {
  try {
    return await navigator.mediaDevices.getUserMedia({ video, audio: { echoCancellation: true, noiseSuppression: true } });
  } catch {
    return navigator.mediaDevices.getUserMedia({ video, audio: false });
  }
}

function rtcError(code, message) {
  return Object.assign(new Error(message), { code });
}

/** Resolves once ICE gathering is complete (or after a timeout, with what was gathered). */
function iceGathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    }, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", done);
  });
}

/** One offer/answer round over the socket: offer, gather, send, apply the answer. Rejects with
 * an Error whose `code` is the server's (rtc_bad_sdp, rtc_media_limit, …) or rtc_timeout. */
async function negotiate(socket, pc, onSent) {
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc);
  if (pc.signalingState === "closed") throw rtcError("closed", "the peer was closed");
  const sent = socket.send("rtc.offer", { sdp: pc.localDescription.sdp }, { live: true });
  if (!sent) throw rtcError("socket_closed", "the connection is not open");
  onSent();
  const sdp = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(rtcError("rtc_timeout", "the server did not answer the offer"));
    }, ANSWER_TIMEOUT_MS);
    const off = socket.on("rtc.answer", (m) => {
      if (m.client_id !== sent.clientId) return;
      off();
      clearTimeout(timer);
      socket.settle(m.client_id, m); // the answer is the offer's reply: out of the outbox
      resolve(m.sdp);
    });
    // An `error` naming the offer (or the socket closing) rejects `done`; an ack resolves it
    // and changes nothing: the answer is what counts.
    sent.done.catch((error) => {
      off();
      clearTimeout(timer);
      reject(error.code ? error : rtcError("socket_closed", error.message));
    });
  });
  if (pc.signalingState === "closed") throw rtcError("closed", "the peer was closed");
  await pc.setRemoteDescription({ type: "answer", sdp });
}

/** Resolves when the peer is connected; rejects when it fails or does not connect in time. */
function connected(pc) {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pc.connectionState === "connected") finish(resolve);
      else if (["failed", "closed"].includes(pc.connectionState)) finish(() => reject(rtcError("rtc_failed", `the connection ${pc.connectionState}`)));
    };
    const finish = (then) => {
      pc.removeEventListener("connectionstatechange", check);
      clearTimeout(timer);
      then();
    };
    const timer = setTimeout(() => finish(() => reject(rtcError("rtc_timeout", "the connection did not complete"))), CONNECT_TIMEOUT_MS);
    pc.addEventListener("connectionstatechange", check);
    check();
  });
}

/**
 * A socket's media peer: one RTCPeerConnection at a time, made afresh for each offer, retried
 * (a little, with the backoff) after a failure while the socket stays open. Subclasses add the
 * transceivers. `state` is one of: off (the server has no WebRTC, or this browser), connecting,
 * live, failed (given up on this connection: the fallback applies), unavailable (the server
 * refused for good: rtc_unavailable, rtc_no_audio, rtc_renegotiation_limit, rtc_video_limit).
 */
class MediaPeer {
  constructor(socket, { onState = () => {} } = {}) {
    this.socket = socket;
    this.onState = onState;
    this.pc = null;
    this.config = null;
    this.state = "off";
    this.detail = "";
    this.seq = 0;
    this.retries = 0;
    this.retryTimer = null;
    this.offered = false; // an offer went out on this socket: the server may hold a peer for it
    this.backoff = new Backoff({ baseMs: 2000, capMs: 10000 });
    this.offs = [
      socket.on("session.ready", (ready) => this.ready(ready)),
      socket.on("status", (s) => s.state !== "open" && this.close("off", "")),
      socket.on("rtc.state", (m) => m.state === "failed" && this.pc && this.failed(rtcError("rtc_failed", "the server's side of the connection failed"))),
    ];
  }

  get live() {
    return this.state === "live";
  }

  setState(state, detail = "") {
    this.state = state;
    this.detail = detail;
    this.onState(state, detail);
  }

  /** Every (re)connection: offer afresh if the server takes WebRTC, else stay off. */
  ready(ready) {
    this.offered = false; // a new socket: the server closed the old one's peer with it
    this.retries = 0;
    this.backoff.reset();
    this.config = ready.media ?? null;
    if (!this.config) this.close("off", "The server does not take live media.");
    else if (!rtcSupported()) this.close("off", "This browser has no WebRTC.");
    else this.connect();
  }

  canSend() {
    return true;
  }

  async connect() {
    this.close(null);
    if (!this.config || !this.socket.isOpen) return;
    if (!this.canSend()) {
      this.setState("off", this.whyNot());
      return;
    }
    const seq = ++this.seq;
    if (this.offered) this.tellClose();
    const pc = new RTCPeerConnection({ iceServers: this.config.ice_servers || [] });
    this.pc = pc;
    this.setState("connecting");
    try {
      this.prepare(pc);
      await negotiate(this.socket, pc, () => (this.offered = true));
      if (seq !== this.seq) return;
      await connected(pc);
      if (seq !== this.seq) return;
      this.backoff.reset();
      this.setState("live");
      pc.addEventListener("connectionstatechange", () => {
        if (this.pc === pc && pc.connectionState === "failed") this.failed(rtcError("rtc_failed", "the connection failed"));
      });
    } catch (error) {
      if (seq === this.seq) this.failed(error);
    }
  }

  failed(error) {
    const final = ["rtc_unavailable", "rtc_no_audio", "rtc_renegotiation_limit", "rtc_bad_sdp", "rtc_video_limit"].includes(error.code);
    this.close(null);
    if (final) {
      this.setState("unavailable", error.message);
      return;
    }
    this.setState("failed", error.message);
    if (error.code === "socket_closed" || error.code === "closed" || this.retries >= RETRIES_PER_CONNECTION) return;
    this.retries += 1;
    // rtc_media_limit: the server is full now; it may not be in a few seconds.
    this.retryTimer = setTimeout(() => this.socket.isOpen && this.connect(), this.backoff.next());
  }

  /** Close the current peer (and tell the server, when the socket is open and we mean it). */
  close(state = "off", detail = "", { tellServer = false } = {}) {
    this.seq += 1;
    clearTimeout(this.retryTimer);
    if (this.pc) {
      this.pc.close();
      this.pc = null;
    }
    if (tellServer && this.offered) this.tellClose();
    if (state !== null && (this.state !== state || this.detail !== detail)) this.setState(state, detail);
  }

  /** Tell the server to close this socket's peer (rtc.close is never acked: out of the outbox
   * at once). */
  tellClose() {
    this.offered = false;
    const sent = this.socket.isOpen ? this.socket.send("rtc.close", {}, { live: true }) : null;
    if (sent) this.socket.settle(sent.clientId, { type: "ack", client_id: sent.clientId });
  }

  /** The page is going away (or the interview ended): close for good. */
  stop() {
    for (const off of this.offs) off();
    this.config = null;
    this.close("off", "", { tellServer: true });
  }
}

/** The candidate's side: sends the microphone (required by the server) and the camera. */
export class CandidateMedia extends MediaPeer {
  /** camera: {stream} — the room's camera, whose stream may change (a retried check). */
  /** options.receiveVoice: offer sendrecv audio and hand the server's track (the questions
   * spoken) to options.onVoice. */
  constructor(socket, camera, options = {}) {
    super(socket, options);
    this.camera = camera;
    this.options = options;
  }

  audioTrack() {
    return this.camera.stream?.getAudioTracks().find((t) => t.readyState === "live") ?? null;
  }

  canSend() {
    return this.audioTrack() !== null;
  }

  whyNot() {
    return "No microphone: the recruiter gets snapshots from the camera instead.";
  }

  prepare(pc) {
    const stream = this.camera.stream;
    // A spoken interview receives the questions on the same transceiver (docs/protocol.md,
    // section 9): sendrecv, and whatever comes back goes to onVoice.
    const direction = this.options.receiveVoice ? "sendrecv" : "sendonly";
    pc.addTransceiver(this.audioTrack(), { direction, streams: [stream] });
    if (this.options.receiveVoice) pc.addEventListener("track", (event) => event.track.kind === "audio" && this.options.onVoice?.(event.track));
    const video = stream.getVideoTracks().find((t) => t.readyState === "live");
    if (video) {
      const max = this.config.max_video;
      if (max) video.applyConstraints({ width: { max: max.width }, height: { max: max.height }, frameRate: { max: max.fps } }).catch(() => {});
      pc.addTransceiver(video, { direction: "sendonly", streams: [stream] });
    }
  }

  /** The camera or microphone was lost mid-interview: offer again with what is left. */
  tracksChanged() {
    if (this.config && this.socket.isOpen) this.connect();
  }
}

/** The recruiter's side: receives the candidate's audio and video (recvonly), relayed by the
 * server. The candidate's tracks come and go (they join late, reconnect, move servers): a
 * fresh `media` entry saying a track started makes the watcher offer again. */
export class WatcherMedia extends MediaPeer {
  constructor(socket, video, options) {
    super(socket, options);
    this.video = video;
    this.since = 0; // log offset when the socket became ready: later entries are news
    this.reofferTimer = null;
  }

  ready(ready) {
    this.since = ready.offset ?? 0;
    clearTimeout(this.reofferTimer);
    super.ready(ready);
  }

  prepare(pc) {
    pc.addTransceiver("audio", { direction: "recvonly" });
    pc.addTransceiver("video", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.addEventListener("track", (event) => {
      stream.addTrack(event.track);
      event.track.addEventListener("ended", () => stream.removeTrack(event.track));
      if (this.video.srcObject !== stream) this.video.srcObject = stream;
      this.video.play().catch(() => {}); // muted, so autoplay is allowed
    });
  }

  close(state = "off", detail = "", options = {}) {
    super.close(state, detail, options);
    if (state !== null) this.video.srcObject = null;
  }

  /** Before the candidate's media is live the server answers `rtc_unavailable`: wait for it. */
  failed(error) {
    if (error.code !== "rtc_unavailable") return super.failed(error);
    this.close(null);
    this.setState("waiting", "The candidate's camera and microphone are not live yet.");
  }

  /** An entry from the log: the candidate's media changed — ask again for the new tracks. */
  event(e) {
    if (e.kind !== "media" || e.offset <= this.since || !this.config || !rtcSupported()) return;
    if (e.data.event === "track_ended" && e.data.track === "video" && this.live) {
      // The candidate's peer went (a reconnect, a camera stopped): its relayed tracks end.
      this.setState("waiting", "The candidate's camera stopped.");
      return;
    }
    if (e.data.event !== "track_started") return;
    clearTimeout(this.reofferTimer);
    // The audio and the video start together: one offer for both.
    this.reofferTimer = setTimeout(() => {
      this.retries = 0;
      this.connect();
    }, 500);
  }

  stop() {
    clearTimeout(this.reofferTimer);
    super.stop();
  }
}

// --- the microphone's level --------------------------------------------------------------------

let audioContext = null;
function sharedAudioContext() {
  audioContext ||= new AudioContext();
  if (audioContext.state === "suspended") {
    // Created before the user touched the page: it runs from their next click or key.
    const resume = () => audioContext.resume().catch(() => {});
    document.addEventListener("pointerdown", resume, { once: true, capture: true });
    document.addEventListener("keydown", resume, { once: true, capture: true });
  }
  return audioContext;
}

/** A level meter for the stream's microphone: RMS of the analyser's waveform, in dB, mapped
 * to 0–1 (−60 dB and below is silence), ten times a second. */
export class MicLevel {
  constructor() {
    this.meter = h("meter", { min: 0, max: 1, low: 0.1, high: 0.85, optimum: 0.5, value: 0, id: "mic-level", "aria-label": "Microphone level" });
    this.el = h("div", { class: "mic-level", hidden: true }, h("span", { class: "small", "aria-hidden": "true" }, "Mic"), this.meter);
    this.peak = 0; // the loudest level seen (the test's and the check's proof of sound)
    this.timer = null;
    this.source = null;
  }

  attach(stream) {
    this.detach();
    const track = stream?.getAudioTracks()[0];
    if (!track || typeof AudioContext !== "function") return false;
    const ctx = sharedAudioContext();
    this.source = ctx.createMediaStreamSource(new MediaStream([track]));
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    this.source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      const level = rms > 0 ? Math.max(0, Math.min(1, (20 * Math.log10(rms) + 60) / 60)) : 0;
      this.meter.value = level;
      this.peak = Math.max(this.peak, level);
      this.meter.dataset.peak = this.peak.toFixed(3);
    }, 100);
    this.el.hidden = false;
    return true;
  }

  detach() {
    clearInterval(this.timer);
    this.timer = null;
    this.source?.disconnect();
    this.source = null;
    this.meter.value = 0;
    this.el.hidden = true;
  }
}

/** What the candidate's camera and microphone are doing, in words, for a status line. */
export function deviceState(stream) {
  const word = (track, name) => (!track ? `${name} off` : track.readyState !== "live" ? `${name} stopped` : track.muted || !track.enabled ? `${name} muted` : `${name} on`);
  return { camera: word(stream?.getVideoTracks()[0], "Camera"), microphone: word(stream?.getAudioTracks()[0], "Microphone") };
}

/** A `media` log entry in words, and whether it is worth a look; null for the routine ones
 * (a peer's connection states as they go). */
export function describeMediaEvent(d) {
  const what = d.track === "audio" ? "Microphone" : d.track === "video" ? "Camera" : "Media";
  switch (d.event) {
    case "track_started":
      return [`${what}: live`, false];
    case "track_ended":
      return [`${what}: stopped`, true];
    case "muted":
      return [`${what} muted`, true];
    case "unmuted":
      return [`${what} back`, false];
    case "no_media":
      return [`No ${d.track === "audio" ? "sound" : d.track === "video" ? "video" : "media"} for ${Math.round(d.seconds ?? 0)} s`, true];
    case "connection":
      return d.state === "failed" ? ["Live media connection failed", true] : null;
    default:
      return null;
  }
}

const WATCH_STATES = {
  off: ["Live video: off", ""],
  connecting: ["Live video: connecting…", "warn"],
  waiting: ["Live video: waiting for the candidate's camera", "warn"],
  live: ["Live video", "ok live"],
  failed: ["Live video: lost", "warn"],
  unavailable: ["Live video: unavailable", ""],
};

/** The live view's player: the candidate's video and sound (muted until the recruiter unmutes:
 * browsers play sound only after a click), with a pill saying the connection's state. Call
 * `event(e)` with every log entry; `stop()` on leaving. */
export function livePlayer(socket) {
  const video = h("video", { id: "live-video", autoplay: true, muted: true, playsinline: true, "aria-label": "The candidate's camera, live" });
  video.muted = true;
  const unmute = h("button", { type: "button", class: "small", id: "live-unmute", "aria-pressed": "false" }, "Unmute");
  const pillEl = h("span", { class: "pill", id: "live-media-status", "aria-live": "polite" }, WATCH_STATES.off[0]);
  const frame = h("div", { class: "live-video", hidden: true }, video);
  const el = h("div", { class: "live-player", hidden: true }, h("div", { class: "row" }, pillEl, h("span", { class: "spacer" }), unmute), frame);
  unmute.hidden = true;
  const setMuted = (muted) => {
    video.muted = muted;
    unmute.textContent = muted ? "Unmute" : "Mute";
    unmute.setAttribute("aria-pressed", String(!muted));
    if (!muted) video.play().catch(() => {});
  };
  unmute.addEventListener("click", () => setMuted(!video.muted));
  // Connected is not yet seeing: until a frame arrives the candidate may not have joined.
  const shown = (state) => (state === "live" && !video.videoWidth ? "waiting" : state);
  video.addEventListener("emptied", () => show(media.state, media.detail));
  const show = (state, detail) => {
    const [text, tone] = WATCH_STATES[shown(state)] || WATCH_STATES.off;
    pillEl.className = `pill ${tone}`.trim();
    pillEl.textContent = text;
    pillEl.title = detail || "";
    pillEl.dataset.state = shown(state);
    frame.hidden = unmute.hidden = state !== "live";
    // A server without WebRTC: nothing to say beyond the snapshots.
    el.hidden = state === "off" && !media?.config;
  };
  video.addEventListener("resize", () => show(media.state, media.detail));
  const media = new WatcherMedia(socket, video, {
    onState: (state, detail) => {
      show(state, detail);
    },
  });
  return { el, video, media, event: (e) => media.event(e), stop: () => media.stop() };
}

/** How loud a track is now (RMS, 0..1), read when asked: the room's check whether the server
 * is speaking the question (docs/protocol.md, section 9). */
export function trackLevel(track) {
  if (typeof AudioContext !== "function") return { now: () => 0, stop: () => {} };
  const ctx = sharedAudioContext();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  return {
    now() {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      return Math.sqrt(sum / samples.length);
    },
    stop: () => source.disconnect(),
  };
}
