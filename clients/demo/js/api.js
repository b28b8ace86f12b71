// The HTTP API (docs/api.md): fetch with the bearer token, errors in the API's one shape.

import { parseRetryAfter } from "./backoff.js";

const SESSION_KEY = "openhire.session";

/**
 * An error as the API describes it: {"error": {"code", "message", "details"}}. retryAfterMs is
 * the wait its Retry-After header asked for (a 429 or a 503), for whoever retries (backoff.js).
 */
export class ApiError extends Error {
  constructor(status, code, message, details = null, requestId = null, retryAfterMs = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
    this.retryAfterMs = retryAfterMs;
  }

  /** Problems by field path, from a 422's details: {"interview_plan.rubric.0.name": "..."}. */
  fieldErrors() {
    const out = {};
    for (const problem of Array.isArray(this.details) ? this.details : []) {
      const loc = (problem.loc || []).filter((part) => part !== "body" && part !== "query");
      out[loc.join(".")] = problem.msg;
    }
    return out;
  }
}

// --- the signed-in session ------------------------------------------------------------------
//
// The access token lives in this tab's sessionStorage (an hour at most). What keeps the sign-in
// across tabs, reloads and restarts is the refresh token, which the server keeps in an HttpOnly
// cookie that no script can read (docs/security.md, "Staying signed in"): a new tab asks
// POST /auth/token for its own access token, and each tab renews its token before it expires.
// Tabs tell each other when someone logs out or in (BroadcastChannel).

const COOKIE_MODE = { "X-OpenHire-Session": "cookie" };
const RENEW_BEFORE_MS = 5 * 60 * 1000;
const RETRY_RENEW_MS = 30 * 1000;
const channel = "BroadcastChannel" in window ? new BroadcastChannel("openhire-auth") : null;
let renewTimer = null;
let renewing = null;

export function currentSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (session && session.expires_at > Date.now()) return session;
  } catch {
    // A damaged entry is the same as none.
  }
  sessionStorage.removeItem(SESSION_KEY);
  return null;
}

export function saveSession(body, { announce = true } = {}) {
  const session = {
    token: body.access_token,
    expires_at: Date.now() + body.expires_in * 1000,
    user: body.user,
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  scheduleRenewal(session);
  if (announce && channel) channel.postMessage({ type: "signedin", user: session.user.id });
  window.dispatchEvent(new CustomEvent("openhire:session", { detail: session }));
  return session;
}

/** The profile changed (name, company): this tab's copy follows. */
export function updateSessionUser(user) {
  const session = currentSession();
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...session, user: { ...session.user, ...user } }));
}

/** Ask for a new access token with the cookie; the session, or null when there is no sign-in
 * to renew. Throws ApiError(0, "network") when the server cannot be reached. One at a time. */
export function renewSession() {
  if (!renewing) {
    renewing = (async () => {
      let response;
      try {
        response = await fetch("/auth/token", {
          method: "POST",
          headers: { ...COOKIE_MODE, "Content-Type": "application/json" },
          body: "{}",
          cache: "no-store",
          credentials: "same-origin",
        });
      } catch {
        throw new ApiError(0, "network", "Cannot reach the server. Check your connection and try again.");
      }
      if (response.status === 204) return null; // not signed in
      if (response.ok) return saveSession(await response.json(), { announce: false });
      if (response.status === 401) return null;
      throw new ApiError(response.status, "error", `The server answered ${response.status}.`);
    })().finally(() => {
      renewing = null;
    });
  }
  return renewing;
}

/** At start: this tab's session, or one renewed from the cookie (a new tab, a bookmark). */
export async function restoreSession() {
  const session = currentSession();
  if (session) {
    scheduleRenewal(session);
    return session;
  }
  try {
    return await renewSession();
  } catch {
    return null; // the server is unreachable: the login page says so when it is used
  }
}

function scheduleRenewal(session) {
  clearTimeout(renewTimer);
  const lifetime = session.expires_at - Date.now();
  const wait = Math.max(5000, lifetime > 2 * RENEW_BEFORE_MS ? lifetime - RENEW_BEFORE_MS : lifetime / 2);
  renewTimer = setTimeout(async () => {
    try {
      const renewed = await renewSession();
      if (!renewed) warnSessionEnding(session);
    } catch {
      // Offline for now: try again soon; the token still has some minutes.
      if (currentSession()) renewTimer = setTimeout(() => scheduleRenewal(currentSession() || session), RETRY_RENEW_MS);
    }
  }, wait);
}

/** The sign-in could not be renewed (logged out elsewhere, or expired): say so before the token
 * runs out, so that nothing typed is lost without warning. */
function warnSessionEnding(session) {
  const at = new Date(session.expires_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  window.dispatchEvent(
    new CustomEvent("openhire:expiring", {
      detail: { expiresAt: session.expires_at, message: `Your session ends at ${at}. Copy anything you are writing, then log in again.` },
    }),
  );
}

export async function signOut(reason = null, { everywhere = true } = {}) {
  const session = currentSession();
  sessionStorage.removeItem(SESSION_KEY);
  clearTimeout(renewTimer);
  if (everywhere) {
    const headers = { ...COOKIE_MODE, "Content-Type": "application/json" };
    if (session) headers.Authorization = `Bearer ${session.token}`;
    try {
      await fetch("/auth/logout", { method: "POST", headers, body: "{}", cache: "no-store", credentials: "same-origin" });
    } catch {
      // Offline: this tab is signed out; the cookie ends when it expires or on the next log-out.
    }
    if (channel) channel.postMessage({ type: "signedout" });
  }
  window.dispatchEvent(new CustomEvent("openhire:signedout", { detail: { reason } }));
}

if (channel) {
  channel.addEventListener("message", (event) => {
    if (event.data?.type === "signedout" && currentSession()) {
      signOut("You logged out in another tab.", { everywhere: false });
    } else if (event.data?.type === "signedin" && !currentSession()) {
      window.dispatchEvent(new CustomEvent("openhire:signedin-elsewhere"));
    }
  });
}

/** The server's public facts (GET /config): fetched once. */
let config = null;
export function serverConfig() {
  if (!config) {
    config = fetch("/config", { cache: "no-store" })
      .then((response) => (response.ok ? response.json() : { demo: false, password_reset: "operator", identity: "embedded" }))
      .catch(() => {
        config = null;
        return { demo: false, password_reset: "operator", identity: "embedded" };
      });
  }
  return config;
}

// --- requests ------------------------------------------------------------------------------

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * request("GET", "/jobs", {query: {title: "python"}}) -> parsed JSON (or null for 204).
 * Options: query, json (a body sent as JSON), form (a FormData), raw (return the Response).
 */
export async function request(method, path, { query: params, json, form, raw = false, signal, headers: extra = {}, retried = false } = {}) {
  const headers = { ...extra };
  const session = currentSession();
  if (session) headers.Authorization = `Bearer ${session.token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // the browser writes the multipart boundary
  }
  let response;
  try {
    response = await fetch(path + query(params), { method, headers, body, signal, cache: "no-store" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", "Cannot reach the server. Check your connection and try again.");
  }
  if (response.ok) {
    if (raw) return response;
    if (response.status === 204) return null;
    return response.json();
  }
  const requestId = response.headers.get("X-Request-ID");
  const retryAfterMs = parseRetryAfter(response.headers.get("Retry-After"));
  let error;
  try {
    const data = await response.json();
    error = new ApiError(response.status, data.error.code, data.error.message, data.error.details, requestId, retryAfterMs);
  } catch {
    error = new ApiError(response.status, "error", `The server answered ${response.status}.`, null, requestId, retryAfterMs);
  }
  if (response.status === 401 && session && !path.startsWith("/auth/")) {
    // The token ran out (a laptop asleep past the renewal, say): renew once, then repeat the
    // request, so that whatever it carried is not lost.
    if (!retried) {
      let renewed = null;
      try {
        renewed = await renewSession();
      } catch {
        renewed = null;
      }
      if (renewed) return request(method, path, { query: params, json, form, raw, signal, headers: extra, retried: true });
    }
    const expired = error.code === "token_expired";
    signOut(expired ? "Your session has expired. Please log in again." : "Please log in again.", { everywhere: false });
  }
  throw error;
}

/** Log in or sign up: the refresh token goes to the HttpOnly cookie, never to this script. */
export function authenticate(path, json) {
  return request("POST", path, { json, headers: COOKIE_MODE });
}

export const api = {
  get: (path, params) => request("GET", path, { query: params }),
  post: (path, json) => request("POST", path, { json: json ?? {} }),
  put: (path, json) => request("PUT", path, { json }),
  patch: (path, json) => request("PATCH", path, { json }),
  delete: (path) => request("DELETE", path),
  upload: (path, form) => request("POST", path, { form }),
  blob: async (path) => (await request("GET", path, { raw: true })).blob(),
};

/** Every page of a cursor-paginated list (for small lists only: a recruiter's jobs). */
export async function allPages(path, params = {}, { max = 500 } = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await api.get(path, { ...params, limit: 100, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}
