// Pieces every page uses: error boxes, status pills, page headings, navigation, downloads.

import { api } from "../api.js";
import { h } from "../dom.js";
import { fieldSentence, pathOf, plainMessage } from "../errors.js";
import { label, tone } from "../format.js";

export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** The API's error, as the user should read it: a plain sentence (errors.js), each problem of
 * a 422 that a form did not show at its field, and the request id, small, for support. */
export function errorBox(error, { retry, title } = {}) {
  const details = Array.isArray(error.details) ? error.details : [];
  const problems = details.filter((d) => d && d.loc && d.msg);
  return h(
    "div",
    { class: "notice error", role: "alert", tabindex: "-1" },
    h("p", { class: "message" }, title ? h("strong", {}, title, " ") : null, plainMessage(error)),
    problems.length > 1
      ? h("ul", {}, problems.map((d) => h("li", {}, `${words(pathOf(d))}: ${fieldSentence(d, null)}`)))
      : null,
    error.requestId ? h("p", { class: "ref" }, "Reference for support: ", h("span", { class: "mono" }, error.requestId)) : null,
    retry ? h("div", { class: "actions" }, h("button", { type: "button", class: "small", onclick: retry }, "Try again")) : null,
  );
}

/** "interview_plan.rubric.0.weight" -> "Interview plan, rubric 1, weight" */
function words(path) {
  const parts = path.split(".").filter(Boolean);
  const out = parts.map((p) => (/^\d+$/.test(p) ? String(Number(p) + 1) : p.replaceAll("_", " ")));
  const text = out.join(", ").replace(/, (\d+)/g, " $1");
  return text ? text[0].toUpperCase() + text.slice(1) : "The form";
}

export function pill(map, key, extra = {}) {
  const classes = `pill ${tone(map, key)}`.trim();
  return h("span", { class: classes, ...extra }, label(map, key));
}

export function pageHead(title, { sub, actions = [], back } = {}) {
  return h(
    "div",
    { class: "page-head" },
    h(
      "div",
      {},
      back ? h("p", { class: "small", style: "margin:0 0 .25rem" }, h("a", { href: back[0] }, `← ${back[1]}`)) : null,
      h("h1", {}, title),
      sub ? h("p", { class: "sub" }, sub) : null,
    ),
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

/** Fetch a file with the bearer token and hand it to the browser as a download. */
export async function download(path, filename) {
  const blob = await api.blob(path);
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}
