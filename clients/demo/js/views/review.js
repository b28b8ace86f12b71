// Review of an interview: the event log as one timeline (questions and answers with times,
// snapshots, proctoring signals, connection drops) beside the evaluation, where each
// criterion's quoted evidence links to the answer it quotes (and, for a timed spoken answer,
// plays it from the second the quote was said). A timed spoken answer reads sentence by
// sentence, each sentence playing the answer's audio from where it was said. Every version of
// the evaluation can be shown, compared with another (scores, weights, criteria added or
// removed, what produced each), and the recruiter can re-score against the job's current
// rubric.

import { api } from "../api.js";
import { Backoff, retryAfterOf } from "../backoff.js";
import { clear, h } from "../dom.js";
import { DISCONNECT_CAUSES, END_REASONS, GAPS, INTERVIEW_STATE, RECOMMENDATION, SIGNALS, clock, duration, elapsed, formatDateTime, formatTime, label, plural, span, tone } from "../format.js";
import { recordingPlayer } from "../recording.js";
import { describeMediaEvent } from "../rtc.js";
import { pageHead, pill } from "./common.js";
import { decisionCard } from "./decision.js";

export async function show(ctx) {
  const id = ctx.params.id;
  const [interview, events, artifacts] = await Promise.all([api.get(`/interviews/${id}`), allEvents(id), api.get(`/interviews/${id}/artifacts`)]);
  if (!ctx.alive()) return;
  const urls = new Map(artifacts.items.map((a) => [a.event_offset, a.url]));
  const start = interview.started_at || events[0]?.at;
  const running = ["scheduled", "in_progress"].includes(interview.state);

  const timeline = buildTimeline(events, urls, start, id, running);
  // The recording, when there is one: plays on the interview's clock; each question seeks to it.
  const recording = recordingPlayer(artifacts.items, { interviewId: id, turns: timeline.turns, start });
  const evaluation = interview.evaluation;
  // Versions are the recruiter's: anyone else (and an interview never scored) has none.
  const versions = evaluation ? await api.get(`/interviews/${id}/evaluations`).then((r) => r.items, () => []) : [];
  if (!ctx.alive()) return;
  const duration = interview.started_at && interview.ended_at ? span((Date.parse(interview.ended_at) - Date.parse(interview.started_at)) / 1000) : null;

  clear(
    ctx.main,
    pageHead(`Review: ${interview.candidate_name}`, {
      back: ["#/interviews", "Interviews"],
      sub: h(
        "span",
        { class: "row" },
        interview.job_title,
        pill(INTERVIEW_STATE, interview.state),
        interview.started_at ? h("span", { class: "small" }, `Started ${formatDateTime(interview.started_at)}`) : null,
        duration ? h("span", { class: "small" }, `· lasted ${duration}`) : null,
      ),
      actions: running ? [h("a", { class: "button primary", href: `#/interviews/${id}/watch` }, "Watch live")] : [],
    }),
    running ? h("div", { class: "notice" }, "This interview is still running; the timeline shows it so far.") : null,
    interview.state_reason && !running ? h("p", { class: "muted" }, label(END_REASONS, interview.state_reason)) : null,
    running ? null : decisionCard(interview),
    h(
      "div",
      { class: "grid-2 review" },
      h(
        "section",
        { class: "card", "aria-labelledby": "timeline-title" },
        h("h2", { id: "timeline-title" }, "Timeline"),
        recording?.el,
        events.length ? timeline.el : h("p", { class: "muted" }, "Nothing happened in this interview yet."),
      ),
      h("section", { class: "card sticky", "aria-labelledby": "evaluation-title" }, h("h2", { id: "evaluation-title" }, "Evaluation"), versions.length ? versionsView(versions, interview, timeline, ctx, start) : evaluationView(evaluation, interview, timeline, start)),
    ),
  );
}

/** The whole event log, page by page (GET /interviews/{id}/events, up to 1000 a page). */
async function allEvents(id) {
  const events = [];
  let since = 0;
  for (;;) {
    const page = await api.get(`/interviews/${id}/events`, { since, limit: 1000 });
    events.push(...page.items);
    if (page.next_since === null) return events;
    since = page.next_since;
  }
}

/** A spoken answer (docs/protocol.md, section 9): its audio, played from the answer's
 * recording artifact (a WAV), and whether it could be transcribed. Returns the row and
 * `playFrom(seconds)` (null without a recording), which seeks the answer's audio and plays. */
function spokenAnswer(d, url) {
  const row = h("div", { class: "row spoken-answer" }, h("span", { class: "pill info spoken" }, "Spoken answer"));
  if (d.transcribed === false) row.append(h("span", { class: "small muted" }, "Could not be transcribed: listen to it."));
  if (!url) {
    row.append(h("span", { class: "small muted" }, "The recording is not available."));
    return { row, playFrom: null, audio: null };
  }
  const audio = h("audio", { class: "spoken-audio", preload: "none", src: url });
  const play = h("button", { type: "button", class: "small", "aria-pressed": "false" }, "Play the spoken answer");
  const shown = (playing) => {
    play.textContent = playing ? "Pause the spoken answer" : "Play the spoken answer";
    play.setAttribute("aria-pressed", String(playing));
  };
  audio.addEventListener("play", () => shown(true));
  audio.addEventListener("pause", () => shown(false));
  audio.addEventListener("ended", () => shown(false));
  audio.addEventListener("error", () => {
    shown(false);
    play.disabled = true;
    play.textContent = "The recording could not be played";
  });
  play.addEventListener("click", () => (audio.paused ? audio.play().catch(() => shown(false)) : audio.pause()));
  const seconds = d.duration_s ? h("span", { class: "small muted" }, `${Math.round(d.duration_s)} s`) : null;
  row.append(play, seconds, audio);
  // Before its metadata has loaded (preload none) the audio cannot seek yet: it seeks once
  // it can, and plays from there.
  const playFrom = (at) => {
    if (play.disabled) return;
    const seek = () => (audio.currentTime = Math.min(at, Number.isFinite(audio.duration) ? audio.duration : at));
    if (audio.readyState >= HTMLMediaElement.HAVE_METADATA) seek();
    else audio.addEventListener("loadedmetadata", seek, { once: true });
    if (audio.paused) audio.play().catch(() => shown(false));
  };
  return { row, playFrom, audio };
}

/** Where a spoken answer's sentences were said, as "0:04" (whole seconds, rounded down). */
const secondOf = (seconds) => clock(Math.floor(seconds));

/** A timed spoken answer's text, sentence by sentence: each sentence a button that plays the
 * answer from where it was said (`sentences[].start_s`, docs/protocol.md section 9). */
function sentencesOf(d, playFrom, audio) {
  const buttons = d.sentences.map((s) => {
    const button = h("button", { type: "button", class: "link sentence", title: `Play from ${secondOf(s.start_s)}`, dataset: { start: String(s.start_s) } }, s.text);
    button.addEventListener("click", () => playFrom(s.start_s));
    return button;
  });
  audio.addEventListener("error", () => buttons.forEach((b) => (b.disabled = true)));
  const p = h("p", { class: "answer-text sentences" });
  buttons.forEach((b, i) => p.append(...(i ? [" ", b] : [b])));
  return { p, buttons };
}

function buildTimeline(events, urls, start, interviewId, running) {
  const el = h("ol", { class: "timeline", "aria-label": "Interview timeline" });
  const turns = new Map(); // question_id -> {li, answerEl, answerText}
  let strip = null;
  const atTime = (e) => h("span", { class: "at", title: formatDateTime(e.at) }, elapsed(start, e.at) || formatTime(e.at));
  const system = (e, kind, text, className = "system") => {
    strip = null;
    el.append(h("li", { class: className }, atTime(e), h("div", { class: "body" }, h("div", { class: "kind" }, kind), text)));
  };
  for (const e of events) {
    const d = e.data;
    switch (e.kind) {
      case "question": {
        strip = null;
        const kind = d.source === "recruiter" ? "Recruiter's question" : d.kind === "follow_up" ? `Follow-up to question ${d.index}` : `Question ${d.index}`;
        const answerSlot = h("div", {}, h("p", { class: "muted small" }, running ? "No answer yet." : "Not answered."));
        const li = h("li", { class: "turn question", id: `turn-${d.question_id}`, tabindex: "-1", dataset: { questionId: d.question_id } }, atTime(e), h("div", { class: "body" }, h("div", { class: "kind" }, kind), h("div", { class: "q-text" }, d.text), answerSlot));
        turns.set(d.question_id, { li, answerSlot, text: null, at: e.at });
        el.append(li);
        break;
      }
      case "answer": {
        strip = null;
        const turn = turns.get(d.question_id);
        const spoken = d.source === "voice" ? spokenAnswer(d, urls.get(e.offset)) : null;
        // A spoken answer timed by its model reads sentence by sentence, each one playable.
        const timed = spoken?.playFrom && d.sentences?.length ? sentencesOf(d, spoken.playFrom, spoken.audio) : null;
        const p = timed ? timed.p : h("p", { class: "answer-text" }, d.text);
        const block = h("div", { class: "answer" }, h("div", { class: "kind", style: "margin-top:.5rem" }, `Answer · ${elapsed(start, e.at)}`), p);
        if (spoken) block.append(spoken.row);
        if (turn) {
          clear(turn.answerSlot, block);
          turn.text = d.text;
          turn.p = p;
          turn.sentences = timed ? timed.buttons : null;
          turn.playFrom = spoken?.playFrom || null;
        } else el.append(h("li", { class: "answer" }, atTime(e), h("div", { class: "body" }, block)));
        break;
      }
      case "answer.timeout": {
        const turn = turns.get(d.question_id);
        if (turn) clear(turn.answerSlot, h("p", { class: "small", style: "color:var(--warn)" }, "Not answered in time."));
        break;
      }
      case "screenshot": {
        const url = urls.get(e.offset);
        const img = h("img", { src: url || "", alt: `Webcam snapshot at ${elapsed(start, e.at)}`, loading: "lazy", width: d.width, height: d.height, dataset: { offset: String(e.offset) } });
        img.addEventListener("error", () => refreshUrls(interviewId, el), { once: true });
        const link = h("a", { href: url || "#", target: "_blank", rel: "noopener", title: `Snapshot at ${formatDateTime(e.at)}` }, img);
        if (!strip) {
          strip = { count: 0, label: h("div", { class: "kind" }), row: h("div", { class: "strip" }), first: e };
          el.append(h("li", { class: "shots" }, atTime(e), h("div", { class: "body" }, strip.label, strip.row)));
        }
        strip.count += 1;
        strip.label.textContent = `Webcam · ${plural(strip.count, "snapshot")}`;
        strip.row.append(link);
        break;
      }
      case "proctor":
        system(e, "Proctoring", label(SIGNALS, d.signal), "signal");
        break;
      case "connection":
        if (d.role !== "candidate") break;
        if (d.status === "disconnected") system(e, "Connection", label(DISCONNECT_CAUSES, d.cause || "network_drop"), d.cause === "network_drop" || !d.cause ? "signal" : "system");
        else if (d.status === "replaced") system(e, "Connection", "The candidate continued in another window.");
        else system(e, "Connection", d.resumed ? "The candidate reconnected." : "The candidate joined.");
        break;
      case "state":
        if (d.state === "in_progress") break; // the join above says it
        // An end someone asked for is on the line above; the state says the rest.
        system(e, "End", String(d.reason).endsWith("_ended") ? `${label(INTERVIEW_STATE, d.state)}.` : `${label(INTERVIEW_STATE, d.state)}: ${label(END_REASONS, d.reason)}`);
        break;
      case "question.injected":
        system(e, "Recruiter", `Queued a question: “${d.text}”`);
        break;
      case "end.requested":
        system(e, "End", d.by === "recruiter" ? "The recruiter ended the interview." : "The candidate ended the interview.");
        break;
      case "time.warning":
        if (d.scope === "interview") system(e, "Time", `${d.seconds_left} s left in the interview.`);
        break;
      case "interviewer.error":
        system(e, "Interviewer", `The interviewer failed: ${d.message}`, "signal");
        break;
      case "media": {
        const said = describeMediaEvent(d);
        if (said) system(e, "Media", said[0], said[1] ? "signal" : "system");
        break;
      }
      default:
        break;
    }
  }
  return { el, turns };
}

// Signed URLs last five minutes; a page open longer fetches fresh ones when an image fails,
// at most once every 10 s, and after a failed fetch not before the app's backoff says.
const URL_REFRESH_MS = 10000;
const urlBackoff = new Backoff({ baseMs: URL_REFRESH_MS, capMs: 120000 });
let refreshing = null;
function refreshUrls(interviewId, el) {
  refreshing ||= api
    .get(`/interviews/${interviewId}/artifacts`)
    .then(
      ({ items }) => {
        const urls = new Map(items.map((a) => [String(a.event_offset), a.url]));
        for (const img of el.querySelectorAll("img[data-offset]")) {
          const url = urls.get(img.dataset.offset);
          if (url && img.src !== url) {
            img.src = url;
            img.parentElement.href = url;
          }
        }
        urlBackoff.reset();
        return URL_REFRESH_MS;
      },
      (error) => Math.max(URL_REFRESH_MS, urlBackoff.next(retryAfterOf(error))),
    )
    .then((wait) => setTimeout(() => (refreshing = null), wait));
}

function showEvidence(timeline, evidence, button) {
  const turn = timeline.turns.get(evidence.question_id);
  if (!turn) return;
  for (const old of timeline.el.querySelectorAll("li.highlight")) old.classList.remove("highlight");
  for (const other of timeline.turns.values()) {
    if (other.sentences) other.sentences.forEach((b) => b.classList.remove("quoted"));
    else if (other.p && other.p.querySelector("mark")) other.p.textContent = other.text;
  }
  const i = turn.text ? turn.text.indexOf(evidence.quote) : -1;
  if (turn.sentences && i >= 0) {
    // Sentence by sentence: mark those the quote runs over (found in the text in order).
    let from = 0;
    for (const b of turn.sentences) {
      const begins = turn.text.indexOf(b.textContent, from);
      if (begins < 0) continue;
      from = begins + b.textContent.length;
      if (begins < i + evidence.quote.length && from > i) b.classList.add("quoted");
    }
  } else if (turn.p && i >= 0) clear(turn.p, turn.text.slice(0, i), h("mark", {}, evidence.quote), turn.text.slice(i + evidence.quote.length));
  turn.li.classList.add("highlight");
  turn.li.scrollIntoView({ behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth", block: "center" });
  turn.li.focus({ preventScroll: true });
  turn.li.dataset.from = button.id;
  // Shift+Tab from the quoted answer goes back to the quote, not to the top of the page.
  if (!turn.li.dataset.backToQuote) {
    turn.li.dataset.backToQuote = "1";
    turn.li.addEventListener("keydown", (event) => {
      const from = document.getElementById(turn.li.dataset.from || "");
      if (event.key === "Tab" && event.shiftKey && document.activeElement === turn.li && from) {
        event.preventDefault();
        from.focus();
      }
    });
  }
}

/** The proctoring summary: the camera, the signals, the time away, and every gap with why. */
function proctoringView(p, start) {
  const counts = Object.entries(p.counts || {}).filter(([s]) => !["tab_visible", "window_focus"].includes(s));
  const gaps = p.gaps || [];
  const away =
    p.times_away || p.total_time_away_s
      ? `Away ${p.times_away ? `${plural(p.times_away, "time")}, ` : ""}${duration(p.total_time_away_s)} in all, longest ${duration(p.longest_time_away_s)}.`
      : "Never away from the interview.";
  const when = (iso) => h("time", { datetime: iso, title: formatDateTime(iso) }, elapsed(start, iso) || formatTime(iso));
  return h(
    "div",
    { class: "criterion proctoring" },
    h("h3", {}, "Proctoring"),
    h(
      "ul",
      { class: "plain small" },
      h("li", {}, p.camera_available === false ? "Camera unavailable during the interview." : "Camera available."),
      counts.length ? counts.map(([s, n]) => h("li", {}, `${label(SIGNALS, s)}: ${n}`)) : h("li", {}, "No signal of leaving the interview."),
      h("li", { class: "away" }, away),
      p.disconnections ? h("li", {}, `Disconnected ${plural(p.disconnections, "time")} (reloads and network drops), ${duration(p.total_disconnected_s)} in all.`) : null,
    ),
    gaps.length
      ? h(
          "ol",
          { class: "gaps small", "aria-label": "Gaps in the candidate's presence" },
          gaps.map((g) =>
            h(
              "li",
              { dataset: { gap: g.kind } },
              h("strong", {}, label(GAPS, g.kind)),
              " ",
              when(g.start),
              "–",
              when(g.end),
              ` · ${duration(g.duration_s)} · `,
              h("span", { class: "muted" }, tone(GAPS, g.kind)),
            ),
          ),
        )
      : null,
  );
}

const REASONS = { interview_completed: "when the interview ended", rescored: "re-scored" };

function versionLabel(v) {
  return `v${v.version} · ${REASONS[v.reason] || v.reason} ${formatDateTime(v.created_at)} · ${v.evaluation.overall_score.toFixed(1)}`;
}

/** Which version is shown, which one it is compared with, and re-scoring. */
function versionsView(versions, interview, timeline, ctx, start) {
  const options = (first) => versions.map((v) => h("option", { value: String(v.version), selected: v.version === first }, versionLabel(v)));
  const pick = h("select", { id: "evaluation-version" }, options(versions[0].version));
  const against = h("select", { id: "evaluation-compare" }, h("option", { value: "" }, "Nothing"), options(null));
  const diff = h("div", { class: "version-diff", "aria-live": "polite" });
  const shown = h("div", {});
  const find = (select) => versions.find((v) => String(v.version) === select.value);
  const render = () => {
    const version = find(pick);
    const other = find(against);
    clear(diff, other && other !== version ? diffView(other, version) : null);
    clear(shown, evaluationView(version.evaluation, interview, timeline, start));
  };
  pick.addEventListener("change", render);
  against.addEventListener("change", render);
  const rescore = h("button", { type: "button", class: "button small", id: "rescore" }, "Re-score with the current rubric");
  rescore.addEventListener("click", async () => {
    rescore.disabled = true;
    try {
      await api.post(`/interviews/${interview.id}/evaluations`, {});
      if (ctx.alive()) await show(ctx);
    } catch (error) {
      rescore.disabled = false;
      clear(diff, h("p", { class: "notice", role: "alert" }, `Could not re-score: ${error.message}`));
    }
  });
  render();
  return h(
    "div",
    {},
    h(
      "div",
      { class: "versions" },
      h("label", { class: "small" }, `${plural(versions.length, "version")}: show `, pick),
      h("label", { class: "small" }, " compared with ", against),
      h("div", { style: "margin-top:.5rem" }, rescore),
    ),
    diff,
    shown,
  );
}

/** What changed from version ``a`` to version ``b``: each criterion's score and weight, the
 * criteria one has and the other not, the overall score and recommendation, and what produced
 * each (interviewer, model, prompt, rubric, scorer). */
function diffView(a, b) {
  const ea = a.evaluation;
  const eb = b.evaluation;
  const byName = (e) => new Map(e.criteria.map((c) => [c.name, c]));
  const ca = byName(ea);
  const cb = byName(eb);
  const names = [...new Set([...ca.keys(), ...cb.keys()])];
  const delta = (x, y) => (y - x > 0 ? `+${(y - x).toFixed(1)}` : (y - x).toFixed(1));
  const rows = names.map((name) => {
    const x = ca.get(name);
    const y = cb.get(name);
    const change = !x ? "added" : !y ? "removed" : delta(x.score, y.score);
    const weight = x && y && x.weight !== y.weight ? `weight ${x.weight} → ${y.weight}` : x && y ? "" : `weight ${(x || y).weight}`;
    return h("tr", { dataset: { criterion: name } }, h("th", { scope: "row" }, name), h("td", {}, x ? String(x.score) : "–"), h("td", {}, y ? String(y.score) : "–"), h("td", {}, change), h("td", { class: "small muted" }, weight));
  });
  const produced = ["interviewer", "model", "prompt_version", "rubric_version", "scorer_version"]
    .filter((key) => a[key] !== b[key])
    .map((key) => h("li", {}, `${key.replace("_", " ")}: ${a[key] || "–"} → ${b[key] || "–"}`));
  return h(
    "div",
    { class: "criterion" },
    h("h3", {}, `v${a.version} → v${b.version}`),
    h(
      "table",
      { class: "small", "aria-label": `Scores of version ${a.version} and version ${b.version}` },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Criterion"), h("th", { scope: "col" }, `v${a.version}`), h("th", { scope: "col" }, `v${b.version}`), h("th", { scope: "col" }, "Change"), h("th", { scope: "col" }, ""))),
      h(
        "tbody",
        {},
        rows,
        h("tr", { dataset: { criterion: "overall" } }, h("th", { scope: "row" }, "Overall"), h("td", {}, ea.overall_score.toFixed(2)), h("td", {}, eb.overall_score.toFixed(2)), h("td", {}, delta(ea.overall_score, eb.overall_score)), h("td", { class: "small muted" }, ea.recommendation === eb.recommendation ? "" : `${label(RECOMMENDATION, ea.recommendation)} → ${label(RECOMMENDATION, eb.recommendation)}`)),
      ),
    ),
    produced.length ? h("ul", { class: "plain small", "aria-label": "What produced them" }, produced) : h("p", { class: "small muted" }, "Produced the same way."),
  );
}

function evaluationView(evaluation, interview, timeline, start) {
  if (!evaluation) {
    const why = interview.state === "completed" ? "The interview ended without an evaluation." : ["scheduled", "in_progress"].includes(interview.state) ? "The evaluation is written when the interview ends." : "This interview did not finish, so it was not evaluated.";
    return h("p", { class: "muted" }, why);
  }
  const total = evaluation.criteria.reduce((sum, c) => sum + c.weight, 0) || 1;
  const questionLabel = (qid) => timeline.turns.get(qid)?.li.querySelector(".kind")?.textContent || qid;
  let evidenceIds = 0;
  return h(
    "div",
    {},
    h(
      "div",
      { class: "overall" },
      h("span", { class: "num" }, evaluation.overall_score.toFixed(1)),
      h("span", { class: "muted" }, "out of 5"),
      pill(RECOMMENDATION, evaluation.recommendation),
    ),
    evaluation.criteria.map((c) =>
      h(
        "div",
        { class: "criterion" },
        h("div", { class: "row" }, h("h3", { style: "margin:0;flex:1" }, c.name), h("span", { class: "small muted" }, `${Math.round((c.weight / total) * 100)}% of the score`)),
        h(
          "div",
          { class: "score", role: "img", "aria-label": `Scored ${c.score} out of 5` },
          h("span", { class: "dots", "aria-hidden": "true" }, [1, 2, 3, 4, 5].map((n) => h("span", { class: n <= c.score ? "on" : "" }))),
          h("strong", { "aria-hidden": "true" }, `${c.score}/5`),
        ),
        h("p", { class: "small", style: "margin:.35rem 0 0" }, c.rationale),
        c.verification && c.verification !== "verified" ? h("p", { class: "small notice" }, c.verification === "rescored" ? "Rescored offline: the model's quotes could not be found in the transcript." : "Some of the model's quotes were not in the transcript and were removed.") : null,
        c.evidence.length
          ? h(
              "ul",
              { class: "evidence", "aria-label": `Evidence for ${c.name}` },
              c.evidence.map((ev) => {
                evidenceIds += 1;
                // A quote of a timed spoken answer also plays the answer from where it was said.
                const playFrom = typeof ev.start_s === "number" ? timeline.turns.get(ev.question_id)?.playFrom : null;
                const where = `→ ${questionLabel(ev.question_id)}${playFrom ? `, plays from ${secondOf(ev.start_s)}` : ""}`;
                const button = h("button", { type: "button", class: "link", id: `evidence-${evidenceIds}`, "aria-controls": `turn-${ev.question_id}`, dataset: playFrom ? { start: String(ev.start_s) } : {} }, `“${ev.quote}” `, h("span", { class: "where" }, where));
                button.addEventListener("click", () => {
                  showEvidence(timeline, ev, button);
                  if (playFrom) playFrom(ev.start_s);
                });
                return h("li", {}, button);
              }),
            )
          : h("p", { class: "small muted" }, "No quote supports this score."),
      ),
    ),
    evaluation.strengths.length ? h("div", { class: "criterion" }, h("h3", {}, "Strengths"), h("ul", { class: "plain" }, evaluation.strengths.map((s) => h("li", {}, s)))) : null,
    evaluation.concerns.length ? h("div", { class: "criterion" }, h("h3", {}, "Concerns"), h("ul", { class: "plain" }, evaluation.concerns.map((s) => h("li", {}, s)))) : null,
    proctoringView(evaluation.proctoring || {}, start),
    h("p", { class: "small muted", style: "margin-top:1rem" }, `Scored by the ${evaluation.interviewer} interviewer (${evaluation.model}), prompt ${evaluation.prompt_version}, rubric ${evaluation.rubric_version}${evaluation.scorer_version ? `, scorer ${evaluation.scorer_version}` : ""}.`),
  );
}
