// The app shell: hash routes, the top bar, sign-in state, focus on every page change.

import { currentSession, restoreSession, signOut } from "./api.js";
import { clear, h, loading, toast } from "./dom.js";
import { forgetGuards, hasWorkAtStake, mayLeave } from "./leave.js";
import { bellFor } from "./notifications.js";
import { errorBox, navigate } from "./views/common.js";
import * as applications from "./views/applications.js";
import * as auth from "./views/auth.js";
import * as interviews from "./views/interviews.js";
import * as jobDetail from "./views/job_detail.js";
import * as jobEditor from "./views/job_editor.js";
import * as jobs from "./views/jobs.js";
import * as notifications from "./views/notifications.js";
import * as review from "./views/review.js";
import * as room from "./views/room.js";
import * as watch from "./views/watch.js";
import * as webhooks from "./views/webhooks.js";

const ROUTES = [
  { path: "/", view: auth.landing, public: true },
  { path: "/login", view: auth.login, public: true },
  { path: "/signup", view: auth.signup, public: true },
  { path: "/forgot", view: auth.forgot, public: true },
  // Reachable signed in or not: a reset link opened in a signed-in browser still works.
  { path: "/reset", view: auth.reset, public: true, always: true },
  { path: "/profile", view: auth.profile },
  { path: "/jobs", view: jobs.list },
  { path: "/jobs/new", view: jobEditor.create, role: "recruiter" },
  { path: "/jobs/:id", view: jobDetail.show },
  { path: "/jobs/:id/edit", view: jobEditor.edit, role: "recruiter" },
  { path: "/applications", view: applications.list },
  { path: "/interviews", view: interviews.list },
  { path: "/interviews/:id/room", view: room.show, role: "candidate" },
  { path: "/interviews/:id/watch", view: watch.show, role: "recruiter" },
  { path: "/interviews/:id/review", view: review.show, role: "recruiter" },
  { path: "/notifications", view: notifications.list },
  { path: "/settings/webhooks", view: webhooks.settings, role: "recruiter" },
];

const NAV = {
  recruiter: [
    ["#/jobs", "Jobs"],
    ["#/applications", "Applications"],
    ["#/interviews", "Interviews"],
    ["#/settings", "Webhooks", "#/settings/webhooks"],
    ["#/profile", "Profile"],
  ],
  candidate: [
    ["#/jobs", "Find jobs"],
    ["#/applications", "My applications"],
    ["#/interviews", "Interviews"],
    ["#/profile", "Profile"],
  ],
};

const main = document.getElementById("main");
let generation = 0;
let cleanups = [];
let signedOutMessage = null;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  return { path: path.replace(/\/+$/, "") || "/", query: new URLSearchParams(search) };
}

function match(path) {
  const parts = path.split("/").filter(Boolean);
  for (const route of ROUTES) {
    const pattern = route.path.split("/").filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params = {};
    const ok = pattern.every((p, i) => {
      if (p.startsWith(":")) {
        params[p.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return p === parts[i];
    });
    if (ok) return { route, params };
  }
  return null;
}

function renderChrome(session, path) {
  const nav = document.getElementById("nav");
  const account = document.getElementById("account");
  // One bell per sign-in, kept across pages (its stream stays open).
  const bell = bellFor(session);
  if (!session) {
    clear(nav);
    clear(account);
    return;
  }
  const section = `#/${path.split("/")[1] || ""}`;
  clear(
    nav,
    NAV[session.user.role].map(([key, text, href = key]) =>
      h("a", { href, "aria-current": key === section ? "page" : null }, text),
    ),
  );
  clear(
    account,
    bell.el,
    // A long name is cut short with "…"; hovering or focusing it shows it whole.
    h(
      "span",
      { class: "who", tabindex: "0", title: session.user.full_name },
      h("strong", {}, session.user.full_name),
      h("span", {}, session.user.role === "recruiter" ? "Recruiter" : "Candidate"),
      h("span", { class: "full-name", "aria-hidden": "true" }, session.user.full_name),
    ),
    h("button", { class: "small", type: "button", onclick: () => signOut(null) }, "Log out"),
  );
}

async function render() {
  for (const cleanup of cleanups.splice(0)) {
    try {
      cleanup();
    } catch (error) {
      console.error(error);
    }
  }
  const mine = ++generation;
  shownHash = location.hash;
  const { path, query } = parseHash();
  const session = currentSession();
  if (path === "/" && session) {
    location.replace("#/jobs");
    return;
  }
  const found = match(path);
  if (found && !found.route.public && !session) {
    const next = encodeURIComponent(location.hash.slice(1));
    location.replace(`#/login?next=${next}`);
    return;
  }
  if (found && found.route.public && !found.route.always && session) {
    location.replace(query.get("next") ? `#${query.get("next")}` : "#/jobs");
    return;
  }
  renderChrome(session, path);
  // Even while it loads the page has its one h1 (unseen: the spinner says it).
  clear(main, h("h1", { class: "visually-hidden" }, "Loading"), loading());
  const ctx = {
    params: found ? found.params : {},
    query,
    user: session ? session.user : null,
    main,
    alive: () => mine === generation,
    onLeave: (fn) => cleanups.push(fn),
    flash: takeSignedOutMessage,
  };
  try {
    if (!found) {
      clear(main, h("h1", {}, "Page not found"), h("p", {}, "There is nothing at this address. ", h("a", { href: "#/jobs" }, "Go to jobs")));
    } else if (found.route.role && found.route.role !== session.user.role) {
      const other = found.route.role === "recruiter" ? "recruiters" : "candidates";
      clear(main, h("h1", {}, "Not available"), h("p", {}, `This page is for ${other}. `, h("a", { href: "#/jobs" }, "Go to jobs")));
    } else {
      await found.route.view(ctx);
    }
  } catch (error) {
    if (!ctx.alive()) return;
    console.error(error);
    clear(main, h("h1", {}, "Something went wrong"), errorBox(error, { retry: render }));
  }
  if (!ctx.alive()) return;
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · OpenHire` : "OpenHire";
  // Move focus to the new page (screen readers announce it) unless the page chose a field.
  if (!main.contains(document.activeElement) || document.activeElement === main) {
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    } else {
      main.focus({ preventScroll: true });
    }
  }
  window.scrollTo(0, 0);
}

function takeSignedOutMessage() {
  const message = signedOutMessage;
  signedOutMessage = null;
  return message;
}

window.addEventListener("openhire:signedout", (event) => {
  forgetGuards();
  signedOutMessage = event.detail.reason;
  const { path } = parseHash();
  const here = location.hash.slice(1);
  const next = event.detail.reason && path !== "/login" ? `?next=${encodeURIComponent(here)}` : "";
  navigate(`#/login${next}`);
});
window.addEventListener("openhire:expiring", (event) => {
  showExpiryWarning(event.detail.message);
});
window.addEventListener("openhire:session", () => {
  document.getElementById("session-warning")?.remove();
});
// Someone logged in in another tab: a tab still on the login or landing page follows.
window.addEventListener("openhire:signedin-elsewhere", async () => {
  const { path } = parseHash();
  if (["/", "/login", "/signup"].includes(path) && (await restoreSession())) render();
});
// Leaving unsaved work or a live interview asks first (leave.js). A link is stopped before
// the address changes; Back and Forward have changed it already, so a "Stay" puts it back.
// One question at a time: a Back pressed while a question is still settling (its dialog's
// "close" event comes a task later) waits for it and is then asked about in its turn.
let shownHash = location.hash;
let asking = null; // the question on screen, as a promise of the answer
function ask() {
  asking = mayLeave().finally(() => (asking = null));
  return asking;
}
document.addEventListener(
  "click",
  async (event) => {
    const link = event.target.closest && event.target.closest("a[href^='#']");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const target = link.getAttribute("href");
    if (target === location.hash || target === "#main" || !hasWorkAtStake()) return;
    event.preventDefault();
    if (asking) return;
    if (await ask()) navigate(target);
  },
  true,
);
window.addEventListener("hashchange", async () => {
  while (asking) await asking.catch(() => false);
  if (location.hash === shownHash) return; // put back after a "Stay", or shown already
  if (!(await ask())) {
    history.pushState(null, "", shownHash);
    return;
  }
  shownHash = location.hash;
  render();
});
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

function showExpiryWarning(message) {
  document.getElementById("session-warning")?.remove();
  const banner = h(
    "div",
    { class: "notice warn session-warning", id: "session-warning", role: "alert" },
    message,
    " ",
    h("a", { href: "#/login", target: "_blank", rel: "noopener" }, "Log in in a new tab"),
  );
  document.getElementById("topbar").after(banner);
  toast(message, { error: true, ms: 10000 });
}

/** Supabase's recovery link comes back as #access_token=...&type=recovery (or #error=...). */
function takeAuthFragment() {
  const raw = location.hash.replace(/^#/, "");
  if (!/^(access_token|error)=/.test(raw)) return;
  const values = new URLSearchParams(raw);
  history.replaceState(null, "", location.pathname + location.search);
  if (values.get("type") === "recovery" && values.get("access_token")) {
    auth.setRecoveryToken(values.get("access_token"));
    location.replace("#/reset");
  } else if (values.get("error")) {
    location.replace("#/forgot?expired=1");
  }
}

takeAuthFragment();
restoreSession().finally(render);
