// The HTTP API (docs/api.md): fetch with the bearer token, errors in the API's one shape.

const SESSION_KEY = "openhire.session";

/** An error as the API describes it: {"error": {"code", "message", "details"}}. */
export class ApiError extends Error {
  constructor(status, code, message, details = null, requestId = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
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

// --- the signed-in session (sessionStorage: one tab's sign-in, gone when the tab closes) ---

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

export function saveSession(body) {
  const session = {
    token: body.access_token,
    expires_at: Date.now() + body.expires_in * 1000,
    user: body.user,
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

export function signOut(reason = null) {
  sessionStorage.removeItem(SESSION_KEY);
  window.dispatchEvent(new CustomEvent("openhire:signedout", { detail: { reason } }));
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
export async function request(method, path, { query: params, json, form, raw = false, signal } = {}) {
  const headers = {};
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
  let error;
  try {
    const data = await response.json();
    error = new ApiError(response.status, data.error.code, data.error.message, data.error.details, requestId);
  } catch {
    error = new ApiError(response.status, "error", `The server answered ${response.status}.`, null, requestId);
  }
  if (response.status === 401 && session && path !== "/auth/login") {
    const expired = error.code === "token_expired";
    signOut(expired ? "Your session has expired. Please log in again." : "Please log in again.");
  }
  throw error;
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
