// The operator console: reads the gateway's own APIs with the function key in a header.
// Every value from the log is put on the page as text (textContent), never as HTML.
"use strict";

const KEY_STORAGE = "gateway.functionKey";
const FAILURE_WARNING = 0.03;
const CSV_MAX_ROWS = 10000;
const API = location.pathname.replace(/\/console(\/index\.html)?\/?$/, "");
const TWILIO_ERRORS = {
  11200: "HTTP retrieval failure",
  13224: "Dial: invalid phone number",
  13225: "Dial: forbidden phone number",
  13227: "Dial: no international authorization",
  20003: "Authentication error",
  20404: "The requested resource was not found",
  20429: "Too many requests",
  21211: "Invalid 'To' phone number",
  21212: "Invalid 'From' phone number",
  21408: "Permission to send an SMS has not been enabled for the region",
  21608: "The 'To' number is not verified (trial account)",
  21610: "Attempt to send to an unsubscribed recipient (STOP)",
  21611: "The 'From' number has exceeded its queue of messages",
  21612: "The 'To' number is not currently reachable via SMS",
  21614: "'To' number is not a valid mobile number",
  30001: "Queue overflow",
  30002: "Account suspended",
  30003: "Unreachable destination handset",
  30004: "Message blocked",
  30005: "Unknown destination handset",
  30006: "Landline or unreachable carrier",
  30007: "Message filtered by the carrier",
  30008: "Unknown error",
  30010: "Message price exceeds max price",
  30034: "Message from an unregistered number (US A2P 10DLC)",
};

const state = { next: null, page: 1, items: [], filters: null, renders: 0 };

function $(id) { return document.getElementById(id); }

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

function key() { return sessionStorage.getItem(KEY_STORAGE); }

class KeyRefused extends Error {}

// ``path`` is below the API (``/stats``), or a ``next`` link the API answered (``/api/...``).
async function api(path) {
  const url = path.startsWith(API + "/") ? path : API + path;
  const response = await fetch(url, {
    headers: { "x-functions-key": key() || "" },
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 401 || response.status === 403) throw new KeyRefused();
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = body && body.error ? body.error.message : "HTTP " + response.status;
    throw new Error(error);
  }
  return body;
}

function mask(number) {
  if (!number) return "";
  if ($("reveal").checked) return number;
  const digits = number.replace(/[^0-9]/g, "");
  if (digits.length < 7) return number.startsWith("+") ? "+***" : "***";
  return (number.startsWith("+") ? "+" : "") + digits.slice(0, 4) + "***" + digits.slice(-4);
}

function utcDay(date) { return date.toISOString().slice(0, 10); }

// ---- access ----

function showLogin(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  $("console").hidden = true;
  $("forget").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("key").focus();
}

async function openConsole() {
  $("login").hidden = true;
  $("console").hidden = false;
  $("forget").hidden = false;
  try {
    await Promise.all([loadTotals(), search()]);
  } catch (error) {
    if (error instanceof KeyRefused) showLogin("The key was refused. Enter the function key again.");
    else throw error;
  }
}

// ---- totals and chart ----

function sumWhere(counts, kind, direction, statuses) {
  let total = 0;
  for (const [name, value] of Object.entries(counts)) {
    const [k, d, status] = name.split("~");
    if (k === kind && d === direction && statuses.includes(status)) total += value;
  }
  return total;
}

const COLUMNS = {
  sms: { accepted: ["accepted", "received"], sent: ["sent"], delivered: ["delivered", "read"],
    failed: ["failed", "rejected"], undelivered: ["undelivered"] },
  call: { accepted: ["accepted"], sent: ["queued"], delivered: ["completed"],
    failed: ["failed", "rejected"], undelivered: ["busy", "no-answer"] },
};

function figures(counts, kind, direction) {
  const columns = COLUMNS[kind];
  const f = {};
  for (const [name, statuses] of Object.entries(columns)) f[name] = sumWhere(counts, kind, direction, statuses);
  if (direction === "inbound") f.accepted = sumWhere(counts, kind, direction, ["received", "ringing", "accepted"]);
  f.within = sumWhere(counts, kind, direction, ["within_10s"]);
  const finished = f.delivered + f.failed + f.undelivered;
  f.failureRate = finished ? (f.failed + f.undelivered) / finished : null;
  f.fastShare = kind === "sms" && f.delivered ? f.within / f.delivered : null;
  return f;
}

function percent(value) { return value === null ? "–" : (100 * value).toFixed(1) + "%"; }

function addCounts(into, counts) {
  for (const [name, value] of Object.entries(counts)) into[name] = (into[name] || 0) + value;
  return into;
}

async function loadTotals() {
  const since = $("range-since").value, until = $("range-until").value;
  const query = new URLSearchParams();
  if (since) query.set("since", since);
  if (until) query.set("until", until);
  const stats = await api("/stats?" + query.toString());
  $("range-label").textContent = `${stats.since} to ${stats.until} (UTC days)`;
  const all = stats.days.reduce((acc, day) => addCounts(acc, day.counts), {});
  const body = $("totals").tBodies[0];
  body.replaceChildren();
  $("warnings").replaceChildren();
  for (const [kind, direction] of [["sms", "outbound"], ["sms", "inbound"], ["call", "outbound"], ["call", "inbound"]]) {
    const f = figures(all, kind, direction);
    const any = f.accepted + f.sent + f.delivered + f.failed + f.undelivered;
    if (!any && !(kind === "sms" && direction === "outbound")) continue;
    const row = el("tr", null, { "data-kind": kind, "data-direction": direction });
    row.append(el("td", kind === "sms" ? "SMS" : "Calls"), el("td", direction));
    for (const name of ["accepted", "sent", "delivered", "failed", "undelivered"]) {
      row.append(el("td", f[name], { class: "num", "data-figure": name }));
    }
    const rate = el("td", percent(f.failureRate), { class: "num", "data-figure": "failure-rate" });
    if (f.failureRate !== null && f.failureRate > FAILURE_WARNING) {
      rate.classList.add("rate-bad");
      $("warnings").append(el("p",
        `Failure rate of ${kind === "sms" ? "SMS" : "calls"} ${direction} is ${percent(f.failureRate)}, above ${percent(FAILURE_WARNING)}.`,
        { class: "warning", role: "status" }));
    }
    row.append(rate, el("td", percent(f.fastShare), { class: "num", "data-figure": "within-10s" }));
    body.append(row);
  }
  drawChart(stats.days.slice().reverse());
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawChart(days) {
  const width = 760, height = 220, left = 40, right = 40, top = 10, bottom = 30;
  const data = days.map((day) => {
    let delivered = 0, failed = 0, accepted = 0;
    for (const kind of ["sms", "call"]) {
      const f = figures(day.counts, kind, "outbound");
      delivered += f.delivered; failed += f.failed + f.undelivered; accepted += f.accepted;
    }
    const other = Math.max(accepted - delivered - failed, 0);
    const finished = delivered + failed;
    return { day: day.day, delivered, failed, other, rate: finished ? delivered / finished : null };
  });
  const max = Math.max(1, ...data.map((d) => d.delivered + d.failed + d.other));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Outbound volume per day by outcome, and the delivery rate" });
  const plotWidth = width - left - right, plotHeight = height - top - bottom;
  const step = plotWidth / Math.max(data.length, 1);
  const y = (value) => top + plotHeight - (value / max) * plotHeight;
  chart.append(svg("line", { x1: left, y1: top + plotHeight, x2: width - right, y2: top + plotHeight, stroke: "#9aa0a6" }));
  chart.append(svg("text", { x: left - 6, y: top + 10, "text-anchor": "end", "font-size": 11 }, String(max)));
  chart.append(svg("text", { x: left - 6, y: top + plotHeight, "text-anchor": "end", "font-size": 11 }, "0"));
  chart.append(svg("text", { x: width - right + 6, y: top + 10, "font-size": 11, fill: "#0b57d0" }, "100%"));
  const points = [];
  data.forEach((d, i) => {
    const x = left + i * step + step * 0.2, barWidth = step * 0.6;
    let base = 0;
    for (const [name, value, colour] of [["delivered", d.delivered, "#1d7a3a"], ["failed", d.failed, "#b3261e"], ["other", d.other, "#9aa0a6"]]) {
      if (!value) continue;
      const bar = svg("rect", { x, y: y(base + value), width: barWidth, height: y(base) - y(base + value), fill: colour, "data-day": d.day, "data-outcome": name });
      bar.append(svg("title", {}, `${d.day} ${name}: ${value}`));
      chart.append(bar);
      base += value;
    }
    chart.append(svg("text", { x: x + barWidth / 2, y: height - 10, "text-anchor": "middle", "font-size": 11 }, d.day.slice(5)));
    if (d.rate !== null) points.push([x + barWidth / 2, top + plotHeight - d.rate * plotHeight]);
  });
  if (points.length) {
    chart.append(svg("polyline", { points: points.map((p) => p.join(",")).join(" "), fill: "none", stroke: "#0b57d0", "stroke-width": 2 }));
    for (const [cx, cy] of points) chart.append(svg("circle", { cx, cy, r: 3, fill: "#0b57d0" }));
  }
  const legend = el("p", null, { class: "legend note" });
  for (const [name, swatch] of [["delivered", "sw-delivered"], ["failed or undelivered", "sw-failed"], ["not final yet", "sw-other"], ["delivery rate", "sw-rate"]]) {
    const item = el("span");
    item.append(el("span", null, { class: "swatch " + swatch }), document.createTextNode(name));
    legend.append(item);
  }
  $("chart").replaceChildren(chart, legend);
}

// ---- the log ----

function utcTime(local) { return local ? local + ":00Z" : ""; }

function currentFilters() {
  const filters = new URLSearchParams();
  const pairs = { direction: "f-direction", status: "f-status", number: "f-number", id: "f-id", tag: "f-tag", sid: "f-sid", limit: "f-limit" };
  for (const [name, id] of Object.entries(pairs)) {
    const value = $(id).value.trim();
    if (value) filters.set(name, value);
  }
  if ($("f-since").value) filters.set("since", utcTime($("f-since").value));
  if ($("f-until").value) filters.set("until", utcTime($("f-until").value));
  return { kind: $("f-kind").value, query: filters };
}

function collection(kind) { return kind === "call" ? "calls" : "messages"; }

// The first page from the filters; the next ones from the API's own ``next`` link, which
// pins the time window the continuation belongs to.
async function listPage(filters, next) {
  if (next) return api(next);
  return api(`/${collection(filters.kind)}?${filters.query.toString()}`);
}

async function search(next) {
  if (!next) { state.filters = currentFilters(); state.page = 1; }
  $("log-error").textContent = "";
  try {
    const page = await listPage(state.filters, next);
    if (next) state.page += 1;
    state.items = page.items;
    state.next = page.next;
    renderRecords();
  } catch (error) {
    if (error instanceof KeyRefused) throw error;
    state.items = [];
    state.next = null;
    renderRecords();
    $("log-error").textContent = error.message;
  }
}

function renderRecords() {
  const body = $("records").tBodies[0];
  body.replaceChildren();
  for (const item of state.items) {
    const row = el("tr", null, { "data-id": item.id });
    const link = el("button", item.id, { type: "button", class: "link" });
    link.addEventListener("click", () => showRecord(state.filters.kind, item.id).catch(report));
    const idCell = el("td");
    idCell.append(link);
    row.append(
      el("td", item.created_at),
      el("td", item.direction),
      el("td", item.status, { class: "status-" + item.status }),
      el("td", mask(item.to)),
      el("td", mask(item.from)),
      el("td", item.body !== undefined ? item.body : (item.say || ""), { class: "body" }),
      el("td", item.tag || ""),
      idCell,
    );
    body.append(row);
  }
  if (!state.items.length) {
    const empty = el("tr");
    empty.append(el("td", "No records match.", { colspan: 8, class: "note" }));
    body.append(empty);
  }
  $("next-page").disabled = !state.next;
  state.renders += 1;
  $("records").dataset.renders = String(state.renders);
  $("page-label").textContent = `Page ${state.page}, ${state.items.length} records${state.next ? ", older ones follow" : ""}`;
}

function report(error) {
  if (error instanceof KeyRefused) showLogin("The key was refused. Enter the function key again.");
  else $("log-error").textContent = error.message;
}

// ---- CSV ----

const CSV_COLUMNS = ["id", "kind", "direction", "status", "to", "from", "created_at", "updated_at", "twilio_sid", "error_code", "error_message", "tag", "body"];

function csvCell(value) {
  let text = value === undefined || value === null ? "" : String(value);
  // A cell a spreadsheet would run as a formula is kept as text.
  if (/^[=@\t\r]/.test(text) || (/^[+-]/.test(text) && !/^\+?[0-9*]+$/.test(text))) text = "'" + text;
  return '"' + text.replace(/"/g, '""') + '"';
}

async function downloadCsv() {
  const filters = currentFilters();
  filters.query.set("limit", "100");
  const lines = [CSV_COLUMNS.join(",")];
  let next = null, rows = 0;
  do {
    const page = await listPage(filters, next);
    for (const item of page.items) {
      const values = { ...item, to: mask(item.to), from: mask(item.from) };
      lines.push(CSV_COLUMNS.map((name) => csvCell(values[name])).join(","));
      rows += 1;
    }
    next = page.next;
  } while (next && rows < CSV_MAX_ROWS);
  const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" });
  const link = el("a", null, { download: "gateway-log.csv", href: URL.createObjectURL(blob) });
  document.body.append(link);
  link.click();
  link.remove();
}

// ---- one record ----

function safeLink(url) {
  if (!/^https?:\/\//i.test(url || "")) return el("span", url || "");
  return el("a", url, { href: url, rel: "noopener noreferrer", target: "_blank" });
}

function errorCell(code, message) {
  const cell = el("td");
  if (code === undefined || code === null) { cell.textContent = message || ""; return cell; }
  const link = el("a", String(code), { href: `https://www.twilio.com/docs/api/errors/${encodeURIComponent(code)}`, rel: "noopener noreferrer", target: "_blank" });
  cell.append(link, document.createTextNode(" " + (TWILIO_ERRORS[code] || message || "")));
  if (message && TWILIO_ERRORS[code]) cell.append(el("div", message, { class: "note" }));
  return cell;
}

function traceId(record) {
  const parent = record.traceparent || "";
  const parts = parent.split("-");
  return parts.length === 4 ? parts[1] : "";
}

async function showRecord(kind, id) {
  const record = await api(`/${collection(kind)}/${encodeURIComponent(id)}`);
  $("record").hidden = false;
  $("record-id").textContent = record.id;
  const fields = $("record-fields");
  fields.replaceChildren();
  const add = (name, value) => { fields.append(el("dt", name)); const dd = el("dd"); if (value instanceof Node) dd.append(value); else dd.textContent = value === undefined || value === null ? "" : String(value); fields.append(dd); };
  add("Status", record.status);
  add("Kind", record.kind);
  add("Direction", record.direction);
  add("To", mask(record.to));
  add("From", mask(record.from));
  add("Twilio SID", record.twilio_sid);
  add("Tag", record.tag);
  add("Created", record.created_at);
  add("Body", record.body !== undefined ? record.body : (record.body_length !== undefined ? `(${record.body_length} characters, not kept)` : (record.say || "")));
  const media = el("span");
  for (const url of record.media_urls || []) { media.append(safeLink(url), document.createTextNode(" ")); }
  add("Media", media);
  add("Recording", record.recording_url ? safeLink(record.recording_url) : "");
  add("Trace id", traceId(record) || "–");
  if (record.error_code !== null && record.error_code !== undefined) {
    const cell = errorCell(record.error_code, record.error_message);
    add("Error", cell.firstChild ? Array.from(cell.childNodes).reduce((span, node) => { span.append(node); return span; }, el("span")) : "");
  }
  const body = $("timeline").tBodies[0];
  body.replaceChildren();
  for (const event of record.history || []) {
    const row = el("tr", null, { "data-status": event.status });
    row.append(el("td", event.at), el("td", event.status, { class: "status-" + event.status }), el("td", event.source), errorCell(event.error_code, event.error_message), el("td", event.note || ""));
    body.append(row);
  }
  $("record").scrollIntoView();
}

// ---- wiring ----

function setLastWeek() {
  const today = new Date();
  $("range-until").value = utcDay(today);
  $("range-since").value = utcDay(new Date(today.getTime() - 6 * 86400000));
}

document.addEventListener("DOMContentLoaded", () => {
  setLastWeek();
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $("key").value);
    $("key").value = "";
    openConsole();
  });
  $("forget").addEventListener("click", () => showLogin(""));
  $("range-form").addEventListener("submit", (event) => { event.preventDefault(); loadTotals().catch(report); });
  $("range-7").addEventListener("click", () => { setLastWeek(); loadTotals().catch(report); });
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); search().catch(report); });
  $("first-page").addEventListener("click", () => search().catch(report));
  $("next-page").addEventListener("click", () => search(state.next).catch(report));
  $("csv").addEventListener("click", () => downloadCsv().catch(report));
  $("reveal").addEventListener("change", () => renderRecords());
  if (key()) openConsole(); else showLogin("");
});
