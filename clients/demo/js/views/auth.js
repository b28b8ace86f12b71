// The way in: the landing page, log in and sign up (their refresh token goes to an HttpOnly
// cookie; the access token to this tab's sessionStorage), a forgotten password, the profile.

import { ApiError, api, authenticate, request, saveSession, serverConfig, updateSessionUser } from "../api.js";
import { busy, clear, field, h } from "../dom.js";
import { errorBox, navigate, pageHead } from "./common.js";

// Supabase's recovery session, taken from the link's fragment (main.js); kept in memory only.
let recoveryToken = null;
export function setRecoveryToken(token) {
  recoveryToken = token;
}

function afterSignIn(ctx) {
  const next = ctx.query.get("next");
  navigate(next && next.startsWith("/") ? `#${next}` : "#/jobs");
}

function showFieldErrors(error, fields, status) {
  const problems = error instanceof ApiError ? error.fieldErrors() : {};
  let matched = false;
  for (const [name, wrap] of Object.entries(fields)) {
    wrap.setError(problems[name] || null);
    if (problems[name]) matched = true;
  }
  clear(status, errorBox(error));
  if (matched) {
    const first = Object.values(fields).find((w) => w.control.getAttribute("aria-invalid") === "true");
    first?.control.focus();
  }
}

export async function login(ctx) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const fields = { email: field("Email", email), password: field("Password", password) };
  const status = h("div", { "aria-live": "polite" });
  const flash = ctx.flash();
  if (flash) status.append(h("div", { class: "notice warn", role: "alert" }, flash));
  const submit = h("button", { class: "primary", type: "submit" }, "Log in");
  const form = h("form", { novalidate: true }, status, Object.values(fields), h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!email.value.trim() || !password.value) {
      fields.email.setError(email.value.trim() ? null : "Enter your email.");
      fields.password.setError(password.value ? null : "Enter your password.");
      (email.value.trim() ? password : email).focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const body = await authenticate("/auth/login", { email: email.value.trim(), password: password.value });
        saveSession(body);
        afterSignIn(ctx);
      } catch (error) {
        showFieldErrors(error, fields, status);
        if (!(error instanceof ApiError && error.status === 422)) password.select();
      }
    });
  });
  const signupHref = ctx.query.get("next") ? `#/signup?next=${encodeURIComponent(ctx.query.get("next"))}` : "#/signup";
  const config = await serverConfig();
  if (!ctx.alive()) return;
  clear(
    ctx.main,
    h(
      "div",
      { class: "auth" },
      h("h1", {}, "Log in to OpenHire"),
      h("p", { class: "muted" }, "Recruiters post jobs and review interviews; candidates apply and take their interview here."),
      h("div", { class: "card" }, form),
      h("p", { class: "alt" }, h("a", { href: "#/forgot" }, "Forgot your password?")),
      h("p", { class: "alt" }, "New here? ", h("a", { href: signupHref }, "Create an account")),
      config.demo ? demoHint() : null,
    ),
  );
  email.focus();
}

export async function signup(ctx) {
  const name = h("input", { type: "text", name: "full_name", autocomplete: "name", required: true, maxlength: 200 });
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 128 });
  const fields = {
    full_name: field("Full name", name),
    email: field("Email", email),
    password: field("Password", password, { hint: "8 to 128 characters." }),
  };
  const roleName = "role";
  const asRecruiter = ctx.query.get("role") === "recruiter";
  const roles = h(
    "fieldset",
    {},
    h("legend", {}, "I am"),
    h(
      "div",
      { class: "segmented" },
      h("label", {}, h("input", { type: "radio", name: roleName, value: "candidate", checked: !asRecruiter }), "A candidate looking for a job"),
      h("label", {}, h("input", { type: "radio", name: roleName, value: "recruiter", checked: asRecruiter }), "A recruiter hiring"),
    ),
  );
  const status = h("div", { "aria-live": "polite" });
  const submit = h("button", { class: "primary", type: "submit" }, "Create account");
  const form = h("form", { novalidate: true }, status, fields.full_name, fields.email, fields.password, roles, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const role = form.querySelector(`input[name="${roleName}"]:checked`).value;
    const missing = [
      [fields.full_name, name.value.trim() ? null : "Enter your name."],
      [fields.email, email.value.trim() ? null : "Enter your email."],
      [fields.password, password.value.length >= 8 ? null : "Use at least 8 characters."],
    ];
    for (const [wrap, message] of missing) wrap.setError(message);
    const firstMissing = missing.find(([, message]) => message);
    if (firstMissing) {
      firstMissing[0].control.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const body = await authenticate("/auth/signup", { full_name: name.value.trim(), email: email.value.trim(), password: password.value, role });
        saveSession(body);
        afterSignIn(ctx);
      } catch (error) {
        showFieldErrors(error, fields, status);
        if (error.code === "email_taken") fields.email.setError("An account with this email already exists.");
      }
    });
  });
  const loginHref = ctx.query.get("next") ? `#/login?next=${encodeURIComponent(ctx.query.get("next"))}` : "#/login";
  clear(
    ctx.main,
    h(
      "div",
      { class: "auth" },
      h("h1", {}, "Create your account"),
      h("div", { class: "card" }, form),
      h("p", { class: "alt" }, "Already have an account? ", h("a", { href: loginHref }, "Log in")),
    ),
  );
  name.focus();
}

function demoHint() {
  return h(
    "p",
    { class: "alt small demo-hint" },
    "This server runs the demo: log in as recruiter@demo.openhire.dev or candidate@demo.openhire.dev with the password openhire-demo.",
  );
}

/** The first visit to /: what OpenHire is, and the two ways in. */
export async function landing(ctx) {
  const config = await serverConfig();
  if (!ctx.alive()) return;
  clear(
    ctx.main,
    h(
      "div",
      { class: "landing" },
      h("h1", {}, "Hiring with interviews you can take when you are ready"),
      h(
        "p",
        { class: "lead" },
        "OpenHire is an open-source hiring platform. Recruiters post jobs; candidates apply and take a live interview in the browser, led by an AI interviewer; recruiters watch it live, then review the transcript and a scored evaluation.",
      ),
      h(
        "div",
        { class: "ways-in" },
        h(
          "section",
          { class: "card", "aria-labelledby": "way-candidate" },
          h("h2", { id: "way-candidate" }, "Looking for a job?"),
          h("p", {}, "Find open jobs, apply with a cover letter and your résumé, and take your interview when it suits you."),
          h("div", { class: "actions" }, h("a", { class: "button primary", href: "#/signup?role=candidate" }, "Sign up as a candidate")),
        ),
        h(
          "section",
          { class: "card", "aria-labelledby": "way-recruiter" },
          h("h2", { id: "way-recruiter" }, "Hiring?"),
          h("p", {}, "Post jobs with an interview plan and a rubric, schedule interviews, watch them live and decide with the evidence in front of you."),
          h("div", { class: "actions" }, h("a", { class: "button primary", href: "#/signup?role=recruiter" }, "Sign up as a recruiter")),
        ),
      ),
      h("p", { class: "alt" }, "Already have an account? ", h("a", { href: "#/login" }, "Log in")),
      config.demo ? demoHint() : null,
    ),
  );
}

/** A forgotten password: ask for a link (POST /auth/recover), which says the same whoever asks. */
export async function forgot(ctx) {
  const config = await serverConfig();
  if (!ctx.alive()) return;
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const emailField = field("Email", email);
  const status = h("div", { "aria-live": "polite" });
  if (ctx.query.get("expired")) status.append(h("div", { class: "notice warn", role: "alert" }, "That reset link has expired or was used already. Ask for a new one."));
  const submit = h("button", { class: "primary", type: "submit" }, "Send me a reset link");
  const form = h("form", { novalidate: true }, status, emailField, h("div", { class: "actions" }, submit));
  const operator = config.password_reset === "operator";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!email.value.trim()) {
      emailField.setError("Enter your email.");
      email.focus();
      return;
    }
    emailField.setError(null);
    await busy(submit, async () => {
      try {
        const body = await request("POST", "/auth/recover", { json: { email: email.value.trim() } });
        const text = body.method === "operator"
          ? "This server sends no email. Ask the person who runs it for a password reset link."
          : "If an account has this email, a link to reset its password is on its way. It works once, for an hour.";
        clear(status, h("div", { class: "notice ok", role: "status" }, text));
      } catch (error) {
        clear(status, errorBox(error));
      }
    });
  });
  clear(
    ctx.main,
    h(
      "div",
      { class: "auth" },
      h("h1", {}, "Reset your password"),
      h(
        "p",
        { class: "muted" },
        operator
          ? "This server sends no email: the person who runs it can make you a reset link (openhire users reset-password)."
          : "We will email you a link to choose a new password.",
      ),
      h("div", { class: "card" }, form),
      h("p", { class: "alt" }, h("a", { href: "#/login" }, "Back to log in")),
    ),
  );
  email.focus();
}

/** The link's page: choose a new password (POST /auth/reset). */
export async function reset(ctx) {
  const token = ctx.query.get("token") || recoveryToken;
  if (!token) {
    clear(
      ctx.main,
      h("div", { class: "auth" }, h("h1", {}, "Reset your password"), h("p", {}, "This page needs the link from your reset email. ", h("a", { href: "#/forgot" }, "Ask for a new link"))),
    );
    return;
  }
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 128 });
  const passwordField = field("New password", password, { hint: "8 to 128 characters." });
  const status = h("div", { "aria-live": "polite" });
  const submit = h("button", { class: "primary", type: "submit" }, "Set the new password");
  const form = h("form", { novalidate: true }, status, passwordField, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (password.value.length < 8) {
      passwordField.setError("Use at least 8 characters.");
      password.focus();
      return;
    }
    passwordField.setError(null);
    await busy(submit, async () => {
      try {
        await request("POST", "/auth/reset", { json: { token, password: password.value } });
        recoveryToken = null;
        clear(
          ctx.main,
          h(
            "div",
            { class: "auth" },
            h("h1", { tabindex: "-1" }, "Your password is changed"),
            h("p", {}, "Every earlier sign-in has ended. Log in with your new password."),
            h("p", {}, h("a", { class: "button primary", href: "#/login" }, "Log in")),
          ),
        );
        ctx.main.querySelector("h1").focus();
      } catch (error) {
        if (error instanceof ApiError && error.code === "invalid_reset_token") {
          clear(status, h("div", { class: "notice error", role: "alert" }, "This link has expired or was used already. ", h("a", { href: "#/forgot" }, "Ask for a new one")));
        } else {
          const problems = error instanceof ApiError ? error.fieldErrors() : {};
          if (problems.password) passwordField.setError(problems.password);
          clear(status, errorBox(error));
        }
      }
    });
  });
  clear(ctx.main, h("div", { class: "auth" }, h("h1", {}, "Choose a new password"), h("div", { class: "card" }, form)));
  password.focus();
}

/** The signed-in user's profile: their name, and a recruiter's company (shown on their jobs). */
export async function profile(ctx) {
  const me = await api.get("/users/me");
  if (!ctx.alive()) return;
  const recruiter = me.role === "recruiter";
  const name = h("input", { type: "text", name: "full_name", autocomplete: "name", required: true, maxlength: 200, value: me.full_name });
  const company = h("input", { type: "text", name: "company_name", autocomplete: "organization", maxlength: 200, value: me.company_name || "" });
  const fields = { full_name: field("Full name", name), company_name: field("Company", company, { hint: "Shown on your jobs, so candidates know who is hiring." }) };
  const status = h("div", { "aria-live": "polite" });
  const submit = h("button", { class: "primary", type: "submit" }, "Save");
  const form = h("form", { novalidate: true }, status, fields.full_name, recruiter ? fields.company_name : null, h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!name.value.trim()) {
      fields.full_name.setError("Enter your name.");
      name.focus();
      return;
    }
    await busy(submit, async () => {
      try {
        const body = { full_name: name.value.trim() };
        if (recruiter) body.company_name = company.value.trim();
        const updated = await api.patch("/users/me", body);
        for (const wrap of Object.values(fields)) wrap.setError(null);
        clear(status, h("div", { class: "notice ok", role: "status" }, "Saved."));
        updateSessionUser(updated);
      } catch (error) {
        const problems = error instanceof ApiError ? error.fieldErrors() : {};
        for (const [key, wrap] of Object.entries(fields)) wrap.setError(problems[key] || null);
        clear(status, errorBox(error));
      }
    });
  });
  clear(ctx.main, pageHead("Your profile", { sub: me.email }), h("div", { class: "card", style: "max-width:36rem" }, form));
}
