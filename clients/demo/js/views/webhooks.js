// Recruiters' webhooks: add an endpoint (its secret is shown once), test it, rotate its secret,
// turn it off and on, delete it, and see its deliveries with each attempt's status and time.

import { api } from "../api.js";
import { busy, clear, confirmDialog, field, h, loading, toast } from "../dom.js";
import { formatDateTime, relative } from "../format.js";
import { errorBox, pageHead } from "./common.js";

const EVENTS = [
  ["application.created", "A candidate applied"],
  ["interview.started", "An interview started"],
  ["interview.completed", "An interview was completed"],
  ["interview.abandoned", "An interview was left unfinished"],
  ["interview.expired", "An interview expired unused"],
  ["evaluation.ready", "An evaluation is ready"],
];
const STATES = { pending: "Pending", delivered: "Delivered", failed: "Failed" };
const STATE_TONE = { pending: "warn", delivered: "ok", failed: "danger" };

export async function settings(ctx) {
  const list = h("div", { class: "webhooks" }, loading());
  const secretBox = h("div", { "aria-live": "polite" });
  clear(
    ctx.main,
    pageHead("Webhooks", {
      sub: "Send your jobs' events to your own systems (an ATS, a chat, a warehouse). Every request is signed as the Standard Webhooks specification says, and retried for about a day until your endpoint answers 2xx.",
    }),
    addForm(ctx, secretBox, () => refresh()),
    secretBox,
    list,
  );

  async function refresh() {
    let result;
    try {
      result = await api.get("/webhooks");
    } catch (error) {
      if (ctx.alive()) clear(list, errorBox(error, { retry: refresh }));
      return;
    }
    if (!ctx.alive()) return;
    if (!result.items.length) clear(list, h("section", { class: "card" }, h("p", { class: "muted empty", style: "margin:0" }, "No webhook yet.")));
    else clear(list, result.items.map((w) => card(ctx, w, secretBox, refresh)));
  }
  await refresh();
}

function addForm(ctx, secretBox, done) {
  const url = field("Endpoint URL", h("input", { type: "url", name: "url", required: true, placeholder: "https://example.com/openhire-webhook", autocomplete: "off" }), {
    hint: "An https address your systems listen on.",
  });
  const boxes = EVENTS.map(([value, text]) =>
    h("label", { class: "checkbox" }, h("input", { type: "checkbox", name: "events", value, checked: true }), text, h("code", { class: "small muted" }, value)),
  );
  const problem = h("div");
  const submit = h("button", { type: "submit", class: "primary" }, "Add webhook");
  const form = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "add-webhook",
      onsubmit: (event) => {
        event.preventDefault();
        clear(problem);
        url.setError(null);
        const events = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
        busy(submit, async () => {
          try {
            const made = await api.post("/webhooks", { url: url.control.value.trim(), events });
            form.reset();
            showSecret(secretBox, made, "added");
            await done();
          } catch (error) {
            const fields = error.fieldErrors?.() || {};
            if (error.code === "webhook_url_refused" || fields.url) url.setError(error.code === "webhook_url_refused" ? error.message.replace(/^body\.url: /, "") : fields.url);
            else clear(problem, errorBox(error));
          }
        });
      },
    },
    h("h2", { id: "add-webhook" }, "Add an endpoint"),
    url,
    h("fieldset", { class: "events" }, h("legend", {}, "Events"), boxes),
    problem,
    h("div", { class: "actions" }, submit),
  );
  return form;
}

function showSecret(box, webhook, what) {
  clear(
    box,
    h(
      "div",
      { class: "notice ok secret", role: "status" },
      h("strong", {}, what === "added" ? "Webhook added. " : "Secret rotated. "),
      "Its signing secret, shown only now: ",
      h("code", { class: "secret-value" }, webhook.secret),
      what === "rotated" ? " The previous secret keeps signing beside it for 24 hours." : null,
    ),
  );
}

function card(ctx, webhook, secretBox, refresh) {
  const deliveries = h("div", { class: "deliveries" });
  const status = webhook.enabled
    ? h("span", { class: "pill ok" }, "On")
    : h("span", { class: "pill danger", title: webhook.disabled_reason || "" }, "Off");
  const act = (text, work, opts = {}) => {
    const button = h("button", { type: "button", class: `small ${opts.className || ""}`.trim() }, text);
    button.addEventListener("click", () =>
      busy(button, async () => {
        try {
          await work();
        } catch (error) {
          toast(error.message, { error: true });
        }
      }),
    );
    return button;
  };
  const base = `/webhooks/${webhook.id}`;
  const showDeliveries = async () => fillDeliveries(ctx, webhook, deliveries);
  return h(
    "section",
    { class: "card webhook", dataset: { webhookId: webhook.id } },
    h("div", { class: "row" }, h("h2", { style: "margin:0;flex:1;word-break:break-all" }, webhook.url), status),
    webhook.enabled ? null : h("p", { class: "notice error small" }, webhook.disabled_reason || "Turned off."),
    h("p", { class: "small muted" }, `Events: ${webhook.events.join(", ")} · ${webhook.last_success_at ? `last delivered ${relative(webhook.last_success_at)}` : "nothing delivered yet"}`),
    h(
      "div",
      { class: "actions" },
      webhook.enabled
        ? act("Send a test", async () => {
            await api.post(`${base}/test`);
            toast("Test message queued.");
            await showDeliveries();
          })
        : null,
      act("Show deliveries", showDeliveries),
      act("Rotate secret", async () => {
        showSecret(secretBox, await api.post(`${base}/secret`), "rotated");
      }),
      act(webhook.enabled ? "Turn off" : "Turn on", async () => {
        await api.patch(base, { enabled: !webhook.enabled });
        await refresh();
      }),
      act(
        "Delete",
        async () => {
          const ok = await confirmDialog({ title: "Delete this webhook?", message: "Its deliveries are deleted too.", confirm: "Delete", danger: true });
          if (!ok) return;
          await api.delete(base);
          await refresh();
        },
        { className: "danger" },
      ),
    ),
    deliveries,
  );
}

async function fillDeliveries(ctx, webhook, box) {
  clear(box, loading());
  let page;
  try {
    page = await api.get(`/webhooks/${webhook.id}/deliveries`, { limit: 20 });
  } catch (error) {
    clear(box, errorBox(error));
    return;
  }
  if (!ctx.alive()) return;
  if (!page.items.length) {
    clear(box, h("p", { class: "muted small" }, "No delivery yet."));
    return;
  }
  const rows = page.items.map((d) => {
    const last = d.attempts[d.attempts.length - 1];
    const resend =
      d.state !== "pending" && webhook.enabled
        ? h(
            "button",
            {
              type: "button",
              class: "small",
              onclick: async (event) => {
                await busy(event.currentTarget, async () => {
                  try {
                    await api.post(`/webhooks/${webhook.id}/deliveries/${d.id}/resend`);
                    toast("Queued again.");
                    await fillDeliveries(ctx, webhook, box);
                  } catch (error) {
                    toast(error.message, { error: true });
                  }
                });
              },
            },
            "Re-send",
          )
        : null;
    return h(
      "tr",
      { dataset: { deliveryId: d.id, state: d.state } },
      h("td", {}, h("code", {}, d.kind)),
      h("td", {}, h("span", { class: `pill ${STATE_TONE[d.state]}` }, STATES[d.state])),
      h("td", {}, String(d.attempts.length)),
      h("td", {}, last?.status_code ?? (last?.outcome || "—")),
      h("td", {}, last?.latency_ms != null ? `${last.latency_ms} ms` : "—"),
      h("td", { title: d.last_error || "" }, formatDateTime(d.created_at)),
      h("td", {}, resend),
    );
  });
  clear(
    box,
    h(
      "table",
      { class: "table deliveries-table" },
      h("caption", { class: "visually-hidden" }, "Deliveries, newest first"),
      h("thead", {}, h("tr", {}, ["Event", "State", "Attempts", "Last answer", "Time taken", "Queued"].map((t) => h("th", { scope: "col" }, t)), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", {}, rows),
    ),
  );
}
