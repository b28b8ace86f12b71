// The app shell: hash routes, the top bar, sign-in state, focus on every page change.

import { currentSession, signOut } from "./api.js";
import { clear, h, loading } from "./dom.js";
import { errorBox, navigate } from "./views/common.js";
import * as applications from "./views/applications.js";
import * as auth from "./views/auth.js";
import * as interviews from "./views/interviews.js";
import * as jobDetail from "./views/job_detail.js";
import * as jobEditor from "./views/job_editor.js";
import * as jobs from "./views/jobs.js";
import * as review from "./views/review.js";
import * as room from "./views/room.js";
import * as watch from "./views/watch.js";

const ROUTES = [
  { path: "/login", view: auth.login, public: true },
  { path: "/signup", view: auth.signup, public: true },
  { path: "/jobs", view: jobs.list },
  { path: "/jobs/new", view: jobEditor.create, role: "recruiter" },
  { path: "/jobs/:id", view: jobDetail.show },
  { path: "/jobs/:id/edit", view: jobEditor.edit, role: "recruiter" },
  { path: "/applications", view: applications.list },
  { path: "/interviews", view: interviews.list },
  { path: "/interviews/:id/room", view: room.show, role: "candidate" },
  { path: "/interviews/:id/watch", view: watch.show, role: "recruiter" },
  { path: "/interviews/:id/review", view: review.show, role: "recruiter" },
];

const NAV = {
  recruiter: [
    ["#/jobs", "Jobs"],
    ["#/applications", "Applications"],
    ["#/interviews", "Interviews"],
  ],
  candidate: [
    ["#/jobs", "Find jobs"],
    ["#/applications", "My applications"],
    ["#/interviews", "Interviews"],
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
  if (!session) {
    clear(nav);
    clear(account);
    return;
  }
  const section = `#/${path.split("/")[1] || ""}`;
  clear(
    nav,
    NAV[session.user.role].map(([href, text]) =>
      h("a", { href, "aria-current": href === section ? "page" : null }, text),
    ),
  );
  clear(
    account,
    h("span", { class: "who" }, h("strong", {}, session.user.full_name), h("span", {}, session.user.role === "recruiter" ? "Recruiter" : "Candidate")),
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
  const { path, query } = parseHash();
  const session = currentSession();
  if (path === "/") {
    location.replace(session ? "#/jobs" : "#/login");
    return;
  }
  const found = match(path);
  if (found && !found.route.public && !session) {
    const next = encodeURIComponent(location.hash.slice(1));
    location.replace(`#/login?next=${next}`);
    return;
  }
  if (found && found.route.public && session) {
    location.replace(query.get("next") ? `#${query.get("next")}` : "#/jobs");
    return;
  }
  renderChrome(session, path);
  clear(main, loading());
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
  signedOutMessage = event.detail.reason;
  const { path } = parseHash();
  const here = location.hash.slice(1);
  const next = event.detail.reason && path !== "/login" ? `?next=${encodeURIComponent(here)}` : "";
  navigate(`#/login${next}`);
});
window.addEventListener("hashchange", render);
document.getElementById("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
render();
