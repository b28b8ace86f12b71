// Pieces every page uses: error boxes, status pills, page headings, navigation, downloads.

import { api } from "../api.js";
import { h } from "../dom.js";
import { label, tone } from "../format.js";

export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

/** The API's error, as the user should read it: the message, each problem, the request id. */
export function errorBox(error, { retry, title } = {}) {
  const details = Array.isArray(error.details) ? error.details : [];
  return h(
    "div",
    { class: "notice error", role: "alert", tabindex: "-1" },
    title ? h("strong", {}, title, " ") : null,
    error.message || String(error),
    details.length > 1
      ? h("ul", {}, details.map((d) => h("li", {}, `${(d.loc || []).filter((p) => p !== "body").join(" › ")}: ${d.msg}`)))
      : null,
    error.requestId ? h("div", { class: "ref" }, `Reference: ${error.requestId}`) : null,
    retry ? h("div", { class: "actions", style: "margin-top:.5rem" }, h("button", { type: "button", class: "small", onclick: retry }, "Try again")) : null,
  );
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

/** Re-run `fn` every `ms` while the page is shown; returns a stop function. */
export function every(ms, fn) {
  const timer = setInterval(fn, ms);
  return () => clearInterval(timer);
}
