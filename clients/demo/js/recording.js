// The review's player for an interview's recording (issue 13): the server writes the candidate's
// sound (and video, when enabled) in short segments, each an artifact of kind `recording` with
// its time span and a signed URL (GET /interviews/{id}/artifacts). The player strings the
// segments together on the interview's clock:
//
// - one slider for the whole interview, from its start; gaps (a drop, a reload) are skipped;
// - each question in the timeline gets a "Play the answer" button that seeks to it (the moment
//   the question was asked: the answer is given from then on), and the turn playing is marked;
// - when audio and video are separate files, the video leads and the sound follows it;
// - signed URLs last five minutes: a segment that fails to load gets fresh ones, then plays on.

import { api } from "./api.js";
import { Backoff, retryAfterOf } from "./backoff.js";
import { clear, h } from "./dom.js";
import { clock, formatDateTime } from "./format.js";

const SEGMENT_GUESS_MS = 10000; // a segment without its end: about this long
const URL_REFRESH_MS = 10000;
// A position on the recording, from the interview's start: whole seconds, rounded down.
const at = (ms) => clock(Math.max(0, Math.floor(ms / 1000)));

/** The recording artifacts as segments on a timeline (ms since the epoch), in order. */
export function segmentsOf(artifacts) {
  return artifacts
    // A spoken answer's audio (a WAV) plays in its own turn, not on the timeline's player.
    .filter((a) => a.kind === "recording" && a.url && a.content_type !== "audio/wav")
    .map((a) => {
      const start = Date.parse(a.started_at ?? a.created_at);
      const end = a.ended_at ? Date.parse(a.ended_at) : start + SEGMENT_GUESS_MS;
      const track = a.track ?? (String(a.content_type).startsWith("audio/") ? "audio" : "av");
      return { id: a.id, url: a.url, start, end: Math.max(end, start + 1), track, contentType: a.content_type };
    })
    .filter((s) => Number.isFinite(s.start))
    .sort((a, b) => a.start - b.start);
}

/** The segment playing at `t` (ms since the epoch), or the next one after it, or null. */
export function segmentAt(segments, t) {
  return segments.find((s) => s.end > t) ?? null;
}

/** One media element playing one lane of segments (the video, or the sound) in turn. */
class Lane {
  constructor(element, segments) {
    this.el = element;
    this.segments = segments;
    this.current = null;
    this.loaded = null;
  }

  /** Start playing at `t`; resolves false when there is nothing at or after it. */
  async seek(t, play) {
    const segment = segmentAt(this.segments, t);
    if (!segment) {
      this.el.pause();
      return false;
    }
    const offset = Math.max(0, t - segment.start) / 1000;
    if (this.current !== segment || this.loaded !== segment.url) {
      this.current = segment;
      this.loaded = segment.url;
      this.el.src = segment.url;
      await new Promise((resolve) => {
        const done = () => {
          this.el.removeEventListener("loadedmetadata", done);
          this.el.removeEventListener("error", done);
          resolve();
        };
        this.el.addEventListener("loadedmetadata", done);
        this.el.addEventListener("error", done);
      });
    }
    if (Number.isFinite(this.el.duration)) this.el.currentTime = Math.min(offset, Math.max(0, this.el.duration - 0.05));
    else this.el.currentTime = offset;
    if (play) await this.el.play().catch(() => {});
    return true;
  }

  /** Where it is, in ms since the epoch (null before the first seek). */
  get position() {
    return this.current ? this.current.start + this.el.currentTime * 1000 : null;
  }

  next() {
    const i = this.segments.indexOf(this.current);
    return i >= 0 ? this.segments[i + 1] ?? null : null;
  }
}

/**
 * The player, or null when the interview has no recording. `turns` is the review's timeline
 * (question_id -> {li, at}); `start` is when the interview started (ISO).
 */
export function recordingPlayer(artifacts, { interviewId, turns, start }) {
  const segments = segmentsOf(artifacts);
  if (!segments.length) return null;
  const videoSegments = segments.filter((s) => s.track !== "audio");
  const audioSegments = segments.filter((s) => s.track === "audio");
  const hasVideo = videoSegments.some((s) => s.contentType.startsWith("video/"));
  const leadSegments = videoSegments.length ? videoSegments : audioSegments;
  const lead = new Lane(h(hasVideo ? "video" : "audio", { controls: true, preload: "metadata", playsinline: true, id: "recording-media", "aria-label": "The interview's recording" }), leadSegments);
  // Separate sound files play along with the video, on the video's clock.
  const follower = videoSegments.length && audioSegments.length ? new Lane(h("audio", { preload: "metadata" }), audioSegments) : null;

  const origin = Date.parse(start) || segments[0].start;
  const last = Math.max(...segments.map((s) => s.end));
  const slider = h("input", { type: "range", id: "recording-position", min: 0, max: Math.ceil((last - origin) / 1000), step: 1, value: Math.max(0, Math.floor((leadSegments[0].start - origin) / 1000)) });
  const where = h("span", { class: "small muted", "aria-live": "off" }, "");
  const el = h(
    "div",
    { class: "recording", dataset: { segments: String(segments.length) } },
    h("div", { class: "kind" }, `Recording · ${hasVideo ? "video and sound" : "sound"} · ${segments.length} part${segments.length === 1 ? "" : "s"}`),
    lead.el,
    follower?.el,
    h("div", { class: "row" }, h("label", { for: "recording-position", class: "small" }, "Position"), slider, where),
  );

  let seeking = false;
  async function seek(t, play = true) {
    seeking = true;
    try {
      // Both lanes load and start together (both on the interview's clock), so the sound
      // does not wait for the video to be loaded first.
      const [found] = await Promise.all([lead.seek(t, play), follower?.seek(t, play)]);
      if (!found) follower?.el.pause();
    } finally {
      seeking = false;
    }
    show();
  }

  // The turn being played: the last question asked at or before the position.
  const marks = [...turns.values()].filter((t) => t.at).map((t) => ({ ...t, ms: Date.parse(t.at) })).sort((a, b) => a.ms - b.ms);
  let playing = null;
  function show() {
    const t = lead.position;
    if (t === null) return;
    el.dataset.position = String(Math.round(t));
    slider.value = String(Math.max(0, Math.round((t - origin) / 1000)));
    where.textContent = `${at(t - origin)} from the start`;
    where.title = formatDateTime(new Date(t).toISOString());
    const turn = marks.filter((m) => m.ms <= t).pop() ?? null;
    if (turn !== playing) {
      playing?.li.classList.remove("playing");
      turn?.li.classList.add("playing");
      playing = turn;
    }
  }

  // "timeupdate" comes a few times a second at most: a seek or a start shows the position at once.
  for (const event of ["timeupdate", "seeked", "playing"]) lead.el.addEventListener(event, show);
  lead.el.addEventListener("ended", () => {
    const next = lead.next();
    if (next) seek(next.start);
  });
  if (follower) {
    lead.el.addEventListener("pause", () => !seeking && follower.el.pause());
    lead.el.addEventListener("play", () => !seeking && seek(lead.position ?? leadSegments[0].start));
    lead.el.addEventListener("seeked", () => !seeking && follower.seek(lead.position, !lead.el.paused));
  }
  slider.addEventListener("change", () => seek(origin + Number(slider.value) * 1000));

  // Signed URLs expire after five minutes: get fresh ones (at most every 10 s, backing off
  // after failures), then go on from where it was.
  const backoff = new Backoff({ baseMs: URL_REFRESH_MS, capMs: 120000 });
  let refreshing = false;
  async function refresh(lane) {
    if (refreshing || !lane.current) return;
    refreshing = true;
    const at = lane.position ?? lane.current.start;
    let wait = URL_REFRESH_MS;
    try {
      const { items } = await api.get(`/interviews/${interviewId}/artifacts`);
      const fresh = new Map(items.map((a) => [a.id, a.url]));
      for (const s of segments) if (fresh.get(s.id)) s.url = fresh.get(s.id);
      backoff.reset();
      lane.current = null;
      await seek(at, !lead.el.paused || lane === follower);
    } catch (error) {
      wait = Math.max(URL_REFRESH_MS, backoff.next(retryAfterOf(error)));
    }
    setTimeout(() => (refreshing = false), wait);
  }
  lead.el.addEventListener("error", () => refresh(lead));
  follower?.el.addEventListener("error", () => refresh(follower));

  // "Play the answer" under each question of the timeline.
  for (const turn of marks) {
    if (turn.ms > last) continue;
    const button = h("button", { type: "button", class: "link small play-from", "aria-controls": "recording-media" }, `▶ Play the answer (from ${clock((turn.ms - origin) / 1000)})`);
    button.addEventListener("click", () => {
      seek(turn.ms);
      lead.el.scrollIntoView({ block: "nearest" });
    });
    turn.li.querySelector(".body")?.append(h("div", {}, button));
  }
  clear(where, `${at(leadSegments[0].start - origin)} from the start`);
  return { el, seek, segments };
}
