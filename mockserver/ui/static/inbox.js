/* The inbox: plays the other role against the mock, through the same APIs a client uses.
 *
 * The workflow API is called as a chosen user with that user's X-CAP-UI-AUTH-TOKEN, asked for at
 * POST /__admin/tokens (so no password is in the page); events, journal, faults and reset go through
 * the admin API. Types, states and step order come from the page's embedded model (derived from the
 * contract by the server). Every value from the server is put into the page as text, never as HTML.
 */
"use strict";

const MODEL = JSON.parse(document.getElementById("model").textContent);
// How often the page asks for news; `?poll=MS` changes it (tests poll faster).
const POLL_MS = Math.max(100, Number(new URLSearchParams(location.search).get("poll")) || 2000);
const PAGE_SIZE = 12;
const TOKEN_MARGIN_S = 60;
const QUIET_HEADER = MODEL.quietHeader;

// ------------------------------------------------------------------ small helpers
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const pretty = (value) => JSON.stringify(value, null, 2);
const when = (text) => (text ? String(text).replace("T", " ") : "—");
const typeBy = (name) => MODEL.types.find((t) => [t.url, t.response, t.event].includes(name));
const typeLabel = (name) => {
  const t = typeBy(name);
  const words = (t ? t.response : String(name)).replace(/[-_]/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
};
const STATE_LABEL = { [MODEL.pending]: "Pending" };
const stateLabel = (state) => STATE_LABEL[state] || (state.charAt(0).toUpperCase() + state.slice(1));
const pill = (state, label) => h("span", { class: `pill pill-${state}`, title: state }, label || stateLabel(state));
const jsonBlock = (summary, value, open) =>
  h("details", { class: "json", open: open || null }, h("summary", {}, summary), h("pre", {}, pretty(value)));
const statusClass = (status) => (status >= 500 ? "5xx" : status >= 400 ? "4xx" : "2xx");

function toast(text, kind = "info") {
  const el = h("div", { class: `toast toast-${kind}`, role: "status" }, text);
  $("#toasts").append(el);
  setTimeout(() => el.remove(), 4200);
}

function copyButton(text) {
  return h("button", {
    type: "button", class: "copy", title: "Copy", "aria-label": "Copy",
    onclick: async (e) => {
      e.stopPropagation();
      try { await navigator.clipboard.writeText(text); toast("Copied"); } catch { toast(text); }
    },
  }, "Copy");
}

// ------------------------------------------------------------------ talking to the mock
class HttpAnswer {
  constructor(status, body) { this.status = status; this.body = body; }
  get ok() { return this.status >= 200 && this.status < 300; }
  /** One line saying what went wrong, from the `errors` envelope every API but v1.1 answers in. */
  get problem() {
    const b = this.body || {};
    if (Array.isArray(b.errors) && b.errors.length) {
      return b.errors.map((e) => [`${e.code} ${e.message}`, e.field, e.detail].filter(Boolean).join(" · ")).join("; ");
    }
    if (b.error) return String(b.error);  // a page that was not JSON (parsed below)
    return `HTTP ${this.status}`;
  }
}

async function send(method, path, { headers = {}, body } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = { error: text.slice(0, 300) }; }
  return new HttpAnswer(response.status, parsed);
}

const admin = (method, path, body) => send(method, `/__admin/${path}`, { body });

const tokens = new Map(); // username -> {token, header, until}
async function tokenFor(username, fresh = false) {
  const known = tokens.get(username);
  if (!fresh && known && known.until > Date.now() / 1000 + TOKEN_MARGIN_S) return known;
  const answer = await admin("POST", "tokens", { username });
  if (!answer.ok) throw new Error(`no token for ${username}: ${answer.problem}`);
  const issued = { token: answer.body.token, header: answer.body.header, until: Date.now() / 1000 + answer.body.expiresIn };
  tokens.set(username, issued);
  return issued;
}

/** A workflow API call as `username`, with that user's token and org header. */
async function asUser(username, method, path, options = {}) {
  const user = users.byName(username);
  const call = async (fresh) => {
    const { token, header } = await tokenFor(username, fresh);
    const headers = { [header]: token, "X-CAP-API-AUTH-ORG-ID": String(user.org) };
    if (method === "GET") headers[QUIET_HEADER] = "poll"; // the inbox's own reads stay out of the journal
    return send(method, path, { ...options, headers });
  };
  const answer = await call(false);
  return answer.status === 401 ? call(true) : answer; // the mock restarted with another secret
}

const users = {
  all: [],
  byName(name) { return this.all.find((u) => u.username === name); },
  byId(id) { return this.all.find((u) => u.id === id); },
  can(user, permission) { return user.permissions.includes(permission); },
  inOrg(org) { return this.all.filter((u) => u.org === org); },
};

// ------------------------------------------------------------------ where we are (the URL hash)
const route = {
  read() {
    const [view, query] = location.hash.replace(/^#\/?/, "").split("?");
    return { view: view || "requests", params: new URLSearchParams(query || "") };
  },
  go(view, params) {
    const query = params && params.toString();
    const hash = `#/${view}${query ? `?${query}` : ""}`;
    if (location.hash !== hash) location.hash = hash; else render();
  },
  update(changes) {
    const { view, params } = this.read();
    for (const [key, value] of Object.entries(changes)) {
      if (value === null || value === "" || value === undefined) params.delete(key); else params.set(key, value);
    }
    this.go(view, params);
  },
};

let viewer = localStorage.getItem("inbox.viewer");
let live = true;
const shown = {}; // what each region last rendered, so a poll with no change touches nothing

/** Re-render a region only when its data changed (keeps scroll, focus and open <details>). */
function paint(region, data, build) {
  const key = JSON.stringify(data);
  if (shown[region] === key) return false;
  shown[region] = key;
  build();
  return true;
}

// ------------------------------------------------------------------ requests: list
function filters() {
  const { params } = route.read();
  return {
    state: params.get("state") || "",
    type: params.get("type") || "",
    maker: params.get("maker") || "",
    page: Number(params.get("page") || 0),
    id: params.get("id") || "",
  };
}

function buildFilterControls() {
  const chips = $("#state-chips");
  chips.replaceChildren(
    h("button", { type: "button", class: "chip", dataset: { state: "" } }, "All"),
    ...MODEL.states.map((s) => h("button", { type: "button", class: "chip", dataset: { state: s } },
      h("span", { class: `dot dot-${s}` }), stateLabel(s), s !== stateLabel(s).toLowerCase() ? h("code", {}, s) : null)),
  );
  chips.addEventListener("click", (e) => {
    const chip = e.target.closest(".chip");
    if (chip) route.update({ state: chip.dataset.state, page: null, id: null });
  });
  const typeSelect = $("#filter-type");
  typeSelect.replaceChildren(h("option", { value: "" }, "Any type"),
    ...MODEL.types.map((t) => h("option", { value: t.url }, typeLabel(t.url))));
  typeSelect.addEventListener("change", () => route.update({ type: typeSelect.value, page: null }));
  $("#filter-maker").addEventListener("change", (e) => route.update({ maker: e.target.value, page: null }));
}

function syncFilterControls(f) {
  $$("#state-chips .chip").forEach((c) => c.setAttribute("aria-pressed", String(c.dataset.state === f.state)));
  $("#filter-type").value = f.type;
  const viewerUser = users.byName(viewer);
  const makers = users.inOrg(viewerUser.org).filter((u) => users.can(u, "CanMakeRequest"));
  const makerSelect = $("#filter-maker");
  const wanted = [["", "Anyone"], ...makers.map((u) => [String(u.id), `${u.username} (${u.id})`])];
  if (makerSelect.options.length !== wanted.length || [...makerSelect.options].some((o, i) => o.value !== wanted[i][0])) {
    makerSelect.replaceChildren(...wanted.map(([v, label]) => h("option", { value: v }, label)));
  }
  makerSelect.value = f.maker;
}

async function refreshList() {
  const f = filters();
  syncFilterControls(f);
  const query = new URLSearchParams({ limit: PAGE_SIZE, PageNo: f.page, sortBy: "startDate", sortOrder: "desc" });
  if (f.state) query.set("states", f.state);
  if (f.type) query.set("requestType", f.type);
  if (f.maker) query.set("userId", f.maker);
  const answer = await asUser(viewer, "GET", `${MODEL.workflowBase}/requests?${query}`);
  paint("list", [answer.status, answer.body, f.id], () => renderList(answer, f));
}

function renderList(answer, f) {
  const list = $("#request-list");
  const pager = $("#pager");
  if (!answer.ok) {
    list.replaceChildren(emptyState("!", `${viewer} cannot list requests`, [answer.problem,
      "Pick another user under “Viewing as”."]));
    pager.replaceChildren();
    return;
  }
  const { data, pagination } = answer.body;
  if (!data.length) {
    const filtered = f.state || f.type || f.maker;
    list.replaceChildren(filtered
      ? emptyState("∅", "Nothing matches these filters", ["No request in this organisation has that state, type and maker."],
        h("button", { type: "button", class: "btn", onclick: () => route.go("requests") }, "Clear filters"))
      : emptyState("✉", "The inbox is empty", [
        h("span", {}, "Raise a request as a maker (", h("code", {}, `POST ${MODEL.workflowBase}/GOODWILL-POINTS`), ")"),
        h("span", {}, "or start the mock with ", h("code", {}, "--examples"), " or ", h("code", {}, "--fixtures fixtures"), "."),
      ]));
    pager.replaceChildren();
    return;
  }
  const sameFilters = list.dataset.filters === JSON.stringify([f.state, f.type, f.maker, f.page]);
  const previous = new Set(sameFilters ? $$(".row", list).map((r) => r.dataset.id) : []);
  list.dataset.filters = JSON.stringify([f.state, f.type, f.maker, f.page]);
  list.replaceChildren(...data.map((doc) => requestRow(doc, f.id, previous.size && !previous.has(doc.requestId))));
  const first = pagination.number * PAGE_SIZE + 1;
  pager.replaceChildren(
    h("span", { class: "pager-text" }, `${first}–${first + data.length - 1} of ${pagination.totalElements}`),
    h("div", { class: "btns" },
      h("button", { type: "button", class: "btn btn-small", disabled: pagination.number <= 0 || null,
        onclick: () => route.update({ page: pagination.number - 1 || null }) }, "← Newer"),
      h("span", { class: "faint" }, `page ${pagination.number + 1} of ${Math.max(pagination.totalPages, 1)}`),
      h("button", { type: "button", class: "btn btn-small", disabled: pagination.number + 1 >= pagination.totalPages || null,
        onclick: () => route.update({ page: pagination.number + 1 }) }, "Older →")),
  );
}

function requestRow(doc, selectedId, fresh) {
  const maker = users.byId(doc.userId);
  return h("button", {
    type: "button", class: `row${doc.requestId === selectedId ? " selected" : ""}${fresh ? " fresh" : ""}`,
    dataset: { id: doc.requestId, state: doc.state },
    onclick: () => route.update({ id: doc.requestId }),
  },
  pill(doc.state),
  h("div", {}, h("div", { class: "title" }, typeLabel(doc.requestType)), h("div", { class: "sub" }, doc.requestId)),
  h("div", { class: "who" }, h("div", {}, maker ? maker.username : doc.userName), h("div", { class: "sub" }, `${doc.userName} · ${doc.userId}`)),
  h("div", { class: "when" }, when(doc.startTime), doc.endTime ? h("div", { class: "faint" }, `→ ${when(doc.endTime)}`) : null));
}

function emptyState(icon, title, lines, action) {
  return h("div", { class: "empty" }, h("div", { class: "empty-icon", "aria-hidden": "true" }, icon), h("h2", {}, title),
    lines.map((l) => h("p", {}, l)), action || null);
}

// ------------------------------------------------------------------ requests: one request
async function refreshDetail() {
  const { id } = filters();
  const pane = $("#request-detail");
  if (!id) {
    paint("detail", null, () => pane.replaceChildren(h("div", { class: "placeholder" },
      emptyState("→", "Pick a request", ["Its details grow step by step: the maker's payload, the checks, the decision and the wrapped call's output."]))));
    return;
  }
  const [answer, events, faults] = await Promise.all([
    asUser(viewer, "GET", `${MODEL.workflowBase}/requests/${encodeURIComponent(id)}`),
    admin("GET", `events?requestId=${encodeURIComponent(id)}`),
    admin("GET", "faults"),
  ]);
  paint("detail", [answer.status, answer.body, events.body, faults.body, viewer], () => renderDetail(pane, answer, events, faults));
}

function renderDetail(pane, answer, events, faults) {
  if (!answer.ok) {
    pane.replaceChildren(h("div", { class: "placeholder" }, emptyState("?", "Not visible", [answer.problem])));
    return;
  }
  const doc = answer.body.data;
  const type = typeBy(doc.requestType);
  const keepDecision = pane.querySelector(`.decide[data-for="${doc.requestId}"]`);
  const maker = users.byId(doc.userId);
  const eventList = (events.body && events.body.events) || [];
  pane.replaceChildren(h("div", { class: "detail" },
    h("div", { class: "detail-head" },
      h("div", {}, h("h1", {}, typeLabel(doc.requestType)),
        h("div", { class: "id-line" }, h("span", { class: "mono" }, doc.requestId), copyButton(doc.requestId))),
      pill(doc.state)),
    h("dl", { class: "meta" },
      h("dt", {}, "Maker"), h("dd", {}, maker ? `${maker.username} · ` : "", `${doc.userName} (${doc.userId})`),
      h("dt", {}, "Started"), h("dd", {}, when(doc.startTime)),
      h("dt", {}, "Ended"), h("dd", {}, when(doc.endTime)),
      h("dt", {}, "Spellings"), h("dd", { class: "spellings" },
        h("span", { class: "mono" }, h("small", {}, "URL"), type.url),
        h("span", { class: "mono" }, h("small", {}, "response"), type.response),
        h("span", { class: "mono" }, h("small", {}, "event"), type.event))),
    doc.state === MODEL.pending ? (keepDecision || decisionCard(doc, type, faults.body.faults)) : null,
    h("h3", {}, "Timeline"),
    timeline(doc, eventList),
    h("h3", {}, `Webhook events (${eventList.length})`),
    eventList.length ? eventList.map(eventCard) : h("p", { class: "muted" }, "No events for this request."),
    jsonBlock("The request as the API returns it", doc)));
  if (keepDecision) refreshFaultHint(keepDecision, type, faults.body.faults);
}

function decisionCard(doc, type, faults) {
  const candidates = users.inOrg(users.byName(viewer).org);
  const able = (u) => users.can(u, "CanCheckRequest") && u.id !== doc.userId;
  const best = candidates.find(able);
  const select = h("select", { name: "checker", "aria-label": "Decide as" },
    candidates.map((u) => h("option", { value: u.username, selected: best && u.username === best.username || null },
      `${u.username} (${u.id})${able(u) ? "" : u.id === doc.userId ? " — the maker" : " — cannot check"}`)));
  const message = h("textarea", { name: "message", maxlength: MODEL.messageMaxLength, placeholder: "A message for the maker (actionMessage)" });
  const result = h("div", { class: "decide-result" });
  const decide = async (decision, button) => {
    $$("button", card).forEach((b) => { b.disabled = true; });
    button.textContent = decision === "approved" ? "Approving…" : "Rejecting…";
    try {
      const answer = await asUser(select.value, "PUT", type.path, { body: {
        requestId: doc.requestId, actionName: "AdminTask",
        payload: { "AdminTask-Payload": { actionDecision: decision, actionMessage: message.value } } } });
      if (answer.ok) {
        const now = answer.body.data.state;
        toast(`${decision === "approved" ? "Approved" : "Rejected"} as ${select.value}: the request is ${now}`, now === "failed" ? "error" : "ok");
        card.remove();
        shown.detail = null;
        await refreshCurrent();
      } else {
        result.replaceChildren(h("div", { class: "result result-error", role: "alert" },
          h("strong", {}, `HTTP ${answer.status}`), " ", answer.problem));
      }
    } finally {
      if (card.isConnected) {
        $$("button", card).forEach((b) => { b.disabled = false; });
        approve.textContent = "Approve"; reject.textContent = "Reject";
      }
    }
  };
  const approve = h("button", { type: "button", class: "btn btn-approve", onclick: (e) => decide("approved", e.currentTarget) }, "Approve");
  const reject = h("button", { type: "button", class: "btn btn-reject", onclick: (e) => decide("rejected", e.currentTarget) }, "Reject");
  const card = h("div", { class: "decide", dataset: { for: doc.requestId } },
    h("h2", {}, "Decide"),
    h("div", { class: "decide-row" }, h("label", { class: "field-inline" }, h("span", {}, "As"), select)),
    message,
    h("div", { class: "decide-actions" }, approve, reject),
    h("div", { class: "hint fault-hint" }),
    result);
  refreshFaultHint(card, type, faults);
  return card;
}

function refreshFaultHint(card, type, faults) {
  const next = faults.find((f) => !f.requestType || f.requestType === type.url);
  const hint = $(".fault-hint", card);
  hint.replaceChildren(next
    ? h("span", { class: "warn" }, `The next approval is forced: ${next.outcome}${next.latencyMs ? ` after ${next.latencyMs} ms` : ""}. `,
      h("a", { href: "#/faults" }, "Faults"))
    : h("span", {}, "The wrapped call's outcome is simulated. ", h("a", { href: "#/faults" }, "Force the next outcome…")));
}

/** The steps of the lifecycle in order, each with what `details` holds for it so far. */
function timeline(doc, events) {
  const d = doc.details || {};
  const decision = d["AdminTask-Payload"];
  const decidedBy = events.map((e) => e.event.data).find((e) => e.checkerId !== undefined);
  const items = [h("li", { class: "step done" }, h("span", { class: "step-mark" }, "✓"),
    h("div", { class: "step-title" }, "Raised"),
    h("div", { class: "step-sub" }, `${when(doc.startTime)} by ${doc.userName}`),
    d["IntouchAPITask-Payload"] ? jsonBlock(`Wrapped call: ${d["IntouchAPITask-Payload"].method} ${d["IntouchAPITask-Payload"].path}`,
      d["IntouchAPITask-Payload"]) : null)];
  for (const step of MODEL.steps) {
    const key = `${step}_Output`;
    const value = d[key];
    let cls = "todo", mark = "", title = step, sub = null, extra = null;
    if (step === MODEL.pending) {
      title = "Checker's decision";
      if (decision) {
        cls = decision.actionDecision === "approved" ? "done" : "rejected";
        mark = decision.actionDecision === "approved" ? "✓" : "✕";
        const checker = decidedBy && users.byId(decidedBy.checkerId);
        sub = h("span", {}, `${decision.actionDecision}${decidedBy ? ` by ${checker ? checker.username : decidedBy.checkerId}` : ""}`,
          decision.actionMessage ? [" — ", h("q", {}, decision.actionMessage)] : null);
      } else if (doc.state === MODEL.pending) {
        cls = "waiting"; mark = "…"; sub = "waiting for a checker";
      } else {
        sub = "skipped (a trusted integration's request)";
      }
    } else if (step === "IntouchAPITask") {
      title = "Wrapped call";
      if (value !== undefined) {
        const good = doc.state !== "failed";
        cls = good ? "done" : "bad"; mark = good ? "✓" : "✕";
        sub = `answered ${value && value.status !== undefined ? value.status : "?"}${good ? "" : " — the request failed"}`;
        extra = jsonBlock("Output", value);
      } else if (doc.state === "rejected") {
        sub = "not called: rejected";
      }
    } else if (value !== undefined) {
      cls = value === true ? "done" : "bad"; mark = value === true ? "✓" : "✕";
      title = step.replace(/([a-z])([A-Z])/g, "$1 $2");
    } else {
      title = step.replace(/([a-z])([A-Z])/g, "$1 $2");
    }
    items.push(h("li", { class: `step ${cls}`, dataset: { step } }, h("span", { class: "step-mark" }, mark),
      h("div", { class: "step-title" }, title, " ", h("code", { class: "key" }, key)),
      sub ? h("div", { class: "step-sub" }, sub) : null, extra));
  }
  if (doc.endTime) {
    items.push(h("li", { class: `step ${doc.state === "approved" ? "done" : doc.state === "failed" ? "bad" : "rejected"}` },
      h("span", { class: "step-mark" }, doc.state === "approved" ? "✓" : "✕"), h("div", { class: "step-title" }, `Ended ${stateLabel(doc.state).toLowerCase()}`),
      h("div", { class: "step-sub" }, when(doc.endTime))));
  }
  return h("ol", { class: "timeline" }, items);
}

function deliverySummary(deliveries) {
  if (!deliveries.length) return h("span", { class: "pill pill-none" }, "no subscriptions");
  return h("div", { class: "deliveries" }, deliveries.map((d) =>
    h("span", { class: `pill pill-${d.state}`, title: d.url },
      `${d.state}${d.attempts > 1 ? ` after ${d.attempts} tries` : d.attempts === 1 ? "" : ""}`)));
}

function attemptList(deliveries) {
  return deliveries.map((d) => h("div", {},
    h("div", { class: "mono" }, d.url),
    h("ol", { class: "attempts" }, (d.history || []).map((a, i) => h("li", {},
      h("span", {}, `#${i + 1}`), h("span", { class: "mono" }, a.at),
      h("span", {}, a.status !== null && a.status !== undefined ? `HTTP ${a.status}` : a.error || "no answer"),
      a.durationMs !== undefined ? h("span", {}, `${Math.round(a.durationMs)} ms`) : null)),
    d.nextAttemptAt ? h("li", {}, h("span", {}, "next try"), h("span", { class: "mono" }, d.nextAttemptAt)) : null)));
}

function eventCard(e) {
  const data = e.event.data;
  return h("div", { class: "card", style: "padding:10px 12px;margin:8px 0" },
    h("div", { style: "display:flex;justify-content:space-between;gap:8px;align-items:center" },
      h("span", {}, data.previousRequestState ? `${data.previousRequestState} → ` : "raised → ", h("strong", {}, data.currentRequestState)),
      deliverySummary(e.deliveries)),
    h("div", { class: "faint mono", style: "margin-top:4px" }, `${e.createdAt} · ${e.eventId}`),
    e.deliveries.length ? jsonBlock("Deliveries and retries", e.deliveries) : null,
    jsonBlock("Event", e.event));
}

// ------------------------------------------------------------------ events
const expanded = new Set();

async function refreshEvents() {
  const [events, subs] = await Promise.all([admin("GET", "events"), admin("GET", "subscriptions")]);
  paint("events", [events.body, subs.body, [...expanded]], () => renderEvents(events.body.events, subs.body.subscriptions));
}

function renderEvents(events, subscriptions) {
  $("#subscriptions").replaceChildren(subscriptions.length
    ? h("div", { class: "subs" }, h("span", { class: "muted", style: "align-self:center" }, "Delivered to"),
      subscriptions.map((s) => h("span", { class: "sub-chip mono", dataset: { subscription: s.id } }, s.url, h("small", {}, s.origin),
        h("button", { type: "button", class: "copy", title: "Remove this subscription", "aria-label": `Remove ${s.url}`,
          onclick: async () => {
            const answer = await admin("DELETE", `subscriptions/${encodeURIComponent(s.id)}`);
            toast(answer.ok ? `Removed ${s.url}` : answer.problem, answer.ok ? "ok" : "error");
            await refreshCurrent();
          } }, "Remove"))))
    : h("div", { class: "subs" }, h("span", { class: "sub-chip" }, "No subscriptions: events are recorded, not delivered. Add one with ",
      h("code", {}, "--webhook URL"), " or ", h("code", {}, "POST /__admin/subscriptions"), ".")));
  const list = $("#event-list");
  if (!events.length) {
    list.replaceChildren(emptyState("⚡", "No events yet", ["Every state change of a request is announced here as it happens."]));
    return;
  }
  const rows = [];
  for (const e of [...events].reverse()) {
    const data = e.event.data;
    const open = expanded.has(e.eventId);
    rows.push(h("tr", { class: `clickable${open ? " expanded" : ""}`, dataset: { event: e.eventId },
      onclick: () => { if (open) expanded.delete(e.eventId); else expanded.add(e.eventId); refreshEvents(); } },
    h("td", { class: "when" }, when(e.createdAt)),
    h("td", {}, typeLabel(data.requestType), h("div", { class: "faint mono" }, data.requestType)),
    h("td", {}, h("button", { type: "button", class: "link mono", onclick: (ev) => { ev.stopPropagation(); route.go("requests", new URLSearchParams({ id: e.requestId })); } },
      e.requestId.slice(0, 8) + "…")),
    h("td", {}, data.previousRequestState ? `${data.previousRequestState} → ` : "", pill(data.currentRequestState)),
    h("td", {}, deliverySummary(e.deliveries))));
    if (open) {
      rows.push(h("tr", { class: "expanded" }, h("td", { colspan: 5 }, h("div", { class: "expand-body" },
        h("div", {}, h("h3", {}, "Deliveries"), e.deliveries.length ? attemptList(e.deliveries) : h("p", { class: "muted" }, "No subscription received it.")),
        h("div", {}, h("h3", {}, "Event"), h("pre", {}, pretty(e.event)))))));
    }
  }
  list.replaceChildren(h("table", { class: "table" },
    h("thead", {}, h("tr", {}, ["Time", "Type", "Request", "State", "Deliveries"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows)));
}

// ------------------------------------------------------------------ journal
async function refreshJournal() {
  const prefix = $("#journal-path").value.trim();
  const answer = await admin("GET", `journal?limit=100${prefix ? `&path=${encodeURIComponent(prefix)}` : ""}`);
  paint("journal", [answer.body, [...expanded]], () => renderJournal(answer));
}

function renderJournal(answer) {
  const list = $("#journal-list");
  if (!answer.ok) { list.replaceChildren(emptyState("!", "The journal is not available", [answer.problem])); return; }
  const entries = answer.body.entries;
  if (!entries.length) {
    list.replaceChildren(emptyState("☰", "Nothing received yet", ["Calls to the workflow and v1.1 APIs show up here, newest first."]));
    return;
  }
  const rows = [];
  for (const e of entries) {
    const key = `j${e.id}`;
    const open = expanded.has(key);
    rows.push(h("tr", { class: `clickable${open ? " expanded" : ""}`, onclick: () => { if (open) expanded.delete(key); else expanded.add(key); refreshJournal(); } },
      h("td", { class: "when" }, when(e.time).slice(0, 23)),
      h("td", {}, h("span", { class: `method method-${e.method}` }, e.method)),
      h("td", { class: "path" }, e.path, e.query ? h("span", { class: "faint" }, `?${e.query}`) : null),
      h("td", {}, h("span", { class: `pill pill-${statusClass(e.status)}` }, String(e.status))),
      h("td", { class: "num" }, e.durationMs !== undefined ? `${e.durationMs.toFixed(1)} ms` : "")));
    if (open) {
      rows.push(h("tr", { class: "expanded" }, h("td", { colspan: 5 }, h("div", { class: "expand-body" },
        h("div", {}, h("h3", {}, "Request headers"), h("pre", {}, pretty(e.headers || {}))),
        h("div", {}, h("h3", {}, "Request body"), h("pre", {}, e.body === undefined ? "(none)" : pretty(e.body)),
          e.responseBody !== undefined ? [h("h3", { style: "margin-top:10px" }, "Response body"), h("pre", {}, pretty(e.responseBody))] : null)))));
    }
  }
  list.replaceChildren(h("table", { class: "table" },
    h("thead", {}, h("tr", {}, ["Time", "Method", "Path", "Status", "Took"].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows)));
}

// ------------------------------------------------------------------ faults
function buildFaultForm() {
  $("#fault-type").replaceChildren(h("option", { value: "" }, "Any type"),
    ...MODEL.types.map((t) => h("option", { value: t.url }, `${typeLabel(t.url)} (${t.url})`)));
  const form = $("#fault-form");
  const syncStatus = () => { $(".field-status", form).hidden = form.outcome.value !== "failure"; };
  form.addEventListener("change", syncStatus);
  syncStatus();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { outcome: form.outcome.value, count: Number(form.count.value || 1) };
    if (form.requestType.value) body.requestType = form.requestType.value;
    if (Number(form.latencyMs.value)) body.latencyMs = Number(form.latencyMs.value);
    if (body.outcome === "failure" && form.status.value) body.status = Number(form.status.value);
    const answer = await admin("POST", "faults", body);
    const many = body.count > 1;
    const what = body.outcome === "success" ? (many ? "succeed" : "succeeds") : `${many ? "get" : "gets"} a ${body.outcome}`;
    if (answer.ok) toast(`Queued: the next ${many ? `${body.count} approvals` : "approval"} ${what}`, "ok");
    else toast(answer.problem, "error");
    await refreshCurrent();
  });
  $("#clear-faults").addEventListener("click", async () => {
    const answer = await admin("DELETE", "faults");
    toast(answer.ok ? "No outcome is forced any more" : answer.problem, answer.ok ? "ok" : "error");
    await refreshCurrent();
  });
}

async function refreshFaults() {
  const answer = await admin("GET", "faults");
  paint("faults", answer.body, () => renderFaults(answer.body.faults));
}

function renderFaults(faults) {
  $("#clear-faults").disabled = !faults.length;
  const list = $("#fault-list");
  if (!faults.length) {
    list.replaceChildren(emptyState("⚙", "Nothing forced", ["Approvals run the simulated wrapped call, which follows each API's documented rules."]));
    return;
  }
  list.replaceChildren(h("table", { class: "table" },
    h("thead", {}, h("tr", {}, ["Outcome", "Request type", "Latency", "HTTP status", "Left"].map((t) => h("th", {}, t)))),
    h("tbody", {}, faults.map((f) => h("tr", { dataset: { fault: f.id } },
      h("td", {}, h("strong", { class: `outcome-${f.outcome}` }, f.outcome)),
      h("td", {}, f.requestType ? typeLabel(f.requestType) : h("span", { class: "muted" }, "any")),
      h("td", {}, f.latencyMs ? `${f.latencyMs} ms` : "—"),
      h("td", {}, f.status || (f.outcome === "failure" ? "as documented" : "—")),
      h("td", {}, String(f.remaining)))))));
}

// ------------------------------------------------------------------ reset
function buildResetMenu() {
  const button = $("#reset-button");
  const menu = $("#reset-menu");
  const preload = $('[data-reset="preload"]', menu);
  if (!MODEL.preloaded) {
    preload.disabled = true;
    preload.title = "The mock was started without --examples or --fixtures";
  }
  button.addEventListener("click", (e) => {
    e.stopPropagation();
    menu.hidden = !menu.hidden;
    button.setAttribute("aria-expanded", String(!menu.hidden));
  });
  document.addEventListener("click", () => { menu.hidden = true; button.setAttribute("aria-expanded", "false"); });
  menu.addEventListener("click", async (e) => {
    const choice = e.target.closest("[data-reset]");
    if (!choice || choice.disabled) return;
    const toPreload = choice.dataset.reset === "preload";
    const dialog = $("#confirm");
    $("#confirm-title").textContent = toPreload ? "Back to the preloaded data?" : "Empty the mock?";
    $("#confirm-text").textContent = "Every request, event, journal entry and forced outcome is forgotten"
      + (toPreload ? ", then the data the mock was started with is loaded again." : ". Subscriptions given at start-up stay.");
    dialog.showModal();
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "ok") return;
      const answer = await admin("POST", `reset${toPreload ? "?preload=true" : ""}`);
      toast(answer.ok ? (toPreload ? "Reset to the preloaded data" : "The mock is empty") : answer.problem, answer.ok ? "ok" : "error");
      expanded.clear();
      route.update({ id: null, page: null });
    }, { once: true });
  });
}

// ------------------------------------------------------------------ the loop
async function refreshCounts() {
  const pendingQuery = new URLSearchParams({ states: MODEL.pending, limit: 1 });
  const [pending, faults] = await Promise.all([asUser(viewer, "GET", `${MODEL.workflowBase}/requests?${pendingQuery}`), admin("GET", "faults")]);
  $('[data-count="pending"]').textContent = pending.ok && pending.body.pagination.totalElements ? pending.body.pagination.totalElements : "";
  $('[data-count="faults"]').textContent = faults.ok && faults.body.faults.length ? faults.body.faults.length : "";
}

async function refreshCurrent() {
  const { view } = route.read();
  const work = [refreshCounts()];
  if (view === "requests") work.push(refreshList(), refreshDetail());
  if (view === "events") work.push(refreshEvents());
  if (view === "journal") work.push(refreshJournal());
  if (view === "faults") work.push(refreshFaults());
  await Promise.all(work);
}

function render() {
  const { view } = route.read();
  $$(".view").forEach((v) => { v.hidden = v.dataset.view !== view; });
  $$(".tab").forEach((t) => t.classList.toggle("active", t.dataset.view === view));
  document.title = `${$(`.tab[data-view="${view}"]`)?.firstChild.textContent.trim() || "Inbox"} · Workflow mock`;
  refreshCurrent().catch(reportFailure);
}

function reportFailure(error) {
  $("#live").classList.add("stale");
  $(".live-text").textContent = "Offline";
  console.error(error);
}

async function tick() {
  if (live && document.visibilityState === "visible") {
    try {
      await refreshCurrent();
      $("#live").classList.remove("stale");
      $(".live-text").textContent = "Live";
    } catch (error) { reportFailure(error); }
  }
  setTimeout(tick, POLL_MS);
}

async function start() {
  const answer = await admin("GET", "users");
  users.all = answer.body.users;
  const lister = (u) => users.can(u, "CanMakeRequest") || users.can(u, "CanCheckRequest");
  if (!users.byName(viewer) || !lister(users.byName(viewer))) {
    viewer = (users.all.find((u) => users.can(u, "CanMakeRequest") && users.can(u, "CanCheckRequest")) || users.all.find(lister)).username;
  }
  const select = $("#viewer");
  select.replaceChildren(...users.all.filter(lister).map((u) => h("option", { value: u.username },
    `${u.username} · org ${u.org}`)));
  select.value = viewer;
  select.addEventListener("change", () => {
    viewer = select.value;
    localStorage.setItem("inbox.viewer", viewer);
    route.update({ id: null, page: null, maker: null });
  });
  $("#live").addEventListener("click", (e) => {
    live = !live;
    e.currentTarget.setAttribute("aria-pressed", String(live));
    $(".live-text").textContent = live ? "Live" : "Paused";
  });
  $("#journal-path").addEventListener("input", () => refreshJournal());
  buildFilterControls();
  buildFaultForm();
  buildResetMenu();
  window.addEventListener("hashchange", render);
  render();
  setTimeout(tick, POLL_MS);
}

start().catch(reportFailure);
