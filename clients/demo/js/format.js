// How values read on screen: dates, money, durations and the API's enums in words.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

export const formatDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : "—");
export const formatDate = (iso) => (iso ? dateOnly.format(new Date(iso)) : "—");
export const formatTime = (iso) => (iso ? timeOnly.format(new Date(iso)) : "—");

/** 125 -> "2:05"; negative values read as 0:00. */
export function clock(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m % 60)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** 3725 -> "1 h 2 min", 125 -> "2 min 5 s", 7 -> "7 s". */
export function span(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ""}`;
}

/** A short stretch precisely: 3.24 -> "3.2 s"; from 10 s on as span(). */
export function duration(seconds) {
  return seconds < 9.95 ? `${Math.max(0, seconds).toFixed(1)} s` : span(seconds);
}

/** Seconds since a start, as "mm:ss" for a timeline. */
export function elapsed(fromIso, atIso) {
  if (!fromIso || !atIso) return "";
  return clock((Date.parse(atIso) - Date.parse(fromIso)) / 1000);
}

export function relative(iso) {
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return formatDate(iso);
}

export function money(amount, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency, maximumFractionDigits: 0 }).format(amount);
  } catch {
    return `${amount} ${currency || ""}`.trim();
  }
}

export function salary(job) {
  const { salary_min: lo, salary_max: hi, salary_currency: cur } = job;
  if (lo == null && hi == null) return null;
  if (lo != null && hi != null) return lo === hi ? money(lo, cur) : `${money(lo, cur)} – ${money(hi, cur)}`;
  return lo != null ? `from ${money(lo, cur)}` : `up to ${money(hi, cur)}`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export const JOB_TYPES = {
  full_time: "Full time",
  part_time: "Part time",
  contract: "Contract",
  internship: "Internship",
  temporary: "Temporary",
};

export const APPLICATION_STATUS = {
  submitted: ["Submitted", "info"],
  reviewing: ["In review", "accent"],
  shortlisted: ["Shortlisted", "ok"],
  rejected: ["Rejected", "danger"],
  hired: ["Hired", "ok"],
  withdrawn: ["Withdrawn", ""],
};

// Who may move an application where (docs/api.md): the recruiter's column.
export const RECRUITER_MOVES = {
  submitted: ["reviewing", "shortlisted", "rejected"],
  reviewing: ["shortlisted", "rejected"],
  shortlisted: ["reviewing", "rejected", "hired"],
  rejected: [],
  hired: [],
  withdrawn: [],
};

export const INTERVIEW_STATE = {
  scheduled: ["Scheduled", "info"],
  in_progress: ["Live now", "ok live"],
  completed: ["Completed", "accent"],
  abandoned: ["Abandoned", "warn"],
  expired: ["Expired", ""],
};

export const END_REASONS = {
  all_questions_answered: "Every question was answered.",
  candidate_ended: "The candidate ended the interview.",
  recruiter_ended: "The recruiter ended the interview.",
  time_up: "The time for the interview ran out.",
  interviewer_failed: "The interviewer ran into a problem and stopped the interview.",
  candidate_left: "The candidate left and did not come back in time.",
  candidate_joined: "The candidate joined.",
  not_started: "Nobody started the interview before it expired.",
  expired: "Nobody started the interview before it expired.",
};

export const RECOMMENDATION = {
  strong_hire: ["Strong hire", "ok"],
  hire: ["Hire", "ok"],
  lean_hire: ["Lean hire", "accent"],
  lean_no_hire: ["Lean no hire", "warn"],
  no_hire: ["No hire", "danger"],
};

export const SIGNALS = {
  tab_hidden: "Left the tab",
  tab_visible: "Came back to the tab",
  window_blur: "Window lost focus",
  window_focus: "Window focused again",
  paste: "Pasted text",
  fullscreen_exit: "Left full screen",
  camera_unavailable: "Camera unavailable",
};

// The stretches of a proctoring summary (evaluation.proctoring.gaps), by kind: what it was,
// and whether it counts against the candidate (docs/protocol.md, "The proctoring summary").
export const GAPS = {
  tab_hidden: ["Left the tab", "counted as time away"],
  window_blur: ["In another window", "counted as time away"],
  reload: ["Reloaded the page", "not time away"],
  network_drop: ["Connection dropped", "a disconnection, not time away"],
  server_restart: ["Server restart", "the server's outage: not counted"],
};

// What a candidate's `connection` entry with status "disconnected" means, by its cause.
export const DISCONNECT_CAUSES = {
  reload: "The candidate reloaded the page.",
  network_drop: "The candidate's connection dropped.",
  server_restart: "The server restarted; the candidate was disconnected.",
};

export function label(map, key) {
  const entry = map[key];
  if (entry === undefined) return String(key).replaceAll("_", " ");
  return Array.isArray(entry) ? entry[0] : entry;
}

export function tone(map, key) {
  const entry = map[key];
  return Array.isArray(entry) ? entry[1] : "";
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
