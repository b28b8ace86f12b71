// The recruiter's live view of one interview: a watcher socket from offset 0 (the log replays,
// then live events follow), the question as it streams, answers as they are committed, the
// latest webcam snapshot, proctoring signals as they happen, the time left; the recruiter can
// ask a question next or end the interview. It reconnects by itself from its last offset.
//
// Where the candidate is, it says honestly: here, away (the tab hidden or another window, until
// they are back), or gone from the connection, and why (a reload, a network drop, the server
// restarting), read from the log's `connection` entries and their `cause`.

import { api } from "../api.js";
import { Backoff, Retrying } from "../backoff.js";
import { clear, confirmDialog, h, toast } from "../dom.js";
import { END_REASONS, INTERVIEW_STATE, SIGNALS, clock, formatTime, label, plural } from "../format.js";
import { describeMediaEvent, livePlayer } from "../rtc.js";
import { InterviewSocket } from "../socket.js";
import { errorBox, navigate, pageHead, pill } from "./common.js";

const ENDED = ["completed", "abandoned", "expired"];

export async function show(ctx) {
  const id = ctx.params.id;
  const interview = await api.get(`/interviews/${id}`);
  if (!ctx.alive()) return;
  if (ENDED.includes(interview.state)) {
    location.replace(`#/interviews/${id}/review`);
    return;
  }
  let job = null;
  try {
    job = await api.get(`/jobs/${interview.job_id}`);
  } catch {
    // Without the plan the view shows no total time; everything else works.
  }
  if (!ctx.alive()) return;
  const plan = job?.interview_plan;

  const state = {
    phase: interview.state,
    startedAt: interview.started_at,
    question: null,
    streamingId: null,
    skew: null, // local clock minus server clock, from events that arrived fresh
    latestShot: 0,
    shownShot: 0,
    counts: {},
    injected: new Map(), // client_id -> status element
    turns: new Map(), // question_id -> timeline item
    answered: 0,
  };

  // The candidate's video and sound over WebRTC, when the server relays them (rtc.js).
  const socket = new InterviewSocket(id, "watcher", { since: 0 });
  const live = livePlayer(socket);
  const socketPill = h("span", { class: "pill warn", role: "status" }, "Connecting…");
  const phasePill = h("span", {}, pill(INTERVIEW_STATE, interview.state));
  const candidatePill = h("span", { class: "pill", id: "candidate-status", role: "status" }, "Candidate not connected");
  const banner = h("div", { "aria-live": "polite" });
  const qMeta = h("div", { class: "question-meta" }, "Waiting for the first question…");
  const qText = h("p", { class: "question-text", id: "live-question" });
  const answerLeft = h("span", { class: "time" });
  const totalLeft = h("span", { class: "small muted" });
  const timer = h("div", { class: "timer", hidden: true }, h("div", { class: "row" }, h("span", { class: "small muted" }, "Answer time left"), h("span", { class: "spacer" }), answerLeft));
  const transcript = h("ol", { class: "timeline clock", "aria-label": "Transcript so far", "aria-live": "polite" });
  const transcriptEmpty = h("p", { class: "muted", style: "margin:0" }, "Answers appear here as the candidate sends them.");
  const shot = h("img", { alt: "Latest webcam snapshot of the candidate", hidden: true, id: "latest-snapshot" });
  const shotEmpty = h("span", { class: "small" }, "No snapshot yet");
  const shotMeta = h("p", { class: "small muted", style: "margin:.4rem 0 0" }, "");
  const cameraPill = h("span", { class: "pill", id: "camera-status" }, "Camera: waiting");
  const counts = h("div", { class: "counts", role: "group", "aria-label": "Signal counts" });
  const signals = h("ol", { class: "signals", "aria-label": "Proctoring signals", "aria-live": "polite" });
  const signalsEmpty = h("p", { class: "muted small", style: "margin:0" }, "No signal yet: the candidate has stayed on the interview.");
  const injectBox = h("textarea", { id: "inject", rows: 3, maxlength: 2000, "aria-describedby": "inject-hint" });
  const injectButton = h("button", { type: "submit", class: "primary small" }, "Ask next");
  const injectList = h("ul", { class: "plain small", style: "margin-top:.5rem" });
  const endButton = h("button", { type: "button", class: "danger small" }, "End the interview");
  const injectForm = h(
    "form",
    { "aria-label": "Ask the candidate a question" },
    h("label", { for: "inject" }, "Ask a question next"),
    injectBox,
    h("div", { class: "answer-foot" }, h("span", { id: "inject-hint", class: "hint" }, "Asked right after the current answer. ", h("kbd", {}, "Enter"), " sends."), injectButton),
    injectList,
  );

  clear(
    ctx.main,
    pageHead(`Live: ${interview.candidate_name}`, {
      back: ["#/interviews", "Interviews"],
      sub: h("span", { class: "row" }, interview.job_title, phasePill, socketPill, candidatePill),
      actions: [endButton],
    }),
    banner,
    h(
      "div",
      { class: "watch" },
      h(
        "div",
        { class: "stack" },
        h("section", { class: "card question-card", "aria-labelledby": "live-question-title" }, h("h2", { id: "live-question-title" }, "Current question"), qMeta, qText, timer, totalLeft),
        h("section", { class: "card", "aria-labelledby": "transcript-title" }, h("h2", { id: "transcript-title" }, "Transcript"), transcriptEmpty, transcript),
      ),
      h(
        "div",
        { class: "stack" },
        h("section", { class: "card", "aria-labelledby": "snapshot-title" }, h("div", { class: "row" }, h("h2", { id: "snapshot-title", style: "margin:0" }, "Webcam"), h("span", { class: "spacer" }), cameraPill), live.el, h("div", { class: "snapshot", style: "margin-top:.6rem" }, shot, shotEmpty), shotMeta),
        h("section", { class: "card", "aria-labelledby": "signals-title" }, h("h2", { id: "signals-title" }, "Proctoring"), counts, signalsEmpty, signals),
        h("section", { class: "card" }, injectForm),
      ),
    ),
  );
  if (interview.state === "scheduled") clear(banner, h("div", { class: "notice" }, "Waiting for the candidate to join. This page follows the interview by itself once they do."));

  const serverNow = () => Date.now() - (state.skew ?? 0);

  // --- the log, event by event -------------------------------------------------------------

  function onEvent(e) {
    const d = Date.now() - Date.parse(e.at);
    if (d < 5000) state.skew = state.skew === null ? d : Math.min(state.skew, d);
    const data = e.data;
    switch (e.kind) {
      case "state":
        state.phase = data.state;
        clear(phasePill, pill(INTERVIEW_STATE, data.state));
        if (data.state === "in_progress") {
          state.startedAt = e.at;
          clear(banner);
        } else if (ENDED.includes(data.state)) ended(data);
        break;
      case "connection":
        if (data.role !== "candidate") break;
        if (data.status === "connected") {
          showPresence("ok", data.resumed ? "Candidate reconnected" : "Candidate connected");
          if (data.resumed) addSignal(e, "Back", false);
        } else if (data.status === "replaced") {
          showPresence("warn", "Candidate switched window");
        } else {
          const [text, note, alarming] = DROPS[data.cause] || DROPS.network_drop;
          showPresence("warn", text(formatTime(data.since || e.at)));
          addSignal(e, note, alarming);
        }
        break;
      case "question":
        state.question = { ...data, at: e.at };
        state.streamingId = null;
        qText.classList.remove("streaming");
        qText.textContent = data.text;
        clear(
          qMeta,
          data.source === "recruiter"
            ? h("span", { class: "pill info" }, "Your question")
            : data.kind === "follow_up"
              ? h("span", { class: "pill accent" }, `Follow-up to question ${data.index}`)
              : h("span", {}, plan ? `Question ${data.index} of ${plan.question_count}` : `Question ${data.index}`),
          h("span", {}, `asked at ${formatTime(e.at)}`),
        );
        timer.hidden = false;
        addTurn(e);
        if (data.source === "recruiter") markInjected(data.text, "Asked");
        break;
      case "answer":
        addAnswer(e);
        break;
      case "answer.timeout":
        addNote(data.question_id, "No answer in time.");
        break;
      case "proctor":
        state.counts[data.signal] = (state.counts[data.signal] || 0) + 1;
        renderCounts();
        addSignal(e, label(SIGNALS, data.signal), !["tab_visible", "window_focus"].includes(data.signal));
        if (AWAY[data.signal]) showPresence("warn", `${AWAY[data.signal]} since ${formatTime(e.at)}`);
        else if (BACK.includes(data.signal) && candidatePill.dataset.presence === "away") showPresence("ok", "Candidate back on the interview");
        if (data.signal === "camera_unavailable") {
          cameraPill.className = "pill danger";
          cameraPill.textContent = "Camera unavailable";
          shotEmpty.textContent = "The candidate has no camera; the interview goes on without snapshots.";
        }
        break;
      case "screenshot":
        state.latestShot = e.offset;
        cameraPill.className = "pill ok";
        cameraPill.textContent = "Camera on";
        shotMeta.textContent = `Taken at ${formatTime(data.taken_at)} · ${data.width}×${data.height}`;
        fetchSnapshot();
        break;
      case "question.injected":
        if (!findInjected(data.text)) injectList.append(h("li", { dataset: { text: data.text } }, `“${data.text}” · `, h("span", {}, "Queued")));
        break;
      case "end.requested":
        addSignal(e, data.by === "recruiter" ? "The recruiter ended the interview" : "The candidate ended the interview", false);
        break;
      case "time.warning":
        if (data.scope === "interview") totalLeft.classList.add("field-error");
        break;
      case "interviewer.error":
        addSignal(e, `Interviewer error: ${data.message}`, true);
        break;
      case "media": {
        const said = describeMediaEvent(data);
        if (said) addSignal(e, said[0], said[1]);
        break;
      }
      case "evaluation":
        break;
      default:
        break;
    }
  }

  function addTurn(e) {
    transcriptEmpty.hidden = true;
    const d = e.data;
    const who = d.source === "recruiter" ? "Your question" : d.kind === "follow_up" ? "Follow-up" : `Question ${d.index}`;
    const li = h(
      "li",
      { class: "turn", dataset: { questionId: d.question_id } },
      h("span", { class: "at" }, formatTime(e.at)),
      h("div", { class: "body" }, h("div", { class: "kind" }, who), h("div", { class: "q" }, d.text), h("div", { class: "answer-slot" }, h("p", { class: "muted small", style: "margin:.2rem 0 0" }, "Waiting for the answer…"))),
    );
    state.turns.set(d.question_id, li);
    transcript.append(li);
  }

  function addAnswer(e) {
    state.answered += 1;
    const li = state.turns.get(e.data.question_id);
    const spoken = e.data.source === "voice";
    const words = spoken && e.data.transcribed === false ? "(spoken; could not be transcribed: the review plays it)" : e.data.text;
    const answer = h("div", { class: "answer", dataset: { offset: String(e.offset) } }, h("div", { class: "kind" }, `${spoken ? "Spoken answer" : "Answer"} · ${formatTime(e.at)}`), h("p", { class: "pre", style: "margin:.2rem 0 0" }, words));
    if (li) clear(li.querySelector(".answer-slot"), answer);
    else transcript.append(h("li", { class: "turn" }, h("span", { class: "at" }, formatTime(e.at)), h("div", { class: "body" }, answer)));
    if (state.question && state.question.question_id === e.data.question_id) {
      timer.hidden = true;
      clear(qMeta, h("span", {}, "Answered. The interviewer is choosing the next question…"));
    }
  }

  function addNote(questionId, text) {
    const li = state.turns.get(questionId);
    if (li) clear(li.querySelector(".answer-slot"), h("p", { class: "small", style: "color:var(--warn);margin:.2rem 0 0" }, text));
  }

  // Once the interview is over, the candidate's sockets closing says nothing about them.
  function showPresence(tone, text) {
    if (ENDED.includes(state.phase)) return;
    candidatePill.className = `pill ${tone}`;
    candidatePill.textContent = text;
    candidatePill.dataset.presence = text.startsWith("Candidate away") ? "away" : tone === "ok" ? "here" : "gone";
  }

  function addSignal(e, text, alarming) {
    signalsEmpty.hidden = true;
    signals.prepend(h("li", {}, h("span", { style: alarming ? "color:var(--warn)" : "" }, text), h("span", { class: "muted" }, formatTime(e.at))));
  }

  function renderCounts() {
    clear(
      counts,
      Object.entries(state.counts)
        .filter(([signal]) => !["tab_visible", "window_focus"].includes(signal))
        .map(([signal, n]) => h("span", { class: "pill warn" }, `${label(SIGNALS, signal)} × ${n}`)),
    );
  }

  function findInjected(text) {
    return [...injectList.children].find((li) => li.dataset.text === text && li.lastChild.textContent !== "Asked");
  }

  function markInjected(text, status) {
    const li = findInjected(text);
    if (li) li.lastChild.textContent = status;
  }

  // The newest snapshot's signed URL: one request at a time, always for the latest. After a
  // failure the next try waits for the backoff (and the server's Retry-After), however many
  // snapshots arrive meanwhile: a snapshot a second must not become a request per failure.
  const snapshots = new Retrying(async () => {
    while (state.latestShot > state.shownShot && ctx.alive()) {
      const target = state.latestShot;
      const { items } = await api.get(`/interviews/${id}/artifacts`, { since: target - 1 });
      const item = items.find((a) => a.event_offset === target) || items[items.length - 1];
      if (item && ctx.alive()) {
        shot.src = item.url;
        shot.hidden = false;
        shotEmpty.hidden = true;
        shot.dataset.offset = String(item.event_offset);
      }
      state.shownShot = target;
    }
  }, { backoff: new Backoff({ baseMs: 1000, capMs: 30000 }) });
  const fetchSnapshot = () => snapshots.run();

  function ended(data) {
    timer.hidden = true;
    injectBox.disabled = injectButton.disabled = endButton.disabled = true;
    clear(
      banner,
      h(
        "div",
        { class: "notice ok", role: "status" },
        h("strong", {}, "The interview has ended. "),
        label(END_REASONS, data.reason),
        " ",
        data.state === "completed" ? h("a", { href: `#/interviews/${id}/review` }, "Open the review and the evaluation") : h("a", { href: `#/interviews/${id}/review` }, "Open the review"),
      ),
    );
    qMeta.textContent = "";
    qText.textContent = "";
  }

  // --- live-only: the question as it streams ------------------------------------------------------

  socket.on("event", onEvent);
  socket.on("event", (e) => live.event(e));
  // A spoken answer as it is heard (docs/protocol.md, section 9; live only, not logged): the
  // committed answer entry replaces it.
  function hearing(questionId) {
    const li = state.turns.get(questionId);
    const slot = li?.querySelector(".answer-slot");
    if (!slot || slot.querySelector(".answer")) return null;
    let p = slot.querySelector(".hearing");
    if (!p) {
      p = h("p", { class: "pre hearing", style: "margin:.2rem 0 0" });
      clear(slot, h("div", { class: "kind" }, "Speaking…"), p);
    }
    return p;
  }
  socket.on("speech.started", (m) => hearing(m.question_id));
  socket.on("transcript.delta", (m) => hearing(m.question_id)?.append(m.text));
  socket.on("transcript.done", (m) => {
    const p = hearing(m.question_id);
    if (p) p.textContent = m.transcribed ? m.text : "(not transcribed)";
  });
  socket.on("question.delta", (m) => {
    if (state.streamingId !== m.question_id) {
      state.streamingId = m.question_id;
      qText.textContent = "";
      timer.hidden = true;
      clear(qMeta, h("span", {}, "The interviewer is writing…"));
    }
    qText.classList.add("streaming");
    qText.append(m.text);
  });
  socket.on("status", (s) => {
    if (s.state === "open") {
      // This view's own connection, in a tone of its own: the interview's state ("Live now")
      // is the one green pill.
      socketPill.className = "pill info";
      socketPill.textContent = "Live updates on";
    } else if (s.state === "closed") {
      socketPill.className = "pill";
      socketPill.textContent = "Closed";
    } else {
      socketPill.className = "pill warn";
      socketPill.textContent = s.state === "offline" ? "Offline" : "Reconnecting…";
    }
  });
  // The interview ended while this view was away: read what it missed over HTTP.
  async function catchUp() {
    let since = socket.lastOffset;
    for (;;) {
      const page = await api.get(`/interviews/${id}/events`, { since, limit: 1000 });
      for (const e of page.items) {
        if (e.offset <= socket.lastOffset) continue;
        socket.lastOffset = e.offset;
        onEvent(e);
      }
      if (page.next_since === null || !ctx.alive()) return;
      since = page.next_since;
    }
  }

  socket.on("closed", async (c) => {
    if (ENDED.includes(state.phase)) return;
    if (c.why === "interview_ended" || c.why === "ended") {
      try {
        await catchUp();
        if (!ENDED.includes(state.phase) && ctx.alive()) {
          const latest = await api.get(`/interviews/${id}`);
          ended({ state: latest.state, reason: latest.state_reason });
        }
      } catch (error) {
        clear(banner, errorBox(error, { retry: () => navigate(location.hash) }));
      }
    } else {
      clear(banner, errorBox({ message: c.reason || "The live view was closed." }, { retry: () => navigate(location.hash) }));
    }
  });
  socket.on("error", (m) => !m.code?.startsWith("rtc_") && toast(m.message, { error: true })); // rtc.js shows its own

  function tick() {
    const q = state.question;
    if (q && !timer.hidden) {
      const left = (Date.parse(q.at) + q.time_limit_s * 1000 - serverNow()) / 1000;
      answerLeft.textContent = left > 0 ? clock(left) : "Time is up";
      timer.classList.toggle("warn", left > 0 && left < 30);
    }
    if (state.startedAt && plan && !ENDED.includes(state.phase)) {
      const left = (Date.parse(state.startedAt) + plan.total_time_limit_min * 60000 - serverNow()) / 1000;
      totalLeft.textContent = `Interview: ${clock(left)} left of ${plan.total_time_limit_min} min · ${plural(state.answered, "answer")} so far`;
    }
  }
  const ticker = setInterval(tick, 250);

  injectBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      injectForm.requestSubmit();
    }
  });
  injectForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = injectBox.value.trim();
    if (!text) {
      injectBox.focus();
      return;
    }
    const status = h("span", {}, "Sending…");
    const li = h("li", { dataset: { text } }, `“${text}” · `, status);
    injectList.append(li);
    injectBox.value = "";
    const { done } = socket.send("inject_question", { text });
    done.then(
      () => status.textContent !== "Asked" && (status.textContent = "Queued: asked after the current answer"),
      (error) => (status.textContent = `Not sent: ${error.message}`),
    );
  });

  endButton.addEventListener("click", async () => {
    const ok = await confirmDialog({
      title: "End this interview now?",
      message: `${interview.candidate_name} is told the interview is over, and it is evaluated on the answers so far.`,
      confirm: "End the interview",
      danger: true,
    });
    if (!ok) return;
    endButton.disabled = true;
    socket.send("end");
  });

  ctx.onLeave(() => {
    clearInterval(ticker);
    snapshots.stop();
    live.stop();
    socket.stop();
  });
  socket.start();
}

// How a candidate's drop reads, by its cause (docs/protocol.md, the `connection` entry): the
// pill while they are gone, the line in the signals, and whether that line is a warning. A
// reload or a server restart is nobody's misconduct; a network drop is a fact worth a look.
const DROPS = {
  reload: [(at) => `Candidate reloading the page (since ${at})…`, "Reloaded the page", false],
  network_drop: [(at) => `Candidate's connection dropped at ${at}; reconnecting…`, "Connection dropped", true],
  server_restart: [(at) => `Server restarting (since ${at}); the candidate reconnects by itself`, "Server restarted", false],
};
const AWAY = { tab_hidden: "Candidate away: left the tab", window_blur: "Candidate away: in another window" };
const BACK = ["tab_visible", "window_focus"];
