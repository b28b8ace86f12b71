// The candidate's interview room: a camera check with a preview, then the live interview over
// the openhire.v1 socket — the question streaming in, a timer, the answer box (Enter submits,
// Shift+Enter is a new line), webcam snapshots on the server's schedule, proctoring signals,
// reconnecting by itself — and a clear end screen.

import { api } from "../api.js";
import { Backoff, retryAfterOf } from "../backoff.js";
import { clear, confirmDialog, h, toast } from "../dom.js";
import { clock, plural } from "../format.js";
import { guardLeaving } from "../leave.js";
import { CandidateMedia, MicLevel, captureCameraAndMic, deviceState, trackLevel } from "../rtc.js";
import { InterviewSocket } from "../socket.js";
import { errorBox, pageHead } from "./common.js";
import { windowLine, windowState } from "./schedule_window.js";

const ENDED = ["completed", "abandoned", "expired"];
const SNAPSHOT_WIDTH = 480;
const SNAPSHOT_QUALITY = 0.72;

const CANDIDATE_END_REASONS = {
  all_questions_answered: "You answered every question. Thank you for your time.",
  candidate_ended: "You ended the interview. Your answers up to then are saved.",
  recruiter_ended: "The recruiter ended the interview. Your answers up to then are saved.",
  time_up: "The time for the interview ran out. Your answers up to then are saved.",
  interviewer_failed: "The interviewer ran into a problem, so the interview stopped early. Your answers are saved and the recruiter knows what happened.",
  candidate_left: "The interview closed because you were away longer than it could wait.",
  not_started: "This interview expired before it was started.",
};

export async function show(ctx) {
  const interview = await api.get(`/interviews/${ctx.params.id}`);
  if (!ctx.alive()) return;
  if (ENDED.includes(interview.state)) {
    endScreen(ctx, interview, interview.state_reason);
    return;
  }
  if (interview.state === "scheduled" && windowState(interview) !== "open") {
    // The server refuses a ticket outside the window (409 interview_not_open): say when.
    const early = windowState(interview) === "not_yet";
    clear(
      ctx.main,
      pageHead(early ? "This interview is not open yet" : "This interview's window has closed", { back: ["#/interviews", "Your interviews"] }),
      h("p", {}, windowLine(interview)),
      h("p", { class: "muted" }, early ? "Come back when it opens; nothing starts until you enter the room." : "Ask the recruiter for another interview."),
    );
    return;
  }
  let job = null;
  try {
    job = await api.get(`/jobs/${interview.job_id}`);
  } catch {
    // The interview's outline only makes the page more informative; the interview runs without it.
  }
  if (!ctx.alive()) return;
  const camera = new Camera();
  ctx.onLeave(() => camera.stop());
  checkScreen(ctx, interview, job, camera);
}

// --- the camera -------------------------------------------------------------------------------

class Camera {
  constructor() {
    this.video = h("video", { autoplay: true, muted: true, playsinline: true, "aria-label": "Your camera preview" });
    this.video.muted = true;
    this.stream = null;
    this.problem = null;
    this.canvas = document.createElement("canvas");
    this.onLost = null;
    this.onChange = null; // a track muted or unmuted (rtc.js shows the state)
    this.level = new MicLevel();
  }

  get available() {
    return this.stream !== null && this.stream.getVideoTracks().some((t) => t.readyState === "live");
  }

  async start() {
    this.stop();
    this.problem = null;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.problem = "This browser cannot use a camera here (it needs a secure connection: https or localhost).";
      return false;
    }
    try {
      this.stream = await captureCameraAndMic(); // the microphone too, for WebRTC (rtc.js)
    } catch (error) {
      this.problem =
        error.name === "NotAllowedError" || error.name === "SecurityError"
          ? "Camera access was blocked. You can allow it in your browser's site settings and try again."
          : error.name === "NotFoundError" || error.name === "OverconstrainedError"
            ? "No camera was found on this device."
            : error.name === "NotReadableError"
              ? "The camera is in use by another application."
              : `The camera could not start (${error.name}).`;
      return false;
    }
    this.video.srcObject = this.stream;
    for (const track of this.stream.getVideoTracks()) {
      track.addEventListener("ended", () => {
        this.problem = "The camera stopped.";
        this.onLost?.();
      });
    }
    for (const track of this.stream.getTracks()) {
      if (track.kind === "audio") track.addEventListener("ended", () => this.onLost?.());
      track.addEventListener("mute", () => this.onChange?.());
      track.addEventListener("unmute", () => this.onChange?.());
    }
    this.level.attach(this.stream);
    await new Promise((resolve) => {
      if (this.video.readyState >= 1) resolve();
      else this.video.addEventListener("loadedmetadata", resolve, { once: true });
      setTimeout(resolve, 3000);
    });
    this.video.play().catch(() => {});
    return true;
  }

  stop() {
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.level.detach();
    this.video.srcObject = null;
  }

  /** A still of the camera as JPEG bytes (canvas -> toBlob('image/jpeg')), or null. */
  async snapshot() {
    const { videoWidth: w, videoHeight: hgt } = this.video;
    if (!this.available || !w || !hgt) return null;
    const scale = Math.min(1, SNAPSHOT_WIDTH / w);
    this.canvas.width = Math.round(w * scale);
    this.canvas.height = Math.round(hgt * scale);
    this.canvas.getContext("2d").drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    const blob = await new Promise((resolve) => this.canvas.toBlob(resolve, "image/jpeg", SNAPSHOT_QUALITY));
    return blob ? blob.arrayBuffer() : null;
  }
}

// --- before the interview: what to expect, and the camera check ------------------------------------

function checkScreen(ctx, interview, job, camera) {
  const outline = job?.interview; // JobListing.interview: the candidate never gets the plan itself
  const resuming = interview.state === "in_progress";
  const cameraStatus = h("p", { role: "status", class: "small" }, "Checking your camera…");
  const retry = h("button", { type: "button", class: "small", hidden: true }, "Try the camera again");
  const start = h("button", { type: "button", class: "primary", disabled: true }, resuming ? "Rejoin the interview" : "Start the interview");
  const frame = h("div", { class: "camera" }, camera.video);

  async function check() {
    retry.hidden = true;
    start.disabled = true;
    cameraStatus.textContent = "Checking your camera…";
    cameraStatus.className = "small";
    const ok = await camera.start();
    if (!ctx.alive()) return;
    if (ok) {
      cameraStatus.textContent = camera.stream.getAudioTracks().length
        ? "Your camera works, and so does your microphone (the meter moves when you speak). The recruiter may watch and hear you live, and the interview may be recorded; at the least they see a still picture from the camera every few seconds."
        : "Your camera works; no microphone was found, so no sound is sent. The recruiter sees a still picture from the camera every few seconds.";
      cameraStatus.className = "small notice ok";
    } else {
      clear(frame, h("div", { class: "placeholder" }, "No camera"));
      cameraStatus.textContent = `${camera.problem} You can still take the interview without it; the recruiter will see that the camera was unavailable.`;
      cameraStatus.className = "small notice warn";
      retry.hidden = false;
    }
    start.disabled = false;
  }
  retry.addEventListener("click", () => {
    clear(frame, camera.video);
    check();
  });
  start.addEventListener("click", () => liveRoom(ctx, interview, job, camera));

  clear(
    ctx.main,
    pageHead(resuming ? "Rejoin your interview" : "Before you start", {
      sub: `${interview.job_title}${resuming ? " · your interview is in progress and waits for you" : ""}`,
      back: ["#/interviews", "Your interviews"],
    }),
    h(
      "div",
      { class: "grid-2 check-screen" },
      h(
        "section",
        { class: "card", "aria-labelledby": "expect-title" },
        h("h2", { id: "expect-title" }, "What to expect"),
        h(
          "ul",
          { class: "plain stack" },
          outline
            ? h("li", {}, `${plural(outline.question_count, "main question")}, one at a time, ${clock(outline.answer_time_limit_s)} for each answer and ${outline.total_time_limit_min} minutes in all. The interviewer may follow up on an answer.`)
            : h("li", {}, "Questions come one at a time, each with its own time limit."),
          outline?.answer_mode === "voice"
            ? h("li", {}, "Answer aloud: each question is spoken and shown, then the microphone listens. A pause of a second or so ends your answer, or press \u201cI'm done\u201d.")
            : h("li", {}, outline?.answer_mode === "either" ? "Answer aloud, or type your answer in the box. " : "Type your answer in the box. ", h("kbd", {}, "Enter"), " sends it; ", h("kbd", {}, "Shift"), " + ", h("kbd", {}, "Enter"), " starts a new line."),
          h("li", {}, "Stay on this tab: leaving it, switching windows and pasting text are noted for the recruiter."),
          h("li", {}, "If your connection drops, stay on this page: the interview reconnects by itself and continues where it was. Answers you sent are kept."),
          h("li", {}, "The interview starts when you press the button, and ends after the last question."),
        ),
        h("div", { class: "actions", style: "margin-top:1rem" }, start),
      ),
      h("section", { class: "card", "aria-labelledby": "camera-title" }, h("h2", { id: "camera-title" }, "Camera check"), frame, camera.level.el, h("div", { style: "margin-top:.75rem" }, cameraStatus, retry)),
    ),
  );
  check();
}

// --- the live interview ------------------------------------------------------------------------

function liveRoom(ctx, interview, job, camera) {
  const id = interview.id;
  const outline = job?.interview;
  const socket = new InterviewSocket(id, "candidate");
  // Live media when the server and the browser can (rtc.js); snapshots below otherwise. A
  // spoken interview also hears the questions on the server's audio track (section 9).
  const spoken = outline ? outline.answer_mode !== "text" : true;
  const voice = new QuestionVoice();
  const media = new CandidateMedia(socket, camera, { onState: () => updateCameraNote(), receiveVoice: spoken, onVoice: (track) => voice.attach(track) });
  const state = { question: null, streamingId: null, startedAt: interview.started_at, ended: false, snapshots: 0, answered: new Set() };
  let snapshotTimer = null;

  // Pieces of the page.
  const connection = h("span", { class: "pill warn", role: "status" }, "Connecting…");
  const totalLeft = h("span", { class: "pill", hidden: true }, "");
  const banner = h("div", { "aria-live": "polite" });
  const meta = h("div", { class: "question-meta" });
  const questionText = h("p", { class: "question-text", id: "question-text" }, "");
  const announcer = h("p", { class: "visually-hidden", "aria-live": "assertive" });
  const time = h("span", { class: "time", "aria-live": "off" }, "");
  const barFill = h("span", { style: "width:100%" });
  const timer = h("div", { class: "timer", hidden: true }, h("div", { class: "row" }, h("span", { class: "small muted" }, "Time left for this answer"), h("span", { class: "spacer" }), time), h("div", { class: "bar", "aria-hidden": "true" }, barFill));
  const box = h("textarea", { id: "answer", name: "answer", rows: 7, maxlength: 20000, disabled: true, "aria-describedby": "answer-hint answer-status" });
  const send = h("button", { type: "submit", class: "primary", disabled: true }, "Send answer");
  const answerStatus = h("span", { id: "answer-status", class: "small muted", role: "status" }, "Waiting for the first question…");
  const answers = h("ol", { class: "turns", "aria-label": "Your answers" });
  const answersCard = h("section", { class: "card answers-card", hidden: true, "aria-labelledby": "answers-title" }, h("h2", { id: "answers-title" }, "Your answers"), answers);
  const cameraNote = h("p", { class: "small muted", role: "status", id: "media-status", style: "margin:.5rem 0 0" }, "");
  const fullscreen = h("button", { type: "button", class: "small" }, "Full screen");
  const endButton = h("button", { type: "button", class: "danger small" }, "End the interview");
  const form = h(
    "form",
    { class: "answer-box", "aria-label": "Your answer" },
    h("label", { for: "answer" }, "Your answer"),
    box,
    h("div", { class: "answer-foot" }, h("span", { id: "answer-hint", class: "hint" }, h("kbd", {}, "Enter"), " sends · ", h("kbd", {}, "Shift"), "+", h("kbd", {}, "Enter"), " new line"), answerStatus, send),
  );

  // Spoken answers (voice or either): what the server hears, live, and the candidate's controls.
  const listening = h("p", { id: "listening", class: "listening", role: "status", "data-state": "idle" }, "");
  const transcript = h("p", { id: "transcript", class: "transcript", role: "log", "aria-live": "polite", "aria-label": "Your answer as it is heard" }, "");
  const doneButton = h("button", { type: "button", class: "primary", disabled: true }, "I'm done");
  const pauseButton = h("button", { type: "button", "aria-pressed": "false", disabled: true }, "Pause");
  // After a reconnect with an answer in progress (section 9, "Reconnects"): go on or start again.
  const resumeText = h("p", { id: "resume-text" }, "");
  const continueButton = h("button", { type: "button", class: "primary" }, "Continue your answer");
  const restartButton = h("button", { type: "button" }, "Start it again");
  const resumeChoice = h("div", { class: "notice warn", id: "answer-resume", role: "alert", hidden: true }, resumeText, h("div", { class: "actions" }, continueButton, restartButton));
  const voicePanel = h(
    "section",
    { class: "card voice-answer", hidden: true, "aria-labelledby": "voice-title" },
    h("h2", { id: "voice-title" }, "Answer aloud"),
    resumeChoice,
    listening,
    transcript,
    h("div", { class: "actions" }, doneButton, pauseButton),
    h("p", { class: "small muted" }, "Speak your answer; a pause of a second or so ends it, or press \u201cI'm done\u201d. Pause stops the listening (the answer's clock runs on)."),
  );
  const formCard = h("section", { class: "card" }, form);

  clear(
    ctx.main,
    h("div", { class: "room-bar" }, h("h1", {}, interview.job_title), connection, totalLeft),
    banner,
    h(
      "div",
      { class: "room" },
      h(
        "div",
        { class: "stack" },
        h("section", { class: "card question-card", "aria-labelledby": "question-text" }, meta, questionText, timer, announcer),
        voicePanel,
        formCard,
        answersCard,
      ),
      h(
        "aside",
        { class: "side stack", "aria-label": "Camera and controls" },
        h("div", { class: "camera" }, camera.available ? camera.video : h("div", { class: "placeholder" }, "Camera off")),
        camera.level.el,
        h("div", {}, cameraNote, h("div", { class: "actions", style: "margin-top:.75rem" }, fullscreen, endButton)),
      ),
    ),
  );
  updateCameraNote();
  // Moving the preview out of the check screen paused it.
  if (camera.available) camera.video.play().catch(() => {});

  // --- answers ---------------------------------------------------------------------------------

  const draftKey = (qid) => `openhire.draft.${id}.${qid}`;
  const answerItems = new Map(); // client_id -> element
  const restored = new Set(); // client ids of answers sent before this page was loaded

  function addAnswerItem(questionText_, text, status, clientId) {
    answersCard.hidden = false;
    const statusEl = h("span", {});
    const li = h("li", {}, h("div", { class: "row" }, h("span", { class: "q", style: "flex:1" }, questionText_), statusEl), h("p", { class: "a" }, text));
    li.statusEl = statusEl;
    showStatus(li, status);
    answers.append(li);
    if (clientId) answerItems.set(clientId, li);
    return li;
  }

  const STATUS_LABELS = { saved: ["Saved", "ok"], sending: ["Sending…", "warn"], waiting: ["Waiting for the connection", "warn"], failed: ["Not saved", "danger"] };
  function showStatus(li, status) {
    li.dataset.status = status;
    li.statusEl.className = `pill ${STATUS_LABELS[status][1]}`;
    li.statusEl.textContent = STATUS_LABELS[status][0];
  }

  function markAnswer(clientId, status, message) {
    const li = answerItems.get(clientId);
    if (!li) return;
    showStatus(li, status);
    if (message) li.append(h("p", { class: "small field-error", style: "margin:.25rem 0 0" }, message));
  }

  function submitAnswer() {
    const q = state.question;
    const text = box.value.trim();
    if (!q || !text || state.answered.has(q.question_id)) return;
    state.answered.add(q.question_id);
    const { clientId, done } = socket.send("answer", { question_id: q.question_id, text });
    sessionStorage.removeItem(draftKey(q.question_id));
    addAnswerItem(q.text, text, "sending", clientId);
    if (!socket.isOpen) markAnswer(clientId, "waiting");
    box.value = "";
    setAnswering(false, socket.isOpen ? "Answer sent. The next question is on its way…" : "Answer kept on this device; it is sent as soon as the connection is back.");
    done.then(
      () => {
        markAnswer(clientId, "saved");
        if (!state.question || state.question.question_id === q.question_id) answerStatus.textContent = "Answer saved. The next question is on its way…";
      },
      (error) => {
        markAnswer(clientId, "failed", error.code === "stale_question" ? "The time for this question had run out, so this answer was not recorded." : error.message);
        if (state.question && state.question.question_id === q.question_id && error.code !== "stale_question") {
          // Not recorded for a reason the candidate can act on: give the text back.
          state.answered.delete(q.question_id);
          box.value = text;
          setAnswering(true, "Your answer was not saved. Please send it again.");
        }
      },
    );
  }

  function setAnswering(on, message) {
    box.disabled = !on;
    send.disabled = !on;
    if (!on) voiceControls(false); // a typed answer sent (either), or no question waiting
    if (message !== undefined) answerStatus.textContent = message;
  }

  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitAnswer();
    }
  });
  box.addEventListener("input", () => {
    if (state.question) sessionStorage.setItem(draftKey(state.question.question_id), box.value);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitAnswer();
  });

  // --- questions and time --------------------------------------------------------------------

  function showMeta(q) {
    const parts = [];
    if (q.source === "recruiter") parts.push(h("span", { class: "pill info" }, "From the recruiter"));
    else if (q.kind === "follow_up") parts.push(h("span", { class: "pill accent" }, `Follow-up to question ${q.index}`));
    else parts.push(h("span", {}, outline ? `Question ${q.index} of ${outline.question_count}` : `Question ${q.index}`));
    clear(meta, parts);
  }

  socket.on("question.delta", (m) => {
    if (state.streamingId !== m.question_id) {
      state.streamingId = m.question_id;
      state.question = null;
      questionText.textContent = "";
      clear(meta, h("span", {}, "The interviewer is writing the next question…"));
      timer.hidden = true;
      setAnswering(false, "Wait for the question to finish…");
      voice.listen(m.question_id); // the server may speak the first sentence before the question is done
    }
    questionText.classList.add("streaming");
    questionText.append(m.text);
  });

  socket.on("question.done", (m) => {
    const same = state.question && state.question.question_id === m.question_id;
    state.streamingId = null;
    state.question = { ...m, deadline: Date.now() + (m.time_left_s ?? m.time_limit_s) * 1000 };
    questionText.classList.remove("streaming");
    questionText.textContent = m.text;
    showMeta(m);
    timer.hidden = false;
    timer.classList.remove("warn", "over");
    if (state.answered.has(m.question_id)) {
      setAnswering(false);
      return;
    }
    if (!same) {
      announcer.textContent = `${m.source === "recruiter" ? "Question from the recruiter" : m.kind === "follow_up" ? "Follow-up question" : `Question ${m.index}`}: ${m.text}`;
      box.value = sessionStorage.getItem(draftKey(m.question_id)) || "";
    }
    setAnswering(true, "");
    showVoice(m, !same);
    if (m.answer_mode === "voice") return;
    if (!document.activeElement || document.activeElement === document.body || document.activeElement === box || !ctx.main.contains(document.activeElement)) box.focus();
  });

  // --- spoken answers (docs/protocol.md, section 9) -------------------------------------------

  const spokenState = { questionId: null, endId: null, paused: false, heard: false };

  function setListening(stateName, text) {
    listening.dataset.state = stateName;
    listening.textContent = text;
  }

  function voiceControls(on) {
    doneButton.disabled = !on;
    pauseButton.disabled = !on;
  }

  function showVoice(q, fresh) {
    const mode = q.answer_mode || "text";
    formCard.hidden = mode === "voice";
    voicePanel.hidden = mode === "text";
    if (mode === "text") {
      voice.quiet();
      return;
    }
    if (!fresh && spokenState.questionId === q.question_id) return;
    // A new question, or the same one after a reconnect (the server's listening starts afresh
    // with the new peer: not paused, nothing heard): the card starts over; only a new question
    // is spoken.
    spokenState.questionId = q.question_id;
    spokenState.endId = null;
    spokenState.paused = false;
    spokenState.heard = false;
    pauseButton.textContent = "Pause";
    pauseButton.setAttribute("aria-pressed", "false");
    transcript.textContent = "";
    // The question is heard with or without a microphone (typed answers, in "either").
    if (fresh) voice.speak(q.question_id, q.text);
    const mic = camera.stream?.getAudioTracks().some((t) => t.readyState === "live");
    if (!mic) {
      setListening("no-mic", mode === "either" ? "No microphone: type your answer below." : "No microphone: your answer cannot be heard. Check the microphone and rejoin.");
      voiceControls(false);
      return;
    }
    setListening("listening", mode === "either" ? "Listening… speak your answer, or type it below." : "Listening… speak your answer.");
    voiceControls(true);
    offerResume(q);
  }

  // The answer the last connection left open (session.ready.answer_in_progress): kept by the
  // server (continue or start again; speaking on continues it) or lost in a server restart.
  function offerResume(q) {
    const inProgress = state.inProgress;
    state.inProgress = null;
    resumeChoice.hidden = true;
    if (!inProgress || inProgress.question_id !== q.question_id) return;
    if (inProgress.status === "lost") {
      resumeText.textContent = "The server restarted while you were answering, and your answer in progress was lost. Please answer this question again.";
      continueButton.hidden = restartButton.hidden = true;
      resumeChoice.hidden = false;
      return;
    }
    const seconds = Math.max(1, Math.round(inProgress.heard_s));
    resumeText.textContent = `Your connection dropped while you were answering. The first ${seconds} second${seconds === 1 ? "" : "s"} of your answer ${seconds === 1 ? "was" : "were"} kept: continue it, or start it again.`;
    continueButton.hidden = restartButton.hidden = false;
    continueButton.disabled = restartButton.disabled = false;
    spokenState.heard = true;
    resumeChoice.hidden = false;
    continueButton.focus();
  }

  function chooseResume(mode) {
    const q = state.question;
    if (!q) return;
    const sent = socket.send("answer.resume", { question_id: q.question_id, mode }, { live: true });
    if (!sent) {
      toast("Not connected: wait for the connection, then choose again.", { error: true });
      return;
    }
    continueButton.disabled = restartButton.disabled = true;
    sent.done.then(
      () => {
        resumeChoice.hidden = true;
        if (mode === "restart") {
          spokenState.heard = false;
          transcript.textContent = "";
        }
        setListening("listening", mode === "continue" ? "Listening… go on with your answer." : "Listening… start your answer again.");
      },
      (error) => {
        resumeChoice.hidden = true; // the answer in progress is gone (ended, timed out)
        if (error.code !== "no_answer_in_progress") toast(error.message, { error: true });
      },
    );
  }
  continueButton.addEventListener("click", () => chooseResume("continue"));
  restartButton.addEventListener("click", () => chooseResume("restart"));

  function currentSpoken(m) {
    return state.question && state.question.question_id === m.question_id && !state.answered.has(m.question_id);
  }

  // A piece of the question the server could not speak: the browser speaks the question from
  // there on (section 9); the text is shown whatever happens.
  socket.on("question.unspoken", (m) => voice.unspoken(m.question_id, m.text));
  socket.on("speech.started", (m) => {
    voice.bargeIn(); // the candidate speaks: the question stops
    if (!currentSpoken(m)) return;
    if (!continueButton.hidden) resumeChoice.hidden = true; // speaking on continues it
    spokenState.heard = true;
    setListening("hearing", "Hearing you…");
  });
  socket.on("transcript.delta", (m) => {
    if (currentSpoken(m)) transcript.append(m.text);
  });
  socket.on("transcript.done", (m) => {
    if (!state.question || state.question.question_id !== m.question_id || state.answered.has(m.question_id)) return;
    state.answered.add(m.question_id);
    resumeChoice.hidden = true;
    transcript.textContent = m.text;
    voiceControls(false);
    setListening("done", m.transcribed ? "Answer heard; saving it…" : m.message || "Your answer could not be transcribed; its recording is kept.");
    const clientId = spokenState.endId || `voice:${m.question_id}`;
    addAnswerItem(state.question.text, m.transcribed ? m.text : "(recorded; not transcribed)", "sending", clientId);
    setAnswering(false);
  });

  doneButton.addEventListener("click", () => {
    const q = state.question;
    if (!q || state.answered.has(q.question_id)) return;
    const sent = socket.send("answer.end", { question_id: q.question_id }, { live: true });
    if (!sent) {
      toast("Not connected: wait for the connection, then press again.", { error: true });
      return;
    }
    spokenState.endId = sent.clientId;
    doneButton.disabled = true;
    setListening("ending", "Finishing your answer…");
    sent.done.catch((error) => {
      if (!state.question || state.question.question_id !== q.question_id || state.answered.has(q.question_id)) {
        markAnswer(sent.clientId, "failed", error.message);
        return;
      }
      // no_speech and the like: the answer still waits.
      spokenState.endId = null;
      doneButton.disabled = false;
      setListening("listening", error.code === "no_speech" ? "Nothing was heard yet: speak your answer first." : error.message);
    });
  });

  pauseButton.addEventListener("click", () => {
    const q = state.question;
    if (!q) return;
    const paused = !spokenState.paused;
    const sent = socket.send("answer.pause", { question_id: q.question_id, paused }, { live: true });
    if (!sent) return;
    // answer.pause is never acked: out of the outbox at once.
    socket.settle(sent.clientId, { type: "ack", client_id: sent.clientId });
    spokenState.paused = paused;
    pauseButton.textContent = paused ? "Resume" : "Pause";
    pauseButton.setAttribute("aria-pressed", String(paused));
    doneButton.disabled = paused;
    setListening(paused ? "paused" : spokenState.heard ? "hearing" : "listening", paused ? "Paused: nothing is heard until you resume." : "Listening… speak your answer.");
  });

  socket.on("time.warning", (m) => {
    if (m.scope === "answer") {
      timer.classList.add("warn");
      announcer.textContent = `${m.seconds_left} seconds left for this answer.`;
    } else {
      announcer.textContent = `${Math.round(m.seconds_left / 60) || 1} minute${m.seconds_left >= 90 ? "s" : ""} left in the interview.`;
      totalLeft.classList.add("warn");
    }
  });

  function tick() {
    const q = state.question;
    if (q) {
      const left = (q.deadline - Date.now()) / 1000;
      time.textContent = left > 0 ? clock(left) : "Time is up";
      barFill.style.width = `${Math.max(0, Math.min(100, (left / q.time_limit_s) * 100))}%`;
      timer.classList.toggle("over", left <= 0);
      if (left <= 0 && !state.answered.has(q.question_id)) answerStatus.textContent = "Time is up for this question; the interviewer moves on.";
    }
    if (state.startedAt && outline) {
      const left = (Date.parse(state.startedAt) + outline.total_time_limit_min * 60000 - Date.now()) / 1000;
      totalLeft.textContent = `Interview: ${clock(left)} left`;
      totalLeft.hidden = false;
    }
  }
  const ticker = setInterval(tick, 250);

  // --- the connection ------------------------------------------------------------------------

  socket.on("status", (s) => {
    if (s.state === "open") {
      connection.className = "pill ok";
      connection.textContent = "Connected";
      clear(banner);
      spokenState.questionId = null; // the next question.done resets the spoken answer's card
      for (const [clientId, li] of answerItems) if (li.dataset.status === "waiting") markAnswer(clientId, "sending");
      return;
    }
    if (s.state === "closed") return;
    const offline = s.state === "offline";
    connection.className = "pill warn";
    connection.textContent = offline ? "Offline" : s.state === "connecting" && s.attempt === 0 ? "Connecting…" : "Reconnecting…";
    if (s.state === "reconnecting" || offline) {
      for (const [clientId, li] of answerItems) if (li.dataset.status === "sending") markAnswer(clientId, "waiting");
      clear(
        banner,
        h(
          "div",
          { class: "notice warn", role: "alert" },
          offline
            ? "You are offline. Stay on this page: the interview continues when your connection is back, and your answers are kept."
            : `The connection dropped. Reconnecting${s.delay ? ` in ${Math.ceil(s.delay / 1000)} s` : ""}… Your answers are kept and sent when it is back.`,
        ),
      );
    }
  });

  socket.on("session.ready", (ready) => {
    state.inProgress = ready.answer_in_progress || null; // shown with the question, next
    if (ready.state === "scheduled" || !state.startedAt) refreshStart();
    reportPresence();
    reportCamera();
    startSnapshots(ready.screenshot_interval_s);
  });

  socket.on("interview.ended", (m) => finish(m.reason));
  socket.on("closed", async (c) => {
    if (state.ended) return;
    if (c.why === "ended" || c.why === "interview_ended") {
      const latest = await api.get(`/interviews/${id}`).catch(() => null);
      finish(latest?.state_reason || c.reason);
    } else if (c.why === "replaced") {
      stopLive();
      clear(
        banner,
        h(
          "div",
          { class: "notice warn", role: "alert" },
          "This interview is now open in another tab or window, which carries on. ",
          h("button", { type: "button", class: "small", onclick: () => navigateHere() }, "Continue here instead"),
        ),
      );
      setAnswering(false, "The interview continues in the other window.");
      connection.className = "pill";
      connection.textContent = "Elsewhere";
    } else {
      stopLive();
      clear(banner, errorBox({ message: c.reason || "The interview cannot continue here." }));
      setAnswering(false, "");
    }
  });

  socket.on("error", (m) => {
    if (!m.client_id) toast(m.message, { error: true });
    else if (restored.has(m.client_id)) markAnswer(m.client_id, "failed", m.message);
  });

  function navigateHere() {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  }

  // When the interview started, for the total time left: the start is committed a moment after
  // the socket opens, so ask again (with the app's backoff) if it is not there yet.
  const startBackoff = new Backoff({ baseMs: 1000, capMs: 8000 });
  async function refreshStart(tries = 5) {
    let wait;
    try {
      const latest = await api.get(`/interviews/${id}`);
      if (latest.started_at) {
        state.startedAt = latest.started_at;
        return;
      }
      wait = startBackoff.next();
    } catch (error) {
      wait = startBackoff.next(retryAfterOf(error));
    }
    if (tries > 1 && !state.ended && ctx.alive()) setTimeout(() => refreshStart(tries - 1), wait);
  }

  // --- camera and proctoring -----------------------------------------------------------------

  function updateCameraNote() {
    cameraNote.dataset.media = media.state;
    const devices = deviceState(camera.stream);
    if (media.live) {
      const recorded = media.config.record_video ? "sound and video recorded" : "sound recorded";
      cameraNote.textContent = `${devices.camera} · ${devices.microphone} · live to the recruiter, ${recorded}`;
      return;
    }
    cameraNote.textContent = camera.available
      ? state.snapshots
        ? `Camera on · ${plural(state.snapshots, "snapshot")} shared with the recruiter`
        : "Camera on · a snapshot is shared with the recruiter every few seconds"
      : `Camera unavailable${camera.problem ? `: ${camera.problem}` : ""} The interview goes on; the recruiter sees that the camera was unavailable.`;
  }

  function reportCamera() {
    const key = `openhire.camera_reported.${id}`;
    if (camera.available || sessionStorage.getItem(key)) return;
    sessionStorage.setItem(key, "1");
    socket.send("proctor", { signal: "camera_unavailable" });
  }

  camera.onLost = () => {
    updateCameraNote();
    reportCamera();
    media.tracksChanged();
  };
  camera.onChange = () => updateCameraNote();

  function startSnapshots(intervalS) {
    clearTimeout(snapshotTimer);
    if (!intervalS || state.ended) return;
    // A little over the interval, so that network jitter never makes two arrive too close.
    const every = intervalS * 1000 + 150;
    const shoot = async () => {
      if (state.ended || !socket.isOpen) return;
      // Over WebRTC the server takes the snapshots from the video itself.
      if (camera.available && !media.live) {
        const jpeg = await camera.snapshot();
        if (jpeg && socket.sendScreenshot(jpeg)) state.pendingSnapshot = true;
      }
      snapshotTimer = setTimeout(shoot, every);
    };
    snapshotTimer = setTimeout(shoot, 300);
  }
  socket.on("ack", (m) => {
    if (m.client_id.startsWith("s-")) {
      state.snapshots += 1;
      updateCameraNote();
    } else if (answerItems.has(m.client_id)) {
      // Also answers restored from an earlier page load, which no promise waits for.
      markAnswer(m.client_id, "saved");
    }
  });

  // Where the candidate is (tab hidden, window unfocused) is a state, reported live: sent only
  // on an open socket, never replayed later, and reported afresh on every connection, so a
  // reload or a reconnect never leaves an old "away" standing (docs/protocol.md, section 7).
  // An unload's own visibilitychange is not reported: the page closes the socket at `pagehide`
  // (socket.js), before it, and that close (4100) says it was a reload.
  let blurTimer = null;
  let blurred = false;
  const signal = (name) => !state.ended && socket.send("proctor", { signal: name }, { live: true });
  const onVisibility = () => signal(document.hidden ? "tab_hidden" : "tab_visible");
  const onBlur = () => {
    // A tab switch also blurs the window: report it once, as tab_hidden.
    clearTimeout(blurTimer);
    blurTimer = setTimeout(() => {
      if (!document.hidden && !state.ended) {
        blurred = true;
        signal("window_blur");
      }
    }, 150);
  };
  const onFocus = () => {
    clearTimeout(blurTimer);
    if (blurred && !state.ended) {
      blurred = false;
      signal("window_focus");
    }
  };
  // On (re)connecting the server starts from a clean slate: say if the candidate is away now.
  function reportPresence() {
    if (document.visibilityState === "hidden") signal("tab_hidden");
    else if (blurred && !document.hasFocus()) signal("window_blur");
    else blurred = false;
  }
  const onPaste = () => !state.ended && socket.send("proctor", { signal: "paste" });
  let wasFullscreen = false;
  const onFullscreen = () => {
    if (document.fullscreenElement) wasFullscreen = true;
    else if (wasFullscreen && !state.ended) {
      wasFullscreen = false;
      socket.send("proctor", { signal: "fullscreen_exit" });
    }
    fullscreen.textContent = document.fullscreenElement ? "Exit full screen" : "Full screen";
  };
  document.addEventListener("visibilitychange", onVisibility);
  window.addEventListener("blur", onBlur);
  window.addEventListener("focus", onFocus);
  box.addEventListener("paste", onPaste);
  document.addEventListener("fullscreenchange", onFullscreen);
  fullscreen.hidden = !document.fullscreenEnabled;
  fullscreen.addEventListener("click", () => (document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen()).catch(() => {}));

  endButton.addEventListener("click", async () => {
    const ok = await confirmDialog({
      title: "End the interview now?",
      message: "Questions you have not answered yet will not be asked, and you cannot come back to this interview.",
      confirm: "End the interview",
      danger: true,
    });
    if (!ok) return;
    endButton.disabled = true;
    setAnswering(false, "Ending the interview…");
    socket.send("end");
  });

  function stopLive() {
    media.stop();
    voice.stop();
    clearInterval(ticker);
    clearTimeout(snapshotTimer);
    clearTimeout(blurTimer);
    document.removeEventListener("visibilitychange", onVisibility);
    window.removeEventListener("blur", onBlur);
    window.removeEventListener("focus", onFocus);
    document.removeEventListener("fullscreenchange", onFullscreen);
  }

  function finish(reason) {
    if (state.ended) return;
    state.ended = true;
    stopLive();
    socket.stop();
    camera.stop();
    for (const key of Object.keys(sessionStorage)) if (key.startsWith(`openhire.draft.${id}.`)) sessionStorage.removeItem(key);
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    endScreen(ctx, interview, reason);
  }

  ctx.onLeave(() => {
    stopLive();
    socket.stop();
  });
  // Leaving does not stop the clock: Back, a link, closing or reloading the tab ask first.
  guardLeaving(ctx, {
    isDirty: () => !state.ended,
    title: "Leave the interview?",
    message: "Your interview is still running, and its clock does not stop while you are away. Your saved answers are kept, and you can come back to this page while time remains.",
    leave: "Leave the interview",
    stay: "Stay in the interview",
  });

  // Answers already given (when rejoining), then the socket.
  (async () => {
    const questions = new Map();
    if (interview.state === "in_progress") {
      try {
        const page = await api.get(`/interviews/${id}/events`, { limit: 1000 });
        for (const e of page.items) {
          if (e.kind === "question") questions.set(e.data.question_id, e.data.text);
          if (e.kind === "answer") {
            state.answered.add(e.data.question_id);
            addAnswerItem(questions.get(e.data.question_id) || "", e.data.text, "saved");
          }
        }
      } catch {
        // The list is a convenience; the interview itself goes on.
      }
    }
    for (const message of socket.pending()) {
      if (message.type === "answer") {
        state.answered.add(message.question_id);
        addAnswerItem(questions.get(message.question_id) || "", message.text, "waiting", message.client_id);
        restored.add(message.client_id);
      }
    }
    if (!ctx.alive() || state.ended) return;
    socket.start();
  })();
}

// --- the questions, spoken -------------------------------------------------------------------

/** Speaks each question of a spoken interview: the server's audio track when it speaks
 * (OPENHIRE_TTS_MODEL), else the browser's speechSynthesis; stops on barge-in.
 *
 * When the server cannot speak a piece of the question (question.unspoken), the browser takes
 * over from that piece: the server's track is muted for the rest of the question, so that two
 * voices never overlap and the question is heard in order, and the browser speaks the text from
 * the start of that piece to the end (once question.done has given the whole text). The next
 * question is the server's to speak again. */
class QuestionVoice {
  constructor() {
    this.audio = h("audio", { autoplay: true, hidden: true, id: "question-voice" });
    document.body.append(this.audio);
    this.level = null;
    this.timer = null;
    this.synthesizing = null; // the browser's utterance being spoken, if any
    this.questionId = null; // the question being spoken
    this.text = null; // its whole text, once question.done gave it
    this.from = null; // the piece the browser speaks it from (the server could not), or null
    this.bargedIn = false; // the candidate spoke over it: it is not spoken again
  }

  attach(track) {
    this.level?.stop();
    this.audio.srcObject = new MediaStream([track]);
    this.audio.muted = this.bargedIn || this.from !== null;
    this.audio.play().catch(() => {});
    this.level = trackLevel(track);
  }

  serverSpeaking() {
    return this.level !== null && this.level.now() > 0.003;
  }

  /** A new question: nothing of the last one goes on, and the server's track is heard again. */
  begin(questionId) {
    this.quiet();
    this.questionId = questionId;
    this.text = null;
    this.from = null;
    this.bargedIn = false;
    this.audio.muted = false;
  }

  /** A question is streaming: the server may speak its first sentence before it is done. */
  listen(questionId) {
    if (questionId !== this.questionId) this.begin(questionId);
  }

  /** A question is whole: let the server speak it; if nothing is heard from it soon, speak it
   * here. If the server already said it could not speak a piece of it, speak from that piece. */
  speak(questionId, text) {
    if (questionId !== this.questionId) this.begin(questionId);
    this.quiet();
    this.text = text;
    if (this.bargedIn) return;
    if (this.from !== null) {
      this.sayFrom();
      return;
    }
    let waited = 0;
    const check = () => {
      if (this.serverSpeaking()) {
        this.audio.dataset.speaking = "server";
        return;
      }
      waited += 250;
      if (waited < 2500) {
        this.timer = setTimeout(check, 250);
        return;
      }
      if (this.synthesizing) {
        // The browser is speaking it; if the server's voice comes after all, it takes over.
        if (this.serverSpeaking()) {
          this.quiet();
          this.audio.dataset.speaking = "server";
        } else if (waited < 30000) this.timer = setTimeout(check, 250);
        return;
      }
      if (this.say(text)) this.timer = setTimeout(check, 250);
    };
    this.timer = setTimeout(check, 250);
  }

  /** The server could not speak ``piece`` of the question (question.unspoken): the browser
   * speaks the question from there on, the server's track muted for the rest of it. */
  unspoken(questionId, piece) {
    if (questionId !== this.questionId || this.bargedIn || this.from !== null) return;
    this.from = piece;
    clearTimeout(this.timer); // the server's voice no longer takes over
    this.audio.muted = true;
    if (this.synthesizing) {
      this.audio.dataset.speaking = "browser"; // already speaking the whole question here
      return;
    }
    if (this.text !== null) this.sayFrom();
    // Else the question is still streaming: its question.done (speak) says it from the piece.
  }

  sayFrom() {
    // The piece is as it is in the question's text. Were the same words in it before, the
    // browser says a little more than the server left out, never less.
    const at = this.text.indexOf(this.from);
    this.say(at >= 0 ? this.text.slice(at) : this.from);
  }

  say(text) {
    if (typeof speechSynthesis === "undefined" || typeof SpeechSynthesisUtterance !== "function") return false;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = document.documentElement.lang || "en";
    const ended = () => {
      if (this.synthesizing === utterance) this.synthesizing = null;
    };
    utterance.addEventListener("end", ended);
    utterance.addEventListener("error", ended);
    this.synthesizing = utterance;
    this.audio.dataset.speaking = "browser";
    speechSynthesis.speak(utterance);
    return true;
  }

  quiet() {
    clearTimeout(this.timer);
    delete this.audio.dataset.speaking;
    if (this.synthesizing && typeof speechSynthesis !== "undefined") speechSynthesis.cancel();
    this.synthesizing = null;
  }

  /** The candidate started speaking: the question stops, here and on the server's track. */
  bargeIn() {
    this.bargedIn = true;
    this.quiet();
    this.audio.muted = true;
  }

  stop() {
    this.quiet();
    this.level?.stop();
    this.level = null;
    this.audio.srcObject = null;
    this.audio.remove();
  }
}

// --- the end -------------------------------------------------------------------------------

function endScreen(ctx, interview, reason) {
  const expired = interview.state === "expired";
  const text = CANDIDATE_END_REASONS[reason] || (expired ? CANDIDATE_END_REASONS.not_started : "The interview has ended. Your answers are saved.");
  clear(
    ctx.main,
    h(
      "div",
      { class: "end-screen" },
      h(
        "div",
        { class: "card" },
        h("div", { class: "big", "aria-hidden": "true" }, expired ? "⌛" : "✓"),
        h("h1", { tabindex: "-1" }, expired ? "This interview expired" : "Your interview is over"),
        h("p", {}, text),
        expired ? null : h("p", { class: "muted" }, `The recruiter for ${interview.job_title} now reviews your answers and will be in touch.`),
        h("div", { class: "actions", style: "justify-content:center" }, h("a", { class: "button primary", href: "#/applications" }, "My applications"), h("a", { class: "button", href: "#/jobs" }, "Find more jobs")),
      ),
    ),
  );
  ctx.main.querySelector("h1").focus();
}
