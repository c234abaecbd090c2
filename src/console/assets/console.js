// kgate web console: a small vanilla page (no framework). Hash routes pick a page; live numbers arrive by
// Server-Sent Events from /ui/api/events (one sample per second, computed once on the gateway for every browser);
// plots are uPlot. Reads use /ui/api/... and the schema registry's own REST API on the same listener.
"use strict";

const $main = document.getElementById("main");
const live = { samples: [], state: null, session: null, listeners: new Set() };
window.kgateConsole = live;

// --- helpers ----------------------------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) element.append(child instanceof Node ? child : String(child));
  return element;
}

async function api(path, options = {}) {
  const init = { method: options.method || "GET", headers: {} };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers["content-type"] = options.contentType || "application/json";
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { error: text };
  }
  if (!response.ok) throw new Error((body && (body.error || body.message)) || `HTTP ${response.status}`);
  return body;
}

const enc = encodeURIComponent;
const number = (value) => (value === null || value === undefined ? "-" : Math.round(value).toLocaleString("en"));
function bytes(value) {
  if (value === null || value === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
function duration(seconds) {
  const d = Math.floor(seconds / 86400), hr = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return d > 0 ? `${d}d ${hr}h ${m}m` : hr > 0 ? `${hr}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}
const rate = (value) => (value === null || value === undefined ? "-" : value < 10 ? value.toFixed(1) : number(value));
const card = (label, value, id) => h("div", { class: "card" }, h("div", { class: "label" }, label), h("div", { class: "value", id }, value));
const message = (kind, text) => h("div", { class: kind, role: kind === "error" ? "alert" : "status" }, text);
const canChange = () => live.session && live.session.canChange;

function table(headers, rows, numeric = []) {
  return h("table", {},
    h("thead", {}, h("tr", {}, headers.map((title, i) => h("th", { class: numeric.includes(i) ? "num" : null }, title)))),
    h("tbody", {}, rows.length === 0 ? h("tr", {}, h("td", { colspan: headers.length, class: "muted" }, "none")) : rows.map((row) => h("tr", {}, row.map((cell, i) => h("td", { class: numeric.includes(i) ? "num" : null }, cell))))));
}

/** Asks before a change: resolves true on Confirm. */
function confirmChange(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

/** Runs a change behind a confirmation, showing its outcome in `where`. */
async function change(where, question, run, done) {
  if (!(await confirmChange(question))) return;
  where.replaceChildren();
  try {
    const result = await run();
    where.append(message("ok", done(result)));
  } catch (error) {
    where.append(message("error", error.message));
  }
}

function plot(container, title, seriesNames, colors, read, valueFormat) {
  const box = h("div", { class: "plot", "data-plot": title }, h("h3", {}, title));
  container.append(box);
  const width = () => Math.max(300, box.clientWidth - 16);
  const data = () => {
    const samples = live.samples;
    return [samples.map((s) => s.atMs / 1000), ...seriesNames.map((_, i) => samples.map((s) => read(s, i)))];
  };
  const chart = new uPlot({
    width: width(),
    height: 190,
    series: [{}, ...seriesNames.map((name, i) => ({ label: name, stroke: colors[i], width: 1.5, spanGaps: true, value: (_, v) => (v === null || v === undefined ? "-" : valueFormat(v)) }))],
    axes: [{}, { size: 84, values: (_, ticks) => ticks.map(valueFormat) }],
    // At least the last minute on the time axis, so that the first samples do not stretch over years.
    scales: { x: { time: true, range: (_, min, max) => (max === null ? [Date.now() / 1000 - 60, Date.now() / 1000] : [Math.min(min, max - 60), max]) }, y: { range: (_, min, max) => [0, Math.max(max || 0, 1)] } },
  }, data(), box);
  const update = () => {
    chart.setData(data());
    box.dataset.last = JSON.stringify(seriesNames.map((_, i) => (live.samples.length ? read(live.samples[live.samples.length - 1], i) : null)));
  };
  update();
  return { update, resize: () => chart.setSize({ width: width(), height: 190 }) };
}

function jsonTree(value, name) {
  const label = name === undefined ? null : h("span", { class: "k" }, `${name}: `);
  if (value === null || typeof value !== "object") {
    const cls = typeof value === "string" ? "s" : "n";
    return h("div", {}, label, h("span", { class: cls }, JSON.stringify(value)));
  }
  const entries = Array.isArray(value) ? value.map((item, i) => [i, item]) : Object.entries(value);
  const open = entries.length <= 12;
  return h("details", { open }, h("summary", {}, label, Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`), entries.map(([k, v]) => jsonTree(v, k)));
}

function hex(base64) {
  const raw = atob(base64);
  let out = "";
  for (let i = 0; i < raw.length; i++) out += raw.charCodeAt(i).toString(16).padStart(2, "0") + (i % 2 ? " " : "");
  return out.trim();
}

function part(decoded) {
  switch (decoded.encoding) {
    case "null":
      return h("span", { class: "muted" }, "null");
    case "schema":
      return h("div", { class: "tree", "data-schema-id": decoded.schemaId }, h("span", { class: "badge" }, `schema ${decoded.schemaId}`), jsonTree(decoded.value));
    case "base64":
      return h("div", {}, h("span", { class: "badge" }, "hex"), " ", h("code", {}, hex(decoded.value)), decoded.error ? h("div", { class: "muted" }, decoded.error) : null);
    default:
      return h("pre", {}, decoded.value);
  }
}

// --- pages ------------------------------------------------------------------------------------------------------

const pages = {};

pages.overview = (root) => {
  root.append(h("h1", {}, "Overview"));
  const cards = h("div", { class: "cards" });
  const plots = h("div", { class: "plots" });
  root.append(cards, plots);
  const charts = [
    plot(plots, "Throughput (records/s)", ["produce", "fetch"], ["#2f6fde", "#1f8a4c"], (s, i) => (i === 0 ? s.produceRecordsPerSecond : s.fetchRecordsPerSecond), rate),
    plot(plots, "Throughput (bytes/s)", ["produce", "fetch"], ["#2f6fde", "#1f8a4c"], (s, i) => (i === 0 ? s.produceBytesPerSecond : s.fetchBytesPerSecond), (v) => bytes(v) + "/s"),
    plot(plots, "Request latency (mean ms)", ["Produce", "other requests"], ["#c23a2b", "#9a6200"], (s, i) => (i === 0 ? s.produceLatencyMs : s.requestLatencyMs), (v) => v.toFixed(2)),
  ];
  const update = () => {
    const state = live.state;
    const last = live.samples[live.samples.length - 1];
    cards.replaceChildren(
      card("Version", state ? state.version : "-"),
      card("Uptime", state ? duration(state.uptimeSeconds) : "-"),
      ...(state ? state.connections.map((c) => card(`Connections (${c.listener})`, number(c.count))) : []),
      card("Log on disk", state ? bytes(state.logBytes) : "-"),
      card("Free space", state ? (state.diskFreeBytes === null ? "memory log" : bytes(state.diskFreeBytes)) : "-"),
      card("Produce", last ? `${rate(last.produceRecordsPerSecond)} rec/s` : "-", "produce-rate"),
      card("Fetch", last ? `${rate(last.fetchRecordsPerSecond)} rec/s` : "-", "fetch-rate"),
    );
    for (const chart of charts) chart.update();
  };
  update();
  return { update, resize: () => charts.forEach((chart) => chart.resize()) };
};

function topicRows(state) {
  const topics = new Map();
  for (const p of state.status.partitions) {
    const topic = topics.get(p.topic) || { name: p.topic, internal: p.internal, partitions: 0, records: 0, bytes: 0, rate: 0 };
    topic.partitions++;
    topic.records += (p.endOffset || 0) - (p.startOffset || 0);
    topic.bytes += p.sizeBytes || 0;
    topic.rate += state.partitionRecordsPerSecond[`${p.topic}\u0000${p.partition}`] || 0;
    topics.set(p.topic, topic);
  }
  return [...topics.values()];
}

pages.topics = (root) => {
  root.append(h("h1", {}, "Topics"));
  const outcome = h("div");
  root.append(outcome);
  if (canChange()) {
    const name = h("input", { name: "name", placeholder: "topic name", required: true });
    const partitions = h("input", { name: "partitions", type: "number", min: "1", value: "1", style: "width:6em" });
    const configs = h("input", { name: "configs", placeholder: "retention.ms=86400000, cleanup.policy=delete", style: "width:24em" });
    root.append(h("form", {
      class: "inline", id: "create-topic",
      onsubmit: (event) => {
        event.preventDefault();
        const parsed = {};
        for (const pair of configs.value.split(",").map((s) => s.trim()).filter(Boolean)) {
          const at = pair.indexOf("=");
          parsed[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
        }
        change(outcome, `Create topic '${name.value}' with ${partitions.value} partition(s)?`,
          () => api("api/topics", { method: "POST", body: { name: name.value, partitions: Number(partitions.value), configs: parsed } }),
          (r) => `Topic '${r.name}' created with ${r.partitions} partition(s).`);
      },
    }, h("label", {}, "Name", name), h("label", {}, "Partitions", partitions), h("label", {}, "Configs", configs), h("button", { type: "submit" }, "Create topic")));
  }
  const list = h("div");
  root.append(list);
  const update = () => {
    if (!live.state) return;
    const configs = (name) => Object.entries(live.state.topicConfigs[name] || {}).map(([k, v]) => h("div", { class: "mono" }, `${k}=${v}`));
    list.replaceChildren(table(["Topic", "Partitions", "Records", "Size", "Records/s", "Configs set on the topic"],
      topicRows(live.state).map((t) => [h("a", { href: `#/topics/${enc(t.name)}` }, t.name, t.internal ? h("span", { class: "badge" }, " internal") : null), t.partitions, number(t.records), bytes(t.bytes), rate(t.rate), configs(t.name)]), [1, 2, 3, 4]));
  };
  update();
  return { update };
};

pages.topic = async (root, name) => {
  root.append(h("h1", {}, `Topic ${name}`));
  const outcome = h("div");
  const body = h("div");
  root.append(outcome, body);
  let detail;
  try {
    detail = await api(`api/topics/${enc(name)}`);
  } catch (error) {
    body.append(message("error", error.message), h("a", { href: "#/topics" }, "All topics"));
    return {};
  }
  const partitionsBox = h("div");
  body.append(h("h2", {}, "Partitions"), partitionsBox, h("p", {}, h("a", { href: `#/records?topic=${enc(name)}` }, "Browse records")));
  const renderPartitions = (partitions) => partitionsBox.replaceChildren(table(["Partition", "Start offset", "End offset", "Records", "Size", "Records/s"],
    partitions.map((p) => [p.partition, number(p.startOffset), number(p.endOffset), number(p.endOffset - p.startOffset), bytes(p.sizeBytes), rate(p.recordsPerSecond)]), [0, 1, 2, 3, 4, 5]));
  renderPartitions(detail.partitions);
  body.append(h("h2", {}, "Configs"), table(["Name", "Value", ""], detail.configs.map((c) => [h("code", {}, c.name), h("code", {}, c.value === null ? "(hidden)" : c.value), c.isSet ? h("span", { class: "badge" }, "set on topic") : h("span", { class: "muted" }, "default")])));
  if (canChange() && !detail.internal) {
    const count = h("input", { type: "number", min: String(detail.partitions.length + 1), value: String(detail.partitions.length + 1), style: "width:6em" });
    const configName = h("input", { placeholder: "retention.ms", list: "config-names" });
    const configValue = h("input", { placeholder: "value (empty: back to default)" });
    body.append(h("h2", {}, "Change"),
      h("datalist", { id: "config-names" }, detail.configs.map((c) => h("option", { value: c.name }))),
      h("form", { class: "inline", id: "add-partitions", onsubmit: (event) => {
        event.preventDefault();
        change(outcome, `Grow '${name}' to ${count.value} partitions? Partitions cannot be removed again.`, () => api(`api/topics/${enc(name)}/partitions`, { method: "POST", body: { count: Number(count.value) } }), () => `'${name}' has ${count.value} partitions.`);
      } }, h("label", {}, "Partitions", count), h("button", { type: "submit" }, "Add partitions")),
      h("form", { class: "inline", id: "alter-config", onsubmit: (event) => {
        event.preventDefault();
        const body = configValue.value === "" ? { delete: [configName.value] } : { set: { [configName.value]: configValue.value } };
        change(outcome, configValue.value === "" ? `Reset ${configName.value} of '${name}' to its default?` : `Set ${configName.value}=${configValue.value} on '${name}'?`,
          () => api(`api/topics/${enc(name)}/configs`, { method: "POST", body }), () => `Config ${configName.value} of '${name}' changed.`);
      } }, h("label", {}, "Config", configName), h("label", {}, "Value", configValue), h("button", { type: "submit" }, "Alter config")),
      h("div", { class: "toolbar" }, h("button", { class: "danger", id: "delete-topic", onclick: () =>
        change(outcome, `Delete topic '${name}' and all its records? This cannot be undone.`, () => api(`api/topics/${enc(name)}`, { method: "DELETE" }), () => `Topic '${name}' deleted.`) }, "Delete topic")));
  }
  return {
    update: () => {
      if (!live.state) return;
      const partitions = live.state.status.partitions.filter((p) => p.topic === name).map((p) => ({ ...p, recordsPerSecond: live.state.partitionRecordsPerSecond[`${name}\u0000${p.partition}`] }));
      if (partitions.length > 0) renderPartitions(partitions);
    },
  };
};

pages.records = (root, _, query) => {
  root.append(h("h1", {}, "Records"));
  const topics = live.state ? topicRows(live.state).map((t) => t.name) : [];
  const topic = h("select", { name: "topic" }, topics.map((t) => h("option", { value: t, selected: t === query.get("topic") }, t)));
  if (query.get("topic") && !topics.includes(query.get("topic"))) topic.append(h("option", { value: query.get("topic"), selected: true }, query.get("topic")));
  const partition = h("input", { name: "partition", type: "number", min: "0", value: query.get("partition") || "0", style: "width:6em" });
  const from = h("select", { name: "from" }, ["offset", "timestamp", "end"].map((f) => h("option", { value: f, selected: f === (query.get("from") || "offset") }, f === "end" ? "the end" : f)));
  const offset = h("input", { name: "offset", type: "number", min: "0", value: query.get("offset") || "0", style: "width:9em" });
  const timestamp = h("input", { name: "timestamp", type: "datetime-local", step: "1" });
  const limit = h("input", { name: "limit", type: "number", min: "1", value: query.get("limit") || "50", style: "width:6em" });
  const key = h("input", { name: "key", placeholder: "key contains…", value: query.get("key") || "" });
  const results = h("div", { id: "records" });
  const load = async (overrideOffset) => {
    const params = new URLSearchParams({ partition: partition.value, limit: limit.value, from: overrideOffset === undefined ? from.value : "offset" });
    if (overrideOffset !== undefined) params.set("offset", String(overrideOffset));
    else if (from.value === "offset") params.set("offset", offset.value || "0");
    else if (from.value === "timestamp") params.set("timestamp", String(timestamp.value ? new Date(timestamp.value).getTime() : 0));
    if (key.value) params.set("key", key.value);
    results.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    try {
      const page = await api(`api/topics/${enc(topic.value)}/records?${params}`);
      offset.value = String(page.fromOffset);
      const pageSize = Number(limit.value);
      results.replaceChildren(
        h("p", { class: "muted" }, `Partition ${page.partition}: start offset ${number(page.startOffset)}, end offset ${number(page.endOffset)}. Showing ${page.records.length} record(s) from ${number(page.fromOffset)}${key.value ? `, ${number(page.scanned)} scanned` : ""}.`),
        table(["Offset", "Timestamp", "Key", "Value", "Headers"], page.records.map((r) => [r.offset, new Date(r.timestamp).toISOString(), part(r.key), part(r.value),
          r.headers.length === 0 ? "" : h("div", {}, r.headers.map((hd) => h("div", { class: "mono" }, `${hd.key}: ${hd.value === null ? "null" : hd.value}`)))]), [0]),
        h("div", { class: "toolbar" },
          h("button", { class: "secondary", disabled: page.fromOffset <= page.startOffset, onclick: () => load(Math.max(page.startOffset, page.fromOffset - pageSize)) }, "‹ Previous"),
          h("button", { class: "secondary", id: "next-page", disabled: page.nextOffset >= page.endOffset, onclick: () => load(page.nextOffset) }, "Next ›")));
    } catch (error) {
      results.replaceChildren(message("error", error.message));
    }
  };
  root.append(h("form", { class: "inline", id: "records-form", onsubmit: (event) => { event.preventDefault(); load(); } },
    h("label", {}, "Topic", topic), h("label", {}, "Partition", partition), h("label", {}, "From", from), h("label", {}, "Offset", offset), h("label", {}, "Timestamp", timestamp),
    h("label", {}, "Page size", limit), h("label", {}, "Key filter", key), h("button", { type: "submit" }, "Show")), results);
  if (topic.value) load();
  return {};
};

pages.groups = (root) => {
  root.append(h("h1", {}, "Consumer groups"));
  const list = h("div");
  root.append(list);
  const update = () => {
    if (!live.state) return;
    list.replaceChildren(table(["Group", "State", "Members", "Partitions", "Lag"], live.state.status.groups.map((g) => [
      h("a", { href: `#/groups/${enc(g.groupId)}` }, g.groupId), h("span", { class: `badge state-${g.state}` }, g.state), g.members, g.offsets.length, number(g.offsets.reduce((sum, o) => sum + (o.lag || 0), 0)),
    ]), [2, 3, 4]));
  };
  update();
  return { update };
};

pages.group = async (root, groupId) => {
  root.append(h("h1", {}, `Consumer group ${groupId}`));
  const outcome = h("div");
  const body = h("div");
  root.append(outcome, body);
  const summary = h("div", { class: "cards" });
  const members = h("div");
  const offsets = h("div");
  const plots = h("div", { class: "plots" });
  let chart = null;
  const render = (group) => {
    summary.replaceChildren(card("State", group.state, "group-state"), card("Members", number(group.memberList.length)), card("Total lag", number(group.totalLag), "group-lag"), card("Protocol", group.protocol || "-"));
    members.replaceChildren(table(["Member", "Client id", "Host", "Assignment"], group.memberList.map((m) => [h("code", {}, m.memberId), m.clientId, m.clientHost,
      m.assignment === null ? "-" : m.assignment.map((a) => `${a.topic} [${a.partitions.join(", ")}]`).join("; ")])));
    offsets.replaceChildren(table(["Topic", "Partition", "Committed", "End", "Lag"], group.offsets.map((o) => [o.topic, o.partition, number(o.committed), number(o.endOffset), number(o.lag)]), [1, 2, 3, 4]));
  };
  let group;
  try {
    group = await api(`api/groups/${enc(groupId)}`);
  } catch (error) {
    body.append(message("error", error.message), h("a", { href: "#/groups" }, "All groups"));
    return {};
  }
  body.append(summary, h("h2", {}, "Lag"), plots, h("h2", {}, "Members"), members, h("h2", {}, "Committed offsets"), offsets);
  render(group);
  chart = plot(plots, "Lag (records)", [groupId], ["#c23a2b"], (s) => (s.groupLag[groupId] === undefined ? null : s.groupLag[groupId]), number);
  if (canChange()) {
    const to = h("select", { name: "to" }, ["earliest", "latest", "timestamp"].map((t) => h("option", { value: t }, t)));
    const timestamp = h("input", { type: "datetime-local", step: "1" });
    body.append(h("h2", {}, "Reset offsets"), h("p", { class: "muted" }, "Only for a group without members: stop its consumers first."),
      h("form", { class: "inline", id: "reset-offsets", onsubmit: (event) => {
        event.preventDefault();
        const request = { to: to.value, ...(to.value === "timestamp" ? { timestamp: timestamp.value ? new Date(timestamp.value).getTime() : 0 } : {}) };
        change(outcome, `Reset every committed offset of '${groupId}' to ${to.value === "timestamp" ? timestamp.value : to.value}?`,
          () => api(`api/groups/${enc(groupId)}/reset`, { method: "POST", body: request }), (r) => `Reset ${r.partitions.length} partition(s) of '${groupId}'.`);
      } }, h("label", {}, "To", to), h("label", {}, "Timestamp", timestamp), h("button", { type: "submit" }, "Reset offsets")));
  }
  // State, offsets and lag come with every sample (computed once for every browser); the members' details are asked
  // for again only when the group's state or member count changed.
  let refreshing = false;
  return {
    update: async () => {
      chart.update();
      const sampled = live.state && live.state.status.groups.find((g) => g.groupId === groupId);
      if (!sampled) return;
      const changed = sampled.state !== group.state || sampled.members !== group.memberList.length;
      group = { ...group, ...sampled, totalLag: sampled.offsets.reduce((sum, o) => sum + (o.lag || 0), 0) };
      render(group);
      if (!changed || refreshing) return;
      refreshing = true;
      try {
        group = await api(`api/groups/${enc(groupId)}`);
        render(group);
      } catch {
        // the group went away: keep the last view
      } finally {
        refreshing = false;
      }
    },
    resize: () => chart.resize(),
  };
};

function lineDiff(a, b) {
  const n = a.length, m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { out.push([" ", a[i]]); i++; j++; }
    else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) out.push(["+", b[j++]]);
    else out.push(["-", a[i++]]);
  }
  return out;
}

const prettySchema = (text) => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

pages.schemas = async (root, _, query) => {
  root.append(h("h1", {}, "Schemas"));
  const body = h("div");
  root.append(body);
  let subjects;
  try {
    subjects = await api("../subjects");
  } catch (error) {
    body.append(message("error", error.message));
    return {};
  }
  const subject = query.get("subject") || subjects[0];
  body.append(h("div", { class: "toolbar" }, subjects.length === 0 ? h("span", { class: "muted" }, "No subjects registered.") :
    h("label", {}, "Subject", h("select", { id: "subject", onchange: (event) => { location.hash = `#/schemas?subject=${enc(event.target.value)}`; } }, subjects.map((s) => h("option", { value: s, selected: s === subject }, s))))));
  if (!subject) return {};
  const detail = h("div");
  body.append(detail);
  try {
    const versions = await api(`../subjects/${enc(subject)}/versions`);
    const config = await api(`../config/${enc(subject)}?defaultToGlobal=true`);
    const schemas = await Promise.all(versions.map((v) => api(`../subjects/${enc(subject)}/versions/${v}`)));
    const latest = schemas[schemas.length - 1];
    detail.append(h("div", { class: "cards" }, card("Versions", versions.length), card("Latest id", latest.id), card("Type", latest.schemaType || "AVRO"), card("Compatibility", config.compatibilityLevel, "compatibility")));
    const left = h("select", { id: "diff-from" }, versions.map((v, i) => h("option", { value: String(i), selected: i === Math.max(0, versions.length - 2) }, `v${v}`)));
    const right = h("select", { id: "diff-to" }, versions.map((v, i) => h("option", { value: String(i), selected: i === versions.length - 1 }, `v${v}`)));
    const diffBox = h("div", { class: "diff", id: "diff" });
    const showDiff = () => {
      const a = prettySchema(schemas[Number(left.value)].schema).split("\n");
      const b = prettySchema(schemas[Number(right.value)].schema).split("\n");
      diffBox.replaceChildren(h("pre", {}, lineDiff(a, b).map(([mark, line]) => h("div", { class: mark === "+" ? "add" : mark === "-" ? "del" : null }, `${mark} ${line}`))));
    };
    left.onchange = right.onchange = showDiff;
    detail.append(h("h2", {}, "Versions"), table(["Version", "Id", "Type"], schemas.map((s) => [s.version, s.id, s.schemaType || "AVRO"]), [0, 1]),
      h("h2", {}, "Diff"), h("div", { class: "toolbar" }, h("label", {}, "From", left), h("label", {}, "To", right)), diffBox);
    showDiff();
    const text = h("textarea", { id: "check-schema", placeholder: "Paste a schema to check against the subject's compatibility rule" });
    const type = h("select", { id: "check-type" }, ["AVRO", "JSON", "PROTOBUF"].map((t) => h("option", { value: t, selected: t === (latest.schemaType || "AVRO") }, t)));
    const outcome = h("div", { id: "check-outcome" });
    detail.append(h("h2", {}, "Check a schema"), text, h("div", { class: "toolbar" }, h("label", {}, "Type", type), h("button", { id: "check", onclick: async () => {
      outcome.replaceChildren();
      try {
        const result = await api(`../compatibility/subjects/${enc(subject)}/versions/latest?verbose=true`, { method: "POST", body: { schema: text.value, schemaType: type.value }, contentType: "application/vnd.schemaregistry.v1+json" });
        outcome.append(result.is_compatible ? message("ok", `Compatible with '${subject}' (${config.compatibilityLevel}).`) : message("error", `Not compatible (${config.compatibilityLevel}): ${(result.messages || []).join("; ")}`));
      } catch (error) {
        outcome.append(message("error", `The schema was refused: ${error.message}`));
      }
    } }, "Check compatibility")), outcome);
  } catch (error) {
    detail.append(message("error", error.message));
  }
  return {};
};

pages.links = async (root) => {
  root.append(h("h1", {}, "Links"));
  const body = h("div");
  root.append(body);
  const render = (status) => {
    if (!status.configured) return body.replaceChildren(h("p", { class: "muted", id: "links-none" }, "No uplink is configured on this gateway (see --uplink)."));
    const parts = [h("p", {}, `Edge ${status.edgeId}`)];
    for (const link of status.links) {
      parts.push(h("h2", {}, "Link ", link.name, " ", h("span", { class: `badge state-${link.state}` }, link.state)),
        h("p", { class: "muted" }, `${link.delivery}, ${bytes(link.throughputBytesPerSecond)}/s${link.lastError ? `, last error: ${link.lastError}` : ""}`),
        table(["Topic", "Partition", "Remote topic", "Forwarded", "End", "Lag", "Lag size", "Lag s"], link.partitions.map((p) => [p.topic, p.partition, p.remoteTopic, number(p.forwardedOffset), number(p.logEndOffset), number(p.lagRecords), bytes(p.lagBytes), p.lagSeconds.toFixed(1)]), [1, 3, 4, 5, 6, 7]));
    }
    for (const pull of status.pulls || []) {
      parts.push(h("h2", {}, "Pull ", pull.name, " ", h("span", { class: `badge state-${pull.state}` }, pull.state)),
        table(["Remote topic", "Partition", "Local topic", "Next", "Lag", "Copied"], pull.partitions.map((p) => [p.remoteTopic, p.partition, p.localTopic, number(p.nextOffset), number(p.lagRecords), number(p.copiedRecords)]), [1, 3, 4, 5]));
    }
    body.replaceChildren(...parts);
  };
  const refresh = async () => {
    try {
      render(await api("api/links"));
    } catch (error) {
      body.replaceChildren(message("error", error.message));
    }
  };
  await refresh();
  return { update: refresh };
};

// --- routing and the event stream ---------------------------------------------------------------------------------

let current = null;
let generation = 0;

async function show() {
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = (path || "overview").split("/");
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : undefined;
  const page = arg !== undefined && name === "topics" ? "topic" : arg !== undefined && name === "groups" ? "group" : name;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.page === name);
  const root = h("div", { id: `page-${page}` });
  $main.replaceChildren(root);
  current = null;
  const mine = ++generation;
  const render = pages[page];
  if (!render) {
    root.append(message("error", `No page '${name}'.`));
    return;
  }
  const handle = await render(root, arg, new URLSearchParams(search || ""));
  if (mine === generation) {
    current = handle || {};
    root.dataset.ready = "true";
    if (performance.getEntriesByName("kgate-first-page").length === 0) performance.mark("kgate-first-page");
  }
}

function connect() {
  const events = new EventSource("api/events");
  events.addEventListener("history", (event) => {
    live.samples = JSON.parse(event.data);
  });
  events.addEventListener("sample", (event) => {
    const { sample, state } = JSON.parse(event.data);
    if (sample) live.samples.push(sample);
    if (live.samples.length > 600) live.samples.splice(0, live.samples.length - 600);
    live.state = state;
    if (current && current.update) current.update();
  });
}

window.addEventListener("hashchange", show);
window.addEventListener("resize", () => current && current.resize && current.resize());

(async () => {
  connect();
  // The page carries the session and the latest state (window.kgateBoot); without them, ask the API.
  const boot = window.kgateBoot;
  const [session, state] = boot ? [{ status: "fulfilled", value: boot.session }, { status: "fulfilled", value: boot.state }] : await Promise.allSettled([api("api/session"), api("api/state")]);
  if (session.status === "rejected") {
    $main.replaceChildren(message("error", `Cannot reach the gateway: ${session.reason.message}`));
    return;
  }
  live.session = session.value;
  document.getElementById("session").textContent = `${live.session.user} (${live.session.role}) · kgate ${live.session.version}`;
  if (state.status === "fulfilled" && live.state === null) live.state = state.value; // else the event stream brings it
  await show();
})();
