// Interviews: recruiters see what is live now (refreshed), what is scheduled, and what ended;
// candidates see theirs, with a way into the interview room.

import { api } from "../api.js";
import { poll } from "../backoff.js";
import { append, clear, h, loading } from "../dom.js";
import { END_REASONS, INTERVIEW_STATE, label, relative } from "../format.js";
import { errorBox, pageHead, pill } from "./common.js";
import { windowLine, windowState } from "./schedule_window.js";

const REFRESH_MS = 5000;

export async function list(ctx) {
  const recruiter = ctx.user.role === "recruiter";
  const live = section("live", recruiter ? "Live now" : "In progress", recruiter ? "Nobody is being interviewed right now." : null);
  const scheduled = section("scheduled", recruiter ? "Scheduled" : "Waiting for you", recruiter ? "No interview is waiting for its candidate." : "No interview is waiting for you.");
  const finished = section("finished", "Finished", "No interview has finished yet.");
  clear(
    ctx.main,
    pageHead(recruiter ? "Interviews" : "Your interviews", {
      sub: recruiter ? "Watch interviews as they happen, and review them when they end." : "Join an interview when you are ready: it starts when you enter the room.",
    }),
    live.el,
    scheduled.el,
    finished.el,
  );

  // Throws when a list could not be read (each says so in its place), so that the refresh
  // backs off while the server is failing.
  async function refreshActive() {
    const problems = await Promise.all([fill(ctx, live, { state: "in_progress" }, recruiter), fill(ctx, scheduled, { state: "scheduled" }, recruiter)]);
    const problem = problems.find(Boolean);
    if (problem) throw problem;
  }
  await Promise.all([refreshActive().catch(() => {}), fillFinished(ctx, finished, recruiter)]);
  if (recruiter) ctx.onLeave(poll(() => (ctx.alive() ? refreshActive() : null), { everyMs: REFRESH_MS }));
}

function section(key, title, emptyText) {
  const body = h("div", { "aria-live": key === "live" ? "polite" : null }, loading());
  const el = h("section", { class: "card", "aria-labelledby": `sec-${key}` }, h("h2", { id: `sec-${key}` }, title), body);
  return { el, body, emptyText };
}

/** Show one list; returns the error if it could not be read (shown in its place), else null. */
async function fill(ctx, sec, params, recruiter) {
  let page;
  try {
    page = await api.get("/interviews", { ...params, limit: 50 });
  } catch (error) {
    if (ctx.alive()) {
      clear(sec.body, errorBox(error));
      sec.signature = null;
    }
    return error;
  }
  if (!ctx.alive()) return null;
  // Refreshed every few seconds: redraw only when something changed, so focus stays put.
  const signature = JSON.stringify(page.items.map((i) => [i.id, i.state, i.started_at]));
  if (signature === sec.signature) return null;
  sec.signature = signature;
  if (!page.items.length) {
    if (sec.emptyText) clear(sec.body, h("p", { class: "muted", style: "margin:0" }, sec.emptyText));
    else sec.el.hidden = true;
    return null;
  }
  sec.el.hidden = false;
  clear(sec.body, h("ul", { class: "list" }, page.items.map((i) => row(i, recruiter))));
  return null;
}

async function fillFinished(ctx, sec, recruiter) {
  const ul = h("ul", { class: "list" });
  const more = h("div", { class: "actions", style: "justify-content:center" });
  let shown = 0;
  async function page(cursor) {
    let result;
    try {
      result = await api.get("/interviews", { limit: 50, cursor });
    } catch (error) {
      if (ctx.alive()) clear(sec.body, errorBox(error));
      return;
    }
    if (!ctx.alive()) return;
    const ended = result.items.filter((i) => ["completed", "abandoned", "expired"].includes(i.state));
    shown += ended.length;
    append(ul, ended.map((i) => row(i, recruiter)));
    clear(more);
    if (result.next_cursor) more.append(h("button", { type: "button", onclick: () => page(result.next_cursor) }, "Show older interviews"));
    if (!cursor) clear(sec.body, ul, more);
    if (!shown && !result.next_cursor) clear(sec.body, h("p", { class: "muted", style: "margin:0" }, sec.emptyText));
  }
  await page(null);
}

function row(interview, recruiter) {
  const who = recruiter ? interview.candidate_name : interview.job_title;
  const what = recruiter ? interview.job_title : null;
  let when;
  if (interview.state === "in_progress") when = `Started ${relative(interview.started_at)}`;
  else if (interview.state === "scheduled") when = windowLine(interview) || `Scheduled ${relative(interview.created_at)}${interview.expires_at ? ` · expires ${new Date(interview.expires_at).toLocaleString()}` : ""}`;
  else when = `${interview.state_reason ? label(END_REASONS, interview.state_reason) : ""} ${interview.ended_at ? `Ended ${relative(interview.ended_at)}.` : ""}`.trim();
  let action = null;
  if (recruiter) {
    if (interview.state === "in_progress") action = h("a", { class: "button small primary", href: `#/interviews/${interview.id}/watch` }, "Watch live");
    else if (interview.state === "scheduled") action = h("a", { class: "button small", href: `#/interviews/${interview.id}/watch` }, "Open live view");
    else if (interview.state !== "expired") action = h("a", { class: "button small", href: `#/interviews/${interview.id}/review` }, interview.evaluation ? `Review · ${interview.evaluation.overall_score.toFixed(1)}/5` : "Review");
  } else if (interview.state === "scheduled") {
    const state = windowState(interview);
    if (state === "open") action = h("a", { class: "button small primary", href: `#/interviews/${interview.id}/room` }, "Join interview");
    else action = h("span", { class: "small muted" }, state === "not_yet" ? "Not open yet" : "Window closed");
  } else if (interview.state === "in_progress") {
    action = h("a", { class: "button small primary", href: `#/interviews/${interview.id}/room` }, "Rejoin interview");
  }
  return h(
    "li",
    { class: "row", dataset: { interviewId: interview.id } },
    h("div", { style: "flex:1;min-width:14rem" }, h("strong", {}, who), what ? h("span", { class: "muted" }, ` · ${what}`) : null, h("div", { class: "small muted" }, when)),
    pill(INTERVIEW_STATE, interview.state),
    action,
  );
}
