// Log in and sign up (POST /auth/login, POST /auth/signup). The token lives in sessionStorage.

import { ApiError, request, saveSession } from "../api.js";
import { busy, clear, field, h } from "../dom.js";
import { errorBox, navigate } from "./common.js";

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
        const body = await request("POST", "/auth/login", { json: { email: email.value.trim(), password: password.value } });
        saveSession(body);
        afterSignIn(ctx);
      } catch (error) {
        showFieldErrors(error, fields, status);
        if (!(error instanceof ApiError && error.status === 422)) password.select();
      }
    });
  });
  const signupHref = ctx.query.get("next") ? `#/signup?next=${encodeURIComponent(ctx.query.get("next"))}` : "#/signup";
  clear(
    ctx.main,
    h(
      "div",
      { class: "auth" },
      h("h1", {}, "Log in to OpenHire"),
      h("p", { class: "muted" }, "Recruiters post jobs and review interviews; candidates apply and take their interview here."),
      h("div", { class: "card" }, form),
      h("p", { class: "alt" }, "New here? ", h("a", { href: signupHref }, "Create an account")),
      h(
        "p",
        { class: "alt small" },
        "Running the demo (./scripts/serve)? Log in as recruiter@demo.openhire.dev or candidate@demo.openhire.dev with the password openhire-demo.",
      ),
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
  const roles = h(
    "fieldset",
    {},
    h("legend", {}, "I am"),
    h(
      "div",
      { class: "segmented" },
      h("label", {}, h("input", { type: "radio", name: roleName, value: "candidate", checked: true }), "A candidate looking for a job"),
      h("label", {}, h("input", { type: "radio", name: roleName, value: "recruiter" }), "A recruiter hiring"),
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
        const body = await request("POST", "/auth/signup", {
          json: { full_name: name.value.trim(), email: email.value.trim(), password: password.value, role },
        });
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
