// Work that must not disappear: drafts kept in sessionStorage (they survive a reload, Back and
// a link, and go when the tab closes), and a warning before leaving unsaved work or a live
// interview, both for the browser's own ways out (reload, close, another address:
// `beforeunload`) and for the app's (a link, Back, Forward: main.js asks `mayLeave`).

import { confirmDialog } from "./dom.js";

const DRAFT_PREFIX = "openhire.draft.";
const guards = new Set();

/** A draft kept under `key` in this tab: load() -> the saved value or null; save(value); drop(). */
export function draft(key) {
  const name = DRAFT_PREFIX + key;
  return {
    load() {
      try {
        return JSON.parse(sessionStorage.getItem(name) || "null");
      } catch {
        return null;
      }
    },
    save(value) {
      try {
        sessionStorage.setItem(name, JSON.stringify(value));
      } catch {
        // Storage full or refused: the leave warning still protects the work.
      }
    },
    drop() {
      sessionStorage.removeItem(name);
    },
  };
}

/**
 * While `isDirty()` is true, leaving the page asks first, with `title` and `message`. The
 * guard goes with the page (ctx.onLeave). Returns a function that removes it at once (after
 * the work was saved, before the app moves on by itself).
 */
export function guardLeaving(ctx, { isDirty, title, message, leave = "Leave this page", stay = "Stay" }) {
  const guard = { isDirty, title, message, leave, stay };
  guards.add(guard);
  const release = () => guards.delete(guard);
  ctx.onLeave(release);
  return release;
}

function pending() {
  return [...guards].find((g) => {
    try {
      return g.isDirty();
    } catch {
      return false;
    }
  });
}

/** Signed out: nothing can be saved from here any more, so nothing asks (drafts stay). */
export function forgetGuards() {
  guards.clear();
}

/** Whether leaving now would ask. */
export function hasWorkAtStake() {
  return Boolean(pending());
}

/** Whether the app may move to another page: true at once when nothing is at stake, else the
 * person's answer. */
export async function mayLeave() {
  const guard = pending();
  if (!guard) return true;
  const ok = await confirmDialog({ title: guard.title, message: guard.message, confirm: guard.leave, cancel: guard.stay, danger: true });
  if (ok) guards.delete(guard);
  return ok;
}

window.addEventListener("beforeunload", (event) => {
  if (!pending()) return;
  event.preventDefault();
  event.returnValue = ""; // Chromium shows its own words; this asks it to ask.
});
