// Create or edit a job, with its interview plan: questions, follow-ups, time limits, custom
// questions and the rubric (criteria and weights). POST /jobs, PUT /jobs/{id}.

import { ApiError, api } from "../api.js";
import { busy, clear, field, h, nextId, requiredNote } from "../dom.js";
import { showProblems } from "../errors.js";
import { JOB_TYPES, formatDateTime } from "../format.js";
import { draft, guardLeaving } from "../leave.js";
import { check, requiredPaths, schemaNamed } from "../schema.js";
import { errorBox, pageHead } from "./common.js";

// The rules across fields (the server's FieldProblem), said plainly at the field they name.
const RULES = {
  salary_currency: "Give the salary's currency, three letters such as EUR or USD.",
  salary_max: "The top of the salary range cannot be below its start.",
  "interview_plan.custom_questions": "There are more custom questions than main questions: raise Main questions or remove one.",
  "interview_plan.rubric": "Two criteria have the same name: give each its own.",
};

/** The rules a schema cannot say, checked the same way as the server's JobInput does. */
function crossFieldProblems(body) {
  const problems = [];
  const at = (path) => problems.push({ loc: ["body", ...path.split(".")], type: "value_error" });
  if (body.salary_min !== null && body.salary_max !== null && body.salary_min > body.salary_max) at("salary_max");
  if ((body.salary_min !== null || body.salary_max !== null) && body.salary_currency === null) at("salary_currency");
  const plan = body.interview_plan;
  if (Number.isInteger(plan.question_count) && plan.custom_questions.length > plan.question_count) at("interview_plan.custom_questions");
  const names = plan.rubric.map((c) => c.name.trim().toLowerCase());
  if (new Set(names).size !== names.length) at("interview_plan.rubric");
  return problems;
}

const DEFAULT_PLAN = {
  question_count: 5,
  follow_ups_per_question: 1,
  answer_time_limit_s: 180,
  total_time_limit_min: 30,
  answer_mode: "text",
  custom_questions: [],
  rubric: [
    { name: "Technical depth", description: "Knows the tools and trade-offs of the role's required skills.", weight: 0.4 },
    { name: "Problem solving", description: "Breaks problems down, weighs options and reasons about failure.", weight: 0.35 },
    { name: "Communication", description: "Answers clearly, concretely and to the point.", weight: 0.25 },
  ],
};

export async function create(ctx) {
  render(ctx, null, await schemaNamed("JobInput"));
}

export async function edit(ctx) {
  const job = await api.get(`/jobs/${ctx.params.id}`);
  if (!ctx.alive()) return;
  if (job.recruiter_id !== ctx.user.id) {
    clear(ctx.main, h("h1", {}, "Not your job"), h("p", {}, "Only the recruiter who posted this job may edit it."));
    return;
  }
  render(ctx, job, await schemaNamed("JobInput"));
}

function numberInput(name, value, min, max) {
  return h("input", { type: "number", name, value: value === null || value === undefined ? "" : String(value), min, max, step: 1, required: true, inputmode: "numeric" });
}

function render(ctx, job, schema) {
  // A draft of this very form (a reload, Back or a link took the page away) wins over the
  // stored job; it goes once the job is saved, or when the recruiter discards it.
  const kept = draft(job ? `job.${job.id}` : "job.new");
  const saved = kept.load();
  const source = saved ? saved.body : job;
  const plan = source ? source.interview_plan : structuredClone(DEFAULT_PLAN);
  job = job || null;
  const f = {};
  const input = (key, label, control, opts) => (f[key] = field(label, control, opts));

  input("title", "Job title", h("input", { type: "text", name: "title", value: source?.title || "", required: true, maxlength: 200, autocomplete: "off" }));
  input(
    "description",
    "Description",
    h("textarea", { name: "description", rows: 8, required: true, maxlength: 20000 }, source?.description || ""),
    { hint: "What the role is, the team, what the person will do. The interviewer draws questions from it." },
  );
  input(
    "job_type",
    "Job type",
    h("select", { name: "job_type" }, Object.entries(JOB_TYPES).map(([v, t]) => h("option", { value: v, selected: (source?.job_type || "full_time") === v }, t))),
  );
  input("location", "Location", h("input", { type: "text", name: "location", value: source?.location || "", maxlength: 200 }), { hint: "City or region; leave empty for none." });
  const remote = h("input", { type: "checkbox", name: "remote", checked: source ? source.remote : false, id: nextId("remote") });
  input("salary_min", "Salary from", h("input", { type: "number", name: "salary_min", min: 0, step: 1000, value: source?.salary_min ?? "" }));
  input("salary_max", "Salary to", h("input", { type: "number", name: "salary_max", min: 0, step: 1000, value: source?.salary_max ?? "" }));
  input(
    "salary_currency",
    "Currency",
    h("input", { type: "text", name: "salary_currency", value: source?.salary_currency || "", maxlength: 3, autocapitalize: "characters", dataset: { format: "Use three capital letters, such as EUR or USD." } }),
    { hint: "Three letters, needed with a salary." },
  );
  input(
    "required_skills",
    "Required skills",
    h("input", { type: "text", name: "required_skills", value: (source?.required_skills || []).join(", ") }),
    { hint: "Separated by commas, for example: Python, PostgreSQL, asyncio." },
  );
  const status = h(
    "select",
    { name: "status" },
    h("option", { value: "open", selected: !source || source.status === "open" }, "Open: candidates can apply"),
    h("option", { value: "closed", selected: source?.status === "closed" }, "Closed: no new applications"),
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

  const answerMode = h(
    "select",
    { name: "answer_mode" },
    [
      ["text", "Typed: the candidate types each answer"],
      ["voice", "Spoken: the candidate answers aloud"],
      ["either", "Either: the candidate chooses, answer by answer"],
    ].map(([v, t]) => h("option", { value: v, selected: (plan.answer_mode || "text") === v }, t)),
  );
  input("interview_plan.answer_mode", "How answers are given", answerMode, {
    hint: "Spoken answers need a microphone, and a server with speech-to-text; they are transcribed and scored like typed ones.",
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
    const weight = h("input", { type: "number", name: "criterion_weight", value: c.weight === null || c.weight === undefined ? "" : String(c.weight), min: 0.01, max: 100, step: "any", required: true });
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
    requiredNote(),
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
      h("div", { class: "form-grid" }, f["interview_plan.question_count"], f["interview_plan.follow_ups_per_question"], f["interview_plan.answer_time_limit_s"], f["interview_plan.total_time_limit_min"], f["interview_plan.answer_mode"]),
      h("h2", { class: "h3" }, "Custom questions"),
      h("p", { class: "hint" }, "Asked word for word, before the interviewer's own questions. They count toward the main questions."),
      questions,
      h("p", {}, h("button", { type: "button", class: "small", onclick: () => addQuestion("", true) }, "Add a custom question")),
      h("h2", { class: "h3" }, "Rubric"),
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
        answer_mode: answerMode.value,
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

  function allFields() {
    return [...Object.values(f), ...questionRows.map((r) => r.wrap), ...criterionRows.flatMap((r) => r.wraps)];
  }

  // Mark what the schema requires before anything is sent (a criterion's name is required
  // through its item schema, set where the row is made).
  for (const path of requiredPaths(schema)) {
    const wrap = f[path];
    if (wrap && wrap.control.tagName !== "SELECT") wrap.control.required = true;
  }

  const initial = JSON.stringify(body());
  let posted = false;
  // A restored draft is unsaved work from the start.
  const isDirty = () => !posted && (Boolean(saved) || JSON.stringify(body()) !== initial);
  const keep = () => (isDirty() ? kept.save({ body: body(), at: new Date().toISOString() }) : kept.drop());
  form.addEventListener("input", keep);
  form.addEventListener("change", keep);
  form.addEventListener("click", (event) => {
    // Adding or removing a row changes the job without an input event.
    if (event.target.closest("button[type=button]")) queueMicrotask(keep);
  });
  const release = guardLeaving(ctx, {
    isDirty,
    title: "Leave without saving?",
    message: job ? "Your changes to this job are not saved yet. They are kept as a draft in this tab." : "This job is not posted yet. It is kept as a draft in this tab.",
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const wrap of allFields()) wrap.setError(null);
    clear(statusBox);
    const payload = body();
    // The server's own rules first, in the browser (its schema, and its rules across fields).
    const local = [...check(schema, payload, ["body"]), ...crossFieldProblems(payload)];
    if (local.length) {
      const shown = showProblems(local, fieldFor, { rules: RULES });
      if (shown) {
        statusBox.append(h("p", { class: "notice error", role: "alert" }, `The job was not saved: ${shown === 1 ? "one field needs" : `${shown} fields need`} a change.`));
        return;
      }
    }
    await busy(save, async () => {
      try {
        const saved = job ? await api.put(`/jobs/${job.id}`, payload) : await api.post("/jobs", payload);
        if (!ctx.alive()) return;
        posted = true;
        kept.drop();
        release();
        // The form is done with: Back must not bring it back empty, inviting a second job.
        location.replace(`#/jobs/${saved.id}`);
      } catch (error) {
        if (!ctx.alive()) return;
        clear(statusBox, errorBox(error, { title: "The job was not saved." }));
        const shown = error instanceof ApiError && error.status === 422 ? showProblems(error.details || [], fieldFor, { rules: RULES }) : 0;
        if (!shown) {
          statusBox.firstChild.focus();
          statusBox.scrollIntoView({ block: "center" });
        }
      }
    });
  });

  const restored = saved
    ? h(
        "div",
        { class: "notice", role: "status" },
        `Your unsaved draft from ${formatDateTime(saved.at)} is back. `,
        h(
          "button",
          {
            type: "button",
            class: "small",
            onclick: () => {
              kept.drop();
              release();
              render(ctx, job, schema);
            },
          },
          "Discard the draft",
        ),
      )
    : null;

  clear(
    ctx.main,
    pageHead(job ? `Edit: ${job.title}` : "New job", {
      back: job ? [`#/jobs/${job.id}`, job.title] : ["#/jobs", "Your jobs"],
      sub: job ? "Changes apply to interviews scheduled from now on." : "Describe the role and how its interviews run.",
    }),
    restored,
    h("div", { class: "card" }, form),
  );
}
