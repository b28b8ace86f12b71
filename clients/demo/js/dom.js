// Building the page without innerHTML: every piece of user text goes in as a text node.

/**
 * h("a", {href: "#/jobs", class: "button"}, "Jobs") -> <a href="#/jobs" class="button">Jobs</a>
 * Attributes: `class`, `text`, `on<event>` handlers, booleans (set when true), `dataset`, and
 * everything else as an attribute. Children: nodes, strings, numbers, arrays; null/false skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "style") el.style.cssText = value; // CSSOM: allowed by the page's CSP, unlike a style attribute
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value" && "value" in el) el.value = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let uid = 0;
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A labelled form field: label, control, optional hint and a slot for its error. */
export function field(label, control, { hint, className } = {}) {
  if (!control.id) control.id = nextId("field");
  const hintEl = hint ? h("span", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  const errorEl = h("span", { class: "field-error", id: `${control.id}-error`, hidden: true });
  const described = [hintEl && hintEl.id, errorEl.id].filter(Boolean).join(" ");
  control.setAttribute("aria-describedby", described);
  // A required control gets a star after its label from app.css (what it means is said at the
  // form's top, requiredNote()); assistive technology hears `required` instead.
  const wrap = h("div", { class: `field ${className || ""}`.trim() }, h("label", { for: control.id }, label), control, hintEl, errorEl);
  wrap.control = control;
  wrap.setError = (message) => {
    errorEl.textContent = message || "";
    errorEl.hidden = !message;
    if (message) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  };
  return wrap;
}

/** What the star of a required field means, for the top of a form that has one. */
export function requiredNote() {
  return h("p", { class: "hint required-note" }, "Fields marked ", h("span", { class: "req" }, "*"), " are required.");
}

/** Mark a button busy while a promise runs; returns the promise's result. */
export async function busy(button, work) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = label;
  }
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

/** A modal confirmation (native <dialog>: focus is trapped, Escape cancels). */
export function confirmDialog({ title, message, confirm = "Confirm", cancel = "Cancel", danger = false }) {
  return new Promise((resolve) => {
    const titleId = nextId("dlg");
    const ok = h("button", { class: danger ? "danger solid" : "primary", value: "ok", type: "submit" }, confirm);
    const no = h("button", { value: "cancel", type: "submit", autofocus: true }, cancel);
    const dialog = h(
      "dialog",
      { "aria-labelledby": titleId },
      h("form", { method: "dialog" }, h("h2", { id: titleId }, title), message ? h("p", {}, message) : null, h("div", { class: "actions" }, no, ok)),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function toast(message, { error = false, ms = 4000 } = {}) {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast${error ? " error" : ""}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), ms);
}
