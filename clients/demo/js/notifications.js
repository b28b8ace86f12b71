// Notifications: the bell in the top bar (the unread count, kept live by the server's event
// stream), its panel of the latest ones, and what each one says and opens.
//
// The stream is an EventSource on /notifications/stream, opened with a ticket (EventSource
// cannot send the token). When it drops, the browser reconnects by itself and sends the last
// event id it got (Last-Event-ID): the server sends what was missed, and the ticket is good
// for that. When the browser gives up (the ticket expired, the server restarted), a new ticket
// is fetched and the stream reopened after the last number seen, waiting per backoff.js.

import { api, request } from "./api.js";
import { Backoff } from "./backoff.js";
import { clear, h } from "./dom.js";
import { APPLICATION_STATUS, RECOMMENDATION, label, relative } from "./format.js";

const PANEL_SIZE = 8;

/** What a notification says, in a sentence. */
export function describe(n) {
  const p = n.payload || {};
  const job = p.job_title || "a job";
  const who = p.candidate_name || "A candidate";
  switch (n.kind) {
    case "application.created":
      return `${who} applied to ${job}.`;
    case "interview.started":
      return `${who} started the interview for ${job}.`;
    case "interview.completed":
      return `${who} finished the interview for ${job}.`;
    case "interview.abandoned":
      return `${who} left the interview for ${job} unfinished.`;
    case "interview.expired":
      return `${who}'s interview for ${job} expired without being taken.`;
    case "evaluation.ready":
      return `The evaluation of ${who} for ${job} is ready${p.recommendation ? `: ${label(RECOMMENDATION, p.recommendation).toLowerCase()}` : ""}.`;
    case "webhook.disabled":
      return `A webhook was turned off after failing again and again: ${p.url || ""}`;
    case "application.status_changed":
      return `Your application for ${job} is now ${label(APPLICATION_STATUS, p.to).toLowerCase()}.`;
    case "interview.scheduled":
      return `Your interview for ${job} is ready for you to take.`;
    case "interview.expiring":
      return `Your interview for ${job} expires ${p.expires_at ? relative(p.expires_at) : "soon"}. Take it before then.`;
    default:
      return n.kind;
  }
}

/** Where a notification takes you: the thing it is about. */
export function target(n) {
  switch (n.kind) {
    case "application.created":
      return n.job_id ? `#/jobs/${n.job_id}` : "#/applications";
    case "interview.started":
      return `#/interviews/${n.interview_id}/watch`;
    case "interview.completed":
    case "interview.abandoned":
    case "evaluation.ready":
      return `#/interviews/${n.interview_id}/review`;
    case "interview.expired":
      return "#/interviews";
    case "webhook.disabled":
      return "#/settings/webhooks";
    case "application.status_changed":
      return "#/applications";
    case "interview.scheduled":
    case "interview.expiring":
      return `#/interviews/${n.interview_id}/room`;
    default:
      return "#/notifications";
  }
}

/** Open a notification: mark it read (in the background), then go to its thing. */
export function open(n) {
  bell?.close();
  if (!n.read_at) {
    n.read_at = new Date().toISOString();
    api.post("/notifications/read", { ids: [n.id] }).then(() => bell?.refreshCount(), () => {});
  }
  location.hash = target(n);
}

/** One notification as a list item (the panel and the page). */
export function item(n) {
  return h(
    "li",
    { class: `notification${n.read_at ? "" : " unread"}`, dataset: { kind: n.kind, id: n.id } },
    h(
      "a",
      {
        href: target(n),
        onclick: (event) => {
          event.preventDefault();
          open(n);
        },
      },
      h("span", { class: "text" }, describe(n)),
      h("span", { class: "small muted" }, relative(n.created_at)),
    ),
  );
}

class Bell {
  constructor(user) {
    this.user = user;
    this.unread = 0;
    this.after = null; // the last notification number seen
    this.latest = [];
    this.source = null;
    this.timer = null;
    this.stopped = false;
    // Notifications can wait a little: a slower start than the interview's own retries.
    this.backoff = new Backoff({ baseMs: 5000, capMs: 60000 });
    this.listeners = new Set();
    this.badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    this.button = h(
      "button",
      { type: "button", class: "bell small", "aria-expanded": "false", "aria-controls": "notification-panel", onclick: () => this.toggle() },
      // An image, not an emoji: not every system has a font with the bell.
      h("img", { class: "bell-icon", src: "/app/bell.svg", alt: "", width: "18", height: "18" }),
      h("span", { class: "visually-hidden label" }, "Notifications"),
      this.badge,
    );
    this.list = h("ul", { class: "list notifications" });
    this.panel = h(
      "div",
      { class: "notification-panel", id: "notification-panel", hidden: true, role: "region", "aria-label": "Latest notifications" },
      h(
        "div",
        { class: "panel-head" },
        h("strong", {}, "Notifications"),
        h("button", { type: "button", class: "small link", onclick: () => this.markAllRead() }, "Mark all read"),
      ),
      this.list,
      h("a", { href: "#/notifications", class: "small", onclick: () => this.close() }, "See all notifications"),
    );
    this.el = h("div", { class: "bell-wrap" }, this.button, this.panel);
    this.onDocumentClick = (event) => {
      if (!this.el.contains(event.target)) this.close();
    };
    document.addEventListener("click", this.onDocumentClick);
  }

  async start() {
    try {
      const counts = await api.get("/notifications/unread-count");
      this.after = counts.last_seq;
      this.setUnread(counts.unread);
      this.latest = (await api.get("/notifications", { limit: PANEL_SIZE })).items;
      this.renderList();
    } catch {
      // The stream's own retries will bring the count once the server answers.
    }
    this.connect();
  }

  async connect() {
    if (this.stopped) return;
    let url;
    try {
      url = (await api.post("/notifications/ticket")).url;
    } catch (error) {
      this.retry(error.retryAfterMs);
      return;
    }
    if (this.stopped) return;
    if (this.after !== null) url += `&after=${this.after}`;
    const source = new EventSource(url);
    this.source = source;
    let failures = 0;
    source.addEventListener("ready", (event) => {
      failures = 0;
      this.backoff.reset();
      this.after = Number(event.lastEventId);
    });
    source.addEventListener("notification", (event) => {
      const n = JSON.parse(event.data);
      this.after = n.seq;
      this.latest = [n, ...this.latest.filter((m) => m.id !== n.id)].slice(0, PANEL_SIZE);
      this.setUnread(this.unread + 1);
      this.renderList();
      for (const listener of this.listeners) listener(n);
    });
    source.addEventListener("error", () => {
      // The stream ended or broke. The browser reconnects by itself, saying where it was
      // (Last-Event-ID), every `retry` ms without backing off: that is let happen once
      // (a stream the server dropped resumes at once). When it gave up (CLOSED: the ticket
      // was refused) or the retry failed too (the server is down), the app takes over: a new
      // ticket, after the last number seen, waiting per backoff.js.
      failures += 1;
      if (this.stopped || (source.readyState !== EventSource.CLOSED && failures < 2)) return;
      source.close();
      this.retry();
    });
  }

  retry(retryAfterMs = null) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.backoff.next(retryAfterMs));
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.source?.close();
    document.removeEventListener("click", this.onDocumentClick);
  }

  setUnread(count) {
    this.unread = Math.max(0, count);
    this.badge.textContent = this.unread > 99 ? "99+" : String(this.unread);
    this.badge.hidden = this.unread === 0;
    this.button.querySelector(".label").textContent = this.unread ? `Notifications, ${this.unread} unread` : "Notifications";
  }

  async refreshCount() {
    try {
      this.setUnread((await api.get("/notifications/unread-count")).unread);
    } catch {
      // Kept as it was; the next notification or page load corrects it.
    }
  }

  renderList() {
    // Only while the panel is open: a closed panel holds no list (nothing hidden for the
    // page's own lists to be confused with).
    if (this.panel.hidden) return;
    if (!this.latest.length) clear(this.list, h("li", { class: "muted small" }, "Nothing yet."));
    else clear(this.list, this.latest.map(item));
  }

  toggle() {
    if (this.panel.hidden) {
      this.panel.hidden = false;
      this.renderList();
      this.button.setAttribute("aria-expanded", "true");
    } else this.close();
  }

  close() {
    this.panel.hidden = true;
    clear(this.list);
    this.button.setAttribute("aria-expanded", "false");
  }

  async markAllRead() {
    try {
      const result = await request("POST", "/notifications/read", { json: { all: true } });
      for (const n of this.latest) n.read_at = n.read_at || new Date().toISOString();
      this.setUnread(result.unread);
      this.renderList();
      for (const listener of this.listeners) listener(null);
    } catch {
      // Nothing changed; the button can be pressed again.
    }
  }
}

let bell = null;

/** The signed-in user's bell (one per sign-in, kept across pages); null when signed out. */
export function bellFor(session) {
  if (!session) {
    bell?.stop();
    bell = null;
    return null;
  }
  if (bell && bell.user.id === session.user.id) return bell;
  bell?.stop();
  bell = new Bell(session.user);
  bell.start();
  return bell;
}

/** Be told of each live notification (null: all were marked read); returns an unsubscribe. */
export function onNotification(listener) {
  if (!bell) return () => {};
  bell.listeners.add(listener);
  const mine = bell;
  return () => mine.listeners.delete(listener);
}

export function currentBell() {
  return bell;
}
