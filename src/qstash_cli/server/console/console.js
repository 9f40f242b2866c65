// qstash dev console: one page, hash routes, the server's own /v2 API plus /console/api (stream, message detail).
// No framework and no build step; every value from the server goes into the page as text, never as HTML.
"use strict";

const config = JSON.parse(document.getElementById("config").textContent);
const STREAM_ROWS = 200;
let token = config.token || sessionStorage.getItem("qstash-token") || "";
let source = null; // the open EventSource, closed when the page changes

// -- helpers ------------------------------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const main = () => document.getElementById("main");

function show(...nodes) {
  main().replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
}

function when(ms) {
  if (!ms) return "";
  const d = new Date(Number(ms));
  const secs = Math.round((Number(ms) - Date.now()) / 1000);
  const abs = Math.abs(secs);
  const span = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.round(abs / 60)}m` : abs < 86400 ? `${Math.round(abs / 3600)}h`
    : `${Math.round(abs / 86400)}d`;
  const rel = secs === 0 ? "now" : secs > 0 ? `in ${span}` : `${span} ago`;
  return `${d.toISOString().replace("T", " ").replace("Z", "")} (${rel})`;
}

function badge(text, kind) {
  return el("span", { class: `badge ${kind || ""}` }, text);
}

function stateBadge(state) {
  const kind = { DELIVERED: "ok", FAILED: "bad", ERROR: "bad", RETRY: "warn", CANCELED: "", CANCELLED: "",
    RUN_SUCCESS: "ok", RUN_FAILED: "bad", STEP_SUCCESS: "ok", STEP_FAILED: "bad", STEP_RETRY: "warn" }[state];
  return badge(state, kind);
}

function messageLink(id) {
  return el("a", { href: `#/message/${encodeURIComponent(id)}`, class: "mono" }, id);
}

function notice(text, bad) {
  return el("div", { class: bad ? "notice bad" : "notice" }, text);
}

function table(head, rows, attrs) {
  return el("table", attrs || {}, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows));
}

function kv(pairs) {
  return el("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => [el("dt", {}, k), el("dd", {}, v instanceof Node ? v : String(v))]));
}

function bodyText(body) {
  if (!body) return "";
  return body.text !== undefined ? body.text : `(binary, base64) ${body.base64}`;
}

function headerRows(headers) {
  const rows = Array.isArray(headers) ? headers
    : Object.entries(headers || {}).flatMap(([k, vs]) => (Array.isArray(vs) ? vs : [vs]).map((v) => [k, v]));
  if (!rows.length) return el("p", { class: "muted" }, "none");
  return table(["header", "value"], rows.map(([k, v]) => el("tr", {}, el("td", { class: "mono" }, k),
    el("td", { class: "mono" }, v))), { class: "headers" });
}

function confirmStep(question) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-question").textContent = question;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"),
    { once: true }));
}

function plural(n, one, many) {
  return n === 1 ? one : many;
}

// -- API ----------------------------------------------------------------------------------------------------------

class Unauthorized extends Error {}

async function api(method, path, { body, headers, json } = {}) {
  const init = { method, headers: { Authorization: `Bearer ${token}`, ...(headers || {}) } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
  if (response.status === 401) {
    sessionStorage.removeItem("qstash-token");
    token = "";
    login("The token was refused.");
    throw new Unauthorized();
  }
  if (!response.ok) {
    const error = new Error((data && data.error) || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function failed(err) {
  if (err instanceof Unauthorized) return;
  main().prepend(notice(`Error: ${err.message}`, true));
}

// -- routing ------------------------------------------------------------------------------------------------------

const pages = {};

function route() {
  if (source) { source.close(); source = null; }
  setStatus("");
  if (!token) { login(); return; }
  const hash = location.hash.replace(/^#\/?/, "") || "stream";
  const [path, query] = hash.split("?");
  const [name, ...rest] = path.split("/");
  const page = pages[name] || pages.stream;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.getAttribute("href") === `#/${name}`);
  Promise.resolve(page(rest.map(decodeURIComponent), new URLSearchParams(query || ""))).catch(failed);
}

function setStatus(text, live) {
  const node = document.getElementById("status");
  node.textContent = text;
  node.classList.toggle("live", Boolean(live));
}

function login(reason) {
  const input = el("input", { type: "password", name: "token", id: "token", autocomplete: "off", required: true });
  const form = el("form", { class: "card login", id: "login", onsubmit: async (event) => {
    event.preventDefault();
    token = input.value.trim();
    try {
      await api("GET", "/v2/keys");
      sessionStorage.setItem("qstash-token", token);
      route();
    } catch (err) {
      if (!(err instanceof Unauthorized)) failed(err);
    }
  } },
  el("h1", {}, "Token"),
  el("p", {}, "This server listens beyond this machine, so the console needs its token (QSTASH_TOKEN, printed by ",
    el("code", {}, "qstash dev"), " on start)."),
  reason ? notice(reason, true) : null,
  el("label", {}, "Token", input), el("p", {}, el("button", { class: "primary", type: "submit" }, "Open the console")));
  show(form);
}

// -- live stream --------------------------------------------------------------------------------------------------

const STREAM_FILTERS = [["state", "State"], ["url", "URL"], ["topicName", "Topic"], ["queueName", "Queue"],
  ["label", "Label"], ["messageId", "Message id"], ["scheduleId", "Schedule id"]];
const STATES = ["", "CREATED", "ACTIVE", "DELIVERED", "ERROR", "RETRY", "FAILED", "CANCELED", "IN_PROGRESS"];

function openStream(params, onEntries, onSkipped) {
  const query = new URLSearchParams(params);
  query.set("qstash_token", token);
  source = new EventSource(`/console/api/stream?${query}`);
  source.addEventListener("hello", () => setStatus("live", true));
  source.addEventListener("entries", (event) => onEntries(JSON.parse(event.data)));
  source.addEventListener("skipped", (event) => onSkipped && onSkipped(JSON.parse(event.data).count));
  source.onerror = () => setStatus("reconnecting…");
}

function streamRow(e) {
  const what = e.callback ? `${e.kind} (${e.callback} of ${e.sourceMessageId || "?"})` : e.kind;
  return el("tr", { dataset: { messageId: e.messageId, state: e.state } },
    el("td", { class: "mono" }, new Date(e.time).toISOString().slice(11, 23)),
    el("td", {}, stateBadge(e.state)),
    el("td", {}, what),
    el("td", {}, messageLink(e.messageId)),
    el("td", { class: "mono" }, e.topicName ? `${e.topicName}${e.endpointName ? "/" + e.endpointName : ""} → ${e.url}` : e.url),
    el("td", {}, e.queueName || ""),
    el("td", { class: "num" }, e.responseStatus || ""),
    el("td", {}, e.error || (e.nextDeliveryTime && e.state === "RETRY" ? `next ${when(e.nextDeliveryTime)}` : "")));
}

pages.stream = (_args, params) => {
  const inputs = STREAM_FILTERS.map(([key, label]) => {
    const input = key === "state"
      ? el("select", { name: key }, STATES.map((s) => el("option", { value: s, selected: params.get(key) === s }, s || "any")))
      : el("input", { name: key, value: params.get(key) || "", size: key === "url" ? 24 : 11 });
    return el("label", {}, label, input);
  });
  const form = el("form", { class: "toolbar", id: "filters", onsubmit: (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const input of form.querySelectorAll("input, select")) if (input.value) query.set(input.name, input.value);
    location.hash = `#/stream${query.toString() ? "?" + query : ""}`;
  } }, inputs, el("button", { class: "primary", type: "submit" }, "Filter"),
  el("button", { type: "button", onclick: () => { location.hash = "#/stream"; } }, "Clear"));
  const body = el("tbody", { id: "stream-rows" });
  const count = el("span", { class: "muted", id: "stream-count" }, "waiting for events…");
  let total = 0;
  show(el("h1", {}, "Live stream"), form, el("p", {}, count),
    el("table", { id: "stream" }, el("thead", {}, el("tr", {}, ["time", "state", "what", "message", "destination", "queue",
      "status", "error / next"].map((h) => el("th", {}, h)))), body));
  const filters = {};
  for (const [key] of STREAM_FILTERS) if (params.get(key)) filters[key] = params.get(key);
  openStream(filters, (entries) => {
    const rows = document.createDocumentFragment();
    for (const e of entries.slice(-STREAM_ROWS).reverse()) rows.append(streamRow(e));
    body.prepend(rows);
    while (body.children.length > STREAM_ROWS) body.lastElementChild.remove();
    total += entries.length;
    count.textContent = `${total} ${plural(total, "event", "events")} since this page opened (newest first, the last ${STREAM_ROWS} kept)`;
  }, (skipped) => {
    body.prepend(el("tr", {}, el("td", { colspan: 8, class: "muted" }, `… ${skipped} events skipped to keep up`)));
  });
};

// -- message page -------------------------------------------------------------------------------------------------

function attemptCard(a) {
  const sig = a.signature;
  const verdict = sig ? badge(sig.valid ? `signature valid — ${sig.reason}` : `signature invalid — ${sig.reason}`,
    sig.valid ? "ok" : "bad") : badge("request headers not recorded");
  const status = a.response ? a.response.status : "no response";
  return el("div", { class: "card attempt", dataset: { state: a.state } },
    el("strong", {}, `Attempt ${a.number}`), " ", stateBadge(a.state), " ",
    el("span", { class: "mono" }, `${a.request.method} ${a.url}`), " → ", el("strong", {}, String(status)),
    el("span", { class: "muted" }, ` in ${a.durationMs} ms, ${when(a.started)}`), " ", el("span", { class: "verdict" }, verdict),
    a.error ? notice(a.error, true) : null,
    el("div", { class: "cols" },
      el("div", {}, el("h2", {}, "Request as delivered"),
        a.request.headers ? headerRows(a.request.headers) : el("p", { class: "muted" }, "not recorded"),
        el("pre", {}, bodyText(a.request.body)),
        sig && sig.claims ? el("details", {}, el("summary", {}, "signature claims"), el("pre", {}, JSON.stringify(sig.claims, null, 2))) : null),
      el("div", {}, el("h2", {}, "Response"),
        a.response ? [headerRows(a.response.headers), el("pre", {}, bodyText(a.response.body))] : el("p", { class: "muted" }, "none"))));
}

let shownMessage = "";

async function renderMessage(id, force) {
  const d = await api("GET", `/console/api/messages/${encodeURIComponent(id)}`);
  const seen = JSON.stringify(d);
  if (seen === shownMessage && !force) return; // nothing new: keep the page (and what the user selected) as it is
  shownMessage = seen;
  const m = d.message;
  const cancel = m.pending ? el("button", { class: "danger", id: "cancel", onclick: async () => {
    if (!(await confirmStep(`Cancel message ${id}?`))) return;
    try { await api("DELETE", `/v2/messages/${encodeURIComponent(id)}`); await renderMessage(id); } catch (err) { failed(err); }
  } }, "Cancel") : null;
  const states = d.tasks.map((t) => stateBadge(t.state === "CANCELLED" ? "CANCELED" : t.state));
  show(
    el("h1", {}, "Message ", el("span", { class: "mono" }, m.messageId), " ", states, " ", cancel),
    d.source ? el("p", {}, `A ${d.source.kind} of `, messageLink(d.source.messageId)) : null,
    d.dlqIds.length ? notice(`In the DLQ as ${d.dlqIds.join(", ")} — see the DLQ page.`, true) : null,
    el("h2", {}, "Settings"),
    el("div", { class: "card" }, kv([
      ["destination", m.topicName ? `${m.topicName} (URL group)` : m.url], ["method", m.method], ["queue", m.queueName],
      ["schedule", m.scheduleId], ["created", when(m.createdAt)], ["not before", when(m.notBefore)],
      ["max retries", m.maxRetries], ["retry delay", m.retryDelayExpression], ["timeout", m.timeout],
      ["callback", m.callback], ["failure callback", m.failureCallback], ["label", m.label],
      ["flow control key", m.flowControlKey], ["caller IP", m.callerIP]]),
    el("h2", {}, "Forwarded headers"), headerRows(m.header), el("h2", {}, "Body"),
    el("pre", {}, m.body !== undefined ? m.body : `(binary, base64) ${m.bodyBase64}`)),
    el("h2", {}, `Attempts (${d.attempts.length})`),
    d.attempts.length ? d.attempts.map(attemptCard) : el("p", { class: "muted" }, "No attempt yet."),
    el("h2", {}, "Retry schedule"),
    d.retries.length ? table(["task", "retry at", "note"], d.retries.map((r) => el("tr", {},
      el("td", { class: "mono" }, r.taskId), el("td", {}, when(r.at)),
      el("td", {}, r.next ? `next attempt; ${r.retriesLeft} ${plural(r.retriesLeft, "retry", "retries")} left` : r.error || ""))))
      : el("p", { class: "muted" }, "No retries."),
    el("h2", {}, "Callbacks"),
    d.callbacks.length ? table(["kind", "message", "url", "state", "created"], d.callbacks.map((c) => el("tr", {},
      el("td", {}, c.kind), el("td", {}, messageLink(c.messageId)), el("td", { class: "mono" }, c.url),
      el("td", {}, stateBadge(c.state || "")), el("td", {}, when(c.createdAt)))))
      : el("p", { class: "muted" }, m.callback || m.failureCallback ? "None yet." : "None configured."),
    el("h2", {}, "Events"),
    table(["time", "state", "task", "url", "status", "error / next"], d.events.map((e) => el("tr", {},
      el("td", { class: "mono" }, new Date(e.time).toISOString().slice(11, 23)), el("td", {}, stateBadge(e.state)),
      el("td", { class: "mono" }, e.taskId || ""), el("td", { class: "mono" }, e.url || ""),
      el("td", {}, e.responseStatus || ""), el("td", {}, e.error || (e.nextScheduledAt ? `next ${when(e.nextScheduledAt)}` : ""))))));
}

pages.message = async ([id]) => {
  await renderMessage(id, true);
  let timer = null;
  openStream({ messageId: id }, () => {
    clearTimeout(timer);
    timer = setTimeout(() => renderMessage(id).catch(failed), 200);
  });
};

// -- DLQ ----------------------------------------------------------------------------------------------------------

async function retryDlq(ids) {
  if (ids.length === 1) return [await api("POST", `/v2/dlq/retry/${encodeURIComponent(ids[0])}`)];
  return (await api("POST", "/v2/dlq/retry", { json: { dlqIds: ids } })).responses;
}

async function deleteDlq(ids) {
  if (ids.length === 1) await api("DELETE", `/v2/dlq/${encodeURIComponent(ids[0])}`);
  else await api("DELETE", "/v2/dlq", { json: { dlqIds: ids } });
}

function dlqQuestion(verb, ids) {
  return `${verb} DLQ entr${ids.length === 1 ? "y" : "ies"} ${ids.join(", ")}?`;
}

pages.dlq = async (_args, _params, done) => {
  const data = await api("GET", "/v2/dlq?count=100");
  const rows = data.messages.map((m) => {
    const act = (verb, fn) => el("button", { class: verb === "Delete" ? "danger" : "", dataset: { action: verb.toLowerCase() },
      onclick: () => act2(verb, fn, [m.dlqId]) }, verb);
    return el("tr", { dataset: { dlqId: m.dlqId, messageId: m.messageId } },
      el("td", {}, el("input", { type: "checkbox", class: "pick", value: m.dlqId })),
      el("td", { class: "mono" }, m.dlqId), el("td", {}, messageLink(m.messageId)), el("td", { class: "mono" }, m.url),
      el("td", { class: "num" }, m.responseStatus || ""), el("td", {}, m.error || bodyText({ text: m.responseBody || "" }).slice(0, 200)),
      el("td", {}, when(m.createdAt)), el("td", {}, act("Retry", retryDlq), " ", act("Delete", deleteDlq)));
  });
  const picked = () => [...main().querySelectorAll("input.pick:checked")].map((i) => i.value);
  async function act2(verb, fn, ids) {
    if (!ids.length) return;
    if (!(await confirmStep(dlqQuestion(verb, ids)))) return;
    try {
      const result = await fn(ids);
      await pages.dlq([], null, verb === "Retry"
        ? notice(`Retried as ${(result || []).flat().map((r) => r.messageId).join(", ")}`)
        : notice(`Deleted ${ids.length} ${plural(ids.length, "entry", "entries")}.`));
    } catch (err) { failed(err); }
  }
  show(el("h1", {}, `Dead-letter queue (${data.messages.length}${data.cursor ? "+" : ""})`), done || null,
    el("div", { class: "toolbar" },
      el("button", { id: "dlq-all", onclick: () => main().querySelectorAll("input.pick").forEach((i) => { i.checked = true; }) }, "Select all"),
      el("button", { id: "dlq-retry-selected", onclick: () => act2("Retry", retryDlq, picked()) }, "Retry selected"),
      el("button", { id: "dlq-delete-selected", class: "danger", onclick: () => act2("Delete", deleteDlq, picked()) }, "Delete selected")),
    rows.length ? table(["", "DLQ id", "message", "url", "status", "error / response", "failed", ""], rows, { id: "dlq" })
      : el("p", { class: "muted", id: "dlq-empty" }, "The DLQ is empty."));
};

// -- schedules, URL groups, queues, keys ----------------------------------------------------------------------------

pages.schedules = async () => {
  const list = await api("GET", "/v2/schedules");
  const act = (s, verb) => el("button", { class: verb === "Delete" ? "danger" : "", dataset: { action: verb.toLowerCase() },
    onclick: async () => {
      try {
        if (verb === "Delete") {
          if (!(await confirmStep(`Delete schedule ${s.scheduleId}?`))) return;
          await api("DELETE", `/v2/schedules/${encodeURIComponent(s.scheduleId)}`);
        } else {
          await api("POST", `/v2/schedules/${encodeURIComponent(s.scheduleId)}/${verb.toLowerCase()}`);
        }
        await pages.schedules();
      } catch (err) { failed(err); }
    } }, verb);
  show(el("h1", {}, `Schedules (${list.length})`),
    list.length ? table(["schedule", "cron", "destination", "next fire", "last fire", "state", ""], list.map((s) => el("tr",
      { dataset: { scheduleId: s.scheduleId } },
      el("td", { class: "mono" }, s.scheduleId), el("td", { class: "mono" }, s.cron), el("td", { class: "mono" }, s.destination),
      el("td", {}, s.isPaused ? "— (paused)" : when(s.nextScheduleTime)), el("td", {}, when(s.lastScheduleTime)),
      el("td", {}, s.isPaused ? badge("paused", "warn") : badge("active", "ok")),
      el("td", {}, act(s, s.isPaused ? "Resume" : "Pause"), " ", act(s, "Delete")))), { id: "schedules" })
      : el("p", { class: "muted" }, "No schedules."));
};

pages.topics = async () => {
  const list = await api("GET", "/v2/topics");
  show(el("h1", {}, `URL groups (${list.length})`),
    list.length ? list.map((t) => el("div", { class: "card" }, el("strong", { class: "mono" }, t.name),
      el("span", { class: "muted" }, ` — created ${when(t.createdAt)}`),
      table(["endpoint name", "url"], t.endpoints.map((e) => el("tr", {}, el("td", {}, e.name || ""),
        el("td", { class: "mono" }, e.url))))))
      : el("p", { class: "muted" }, "No URL groups."));
};

pages.queues = async () => {
  const [queues, flow, global] = await Promise.all([api("GET", "/v2/queues"), api("GET", "/v2/flowControl"),
    api("GET", "/v2/globalParallelism")]);
  const toggle = (q) => el("button", { onclick: async () => {
    try { await api("POST", `/v2/queues/${encodeURIComponent(q.name)}/${q.paused ? "resume" : "pause"}`); await pages.queues(); }
    catch (err) { failed(err); }
  } }, q.paused ? "Resume" : "Pause");
  show(el("h1", {}, "Queues"),
    el("p", {}, `Deliveries in flight: ${global.parallelismCount} of ${global.parallelismMax} workers.`),
    queues.length ? table(["queue", "parallelism", "lag", "state", "created", ""], queues.map((q) => el("tr", {},
      el("td", { class: "mono" }, q.name), el("td", { class: "num" }, q.parallelism), el("td", { class: "num" }, q.lag ?? ""),
      el("td", {}, q.paused ? badge("paused", "warn") : badge("active", "ok")), el("td", {}, when(q.createdAt)),
      el("td", {}, toggle(q)))))
      : el("p", { class: "muted" }, "No queues."),
    el("h2", {}, "Flow-control keys"),
    flow.length ? table(["key", "parallelism (in use / max)", "waiting", "rate", "paused"], flow.map((f) => el("tr", {},
      el("td", { class: "mono" }, f.flowControlKey), el("td", { class: "num" }, `${f.parallelismCount} / ${f.parallelismMax}`),
      el("td", { class: "num" }, f.waitListSize), el("td", {}, f.rateMax ? `${f.rateCount} / ${f.rateMax} per ${f.ratePeriod}s` : "—"),
      el("td", {}, f.isPaused ? "yes" : "no"))))
      : el("p", { class: "muted" }, "No flow-control keys since the server started."));
};

pages.keys = async (_args, _params, done) => {
  const keys = await api("GET", "/v2/keys");
  show(el("h1", {}, "Signing keys"), done || null,
    el("div", { class: "card" }, kv([["current", el("code", { id: "key-current" }, keys.current)],
      ["next", el("code", { id: "key-next" }, keys.next)]])),
    el("p", {}, el("button", { class: "danger", id: "rotate", onclick: async () => {
      if (!(await confirmStep("Rotate the signing keys (the old current key is retired)?"))) return;
      try { await api("POST", "/v2/keys/rotate"); await pages.keys([], null, notice("Keys rotated: next is now current.")); }
      catch (err) { failed(err); }
    } }, "Rotate")));
};

// -- workflows ----------------------------------------------------------------------------------------------------

function stepItem(group, step) {
  const detail = [];
  if (step.sleepFor) detail.push(`sleep ${step.sleepFor}s`);
  if (step.sleepUntil) detail.push(`until ${when(step.sleepUntil * 1000)}`);
  if (step.callUrl) detail.push(`${step.callMethod || "GET"} ${step.callUrl} → ${step.callResponseStatus ?? "…"}`);
  if (step.waitEventId) detail.push(`wait for "${step.waitEventId}"${step.waitTimeout ? " (timed out)" : ""}`);
  if (step.notifyEventId) detail.push(`notify "${step.notifyEventId}"`);
  const failed = step.state === "STEP_FAILED";
  return el("li", { class: failed ? "failed" : "", dataset: { stepName: step.stepName || "" } },
    el("strong", {}, step.stepName || (group.type === "next" ? "pending" : "")), " ", el("span", { class: "muted" }, step.stepType || group.type), " ",
    step.state ? stateBadge(step.state) : null, group.type === "parallel" ? badge("parallel") : null,
    detail.length ? el("div", { class: "mono" }, detail.join(" · ")) : null,
    step.out !== undefined && step.out !== null ? el("pre", {}, typeof step.out === "string" ? step.out : JSON.stringify(step.out)) : null,
    (step.errors || []).map((e) => notice(`${e.status || ""} ${e.error || ""}`, true)),
    el("div", { class: "muted" }, when(step.createdAt)));
}

pages.workflows = async (_args, _params, done) => {
  let data;
  try {
    data = await api("GET", "/v2/workflows/logs");
  } catch (err) {
    if (err.status === 404 || err.status === 405) {
      show(el("h1", {}, "Workflow runs"), notice("This server does not serve workflow runs (GET /v2/workflows/logs)."));
      return;
    }
    throw err;
  }
  const runs = data.runs || [];
  const cancel = (run) => el("button", { class: "danger", onclick: async () => {
    if (!(await confirmStep(`Cancel workflow run ${run.workflowRunId}?`))) return;
    try { await api("DELETE", `/v2/workflows/runs/${encodeURIComponent(run.workflowRunId)}?cancel=true`); await pages.workflows(); }
    catch (err) { failed(err); }
  } }, "Cancel run");
  const event = el("input", { name: "eventId", id: "notify-event", placeholder: "order-42-paid", required: true });
  const payload = el("input", { name: "data", id: "notify-data", placeholder: '{"paid": true}', size: 30 });
  const notified = el("span", { id: "notify-result", class: "muted" });
  const notify = el("form", { class: "toolbar", id: "notify", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const answer = await api("POST", `/v2/notify/${encodeURIComponent(event.value)}`, { body: payload.value });
      const waiters = Array.isArray(answer) ? answer : (answer && answer.waiters) || [];
      notified.textContent = `notified ${waiters.length} ${plural(waiters.length, "waiter", "waiters")}`;
      await pages.workflows([], null, notified.textContent);
    } catch (err) { failed(err); }
  } }, el("label", {}, "Event id", event), el("label", {}, "Event data", payload),
  el("button", { type: "submit" }, "Notify waiters"), notified);
  show(el("h1", {}, `Workflow runs (${runs.length})`), done ? notice(done) : null, notify,
    runs.length ? runs.map((run) => el("div", { class: "card run", dataset: { runId: run.workflowRunId } },
      el("strong", { class: "mono" }, run.workflowRunId), " ", stateBadge(run.workflowState), " ",
      el("span", { class: "mono" }, run.workflowUrl || ""), el("span", { class: "muted" }, ` started ${when(run.workflowRunCreatedAt)}`),
      run.workflowState === "RUN_STARTED" ? [" ", cancel(run)] : null,
      el("ol", { class: "timeline" }, (run.steps || []).flatMap((group) => (group.steps || []).map((s) => stepItem(group, s)))),
      run.workflowRunResponse ? el("details", {}, el("summary", {}, "response"), el("pre", {}, run.workflowRunResponse)) : null))
      : el("p", { class: "muted" }, "No workflow runs."));
};

// -- send ---------------------------------------------------------------------------------------------------------

const SEND_FIELDS = [
  ["destination", "Destination (URL or URL group)", "https://example.com/hook", "wide"],
  ["method", "Method", "POST"], ["contentType", "Content-Type", "text/plain"], ["delay", "Delay (e.g. 10s, 5m)", ""],
  ["retries", "Retries", ""], ["timeout", "Timeout (e.g. 30s)", ""], ["queue", "Queue", ""],
  ["callback", "Callback URL", ""], ["failureCallback", "Failure callback URL", ""], ["dedupId", "Deduplication id", ""],
  ["label", "Label", ""],
];

function quote(text) {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

function sendRequest(f) {
  const headers = {};
  const cli = ["qstash", "--url", location.origin, "publish", quote(f.destination)];
  if (f.body) cli.push("-d", quote(f.body));
  if (f.contentType) { headers["Content-Type"] = f.contentType; cli.push("-t", quote(f.contentType)); }
  const flag = { method: ["Upstash-Method", "--method"], delay: ["Upstash-Delay", "--delay"], retries: ["Upstash-Retries", "--retries"],
    timeout: ["Upstash-Timeout", "--timeout"], callback: ["Upstash-Callback", "--callback"],
    failureCallback: ["Upstash-Failure-Callback", "--failure-callback"], dedupId: ["Upstash-Deduplication-Id", "--dedup-id"],
    label: ["Upstash-Label", "--label"] };
  for (const [key, [header, option]] of Object.entries(flag)) {
    if (!f[key] || (key === "method" && f[key] === "POST")) continue;
    headers[header] = f[key];
    cli.push(option, quote(f[key]));
  }
  for (const line of (f.headers || "").split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf(":");
    if (at < 1) throw new Error(`header line ${JSON.stringify(line)} is not "Name: value"`);
    headers[`Upstash-Forward-${line.slice(0, at).trim()}`] = line.slice(at + 1).trim();
    cli.push("-H", quote(line));
  }
  if (f.queue) cli.push("--queue", quote(f.queue));
  const path = f.queue ? `/v2/enqueue/${encodeURIComponent(f.queue)}/${f.destination}` : `/v2/publish/${f.destination}`;
  const curl = ["curl", "-X", "POST", quote(location.origin + path), "-H", '"Authorization: Bearer $QSTASH_TOKEN"',
    ...Object.entries(headers).flatMap(([k, v]) => ["-H", quote(`${k}: ${v}`)])];
  if (f.body) curl.push("--data-raw", quote(f.body));
  return { path, headers, cli: cli.join(" "), curl: curl.join(" ") };
}

function copyBlock(id, text) {
  const pre = el("pre", { id }, text);
  return el("div", { class: "copy" }, pre, el("button", { type: "button", onclick: (event) => {
    const done = () => { event.target.textContent = "Copied"; };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, () => window.getSelection().selectAllChildren(pre));
    else window.getSelection().selectAllChildren(pre);
  } }, "Copy"));
}

pages.send = () => {
  const fields = SEND_FIELDS.map(([name, label, placeholder, wide]) => el("label", { class: wide || "" }, label,
    el("input", { name, placeholder, value: name === "method" ? "POST" : "" })));
  const result = el("div", { id: "send-result" });
  const form = el("form", { class: "form", id: "send", onsubmit: async (event) => {
    event.preventDefault();
    const f = Object.fromEntries(new FormData(form).entries());
    try {
      if (!f.destination) throw new Error("a destination is required");
      const req = sendRequest(f);
      const answer = await api("POST", req.path, { body: f.body, headers: req.headers });
      const ids = (Array.isArray(answer) ? answer : [answer]).map((a) => a.messageId).filter(Boolean);
      result.replaceChildren(el("div", { class: "notice" }, "Sent: ", ids.map((id) => [messageLink(id), " "])),
        el("h2", {}, "The same with the CLI"), copyBlock("send-cli", req.cli),
        el("h2", {}, "The same with curl"), copyBlock("send-curl", req.curl));
    } catch (err) {
      if (!(err instanceof Unauthorized)) result.replaceChildren(notice(`Error: ${err.message}`, true));
    }
  } }, fields,
  el("label", { class: "wide" }, "Body", el("textarea", { name: "body" })),
  el("label", { class: "wide" }, "Headers to forward (Name: value, one a line)", el("textarea", { name: "headers" })),
  el("div", { class: "wide" }, el("button", { class: "primary", type: "submit" }, "Send")));
  show(el("h1", {}, "Send a message"), form, result);
};

window.addEventListener("hashchange", route);
route();
