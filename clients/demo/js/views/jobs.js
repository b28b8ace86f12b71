// The jobs list: candidates search open jobs; recruiters see their own, open and closed.

import { api } from "../api.js";
import { append, clear, field, h, loading } from "../dom.js";
import { JOB_TYPES, formatDate, plural, salary } from "../format.js";
import { errorBox, pageHead } from "./common.js";

export async function list(ctx) {
  const recruiter = ctx.user.role === "recruiter";
  const q = ctx.query;
  const title = h("input", { type: "search", name: "title", value: q.get("title") || "", maxlength: 200 });
  const jobType = h(
    "select",
    { name: "job_type" },
    h("option", { value: "" }, "Any type"),
    Object.entries(JOB_TYPES).map(([value, text]) => h("option", { value, selected: q.get("job_type") === value }, text)),
  );
  let third;
  let thirdField;
  if (recruiter) {
    third = h(
      "select",
      { name: "status" },
      h("option", { value: "" }, "Open and closed"),
      h("option", { value: "open", selected: q.get("status") === "open" }, "Open"),
      h("option", { value: "closed", selected: q.get("status") === "closed" }, "Closed"),
    );
    thirdField = field("Status", third);
  } else {
    third = h(
      "select",
      { name: "remote" },
      h("option", { value: "" }, "Remote or on site"),
      h("option", { value: "true", selected: q.get("remote") === "true" }, "Remote"),
      h("option", { value: "false", selected: q.get("remote") === "false" }, "On site"),
    );
    thirdField = field("Where", third);
  }
  const sort = h(
    "select",
    { name: "sort" },
    [
      ["created_at:desc", "Newest first"],
      ["salary_max:desc", "Highest salary"],
      ["salary_min:asc", "Lowest salary"],
      ["title:asc", "Title A–Z"],
    ].map(([value, text]) => h("option", { value, selected: q.get("sort") === value }, text)),
  );
  const submit = h("button", { type: "submit", class: "primary" }, "Search");
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter jobs" },
    field(recruiter ? "Title contains" : "Search job titles", title),
    field("Job type", jobType),
    thirdField,
    field("Sort by", sort),
    h("div", { class: "field" }, submit),
  );
  const summary = h("p", { class: "muted", role: "status", "aria-live": "polite" });
  const results = h("div", { class: "job-list" });
  const more = h("div", { class: "actions", style: "justify-content:center;margin-top:1rem" });

  clear(
    ctx.main,
    pageHead(recruiter ? "Your jobs" : "Open jobs", {
      sub: recruiter ? "Post jobs with an interview plan, then follow their applications." : "Find a role, apply with a cover letter and your résumé.",
      actions: recruiter ? [h("a", { class: "button primary", href: "#/jobs/new" }, "New job")] : [],
    }),
    form,
    summary,
    results,
    more,
  );

  function params() {
    const [sortBy, sortOrder] = sort.value.split(":");
    const p = { title: title.value.trim(), job_type: jobType.value, sort_by: sortBy, sort_order: sortOrder };
    if (recruiter) {
      p.recruiter_id = ctx.user.id;
      p.status = third.value;
    } else {
      p.status = "open";
      p.remote = third.value;
    }
    return p;
  }

  async function load(cursor = null) {
    const p = params();
    if (!cursor) {
      // Keep the filters in the address, so back and reload show the same list.
      const search = new URLSearchParams();
      if (p.title) search.set("title", p.title);
      if (jobType.value) search.set("job_type", jobType.value);
      if (third.value) search.set(recruiter ? "status" : "remote", third.value);
      if (sort.value !== "created_at:desc") search.set("sort", sort.value);
      const text = search.toString();
      history.replaceState(null, "", `#/jobs${text ? `?${text}` : ""}`);
      clear(results, loading("Loading jobs…"));
      results.setAttribute("aria-busy", "true");
    }
    clear(more);
    let page;
    try {
      page = await api.get("/jobs", { ...p, limit: 20, cursor });
    } catch (error) {
      if (!ctx.alive()) return;
      // A count from before would stand next to the error as if it were true now.
      summary.textContent = "";
      clear(results, errorBox(error, { retry: () => load() }));
      results.removeAttribute("aria-busy");
      return;
    }
    if (!ctx.alive()) return;
    results.removeAttribute("aria-busy");
    if (!cursor) clear(results);
    summary.textContent = page.total === 0 ? "" : `${plural(page.total, "job")}${recruiter ? "" : " open"}`;
    if (page.total === 0) {
      results.append(
        h(
          "p",
          { class: "empty" },
          recruiter
            ? p.title || p.job_type || p.status
              ? "None of your jobs match these filters."
              : "You have not posted a job yet. Start with “New job”: a description and an interview plan."
            : "No open job matches your search. Try fewer words or another job type.",
        ),
      );
    }
    const cards = page.items.map((job) => jobCard(job, recruiter));
    append(results, cards);
    if (recruiter) fillCounts(page.items, cards);
    if (page.next_cursor) {
      const button = h("button", { type: "button", onclick: () => load(page.next_cursor) }, "Show more jobs");
      more.append(button);
    }
  }

  async function fillCounts(items, cards) {
    await Promise.all(
      items.map(async (job, i) => {
        try {
          const page = await api.get("/applications", { job_id: job.id, limit: 1 });
          const slot = cards[i].querySelector("[data-count]");
          if (slot) slot.textContent = plural(page.total, "application");
        } catch {
          // The count is a nicety; the job is still listed.
        }
      }),
    );
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  for (const select of [jobType, third, sort]) select.addEventListener("change", () => load());
  await load();
}

export function jobCard(job, recruiter) {
  const pay = salary(job);
  return h(
    "article",
    { class: "card job-card", "aria-labelledby": `job-${job.id}` },
    h(
      "div",
      {},
      h("h2", { id: `job-${job.id}` }, h("a", { href: `#/jobs/${job.id}` }, job.title)),
      h(
        "p",
        { class: "meta" },
        job.company_name ? h("span", { class: "company" }, job.company_name) : null,
        h("span", {}, JOB_TYPES[job.job_type]),
        h("span", {}, [job.location, job.remote ? "Remote" : null].filter(Boolean).join(" · ") || "Location not given"),
        pay ? h("span", {}, pay) : null,
        h("span", {}, `Posted ${formatDate(job.created_at)}`),
      ),
      job.required_skills.length ? h("ul", { class: "chips", "aria-label": "Skills" }, job.required_skills.map((s) => h("li", {}, s))) : null,
    ),
    h(
      "div",
      { class: "side" },
      recruiter ? h("span", { class: `pill ${job.status === "open" ? "ok" : ""}` }, job.status === "open" ? "Open" : "Closed") : null,
      recruiter ? h("span", { class: "small muted", "data-count": "" }, "…") : null,
      recruiter
        ? h("a", { class: "button small", href: `#/jobs/${job.id}/edit`, "aria-label": `Edit ${job.title}` }, "Edit")
        : h("a", { class: "button small", href: `#/jobs/${job.id}`, "aria-label": `View and apply: ${job.title}` }, "View and apply"),
    ),
  );
}
