// Create or edit a job, with its interview plan: questions, follow-ups, time limits, custom
// questions and the rubric (criteria and weights). POST /jobs, PUT /jobs/{id}.

import { ApiError, api } from "../api.js";
import { busy, clear, field, h, nextId } from "../dom.js";
import { JOB_TYPES } from "../format.js";
import { errorBox, navigate, pageHead } from "./common.js";

const DEFAULT_PLAN = {
  question_count: 5,
  follow_ups_per_question: 1,
  answer_time_limit_s: 180,
  total_time_limit_min: 30,
  custom_questions: [],
  rubric: [
    { name: "Technical depth", description: "Knows the tools and trade-offs of the role's required skills.", weight: 0.4 },
    { name: "Problem solving", description: "Breaks problems down, weighs options and reasons about failure.", weight: 0.35 },
    { name: "Communication", description: "Answers clearly, concretely and to the point.", weight: 0.25 },
  ],
};

export async function create(ctx) {
  render(ctx, null);
}

export async function edit(ctx) {
  const job = await api.get(`/jobs/${ctx.params.id}`);
  if (!ctx.alive()) return;
  if (job.recruiter_id !== ctx.user.id) {
    clear(ctx.main, h("h1", {}, "Not your job"), h("p", {}, "Only the recruiter who posted this job may edit it."));
    return;
  }
  render(ctx, job);
}

function numberInput(name, value, min, max) {
  return h("input", { type: "number", name, value: String(value), min, max, step: 1, required: true, inputmode: "numeric" });
}

function render(ctx, job) {
  const plan = job ? job.interview_plan : structuredClone(DEFAULT_PLAN);
  const f = {};
  const input = (key, label, control, opts) => (f[key] = field(label, control, opts));

  input("title", "Job title", h("input", { type: "text", name: "title", value: job?.title || "", required: true, maxlength: 200 }));
  input(
    "description",
    "Description",
    h("textarea", { name: "description", rows: 8, required: true, maxlength: 20000 }, job?.description || ""),
    { hint: "What the role is, the team, what the person will do. The interviewer draws questions from it." },
  );
  input(
    "job_type",
    "Job type",
    h("select", { name: "job_type" }, Object.entries(JOB_TYPES).map(([v, t]) => h("option", { value: v, selected: (job?.job_type || "full_time") === v }, t))),
  );
  input("location", "Location", h("input", { type: "text", name: "location", value: job?.location || "", maxlength: 200 }), { hint: "City or region; leave empty for none." });
  const remote = h("input", { type: "checkbox", name: "remote", checked: job ? job.remote : false, id: nextId("remote") });
  input("salary_min", "Salary from", h("input", { type: "number", name: "salary_min", min: 0, step: 1000, value: job?.salary_min ?? "" }));
  input("salary_max", "Salary to", h("input", { type: "number", name: "salary_max", min: 0, step: 1000, value: job?.salary_max ?? "" }));
  input(
    "salary_currency",
    "Currency",
    h("input", { type: "text", name: "salary_currency", value: job?.salary_currency || "", maxlength: 3, autocapitalize: "characters" }),
    { hint: "Three letters, needed with a salary." },
  );
  input(
    "required_skills",
    "Required skills",
    h("input", { type: "text", name: "required_skills", value: (job?.required_skills || []).join(", ") }),
    { hint: "Separated by commas, for example: Python, PostgreSQL, asyncio." },
  );
  const status = h(
    "select",
    { name: "status" },
    h("option", { value: "open", selected: !job || job.status === "open" }, "Open: candidates can apply"),
    h("option", { value: "closed", selected: job?.status === "closed" }, "Closed: no new applications"),
  );
  input("status", "Status", status);

  input("interview_plan.question_count", "Main questions", numberInput("question_count", plan.question_count, 1, 30), { hint: "1 to 30." });
  input("interview_plan.follow_ups_per_question", "Follow-ups per question", numberInput("follow_ups", plan.follow_ups_per_question, 0, 5), {
    hint: "Asked when an answer is thin; 0 to 5.",
  });
  input("interview_plan.answer_time_limit_s", "Time per answer (seconds)", numberInput("answer_time", plan.answer_time_limit_s, 15, 3600), {
    hint: "15 to 3600.",
  });
  input("interview_plan.total_time_limit_min", "Whole interview (minutes)", numberInput("total_time", plan.total_time_limit_min, 1, 240), {
    hint: "1 to 240.",
  });

  // Custom questions: asked word for word, first.
  const questions = h("div", {});
  const questionRows = [];
  function addQuestion(text = "", focus = false) {
    const area = h("textarea", { rows: 2, maxlength: 1000, name: "custom_question" }, text);
    const wrap = field(`Custom question ${questionRows.length + 1}`, area);
    const row = { wrap, area };
    const remove = h("button", { type: "button", class: "small danger", onclick: () => removeRow(questionRows, row, renumberQuestions) }, "Remove");
    row.el = h("div", { class: "repeat-row question" }, wrap, h("div", { style: "padding-top:1.7rem" }, remove));
    remove.setAttribute("aria-label", `Remove custom question ${questionRows.length + 1}`);
    questionRows.push(row);
    questions.append(row.el);
    if (focus) area.focus();
  }
  function renumberQuestions() {
    questionRows.forEach((row, i) => {
      row.wrap.querySelector("label").textContent = `Custom question ${i + 1}`;
      row.el.querySelector("button").setAttribute("aria-label", `Remove custom question ${i + 1}`);
    });
  }
  plan.custom_questions.forEach((text) => addQuestion(text));

  // Rubric criteria with weights; the share of each is shown as it is typed.
  const criteria = h("div", {});
  const criterionRows = [];
  function addCriterion(c = { name: "", description: "", weight: 1 }, focus = false) {
    const n = criterionRows.length + 1;
    const name = h("input", { type: "text", name: "criterion_name", value: c.name, maxlength: 100, required: true });
    const description = h("input", { type: "text", name: "criterion_description", value: c.description, maxlength: 1000 });
    const weight = h("input", { type: "number", name: "criterion_weight", value: String(c.weight), min: 0.01, max: 100, step: "any", required: true });
    const share = h("span", { class: "share", "aria-live": "off" });
    const row = {
      name,
      description,
      weight,
      share,
      wraps: [field(`Criterion ${n}`, name), field("What good looks like", description, { className: "description" }), field("Weight", weight)],
    };
    row.wraps[2].append(share);
    const remove = h("button", { type: "button", class: "small danger", "aria-label": `Remove criterion ${n}`, onclick: () => removeRow(criterionRows, row, renumberCriteria) }, "Remove");
    row.el = h("div", { class: "repeat-row criterion" }, row.wraps, h("div", { style: "padding-top:1.7rem" }, remove));
    weight.addEventListener("input", updateShares);
    criterionRows.push(row);
    criteria.append(row.el);
    updateShares();
    if (focus) name.focus();
  }
  function renumberCriteria() {
    criterionRows.forEach((row, i) => {
      row.wraps[0].querySelector("label").textContent = `Criterion ${i + 1}`;
      row.el.querySelector("button").setAttribute("aria-label", `Remove criterion ${i + 1}`);
    });
    updateShares();
  }
  function updateShares() {
    const total = criterionRows.reduce((sum, r) => sum + (Number(r.weight.value) > 0 ? Number(r.weight.value) : 0), 0);
    for (const r of criterionRows) {
      const w = Number(r.weight.value);
      r.share.textContent = total > 0 && w > 0 ? `${Math.round((w / total) * 100)}% of the score` : "";
    }
  }
  plan.rubric.forEach((c) => addCriterion(c));

  function removeRow(rows, row, after) {
    const index = rows.indexOf(row);
    rows.splice(index, 1);
    row.el.remove();
    after();
    const next = rows[Math.min(index, rows.length - 1)];
    (next ? next.el.querySelector("textarea, input") : null)?.focus();
  }

  const statusBox = h("div", { "aria-live": "polite" });
  const save = h("button", { type: "submit", class: "primary" }, job ? "Save changes" : "Post job");
  const form = h(
    "form",
    { novalidate: true, "aria-label": job ? "Edit job" : "New job" },
    statusBox,
    h(
      "fieldset",
      {},
      h("legend", {}, "The job"),
      f.title,
      f.description,
      h("div", { class: "form-grid" }, f.job_type, f.location, f.status),
      h("div", { class: "field" }, h("label", { class: "checkbox", for: remote.id }, remote, "Remote work is possible")),
      h("div", { class: "form-grid" }, f.salary_min, f.salary_max, f.salary_currency),
      f.required_skills,
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Interview plan"),
      h("p", { class: "hint" }, "The AI interviewer asks the main questions one at a time, follows up on thin answers, and keeps the time."),
      h("div", { class: "form-grid" }, f["interview_plan.question_count"], f["interview_plan.follow_ups_per_question"], f["interview_plan.answer_time_limit_s"], f["interview_plan.total_time_limit_min"]),
      h("h3", {}, "Custom questions"),
      h("p", { class: "hint" }, "Asked word for word, before the interviewer's own questions. They count toward the main questions."),
      questions,
      h("p", {}, h("button", { type: "button", class: "small", onclick: () => addQuestion("", true) }, "Add a custom question")),
      h("h3", {}, "Rubric"),
      h("p", { class: "hint" }, "Each criterion is scored 1 to 5 with quotes from the answers; the weights set how much each counts."),
      criteria,
      h("p", {}, h("button", { type: "button", class: "small", onclick: () => addCriterion(undefined, true) }, "Add a criterion")),
    ),
    h("div", { class: "actions" }, save, h("a", { class: "button", href: job ? `#/jobs/${job.id}` : "#/jobs" }, "Cancel")),
  );

  function number(value) {
    return value === "" ? null : Number(value);
  }

  function body() {
    return {
      title: f.title.control.value,
      description: f.description.control.value,
      job_type: f.job_type.control.value,
      location: f.location.control.value.trim() || null,
      remote: remote.checked,
      salary_min: number(f.salary_min.control.value),
      salary_max: number(f.salary_max.control.value),
      salary_currency: f.salary_currency.control.value.trim().toUpperCase() || null,
      required_skills: f.required_skills.control.value.split(",").map((s) => s.trim()).filter(Boolean),
      status: status.value,
      interview_plan: {
        question_count: number(f["interview_plan.question_count"].control.value),
        follow_ups_per_question: number(f["interview_plan.follow_ups_per_question"].control.value),
        answer_time_limit_s: number(f["interview_plan.answer_time_limit_s"].control.value),
        total_time_limit_min: number(f["interview_plan.total_time_limit_min"].control.value),
        custom_questions: questionRows.map((r) => r.area.value).filter((t) => t.trim()),
        rubric: criterionRows.map((r) => ({ name: r.name.value, description: r.description.value, weight: number(r.weight.value) })),
      },
    };
  }

  function fieldFor(path) {
    if (f[path]) return f[path];
    let m = path.match(/^interview_plan\.custom_questions\.(\d+)/);
    if (m && questionRows[Number(m[1])]) return questionRows[Number(m[1])].wrap;
    m = path.match(/^interview_plan\.rubric\.(\d+)\.(name|description|weight)/);
    if (m && criterionRows[Number(m[1])]) return criterionRows[Number(m[1])].wraps[{ name: 0, description: 1, weight: 2 }[m[2]]];
    return null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const all = [...Object.values(f), ...questionRows.map((r) => r.wrap), ...criterionRows.flatMap((r) => r.wraps)];
    for (const wrap of all) wrap.setError(null);
    clear(statusBox);
    await busy(save, async () => {
      try {
        const saved = job ? await api.put(`/jobs/${job.id}`, body()) : await api.post("/jobs", body());
        if (!ctx.alive()) return;
        navigate(`#/jobs/${saved.id}`);
      } catch (error) {
        if (!ctx.alive()) return;
        clear(statusBox, errorBox(error, { title: "The job was not saved." }));
        let first = null;
        if (error instanceof ApiError) {
          for (const [path, message] of Object.entries(error.fieldErrors())) {
            const wrap = fieldFor(path);
            if (wrap) {
              wrap.setError(message);
              first = first || wrap;
            }
          }
        }
        (first ? first.control : statusBox.firstChild)?.focus?.();
        if (!first) statusBox.scrollIntoView({ block: "center" });
      }
    });
  });

  clear(
    ctx.main,
    pageHead(job ? `Edit: ${job.title}` : "New job", {
      back: job ? [`#/jobs/${job.id}`, job.title] : ["#/jobs", "Your jobs"],
      sub: job ? "Changes apply to interviews scheduled from now on." : "Describe the role and how its interviews run.",
    }),
    h("div", { class: "card" }, form),
  );
}
