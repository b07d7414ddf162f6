"use strict";
// SANDBOX channel page. It holds no data of its own: it follows /sandbox/stream (messages
// and modals, already rendered to safe HTML by the stand-in) and posts what you type and
// click to the stand-in's backend, which signs it and sends it to the real ingress.

const state = {
  config: null, me: null, kind: "channel", thread: null, shownView: null,
  messages: new Map(), views: new Map(), statuses: new Map(),
  assistant: new Map(),  // an assistant thread's title and suggested prompts
};
const $ = (id) => document.getElementById(id);
const keyOf = (m) => `${m.channel}/${m.ts}`;
const byTs = (a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function post(path, body) {
  let resp;
  try {
    resp = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                              body: JSON.stringify(body)});
  } catch (err) {
    return {ok: false, error: `the stand-in did not answer (${err})`};
  }
  let data = null;
  try { data = await resp.json(); } catch (err) { data = null; }
  if (!resp.ok) {
    const detail = data && data.detail !== undefined ? data.detail : resp.statusText;
    return {ok: false, error: typeof detail === "string" ? detail : JSON.stringify(detail)};
  }
  return data || {ok: true};
}

function setStatus(text, kind) {
  const box = $("status");
  box.textContent = text || "";
  box.className = `status ${kind || ""}`;
}

function me() { return state.config.people.find((p) => p.user_id === state.me); }
function channelId() { return state.kind === "dm" ? me().dm_channel : state.config.channel_id; }

// -- sidebar -------------------------------------------------------------------------------

function renderPeople() {
  const box = $("people");
  box.replaceChildren();
  for (const p of state.config.people) {
    const label = el("label", `person${p.user_id === state.me ? " me" : ""}`);
    const input = el("input");
    Object.assign(input, {type: "radio", name: "me", value: p.user_id,
                          checked: p.user_id === state.me});
    input.setAttribute("data-testid", `person-${p.user_id}`);
    input.addEventListener("change", () => choose(p.user_id));
    label.append(input, el("span", "", p.name),
                 el("span", `role${p.role === "approver" ? " approver" : ""}`, p.role));
    label.title = `${p.title} · ${p.user_id}`;
    box.append(label);
  }
}

function renderLinks() {
  const box = $("links");
  box.replaceChildren();
  const cfg = state.config;
  if (cfg.approval_url) {
    const link = el("a", "", "Approval web UI ↗");
    Object.assign(link, {href: cfg.approval_url, target: "_blank", rel: "noopener"});
    box.append(link);
  }
  box.append(el("div", "", cfg.connected ? `Sends to the ingress at ${cfg.ingress_url}`
                                          : "NOT connected to an ingress: sending is off"));
}

function choose(userId) {
  state.me = userId;
  localStorage.setItem("sandbox-me", userId);
  state.thread = null;
  render();
}

function switchTo(kind) {
  state.kind = kind;
  state.thread = null;
  render();
}

// -- messages ------------------------------------------------------------------------------

function time(ts) {
  return new Date(parseFloat(ts) * 1000).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"});
}

function messageNode(m) {
  const node = el("article", `msg${m.bot ? " bot" : ""}${m.ephemeral_to ? " ephemeral" : ""}`);
  Object.assign(node.dataset, {ts: m.ts, channel: m.channel, streaming: String(!!m.streaming)});
  if (m.streaming) node.classList.add("streaming");  // Slack's answer still growing
  node.setAttribute("data-testid", m.ephemeral_to ? "ephemeral" : "message");
  node.append(el("div", "avatar", (m.author || "?").slice(0, 1).toUpperCase()));
  const body = el("div", "body");
  const meta = el("div", "meta");
  meta.append(el("span", "author", m.author));
  if (m.bot) meta.append(el("span", "app-tag", "APP"), " ");
  meta.append(el("time", "", time(m.ts)));
  if (m.edited) meta.append(el("span", "edited", "(edited)"));
  body.append(meta);
  if (m.ephemeral_to) body.append(el("div", "ephemeral-note", "Only visible to you"));
  const content = el("div", "content");
  content.innerHTML = m.html;  // rendered and escaped by the stand-in (blockkit.py)
  body.append(content);
  node.append(body);
  return node;
}

function placeholder(ts) {
  const node = el("article", "msg");
  node.dataset.ts = ts;
  node.append(el("div", "avatar", "?"),
              el("div", "body placeholder", "A message sent from outside this page"));
  return node;
}

function visibleMessages() {
  return [...state.messages.values()].filter(
    (m) => m.channel === channelId() && (!m.ephemeral_to || m.ephemeral_to === state.me));
}

function renderMessages() {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const visible = visibleMessages().sort(byTs);
  const tops = new Map();
  const threads = new Map();
  for (const m of visible) {
    if (!m.thread_ts || m.thread_ts === m.ts) tops.set(m.ts, m);
    else threads.set(m.thread_ts, [...(threads.get(m.thread_ts) || []), m]);
  }
  const roots = [...new Set([...tops.keys(), ...threads.keys()])].sort();
  list.replaceChildren();
  for (const ts of roots) {
    renderDressing(list, ts);
    list.append(tops.has(ts) ? messageNode(tops.get(ts)) : placeholder(ts));
    const replies = threads.get(ts) || [];
    if (replies.length) {
      const thread = el("div", "thread");
      thread.dataset.threadTs = ts;
      thread.setAttribute("data-testid", "thread");
      replies.forEach((r) => thread.append(messageNode(r)));
      list.append(thread);
    }
    const status = state.statuses.get(`${channelId()}/${ts}`);
    if (status) {  // the app is working in this thread: Slack's "is thinking" line
      const line = el("div", "thread-status", `triage ${status}`);
      line.setAttribute("data-testid", "thread-status");
      list.append(line);
    }
    if (tops.has(ts) && tops.get(ts).ephemeral_to) continue;  // nobody replies to those
    const actions = el("div", "thread-actions");
    const reply = el("button", "", replies.length
      ? `${replies.length} ${replies.length === 1 ? "reply" : "replies"} · Reply in thread`
      : "Reply in thread");
    reply.type = "button";
    reply.addEventListener("click", () => { state.thread = ts; renderComposer(); $("composer").focus(); });
    actions.append(reply);
    list.append(actions);
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
}

// Slack's three escaped characters, shown as the characters (as Slack shows text it was sent).
const unslack = (text) => text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

function renderDressing(list, ts) {
  const dressing = state.assistant.get(`${channelId()}/${ts}`);
  if (!dressing) return;
  if (dressing.title) {
    const title = el("div", "thread-title", unslack(dressing.title));
    title.setAttribute("data-testid", "thread-title");
    list.append(title);
  }
  const prompts = el("div", "thread-prompts");
  prompts.setAttribute("data-testid", "thread-prompts");
  for (const prompt of dressing.prompts || []) {  // a click puts the prompt in the composer
    const chip = el("button", "prompt", prompt.title);
    chip.type = "button";
    chip.addEventListener("click", () => { state.thread = ts; $("composer").value = prompt.message; renderComposer(); });
    prompts.append(chip);
  }
  if (prompts.childElementCount) list.append(prompts);
}

function dress(change) {
  const key = `${change.channel}/${change.thread_ts}`;
  const dressing = {...(state.assistant.get(key) || {})};
  if (change.title !== undefined && change.type !== "suggested_prompts") dressing.title = change.title;
  if (change.prompts !== undefined) dressing.prompts = change.prompts;
  state.assistant.set(key, dressing);
}

async function onClick(event) {
  const button = event.target.closest(".bk-button[data-action-id]");
  const article = button && button.closest("article.msg");
  if (!article) return;
  // Slack's confirmation dialog, when the button carries one.
  if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
  button.disabled = true;
  setStatus(`Sent “${button.textContent}” to the app as ${me().name}…`, "info");
  const result = await post("/sandbox/click", {
    user: state.me, channel: article.dataset.channel, message_ts: article.dataset.ts,
    action_id: button.dataset.actionId, block_id: button.dataset.blockId});
  button.disabled = false;
  setStatus(result.ok ? "" : result.error, result.ok ? "" : "error");
}

// -- composer ------------------------------------------------------------------------------

function renderComposer() {
  $("thread-target").hidden = !state.thread;
  $("composer").placeholder = state.kind === "dm"
    ? "Message triage (a direct message), or /triage <question>"
    : "Message #triage: mention @triage, or type /triage <question>";
}

async function send(event) {
  event.preventDefault();
  const box = $("composer");
  const text = box.value.trim();
  if (!text) return;
  const result = await post("/sandbox/send", {user: state.me, channel: channelId(), text,
                                              thread_ts: state.thread});
  if (!result.ok) { setStatus(result.error, "error"); return; }
  box.value = "";
  setStatus(result.note || "", "info");
}

// -- modals --------------------------------------------------------------------------------

function renderModal() {
  const view = [...state.views.values()].find((v) => v.user === state.me);
  const modal = $("modal");
  if (!view) { modal.hidden = true; state.shownView = null; return; }
  if (state.shownView === view.id) return;  // keep what was typed
  state.shownView = view.id;
  $("modal-title").textContent = view.title;
  $("modal-submit").textContent = view.submit;
  $("modal-close").textContent = view.close;
  $("modal-body").innerHTML = view.html;  // rendered and escaped by the stand-in
  $("modal-error").textContent = "";
  modal.hidden = false;
  const first = modal.querySelector("textarea, input");
  if (first) first.focus();
}

async function submitModal(event) {
  event.preventDefault();
  const values = {};
  for (const input of $("modal-body").querySelectorAll("[data-block-id][data-action-id]")) {
    values[input.dataset.blockId] = {...(values[input.dataset.blockId] || {}),
                                     [input.dataset.actionId]: input.value};
  }
  document.querySelectorAll("[data-error-for]").forEach((e) => { e.textContent = ""; });
  const result = await post("/sandbox/view_submit", {user: state.me, view_id: state.shownView, values});
  if (result.ok) return;  // the stand-in closes the view: the stream says so
  for (const [block, text] of Object.entries(result.errors || {})) {
    const slot = document.querySelector(`[data-error-for="${CSS.escape(block)}"]`);
    if (slot) slot.textContent = text;
  }
  $("modal-error").textContent = result.error || "";
}

async function closeModal() {
  if (state.shownView) await post("/sandbox/view_close", {user: state.me, view_id: state.shownView});
}

// -- live stream ---------------------------------------------------------------------------

function apply(change) {
  if (change.message) {
    if (change.type === "message_deleted") state.messages.delete(keyOf(change.message));
    else state.messages.set(keyOf(change.message), change.message);
  } else if (change.type === "view_opened") {
    state.views.set(change.view.id, change.view);
  } else if (change.type === "view_closed") {
    state.views.delete(change.view_id);
  } else if (change.type === "status") {
    const key = `${change.channel}/${change.thread_ts}`;
    if (change.status) state.statuses.set(key, change.status);
    else state.statuses.delete(key);
  } else if (change.type === "title" || change.type === "suggested_prompts") {
    dress(change);
  }
}

function follow() {
  const source = new EventSource("/sandbox/stream");
  source.addEventListener("snapshot", (event) => {
    const data = JSON.parse(event.data);
    state.messages = new Map(data.messages.map((m) => [keyOf(m), m]));
    state.views = new Map(data.views.map((v) => [v.id, v]));
    state.statuses = new Map((data.statuses || []).map((s) => [`${s.channel}/${s.thread_ts}`, s.status]));
    state.assistant = new Map();
    (data.assistant || []).forEach(dress);
    $("live").textContent = "live";
    $("live").className = "live on";
    render();
  });
  source.addEventListener("change", (event) => { apply(JSON.parse(event.data)); render(); });
  source.onerror = () => { $("live").textContent = "reconnecting…"; $("live").className = "live"; };
}

function render() {
  renderPeople();
  document.querySelectorAll(".channel-link").forEach(
    (b) => b.classList.toggle("active", b.dataset.kind === state.kind));
  $("channel-title").textContent = state.kind === "dm" ? "triage (direct message)" : "# triage";
  $("channel-hint").textContent = `acting as ${me().name} (${me().role})`;
  renderMessages();
  renderComposer();
  renderModal();
}

async function start() {
  state.config = await (await fetch("/sandbox/config")).json();
  const saved = localStorage.getItem("sandbox-me");
  const ids = state.config.people.map((p) => p.user_id);
  state.me = ids.includes(saved) ? saved : ids[0];
  $("team").textContent = state.config.team_id;
  renderLinks();
  document.querySelectorAll(".channel-link").forEach(
    (b) => b.addEventListener("click", () => switchTo(b.dataset.kind)));
  $("messages").addEventListener("click", onClick);
  $("composer-form").addEventListener("submit", send);
  $("composer").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("send").click(); }
  });
  $("thread-cancel").addEventListener("click", () => { state.thread = null; renderComposer(); });
  $("modal-form").addEventListener("submit", submitModal);
  $("modal-close").addEventListener("click", closeModal);
  render();
  follow();
}

start();
