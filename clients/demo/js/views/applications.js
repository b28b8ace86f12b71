// Applications: a candidate's own (with their interviews), a recruiter's across their jobs.
// The same item is used on a job's page for the recruiter.

import { api } from "../api.js";
import { append, busy, clear, confirmDialog, field, h, loading, toast } from "../dom.js";
import { APPLICATION_STATUS, INTERVIEW_STATE, RECRUITER_MOVES, bytes, label, plural, relative } from "../format.js";
import { download, errorBox, pageHead, pill } from "./common.js";
import { localZone, windowLine, windowState } from "./schedule_window.js";

export async function list(ctx) {
  const recruiter = ctx.user.role === "recruiter";
  const status = h(
    "select",
    { name: "status" },
    h("option", { value: "" }, "Any status"),
    Object.keys(APPLICATION_STATUS).map((s) => h("option", { value: s, selected: ctx.query.get("status") === s }, label(APPLICATION_STATUS, s))),
  );
  const box = h("div", {});
  clear(
    ctx.main,
    pageHead(recruiter ? "Applications" : "My applications", {
      sub: recruiter ? "Every application to your jobs, newest first." : "Where each application stands, and your interviews.",
    }),
    h("div", { class: "filters", style: "grid-template-columns:minmax(0,16rem)" }, field("Status", status)),
    h("section", { class: "card", "aria-label": "Applications" }, box),
  );
  status.addEventListener("change", () => {
    history.replaceState(null, "", `#/applications${status.value ? `?status=${status.value}` : ""}`);
    renderList(ctx, box, { status: status.value }, { showJob: true });
  });
  await renderList(ctx, box, { status: status.value }, { showJob: true });
}

/** A paginated list of applications into `box`; filters go to GET /applications. */
export async function renderList(ctx, box, filters, { showJob = false } = {}) {
  const recruiter = ctx.user.role === "recruiter";
  clear(box, loading("Loading applications…"));
  const items = h("ul", { class: "list", "aria-label": "Applications" });
  const more = h("div", { class: "actions", style: "justify-content:center;margin-top:.75rem" });
  const count = h("p", { class: "muted small", role: "status" });
  async function page(cursor) {
    let result;
    try {
      result = await api.get("/applications", { ...filters, limit: 20, cursor });
    } catch (error) {
      if (ctx.alive()) clear(box, errorBox(error, { retry: () => renderList(ctx, box, filters, { showJob }) }));
      return;
    }
    if (!ctx.alive()) return;
    if (!cursor) {
      if (result.total === 0) {
        clear(
          box,
          h(
            "p",
            { class: "empty" },
            recruiter
              ? filters.status
                ? "No application has this status."
                : "No applications yet. They appear here as candidates apply."
              : filters.status
                ? "None of your applications has this status."
                : "You have not applied to a job yet. ",
            !recruiter && !filters.status ? h("a", { href: "#/jobs" }, "Browse open jobs") : null,
          ),
        );
        return;
      }
      count.textContent = plural(result.total, "application");
      clear(box, count, items, more);
    }
    append(items, result.items.map((a) => applicationItem(ctx, a, { recruiter, showJob })));
    clear(more);
    if (result.next_cursor) more.append(h("button", { type: "button", onclick: () => page(result.next_cursor) }, "Show more"));
  }
  await page(null);
}

export function applicationItem(ctx, application, { recruiter, showJob }) {
  const li = h("li", { class: "application", dataset: { applicationId: application.id } });
  let current = application;
  const interviewSlot = h("div", { class: "interview-slot" });

  function render() {
    const a = current;
    const title = recruiter ? a.candidate_name : a.job_title;
    const heading = showJob && !recruiter ? h("a", { href: `#/jobs/${a.job_id}` }, title) : title;
    clear(
      li,
      h(
        "div",
        {},
        // On the applications page the items come right under the page's h1; on a job's page,
        // under its "Applications" h2.
        h(showJob ? "h2" : "h3", { class: "h3" }, heading, " ", pill(APPLICATION_STATUS, a.status)),
        h(
          "p",
          { class: "small muted", style: "margin:0" },
          recruiter ? [h("a", { href: `mailto:${a.candidate_email}` }, a.candidate_email), " · "] : null,
          showJob && recruiter ? [h("a", { href: `#/jobs/${a.job_id}` }, a.job_title), " · "] : null,
          `Applied ${relative(a.created_at)}`,
        ),
        a.resume
          ? h(
              "p",
              { style: "margin:.4rem 0 0" },
              h(
                "button",
                {
                  type: "button",
                  class: "small",
                  onclick: (e) =>
                    busy(e.currentTarget, () => download(a.resume.download_url, a.resume.filename)).catch((error) => toast(error.message, { error: true })),
                },
                // The name is the visible text (voice control says what it sees); the item's
                // heading says whose résumé it is.
                `Download the résumé: ${a.resume.filename} (${bytes(a.resume.size_bytes)})`,
              ),
            )
          : h("p", { class: "small muted", style: "margin:.4rem 0 0" }, "No résumé attached."),
      ),
      h("div", { class: "controls" }, recruiter ? moveControl() : withdrawControl(), interviewSlot),
      a.cover_letter
        ? h("details", {}, h("summary", {}, "Cover letter"), h("div", { class: "cover pre" }, a.cover_letter))
        : h("p", { class: "small muted", style: "grid-column:1/-1;margin:0" }, "No cover letter."),
    );
  }

  function moveControl() {
    const moves = RECRUITER_MOVES[current.status] || [];
    if (!moves.length) return null;
    const select = h(
      "select",
      { "aria-label": `Move the application of ${current.candidate_name} to` },
      h("option", { value: "" }, "Move to…"),
      moves.map((s) => h("option", { value: s }, label(APPLICATION_STATUS, s))),
    );
    const apply = h("button", { type: "button", class: "small" }, "Update");
    apply.addEventListener("click", () => {
      if (!select.value) {
        select.focus();
        return;
      }
      busy(apply, async () => {
        try {
          current = await api.patch(`/applications/${current.id}`, { status: select.value });
          toast(`${current.candidate_name}: ${label(APPLICATION_STATUS, current.status)}`);
          render();
          loadInterview();
          li.querySelector("select, button")?.focus();
        } catch (error) {
          toast(error.message, { error: true });
        }
      });
    });
    return h("div", { class: "row" }, select, apply);
  }

  function withdrawControl() {
    if (!["submitted", "reviewing", "shortlisted"].includes(current.status)) return null;
    return h(
      "button",
      {
        type: "button",
        class: "small danger",
        onclick: async (e) => {
          const button = e.currentTarget;
          const ok = await confirmDialog({
            title: "Withdraw this application?",
            message: `You will not be considered for ${current.job_title} any more. This cannot be undone.`,
            confirm: "Withdraw",
            danger: true,
          });
          if (!ok) return;
          await busy(button, async () => {
            try {
              current = await api.patch(`/applications/${current.id}`, { status: "withdrawn" });
              render();
              loadInterview();
            } catch (error) {
              toast(error.message, { error: true });
            }
          });
        },
      },
      "Withdraw",
    );
  }

  async function loadInterview() {
    clear(interviewSlot, h("span", { class: "small muted" }, "Checking interviews…"));
    let page;
    try {
      page = await api.get("/interviews", { application_id: current.id, limit: 1 });
    } catch {
      clear(interviewSlot);
      return;
    }
    if (!ctx.alive()) return;
    renderInterview(page.items[0] || null);
  }

  function renderInterview(interview) {
    const closed = ["withdrawn", "rejected", "hired"].includes(current.status);
    const parts = [];
    if (interview) {
      parts.push(h("span", { class: "small" }, "Interview: ", pill(INTERVIEW_STATE, interview.state)));
      if (interview.state === "scheduled" && windowLine(interview)) parts.push(h("span", { class: "small muted" }, windowLine(interview)));
      const id = interview.id;
      if (recruiter) {
        if (interview.state === "scheduled") parts.push(h("a", { class: "button small", href: `#/interviews/${id}/watch` }, "Open live view"));
        if (interview.state === "in_progress") parts.push(h("a", { class: "button small primary", href: `#/interviews/${id}/watch` }, "Watch live"));
        if (["completed", "abandoned"].includes(interview.state)) {
          const score = interview.evaluation ? ` · ${interview.evaluation.overall_score.toFixed(1)}/5` : "";
          parts.push(h("a", { class: "button small", href: `#/interviews/${id}/review` }, `Review${score}`));
        }
      } else if (interview.state === "scheduled" && windowState(interview) === "open") {
        parts.push(h("a", { class: "button small primary", href: `#/interviews/${id}/room` }, "Join interview"));
      } else if (interview.state === "in_progress") {
        parts.push(h("a", { class: "button small primary", href: `#/interviews/${id}/room` }, "Rejoin interview"));
      }
    } else if (!recruiter && !closed) {
      parts.push(h("span", { class: "small muted" }, "No interview yet"));
    }
    const canSchedule = recruiter && !closed && (!interview || ["completed", "abandoned", "expired"].includes(interview.state));
    if (canSchedule) parts.push(scheduleControl(interview));
    clear(interviewSlot, h("div", { class: "controls" }, parts));
  }

  function scheduleControl(previous) {
    const button = h("button", { type: "button", class: "small primary" }, previous ? "Schedule another interview" : "Schedule interview");
    const opens = h("input", { type: "datetime-local", name: "opens_at" });
    const closes = h("input", { type: "datetime-local", name: "closes_at" });
    const expires = h("input", { type: "datetime-local", name: "expires_at" });
    const withExpiry = h("button", { type: "button", class: "small" }, "Schedule with these times");
    const schedule = (trigger, body) =>
      busy(trigger, async () => {
        try {
          const interview = await api.post(`/applications/${current.id}/interviews`, body);
          toast(`Interview scheduled for ${current.candidate_name}. They can join it from their Interviews page.`);
          renderInterview(interview);
          interviewSlot.querySelector("a, button")?.focus();
        } catch (error) {
          toast(error.message, { error: true });
        }
      });
    button.addEventListener("click", () => schedule(button, {}));
    withExpiry.addEventListener("click", () => {
      const body = {};
      // datetime-local is the recruiter's own time; the API gets instants.
      for (const [name, input] of [["opens_at", opens], ["closes_at", closes], ["expires_at", expires]]) {
        if (input.value) body[name] = new Date(input.value).toISOString();
      }
      if (!Object.keys(body).length) {
        opens.focus();
        return;
      }
      schedule(withExpiry, body);
    });
    return h(
      "div",
      { class: "controls" },
      button,
      h(
        "details",
        { class: "small" },
        h("summary", {}, "Window or expiry…"),
        h(
          "div",
          { class: "stack", style: "margin-top:.4rem" },
          h("p", { class: "small muted", style: "margin:0" }, `Times in ${localZone()}. The candidate sees them in theirs.`),
          field("Opens", opens),
          field("Closes", closes),
          field("Expires if not started by", expires),
          withExpiry,
        ),
      ),
    );
  }

  render();
  loadInterview();
  return li;
}
