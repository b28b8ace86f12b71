// Review of an interview: the event log as one timeline (questions and answers with times,
// snapshots, proctoring signals, connection drops) beside the evaluation, where each
// criterion's quoted evidence links to the answer it quotes.

import { api } from "../api.js";
import { clear, h } from "../dom.js";
import { END_REASONS, INTERVIEW_STATE, RECOMMENDATION, SIGNALS, elapsed, formatDateTime, formatTime, label, plural, span } from "../format.js";
import { pageHead, pill } from "./common.js";

export async function show(ctx) {
  const id = ctx.params.id;
  const [interview, events, artifacts] = await Promise.all([api.get(`/interviews/${id}`), allEvents(id), api.get(`/interviews/${id}/artifacts`)]);
  if (!ctx.alive()) return;
  const urls = new Map(artifacts.items.map((a) => [a.event_offset, a.url]));
  const start = interview.started_at || events[0]?.at;
  const running = ["scheduled", "in_progress"].includes(interview.state);

  const timeline = buildTimeline(events, urls, start, id, running);
  const evaluation = interview.evaluation;
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
    h(
      "div",
      { class: "grid-2" },
      h(
        "section",
        { class: "card", "aria-labelledby": "timeline-title" },
        h("h2", { id: "timeline-title" }, "Timeline"),
        events.length ? timeline.el : h("p", { class: "muted" }, "Nothing happened in this interview yet."),
      ),
      h("section", { class: "card sticky", "aria-labelledby": "evaluation-title" }, h("h2", { id: "evaluation-title" }, "Evaluation"), evaluationView(evaluation, interview, timeline)),
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

function buildTimeline(events, urls, start, interviewId, running) {
  const el = h("ol", { class: "timeline", "aria-label": "Interview timeline" });
  const turns = new Map(); // question_id -> {li, answerEl, answerText}
  let strip = null;
  const at = (e) => h("span", { class: "at", title: formatDateTime(e.at) }, elapsed(start, e.at) || formatTime(e.at));
  const system = (e, kind, text, className = "system") => {
    strip = null;
    el.append(h("li", { class: className }, at(e), h("div", { class: "body" }, h("div", { class: "kind" }, kind), text)));
  };
  for (const e of events) {
    const d = e.data;
    switch (e.kind) {
      case "question": {
        strip = null;
        const kind = d.source === "recruiter" ? "Recruiter's question" : d.kind === "follow_up" ? `Follow-up to question ${d.index}` : `Question ${d.index}`;
        const answerSlot = h("div", {}, h("p", { class: "muted small" }, running ? "No answer yet." : "Not answered."));
        const li = h("li", { class: "turn question", id: `turn-${d.question_id}`, tabindex: "-1", dataset: { questionId: d.question_id } }, at(e), h("div", { class: "body" }, h("div", { class: "kind" }, kind), h("div", { class: "q-text" }, d.text), answerSlot));
        turns.set(d.question_id, { li, answerSlot, text: null });
        el.append(li);
        break;
      }
      case "answer": {
        strip = null;
        const turn = turns.get(d.question_id);
        const p = h("p", { class: "answer-text" }, d.text);
        const block = h("div", { class: "answer" }, h("div", { class: "kind", style: "margin-top:.5rem" }, `Answer · ${elapsed(start, e.at)}`), p);
        if (turn) {
          clear(turn.answerSlot, block);
          turn.text = d.text;
          turn.p = p;
        } else el.append(h("li", { class: "answer" }, at(e), h("div", { class: "body" }, block)));
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
          el.append(h("li", { class: "shots" }, at(e), h("div", { class: "body" }, strip.label, strip.row)));
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
        if (d.status === "disconnected") system(e, "Connection", "The candidate's connection dropped.", "signal");
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
      default:
        break;
    }
  }
  return { el, turns };
}

let refreshing = null;
function refreshUrls(interviewId, el) {
  // Signed URLs last five minutes; a page open longer fetches fresh ones once.
  refreshing ||= api
    .get(`/interviews/${interviewId}/artifacts`)
    .then(({ items }) => {
      const urls = new Map(items.map((a) => [String(a.event_offset), a.url]));
      for (const img of el.querySelectorAll("img[data-offset]")) {
        const url = urls.get(img.dataset.offset);
        if (url && img.src !== url) {
          img.src = url;
          img.parentElement.href = url;
        }
      }
    })
    .catch(() => {})
    .finally(() => setTimeout(() => (refreshing = null), 10000));
}

function showEvidence(timeline, evidence, button) {
  const turn = timeline.turns.get(evidence.question_id);
  if (!turn) return;
  for (const old of timeline.el.querySelectorAll("li.highlight")) old.classList.remove("highlight");
  for (const other of timeline.turns.values()) if (other.p && other.p.querySelector("mark")) other.p.textContent = other.text;
  if (turn.p && turn.text) {
    const i = turn.text.indexOf(evidence.quote);
    if (i >= 0) clear(turn.p, turn.text.slice(0, i), h("mark", {}, evidence.quote), turn.text.slice(i + evidence.quote.length));
  }
  turn.li.classList.add("highlight");
  turn.li.scrollIntoView({ behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth", block: "center" });
  turn.li.focus({ preventScroll: true });
  turn.li.dataset.from = button.id;
}

function evaluationView(evaluation, interview, timeline) {
  if (!evaluation) {
    const why = interview.state === "completed" ? "The interview ended without an evaluation." : ["scheduled", "in_progress"].includes(interview.state) ? "The evaluation is written when the interview ends." : "This interview did not finish, so it was not evaluated.";
    return h("p", { class: "muted" }, why);
  }
  const total = evaluation.criteria.reduce((sum, c) => sum + c.weight, 0) || 1;
  const questionLabel = (qid) => timeline.turns.get(qid)?.li.querySelector(".kind")?.textContent || qid;
  let evidenceIds = 0;
  const p = evaluation.proctoring || {};
  const counts = Object.entries(p.counts || {}).filter(([s]) => !["tab_visible", "window_focus"].includes(s));
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
        c.evidence.length
          ? h(
              "ul",
              { class: "evidence", "aria-label": `Evidence for ${c.name}` },
              c.evidence.map((ev) => {
                evidenceIds += 1;
                const button = h("button", { type: "button", class: "link", id: `evidence-${evidenceIds}`, "aria-controls": `turn-${ev.question_id}` }, `“${ev.quote}” `, h("span", { class: "where" }, `→ ${questionLabel(ev.question_id)}`));
                button.addEventListener("click", () => showEvidence(timeline, ev, button));
                return h("li", {}, button);
              }),
            )
          : h("p", { class: "small muted" }, "No quote supports this score."),
      ),
    ),
    evaluation.strengths.length ? h("div", { class: "criterion" }, h("h3", {}, "Strengths"), h("ul", { class: "plain" }, evaluation.strengths.map((s) => h("li", {}, s)))) : null,
    evaluation.concerns.length ? h("div", { class: "criterion" }, h("h3", {}, "Concerns"), h("ul", { class: "plain" }, evaluation.concerns.map((s) => h("li", {}, s)))) : null,
    h(
      "div",
      { class: "criterion" },
      h("h3", {}, "Proctoring"),
      h(
        "ul",
        { class: "plain small" },
        h("li", {}, p.camera_available === false ? "Camera unavailable during the interview." : "Camera available."),
        counts.length ? counts.map(([s, n]) => h("li", {}, `${label(SIGNALS, s)}: ${n}`)) : h("li", {}, "No signal of leaving the interview."),
        p.total_time_away_s ? h("li", {}, `Away ${Math.round(p.total_time_away_s)} s in all, longest ${Math.round(p.longest_time_away_s)} s.`) : null,
      ),
    ),
    h("p", { class: "small muted", style: "margin-top:1rem" }, `Scored by the ${evaluation.interviewer} interviewer (${evaluation.model}), prompt ${evaluation.prompt_version}, rubric ${evaluation.rubric_version}.`),
  );
}
