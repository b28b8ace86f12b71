// An interview's scheduling window (opens_at, closes_at), as its reader should see it: in their
// own time zone, with the zone named, and whether they may join now.

import { h } from "../dom.js";

export function localZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
  } catch {
    return "your time zone";
  }
}

function when(iso) {
  return new Date(iso).toLocaleString([], { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

/** "open" | "not_yet" | "closed" for a scheduled interview's window, now. */
export function windowState(interview, now = Date.now()) {
  if (interview.opens_at && now < Date.parse(interview.opens_at)) return "not_yet";
  if (interview.closes_at && now >= Date.parse(interview.closes_at)) return "closed";
  return "open";
}

/** The window as a line of text, or null without one. */
export function windowLine(interview) {
  const { opens_at: opens, closes_at: closes } = interview;
  if (!opens && !closes) return null;
  const zone = localZone();
  let text;
  if (opens && closes) text = `Open from ${when(opens)} to ${when(closes)}`;
  else if (opens) text = `Opens ${when(opens)}`;
  else text = `Open until ${when(closes)}`;
  return h("span", { class: "window", dataset: { zone } }, `${text} (${zone} time)`);
}
