// Errors as people read them: the API's codes and its 422 problems turned into plain sentences,
// shown at their fields, with focus on the first field in error. The API's own wording stays
// for developers (docs/api.md); the request id is kept for support, apart and small.

const BY_CODE = {
  network: "Cannot reach the server. Check your connection and try again.",
  invalid_credentials: "The email or the password is wrong.",
  email_taken: "An account with this email exists already. Log in instead, or use another email.",
  weak_password: "Choose a stronger password: at least 8 characters, not a common one.",
  validation_failed: "Some fields need a change: see the messages next to them.",
  token_expired: "Your session has expired. Please log in again.",
  invalid_token: "Please log in again.",
  unauthorized: "Please log in again.",
  forbidden: "You are not allowed to do this.",
  not_found: "This is not there any more: it may have been deleted.",
  already_applied: "You have applied to this job already.",
  job_closed: "This job no longer takes applications.",
  resume_not_pdf: "The résumé must be a PDF file.",
  payload_too_large: "The file is too large: a résumé may be at most 10 MB.",
  invalid_transition: "This application cannot move to that status from where it is now.",
  interview_exists: "This application has an interview already.",
  database_unavailable: "The server is busy for a moment. Please try again shortly.",
  storage_unavailable: "The server is busy for a moment. Please try again shortly.",
  auth_unavailable: "Sign-in is not available for a moment. Please try again shortly.",
  server_busy: "The server is busy for a moment. Please try again shortly.",
  internal_error: "Something went wrong on our side. Please try again; if it happens again, give support the reference below.",
};

/** "wrong email or password" -> "Wrong email or password."; an API field prefix dropped. */
export function asSentence(text) {
  const bare = String(text || "")
    .replace(/^(body|query)(\.[^\s:]+)?: /, "")
    .trim();
  if (!bare) return "";
  const first = bare[0].toUpperCase() + bare.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

/** The sentence to show for any error (an ApiError or anything thrown). */
export function plainMessage(error) {
  if (error && error.code === "rate_limited") {
    const s = error.retryAfterMs ? Math.max(1, Math.ceil(error.retryAfterMs / 1000)) : null;
    return s ? `Too many tries. Please wait ${s} ${s === 1 ? "second" : "seconds"} and try again.` : "Too many tries. Please wait a little and try again.";
  }
  if (error && BY_CODE[error.code]) return BY_CODE[error.code];
  return asSentence(error && error.message ? error.message : String(error));
}

function numberRange(control) {
  const min = control.getAttribute("min");
  const max = control.getAttribute("max");
  if (min !== null && max !== null) return `Enter a number from ${min} to ${max}.`;
  if (min !== null) return Number(min) > 0 && Number(min) < 1 ? "Enter a number above 0." : `Enter a number of at least ${min}.`;
  if (max !== null) return `Enter a number of at most ${max}.`;
  return "Enter a number.";
}

/**
 * A 422 problem ({loc, msg, type}) as a sentence for the field it names. `control` is that
 * field's input (its min, max and maxlength say the limits); `rules` gives the sentences of a
 * form's rules across fields (value_error), by field path.
 */
export function fieldSentence(problem, control, rules = {}, path = "") {
  const type = problem.type || "";
  const select = control && control.tagName === "SELECT";
  switch (type) {
    case "missing":
      return select ? "Choose one." : "Fill this in.";
    case "string_too_short":
      return "Fill this in: it cannot be blank.";
    case "string_too_long":
      return control && control.maxLength > 0 ? `Use at most ${control.maxLength} characters.` : "This is too long.";
    case "greater_than":
    case "greater_than_equal":
    case "less_than":
    case "less_than_equal":
      return control ? numberRange(control) : asSentence(problem.msg);
    case "int_parsing":
    case "int_type":
    case "int_from_float":
      return "Enter a whole number.";
    case "float_parsing":
    case "float_type":
      return "Enter a number.";
    case "string_pattern_mismatch":
      return (control && control.dataset.format) || "Check what you typed: it is not in the expected form.";
    case "enum":
    case "literal_error":
      return "Choose one of the options.";
    case "too_short":
      return "Add at least one.";
    case "too_long":
      return "There are too many of these.";
    case "string_unstorable":
      return "Remove the invisible control characters from this text.";
    case "speech_not_configured":
      return "This server cannot take spoken answers (it has no speech-to-text configured). Choose typed answers, or ask the administrator to set speech up.";
    case "value_error":
      if (rules[path]) return rules[path];
      return asSentence(problem.msg);
    default:
      return asSentence(problem.msg);
  }
}

/** The field path of a 422 problem: its loc without "body"/"query" ("interview_plan.rubric.0.weight"). */
export function pathOf(problem) {
  return (problem.loc || []).filter((part, i) => !(i === 0 && (part === "body" || part === "query"))).join(".");
}

/**
 * Show each problem at its field: `fieldFor(path)` returns a field() wrap or null. Focus goes to
 * the first field in error in the order of the page, which is scrolled into view. Returns how
 * many problems found a field.
 */
export function showProblems(problems, fieldFor, { rules = {} } = {}) {
  const marked = [];
  for (const problem of problems) {
    const path = pathOf(problem);
    const wrap = fieldFor(path);
    if (!wrap || marked.includes(wrap)) continue;
    wrap.setError(fieldSentence(problem, wrap.control, rules, path));
    marked.push(wrap);
  }
  marked.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  if (marked.length) {
    marked[0].control.focus({ preventScroll: true });
    marked[0].scrollIntoView({ block: "center" });
  }
  return marked.length;
}
