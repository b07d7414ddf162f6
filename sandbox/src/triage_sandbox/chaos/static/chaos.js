// The chaos page: polls /chaos/state every second and renders it. Every value goes in
// through textContent, never as HTML: run actions and outcomes come from the services.
"use strict";

const TOKEN = document.querySelector('meta[name="chaos-token"]').content;

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function fill(testid, rows, render) {
  const body = document.querySelector(`[data-testid="${testid}"] tbody`);
  body.replaceChildren();
  rows.forEach((item) => render(body.insertRow(), item));
}

function button(row, label, name, action, shown = true) {
  const td = row.insertCell();  // a cell either way: the columns stay aligned
  if (!shown) return;
  const b = document.createElement("button");
  b.textContent = label;
  b.dataset.testid = `${action}-${name}`;
  b.addEventListener("click", () => control(action, name));
  td.appendChild(b);
}

function renderProcess(row, p) {
  row.dataset.testid = `process-${p.name}`;
  row.dataset.state = p.state;
  cell(row, p.name);
  cell(row, p.state, p.state.split(" ")[0]);
  cell(row, p.pid, "num");
  cell(row, p.state === "running" ? (p.ready ? "ready" : "starting") : "");
  button(row, "kill", p.name, "kill", p.state === "running");
  button(row, "restart", p.name, "restart");
}

function renderStreams(state) {
  const rows = [];
  state.streams.forEach((s) => {
    if (s.consumers.length === 0) rows.push({ stream: s, consumer: null });
    s.consumers.forEach((c) => rows.push({ stream: s, consumer: c }));
  });
  fill("consumers", rows, (row, { stream, consumer }) => {
    cell(row, stream.name);
    cell(row, stream.messages, "num");
    if (!consumer) return;
    row.dataset.testid = `consumer-${consumer.name}`;
    row.dataset.pending = consumer.pending + consumer.ack_pending;
    if (consumer.pending + consumer.ack_pending > 0) row.className = "waiting";
    cell(row, consumer.name);
    cell(row, consumer.pending, "num");
    cell(row, consumer.ack_pending, "num");
    cell(row, consumer.redelivered, "num");
  });
  document.getElementById("streams-error").textContent = state.streams_error;
}

function renderRun(row, r) {
  row.dataset.testid = `run-${r.run_id}`;
  [r.run_id, r.team_id, r.service, r.kind, r.action, r.outcome, r.at].forEach((v) => cell(row, v));
  cell(row, r.events, "num");
}

async function control(action, name) {
  const error = document.getElementById("action-error");
  error.textContent = "";
  const resp = await fetch(`/chaos/${action}/${encodeURIComponent(name)}`, {
    method: "POST", headers: { "X-Chaos-Token": TOKEN },
  });
  if (!resp.ok) error.textContent = `${action} ${name}: ${(await resp.json()).detail}`;
  await refresh();
}

async function refresh() {
  const updated = document.getElementById("updated");
  try {
    const state = await (await fetch("/chaos/state")).json();
    fill("processes", state.processes, renderProcess);
    renderStreams(state);
    fill("runs", state.runs, renderRun);
    document.getElementById("runs-error").textContent = state.runs_error;
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (exc) {
    updated.textContent = `the dev process does not answer (${exc.message})`;
  }
}

async function loop() {
  await refresh();
  setTimeout(loop, 1000);
}

loop();
