// One job. Recruiters: the job, its interview plan and its applications, with edit, close and
// delete. Candidates: the job and the application form (cover letter and PDF résumé).

import { api } from "../api.js";
import { busy, clear, confirmDialog, field, h, loading, toast } from "../dom.js";
import { APPLICATION_STATUS, JOB_TYPES, clock, formatDate, label, plural, salary } from "../format.js";
import { renderList } from "./applications.js";
import { draft, guardLeaving } from "../leave.js";
import { errorBox, navigate, pageHead, pill } from "./common.js";

const MAX_RESUME = 10 * 1024 * 1024;
const MAX_COVER = 10000;

export async function show(ctx) {
  const job = await api.get(`/jobs/${ctx.params.id}`);
  if (!ctx.alive()) return;
  if (ctx.user.role === "recruiter" && job.recruiter_id === ctx.user.id) recruiterView(ctx, job);
  else await candidateView(ctx, job);
}

function facts(job) {
  const pay = salary(job);
  return h(
    "dl",
    { class: "facts" },
    job.company_name ? [h("dt", {}, "Company"), h("dd", { class: "company" }, job.company_name)] : null,
    h("dt", {}, "Type"),
    h("dd", {}, JOB_TYPES[job.job_type]),
    h("dt", {}, "Location"),
    h("dd", {}, [job.location, job.remote ? "Remote possible" : null].filter(Boolean).join(" · ") || "Not given"),
    pay ? [h("dt", {}, "Salary"), h("dd", {}, pay)] : null,
    h("dt", {}, "Posted"),
    h("dd", {}, formatDate(job.created_at)),
    job.required_skills.length ? [h("dt", {}, "Skills"), h("dd", {}, h("ul", { class: "chips" }, job.required_skills.map((s) => h("li", {}, s))))] : null,
  );
}

/** How long the interview is: the same sentence from the recruiter's plan and from the summary
 * (JobListing.interview) that everyone else gets. */
function interviewLength(interview) {
  const followUps = interview.follow_ups_per_question ? `, up to ${plural(interview.follow_ups_per_question, "follow-up")} each` : "";
  return h(
    "p",
    {},
    `${plural(interview.question_count, "main question")}${followUps}. `,
    `${clock(interview.answer_time_limit_s)} to answer each, ${interview.total_time_limit_min} minutes in all.`,
  );
}

/** The whole plan, for the recruiter who posted the job. */
function planDetails(plan) {
  const total = plan.rubric.reduce((sum, c) => sum + c.weight, 0);
  return h(
    "div",
    { class: "stack" },
    interviewLength(plan),
    plan.custom_questions.length
      ? h("div", {}, h("h3", {}, "Custom questions"), h("ol", { class: "plain" }, plan.custom_questions.map((q) => h("li", {}, q))))
      : null,
    h(
      "div",
      {},
      h("h3", {}, "Rubric"),
      h(
        "ul",
        { class: "plain" },
        plan.rubric.map((c) => h("li", {}, h("strong", {}, c.name), ` · ${Math.round((c.weight / total) * 100)}%`, c.description ? h("div", { class: "small muted" }, c.description) : null)),
      ),
    ),
  );
}

/** What everyone else may know before the interview: its length and the criteria's names. */
function interviewSummary(interview) {
  return h(
    "div",
    { class: "stack" },
    interviewLength(interview),
    interview.criteria.length ? h("p", {}, "Answers are scored on: ", interview.criteria.join(", "), ".") : null,
  );
}

function recruiterView(ctx, job) {
  const statusFilter = h(
    "select",
    { "aria-label": "Show applications with status" },
    h("option", { value: "" }, "All statuses"),
    Object.keys(APPLICATION_STATUS).map((s) => h("option", { value: s }, label(APPLICATION_STATUS, s))),
  );
  const box = h("div", {});
  const toggle = h("button", { type: "button" }, job.status === "open" ? "Close job" : "Reopen job");
  const remove = h("button", { type: "button", class: "danger" }, "Delete job");
  toggle.addEventListener("click", () =>
    busy(toggle, async () => {
      const next = job.status === "open" ? "closed" : "open";
      try {
        await api.put(`/jobs/${job.id}`, jobInput(job, { status: next }));
        toast(next === "closed" ? "The job is closed to new applications." : "The job is open again.");
        navigate(`#/jobs/${job.id}`);
      } catch (error) {
        toast(error.message, { error: true });
      }
    }),
  );
  remove.addEventListener("click", async () => {
    const ok = await confirmDialog({
      title: `Delete “${job.title}”?`,
      message: "Its applications, résumés and interviews are deleted too. This cannot be undone.",
      confirm: "Delete job",
      danger: true,
    });
    if (!ok) return;
    await busy(remove, async () => {
      try {
        await api.delete(`/jobs/${job.id}`);
        toast("The job was deleted.");
        navigate("#/jobs");
      } catch (error) {
        toast(error.message, { error: true });
      }
    });
  });
  clear(
    ctx.main,
    pageHead(job.title, {
      back: ["#/jobs", "Your jobs"],
      sub: h("span", {}, h("span", { class: `pill ${job.status === "open" ? "ok" : ""}` }, job.status === "open" ? "Open" : "Closed"), " ", JOB_TYPES[job.job_type]),
      actions: [h("a", { class: "button", href: `#/jobs/${job.id}/edit` }, "Edit"), toggle, remove],
    }),
    h(
      "div",
      { class: "grid-2" },
      h(
        "section",
        { class: "card", "aria-labelledby": "apps-title" },
        h("div", { class: "row" }, h("h2", { id: "apps-title", style: "margin:0" }, "Applications"), h("span", { class: "spacer" }), statusFilter),
        box,
      ),
      h(
        "div",
        {},
        h("section", { class: "card", "aria-labelledby": "plan-title" }, h("h2", { id: "plan-title" }, "Interview plan"), planDetails(job.interview_plan)),
        h("section", { class: "card", "aria-labelledby": "about-title" }, h("h2", { id: "about-title" }, "About the job"), facts(job), h("p", { class: "pre", style: "margin-top:1rem" }, job.description)),
      ),
    ),
  );
  const load = () => renderList(ctx, box, { job_id: job.id, status: statusFilter.value });
  statusFilter.addEventListener("change", load);
  load();
}

/** A job as PUT /jobs/{id} takes it (every field; the output-only ones left out). */
function jobInput(job, changes) {
  const keys = ["title", "description", "job_type", "location", "remote", "salary_min", "salary_max", "salary_currency", "required_skills", "status", "interview_plan"];
  return { ...Object.fromEntries(keys.map((k) => [k, job[k]])), ...changes };
}

async function candidateView(ctx, job) {
  // Its heading from the start: a section named by a heading that is not there yet is no region.
  const applyBox = h("section", { class: "card", "aria-labelledby": "apply-title" }, h("h2", { id: "apply-title" }, "Apply"), loading());
  // Apply stays one press away however long the description is (on a phone the form comes
  // after all of it): shown once the form is there.
  const toForm = h("button", { type: "button", class: "primary", hidden: true }, "Apply for this job");
  toForm.addEventListener("click", () => {
    applyBox.scrollIntoView({ block: "start" });
    applyBox.querySelector("textarea, input, button")?.focus({ preventScroll: true });
  });
  clear(
    ctx.main,
    pageHead(job.title, { back: ["#/jobs", "Open jobs"], sub: [job.company_name, JOB_TYPES[job.job_type], job.location, job.remote ? "Remote possible" : null].filter(Boolean).join(" · "), actions: [toForm] }),
    h(
      "div",
      { class: "grid-2" },
      h(
        "div",
        {},
        h("section", { class: "card", "aria-labelledby": "about-title" }, h("h2", { id: "about-title" }, "About the job"), h("p", { class: "pre" }, job.description), facts(job)),
        h(
          "section",
          { class: "card", "aria-labelledby": "how-title" },
          h("h2", { id: "how-title" }, "The interview"),
          h("p", {}, "If the recruiter invites you, you take a live interview in your browser with an AI interviewer: one question at a time, a timer for each answer, and your camera on if you have one."),
          interviewSummary(job.interview),
        ),
      ),
      applyBox,
    ),
  );
  if (ctx.user.role !== "candidate") {
    clear(applyBox, h("h2", { id: "apply-title" }, "Another recruiter's job"), h("p", {}, "Candidates apply here; only the recruiter who posted it sees its applications."));
    return;
  }
  const mine = await api.get("/applications", { job_id: job.id, limit: 1 });
  if (!ctx.alive()) return;
  if (mine.items.length) {
    const a = mine.items[0];
    clear(
      applyBox,
      h("h2", { id: "apply-title" }, "Your application"),
      h("p", {}, "Status: ", pill(APPLICATION_STATUS, a.status)),
      h("p", { class: "muted" }, `Sent ${formatDate(a.created_at)}${a.resume ? ` with ${a.resume.filename}` : ""}.`),
      h("a", { class: "button", href: "#/applications" }, "See my applications"),
    );
    return;
  }
  if (job.status !== "open") {
    clear(applyBox, h("h2", { id: "apply-title" }, "Applications closed"), h("p", {}, "This job no longer takes applications."));
    return;
  }
  applyForm(ctx, job, applyBox);
  toForm.hidden = false;
}

function applyForm(ctx, job, box) {
  // The letter is kept as a draft in this tab until it is sent (a reload must not wipe it).
  const kept = draft(`cover.${job.id}`);
  const letter = h("textarea", { name: "cover_letter", rows: 9, maxlength: MAX_COVER }, kept.load() || "");
  const counter = h("span", { class: "hint", "aria-live": "off" }, `${letter.value.length} / ${MAX_COVER}`);
  letter.addEventListener("input", () => {
    counter.textContent = `${letter.value.length} / ${MAX_COVER}`;
    if (letter.value.trim()) kept.save(letter.value);
    else kept.drop();
  });
  const resume = h("input", { type: "file", name: "resume", accept: "application/pdf,.pdf" });
  const letterField = field("Cover letter", letter, { hint: "Why this role, and what you would bring. Optional." });
  letterField.append(counter);
  const resumeField = field("Résumé (PDF)", resume, { hint: "A PDF of at most 10 MB. Optional, but recruiters like one." });
  const status = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, "Send application");
  const form = h("form", { novalidate: true }, status, letterField, resumeField, h("div", { class: "actions" }, submit));
  let sent = false;
  const release = guardLeaving(ctx, {
    isDirty: () => !sent && (Boolean(letter.value.trim()) || resume.files.length > 0),
    title: "Leave without sending?",
    message: "Your application is not sent yet. The cover letter is kept as a draft in this tab; a chosen résumé is not.",
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(status);
    resumeField.setError(null);
    const file = resume.files[0];
    if (file && !(file.type === "application/pdf" || file.name.toLowerCase().endsWith(".pdf"))) {
      resumeField.setError("Choose a PDF file.");
      resume.focus();
      return;
    }
    if (file && file.size > MAX_RESUME) {
      resumeField.setError("This file is over 10 MB; choose a smaller PDF.");
      resume.focus();
      return;
    }
    const data = new FormData();
    data.set("cover_letter", letter.value);
    if (file) data.set("resume", file, file.name);
    await busy(submit, async () => {
      try {
        await api.upload(`/jobs/${job.id}/applications`, data);
        sent = true;
        kept.drop();
        release();
        if (!ctx.alive()) return;
        clear(
          box,
          h("h2", { id: "apply-title", tabindex: "-1" }, "Application sent"),
          h("div", { class: "notice ok", role: "status" }, `Your application for ${job.title} is with the recruiter. If they invite you to an interview, it appears under Interviews.`),
          h("a", { class: "button", href: "#/applications" }, "See my applications"),
        );
        box.querySelector("h2").focus();
      } catch (error) {
        if (!ctx.alive()) return;
        clear(status, errorBox(error, { title: "The application was not sent." }));
        if (error.code === "resume_not_pdf" || error.code === "payload_too_large") {
          resumeField.setError(error.message);
          resume.focus();
        } else {
          status.firstChild.focus();
        }
      }
    });
  });
  clear(box, h("h2", { id: "apply-title" }, "Apply"), form);
}
