// Every notification, newest first, with an unread filter; new ones appear as they come.

import { api } from "../api.js";
import { append, clear, h, loading } from "../dom.js";
import { currentBell, item, onNotification } from "../notifications.js";
import { errorBox, pageHead } from "./common.js";

export async function list(ctx) {
  const unreadOnly = ctx.query.get("unread") === "true";
  const ul = h("ul", { class: "list notifications", "aria-live": "polite" });
  const more = h("div", { class: "actions", style: "justify-content:center" });
  const body = h("section", { class: "card" }, loading());
  const filter = h(
    "a",
    { class: "button small", href: unreadOnly ? "#/notifications" : "#/notifications?unread=true" },
    unreadOnly ? "Show all" : "Show unread only",
  );
  const markAll = h(
    "button",
    {
      type: "button",
      class: "small",
      onclick: async () => {
        await currentBell()?.markAllRead();
        for (const li of ul.querySelectorAll(".unread")) li.classList.remove("unread");
      },
    },
    "Mark all read",
  );
  clear(ctx.main, pageHead("Notifications", { sub: "What happened, newest first. Open one to go to what it is about.", actions: [filter, markAll] }), body);

  let shown = 0;
  async function page(cursor) {
    let result;
    try {
      result = await api.get("/notifications", { limit: 30, cursor, unread: unreadOnly ? "true" : null });
    } catch (error) {
      if (ctx.alive()) clear(body, errorBox(error, { retry: () => page(cursor) }));
      return;
    }
    if (!ctx.alive()) return;
    shown += result.items.length;
    append(ul, result.items.map(item));
    clear(more);
    if (result.next_cursor) more.append(h("button", { type: "button", onclick: () => page(result.next_cursor) }, "Show older"));
    if (!shown) clear(body, h("p", { class: "muted empty", style: "margin:0" }, unreadOnly ? "Nothing unread." : "No notifications yet."));
    else clear(body, ul, more);
  }
  await page(null);
  ctx.onLeave(
    onNotification((n) => {
      if (!n || !ctx.alive()) return;
      shown += 1;
      ul.prepend(item(n));
      clear(body, ul, more);
    }),
  );
}
