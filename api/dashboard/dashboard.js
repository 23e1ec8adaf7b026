// litellm-claude dashboard: polls /dashboard/api/snapshot with the key kept in sessionStorage.
"use strict";

const KEY = "litellm-claude-key";
const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);
let timer = null;

function headers() {
  const key = sessionStorage.getItem(KEY);
  return key ? { Authorization: "Bearer " + key } : {};
}

function showLogin(message) {
  clearTimeout(timer);
  $("board").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

async function poll() {
  clearTimeout(timer);
  let reply;
  try {
    reply = await fetch("/dashboard/api/snapshot", { headers: headers(), cache: "no-store" });
  } catch (err) {
    $("updated").textContent = "API unreachable, retrying";
    timer = setTimeout(poll, POLL_MS);
    return;
  }
  if (reply.status === 401) {
    const hadKey = sessionStorage.getItem(KEY) !== null;
    sessionStorage.removeItem(KEY);
    let message = "";
    try { message = (await reply.json()).error.message; } catch (err) { /* not JSON */ }
    showLogin(hadKey ? message : "");
    return;
  }
  if (!reply.ok) {
    $("updated").textContent = "error " + reply.status + ", retrying";
    timer = setTimeout(poll, POLL_MS);
    return;
  }
  render(await reply.json());
  timer = setTimeout(poll, POLL_MS);
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function fillTable(id, rows, columns) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren();
  if (!rows.length) {
    const tr = el("tr");
    const td = el("td", "none", "empty");
    td.colSpan = columns;
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const cells of rows) {
    const tr = el("tr");
    for (const cell of cells) tr.append(cell instanceof Node ? cell : el("td", cell));
    body.append(tr);
  }
}

function td(child, cls) {
  const cell = el("td", null, cls);
  cell.append(child);
  return cell;
}

function short(id) {
  const node = el("code", id.length > 16 ? id.slice(0, 16) + "\u2026" : id);
  node.title = id;
  return node;
}

function clock(unix) {
  return new Date(unix * 1000).toLocaleTimeString();
}

function render(s) {
  $("login").hidden = true;
  $("board").hidden = false;
  $("logout").hidden = sessionStorage.getItem(KEY) === null;
  $("scope").textContent = s.admin ? "all callers" : "your work";
  $("updated").textContent = "updated " + clock(s.at);

  const q = s.queue;
  $("waiting").textContent = q.waiting;
  $("oldest").textContent = q.oldest_waiting_s != null ? "oldest " + Math.round(q.oldest_waiting_s) + " s" : "";
  $("running").textContent = q.running;
  $("heartbeat").textContent = q.worker_heartbeat ? "queue " + q.name : "no worker on " + q.name;
  $("workers-count").textContent = s.workers.length;
  const jobs = s.workers.reduce((n, w) => n + w.jobs.length, 0);
  const slots = s.workers.reduce((n, w) => n + w.max_jobs, 0);
  $("worker-slots").textContent = jobs + " of " + slots + " job slots busy";
  $("cli").textContent = s.cli.running;
  $("cli-cap").textContent = s.cli.cap ? "cap " + s.cli.cap + " across workers" : "";
  const failed = Object.values(s.failures_by_code).reduce((a, b) => a + b, 0);
  $("failed-hour").textContent = failed;
  $("failed-codes").textContent = Object.entries(s.failures_by_code).map(([c, n]) => c + " \u00d7" + n).join(", ");

  fillTable("batches", s.batches.map((b) => {
    const bar = el("progress");
    bar.max = Math.max(1, b.total);
    bar.value = b.succeeded + b.failed;
    bar.title = Math.round((100 * bar.value) / bar.max) + "%";
    return [td(el("code", b.id)), el("td", b.status.replace("_", " "), "status-" + b.status), td(bar),
            (b.succeeded + b.failed) + "/" + b.total, b.failed];
  }), 5);
  fillTable("failures", s.recent_failures.map((f) => [
    clock(f.at), td(short(f.job_id)), el("td", f.code, "code"), f.status, f.model,
  ]), 5);
  fillTable("workers", s.workers.map((w) => [
    td(el("code", w.id)), w.jobs.length + "/" + w.max_jobs,
    w.cli_processes.map((p) => p.pid + (p.rss_mb ? " (" + Math.round(p.rss_mb) + " MB)" : "")).join(", ") || "-",
    Math.max(0, Math.round(s.at - w.reported)) + " s ago",
  ]), 4);
  const accounts = [];
  for (const a of s.accounts) {
    if (!a.cooldowns.length) accounts.push([a.name, "-", "ready"]);
    for (const c of a.cooldowns) accounts.push([a.name, c.scope + " (" + c.window + ")", Math.round(c.seconds_left) + " s"]);
  }
  fillTable("accounts", accounts, 3);

  bars($("chart-throughput"), s.timeline);
  lines($("chart-latency"), s.timeline);
}

const SVG = "http://www.w3.org/2000/svg";
function shape(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function label(svg, text) {
  const node = shape("text", { x: 4, y: 12, "font-size": 11, fill: "var(--muted)" });
  node.textContent = text;
  svg.append(node);
}

function bars(svg, points) {
  svg.replaceChildren();
  const top = Math.max(1, ...points.map((p) => p.succeeded + p.failed));
  const w = 600 / points.length;
  points.forEach((p, i) => {
    const ok = (p.succeeded / top) * 110;
    const bad = (p.failed / top) * 110;
    svg.append(shape("rect", { x: i * w + 1, y: 120 - ok, width: w - 2, height: ok, fill: "var(--ok)" }));
    svg.append(shape("rect", { x: i * w + 1, y: 120 - ok - bad, width: w - 2, height: bad, fill: "var(--bad)" }));
  });
  label(svg, "max " + top);
}

function lines(svg, points) {
  svg.replaceChildren();
  const values = points.flatMap((p) => [p.avg_duration_s, p.avg_wait_s]).filter((v) => v != null);
  const top = Math.max(0.1, ...values);
  const w = 600 / Math.max(1, points.length - 1);
  for (const [field, color] of [["avg_duration_s", "var(--run)"], ["avg_wait_s", "var(--wait)"]]) {
    const coords = points.map((p, i) => (p[field] == null ? null : [i * w, 118 - (p[field] / top) * 108]));
    let d = "";
    coords.forEach((c, i) => { if (c) d += (coords[i - 1] ? " L" : " M") + c[0].toFixed(1) + " " + c[1].toFixed(1); });
    if (d) svg.append(shape("path", { d, fill: "none", stroke: color, "stroke-width": 2 }));
    for (const c of coords) if (c) svg.append(shape("circle", { cx: c[0], cy: c[1], r: 2.5, fill: color }));
  }
  label(svg, "max " + top.toFixed(2) + " s");
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("key").value.trim());
  $("key").value = "";
  poll();
});
$("logout").addEventListener("click", () => { sessionStorage.removeItem(KEY); showLogin(""); });
poll();
