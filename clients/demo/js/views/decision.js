// The recruiter's decision on the review page: advance or reject the application (the status
// flow of PATCH /applications/{id}), a note kept with it (never shown to the candidate), and
// links back to the application and its résumé.

import { ApiError, api } from "../api.js";
import { busy, clear, field, h, toast } from "../dom.js";
import { APPLICATION_STATUS, label } from "../format.js";
import { download, errorBox, pill } from "./common.js";

// Advancing moves one step along the flow: to the shortlist, then to hired.
const NEXT = { submitted: "shortlisted", reviewing: "shortlisted", shortlisted: "hired" };
const FINAL = ["rejected", "hired", "withdrawn"];

export function decisionCard(interview) {
  const body = h("div", {}, h("p", { class: "muted small" }, "Loading the application…"));
  const section = h("section", { class: "card decision", "aria-labelledby": "decision-title" }, h("h2", { id: "decision-title" }, "Decision"), body);
  api.get(`/applications/${interview.application_id}`).then(
    (application) => render(application),
    (error) => clear(body, errorBox(error)),
  );

  function render(application) {
    const note = h("textarea", { name: "note", rows: 3, maxlength: 5000, value: application.note || "" });
    note.value = application.note || "";
    const noteField = field("Note", note, { hint: "For you and your team; the candidate never sees it." });
    const status = h("p", { class: "row", role: "status" }, "Application: ", pill(APPLICATION_STATUS, application.status));
    const next = NEXT[application.status];
    const decide = async (button, target) => {
      await busy(button, async () => {
        try {
          const updated = await api.patch(`/applications/${application.id}`, { status: target, note: note.value.trim() });
          toast(`${updated.candidate_name}: ${label(APPLICATION_STATUS, updated.status)}`);
          render(updated);
          section.querySelector("h2").focus();
        } catch (error) {
          const problems = error instanceof ApiError ? error.fieldErrors() : {};
          noteField.setError(problems.note || null);
          toast(error.message, { error: true });
        }
      });
    };
    const actions = [];
    if (next) {
      const advance = h("button", { type: "button", class: "primary" }, next === "hired" ? "Advance: hire" : "Advance to the shortlist");
      advance.addEventListener("click", () => decide(advance, next));
      actions.push(advance);
    }
    if (!FINAL.includes(application.status)) {
      const reject = h("button", { type: "button", class: "danger" }, "Reject");
      reject.addEventListener("click", () => decide(reject, "rejected"));
      actions.push(reject);
    }
    const save = h("button", { type: "button" }, "Save the note");
    save.addEventListener("click", () => decide(save, application.status));
    actions.push(save);
    const links = [h("a", { href: `#/jobs/${application.job_id}` }, "The application, on its job's page")];
    if (application.resume) {
      const resume = application.resume;
      links.push(
        h(
          "button",
          {
            type: "button",
            class: "link",
            onclick: (e) => busy(e.currentTarget, () => download(resume.download_url, resume.filename)).catch((error) => toast(error.message, { error: true })),
          },
          `Download the résumé (${resume.filename})`,
        ),
      );
    }
    clear(body, status, noteField, h("div", { class: "actions" }, actions), h("p", { class: "row small" }, links));
  }

  section.querySelector("h2").tabIndex = -1;
  return section;
}
