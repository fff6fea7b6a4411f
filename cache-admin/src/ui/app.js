// cache-admin dashboard: one vanilla module, no build step, no third-party
// code. Every figure comes from the admin API, with the token kept in this
// tab's session storage; the live figures come from the API's event
// stream (one connection per page). Text from the API is only ever set as
// text (never parsed as HTML).

const TOKEN = "cache-admin-token";
const API = "/api/config/caching";

const main = document.getElementById("main");
const page = main ? main.dataset.page : "";

function token() {
  return sessionStorage.getItem(TOKEN);
}

/** One API call: `{status, body}` (body parsed as JSON when it is). */
async function api(method, path, body, headers = {}) {
  const init = { method, headers: { Authorization: `Bearer ${token()}`, ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401 && page !== "login") {
    sessionStorage.removeItem(TOKEN);
    location.assign("/login");
  }
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch (_) {
    // Not JSON (metrics): keep the text.
  }
  return { status: response.status, ok: response.ok, body: parsed, headers: response.headers };
}

/** The API's error as one sentence, with every problem of a refused change. */
function errorText(reply) {
  const error = reply.body && reply.body.error;
  if (!error) return `HTTP ${reply.status}`;
  const problems = (error.problems || []).map((p) => `${p.field || ""}: ${p.message}`);
  return [error.message, ...problems].join(" — ");
}

/** An element with attributes and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const number = new Intl.NumberFormat("en");
function count(value) {
  return value === null || value === undefined ? "–" : number.format(value);
}
function percent(value) {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)} %`;
}
function duration(ns) {
  if (!ns) return "–";
  if (ns < 1e3) return `${ns} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}
function bytes(value) {
  if (value === null || value === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB"];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return `${n.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

/**
 * Follows the API's event stream (fetch, since EventSource cannot send the
 * token): calls `onEvent(name, data)` for each event until `signal` aborts;
 * reconnects after a failure.
 */
async function follow(onEvent, signal, status) {
  while (!signal.aborted) {
    try {
      const response = await fetch(`${API}/events?stats_every=1`, {
        headers: { Authorization: `Bearer ${token()}` },
        signal,
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      status("Live");
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const raw = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = "message";
          const data = [];
          for (const line of raw.split("\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
          }
          if (data.length) onEvent(name, data.join("\n"));
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      status(`Reconnecting (${error.message})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/** The Pause control: whether live figures are applied now. */
function pauseControl() {
  const button = document.getElementById("pause");
  const state = { paused: false };
  button.addEventListener("click", () => {
    state.paused = !state.paused;
    button.setAttribute("aria-pressed", String(state.paused));
    button.textContent = state.paused ? "Resume live updates" : "Pause live updates";
  });
  return state;
}

function liveStatus(text) {
  const node = document.getElementById("live");
  if (node && node.textContent !== text) node.textContent = text;
}

/** An SVG element with attributes and, optionally, text. */
function svg(tag, attributes, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The filled part of a bar (a CSSOM width: the page's policy allows no inline style attribute). */
function filled(share) {
  const span = el("span");
  span.style.width = `${(share * 100).toFixed(1)}%`;
  return span;
}


// ---- alerts, on every page --------------------------------------------

const alerts = { overview: null, listeners: [], announced: 0, queued: null };

/** Where an alert is: its region, else its second level. */
function subject(labels) {
  if (labels.region) return `region ${labels.region}`;
  if (labels.backend) return labels.backend;
  return labels.instance ? `instance ${labels.instance}` : "this instance";
}

function alertValue(value) {
  return value === null || value === undefined ? "no data" : Number(value.toPrecision(4)).toString();
}

function alertLine(alert) {
  return `${alert.labels.alertname} on ${subject(alert.labels)}: value ${alertValue(alert.value)}, threshold ${alert.threshold}`;
}

/** Says `text` to screen readers, at most once every 10 s (the latest wins). */
function announce(text) {
  const node = document.getElementById("alert-announce");
  if (!node) return;
  const wait = alerts.announced + 10000 - Date.now();
  if (wait <= 0) {
    alerts.announced = Date.now();
    node.textContent = text;
    return;
  }
  const first = alerts.queued === null;
  alerts.queued = text;
  if (first) {
    setTimeout(() => {
      const latest = alerts.queued;
      alerts.queued = null;
      alerts.announced = Date.now();
      node.textContent = latest;
    }, wait);
  }
}

/** The banner of firing alerts, on every page. */
function drawBanner() {
  const banner = document.getElementById("alert-banner");
  if (!banner || !alerts.overview) return;
  const firing = alerts.overview.firing || [];
  banner.hidden = firing.length === 0;
  document.getElementById("alert-banner-title").textContent =
    firing.length === 1 ? "1 alert firing" : `${firing.length} alerts firing`;
  document.getElementById("alert-banner-list").replaceChildren(
    ...firing.slice(0, 5).map((alert) => {
      const line = alertLine(alert);
      const item = alert.labels.region
        ? el("li", {}, el("a", { href: `/regions/${encodeURIComponent(alert.labels.region)}` }, line))
        : el("li", {}, line);
      if (alert.silenced_by && alert.silenced_by.length) item.append(" (silenced)");
      return item;
    }),
    ...(firing.length > 5 ? [el("li", {}, `and ${firing.length - 5} more`)] : []),
  );
}

/** Reads the alerts again and tells the page. */
async function loadAlerts() {
  const reply = await api("GET", `${API}/alerts`);
  if (!reply.ok) return;
  alerts.overview = reply.body;
  drawBanner();
  for (const listener of alerts.listeners) listener(reply.body);
}

/** An `alert` event from the stream: announce it, read the alerts again. */
function onAlertEvent(data) {
  try {
    const event = JSON.parse(data);
    if (event.state === "firing") announce(`Alert firing: ${event.summary}`);
    else if (event.state === "resolved") announce(`Alert resolved: ${event.summary}`);
  } catch (_) {
    // A malformed event changes nothing but the reload below.
  }
  loadAlerts();
}

// ---- login -----------------------------------------------------------

function loginPage() {
  const form = document.getElementById("login");
  const status = document.getElementById("login-status");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = form.elements.token.value.trim();
    sessionStorage.setItem(TOKEN, value);
    const reply = await api("GET", `${API}/regions`);
    if (reply.ok) {
      location.assign("/");
    } else {
      sessionStorage.removeItem(TOKEN);
      status.textContent = reply.status === 401 ? "That token is not valid." : errorText(reply);
    }
  });
}

// ---- regions table -----------------------------------------------------

async function regionsPage() {
  const table = document.querySelector("#regions tbody");
  const filter = document.getElementById("filter");
  const pause = pauseControl();
  const rows = new Map();
  let sort = { key: "name", ascending: true };

  const [regions, stats] = await Promise.all([api("GET", `${API}/regions`), api("GET", `${API}/statistics`)]);
  if (!regions.ok) {
    table.replaceChildren(el("tr", {}, el("td", { colspan: 11, class: "error" }, errorText(regions))));
    return;
  }
  const byName = new Map((stats.ok ? stats.body : []).map((view) => [view.region, view.totals]));
  for (const region of regions.body) {
    const totals = byName.get(region.name) || {};
    rows.set(region.name, {
      ...region,
      coalesced: totals.coalesced || 0,
      p99: totals.get_latency ? totals.get_latency.p99_ns : 0,
      evictions: totals.evictions ? totals.evictions.expired + totals.evictions.idle + totals.evictions.size : 0,
      loads: totals.loads_succeeded || 0,
      load_mean_ns: totals.load_time ? totals.load_time.mean_ns : 0,
      alerts: 0,
      pending: 0,
    });
  }

  // Each region's row is built once; an update rewrites only the cells
  // whose text changed and moves rows only when the order changed.
  const built = new Map();
  const empty = el("tr", {}, el("td", { colspan: 11, class: "muted" }, "No region matches."));
  function buildRow(row) {
    const cell = (attributes = {}) => el("td", attributes);
    const cells = {
      entries: cell({ class: "num" }),
      size: cell(),
      hit_rate: cell({ class: "num" }),
      hits: cell({ class: "num", "data-field": "hits" }),
      misses: cell({ class: "num", "data-field": "misses" }),
      p99: cell({ class: "num" }),
      evictions: cell({ class: "num" }),
      status: cell(),
    };
    const tr = el(
      "tr",
      { "data-region": row.name },
      el("th", { scope: "row" }, el("a", { href: `/regions/${encodeURIComponent(row.name)}` }, row.name)),
      el("td", {}, row.backend ? `${row.tier} (${row.backend})` : row.tier, row.sensitive ? " · sensitive" : ""),
      cells.entries,
      cells.size,
      cells.hit_rate,
      cells.hits,
      cells.misses,
      cells.p99,
      cells.evictions,
      cells.status,
      el("td", { class: "muted" }, row.site),
    );
    return { tr, cells, size: null, status: null };
  }
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }
  function updateRow(row) {
    let view = built.get(row.name);
    if (!view) {
      view = buildRow(row);
      built.set(row.name, view);
    }
    const { cells } = view;
    setText(cells.entries, count(row.entries));
    setText(cells.hit_rate, percent(row.hit_rate));
    setText(cells.hits, count(row.hits));
    setText(cells.misses, count(row.misses));
    setText(cells.p99, duration(row.p99));
    setText(cells.evictions, row.per_minute === undefined ? count(row.evictions) : `${count(row.per_minute)}/min`);
    if (row.evicted_text && cells.evictions.title !== row.evicted_text) cells.evictions.title = row.evicted_text;
    const status = row.alerts ? `${row.alerts} firing` : row.pending ? `${row.pending} pending` : "ok";
    if (status !== view.status) {
      view.status = status;
      const kind = row.alerts ? "firing" : row.pending ? "pending" : "ok";
      const badge = el("span", { class: `badge ${kind}` }, status);
      if (row.alert_text) badge.title = row.alert_text;
      cells.status.replaceChildren(badge);
    }
    const limit = row.max_entries ? [row.entries, row.max_entries] : [row.bytes, row.max_bytes];
    const share = limit[0] !== null && limit[0] !== undefined && limit[1] ? Math.min(1, limit[0] / limit[1]) : null;
    const label = share === null ? null : `${percent(share)} of the limit`;
    if (label !== view.size) {
      view.size = label;
      cells.size.replaceChildren(
        share === null
          ? el("span", { class: "muted" }, row.max_entries || row.max_bytes ? "–" : "unbounded")
          : el("div", { class: share > 0.9 ? "bar high" : "bar", role: "img", "aria-label": label, title: label }, filled(share)),
      );
    }
    return view.tr;
  }
  function render() {
    const needle = filter.value.trim().toLowerCase();
    const shown = [...rows.values()].filter(
      (row) => !needle || `${row.name} ${row.tier} ${row.backend || ""} ${row.site}`.toLowerCase().includes(needle),
    );
    shown.sort((a, b) => {
      const x = a[sort.key] ?? -1;
      const y = b[sort.key] ?? -1;
      const order = typeof x === "string" ? x.localeCompare(y) : x - y;
      return sort.ascending ? order : -order;
    });
    const wanted = shown.map(updateRow);
    if (!wanted.length) wanted.push(empty);
    const current = [...table.children];
    if (current.length !== wanted.length || current.some((node, i) => node !== wanted[i])) {
      table.replaceChildren(...wanted);
    }
    effectiveness();
  }

  function effectiveness() {
    let avoided = 0;
    let saved = 0;
    for (const row of rows.values()) {
      const hits = row.hits + row.coalesced;
      avoided += hits;
      saved += hits * row.load_mean_ns;
    }
    document.getElementById("effectiveness").textContent =
      `Loader calls avoided: ${count(avoided)} (every hit and coalesced get); ` +
      `load time saved: ${saved ? duration(saved) : "– (no load measured yet)"} ` +
      `(hits × each region's mean load time).`;
  }

  for (const button of document.querySelectorAll("th button[data-sort]")) {
    button.addEventListener("click", () => {
      const key = button.dataset.sort;
      sort = { key, ascending: sort.key === key ? !sort.ascending : true };
      for (const th of document.querySelectorAll("#regions th")) th.removeAttribute("aria-sort");
      button.parentElement.setAttribute("aria-sort", sort.ascending ? "ascending" : "descending");
      render();
    });
  }
  filter.addEventListener("input", render);
  render();
  performance.mark("cache-admin:first-render");

  // Each region's alerts, in the Status column.
  alerts.listeners.push((overview) => {
    for (const row of rows.values()) {
      row.alerts = 0;
      row.pending = 0;
      row.alert_text = "";
    }
    for (const alert of [...overview.firing, ...overview.pending]) {
      const row = alert.labels.region && rows.get(alert.labels.region);
      if (!row) continue;
      if (alert.state === "firing") row.alerts += 1;
      else row.pending += 1;
      row.alert_text = [row.alert_text, alertLine(alert)].filter(Boolean).join("; ");
    }
    render();
  });
  loadAlerts();

  // Memory heatmap: each region's size as a share of its limit, a column
  // per second (the last 60).
  const heat = new Map();
  function share(row) {
    if (row.max_entries && row.entries !== null && row.entries !== undefined) return row.entries / row.max_entries;
    if (row.max_bytes && row.bytes !== null && row.bytes !== undefined) return row.bytes / row.max_bytes;
    return null;
  }
  function drawHeatmap() {
    const map = document.getElementById("heatmap");
    const names = [...rows.keys()].filter((name) => share(rows.get(name)) !== null).sort();
    const make = svg;
    const cell = 10;
    const left = 160;
    map.setAttribute("viewBox", `0 0 ${left + 60 * cell} ${Math.max(1, names.length) * (cell + 4)}`);
    const children = [];
    names.forEach((name, row) => {
      const y = row * (cell + 4);
      children.push(make("text", { x: 0, y: y + cell }, name));
      (heat.get(name) || []).forEach((value, column) => {
        // Light (empty) to dark (at the limit); a shade per tenth.
        const level = Math.min(10, Math.round(value * 10));
        const lightness = 95 - level * 6;
        children.push(
          make("rect", { class: "cell", x: left + column * cell, y, width: cell, height: cell, fill: `hsl(210 70% ${lightness}%)` }),
        );
      });
    });
    map.replaceChildren(...children);
    const table = document.querySelector("#heatmap-table tbody");
    table.replaceChildren(
      ...names.map((name) => {
        const values = heat.get(name) || [];
        return el(
          "tr",
          {},
          el("th", { scope: "row" }, name),
          el("td", { class: "num" }, percent(values[values.length - 1])),
          el("td", { class: "num" }, percent(values.length ? Math.max(...values) : null)),
        );
      }),
    );
    document.getElementById("heatmap-text").textContent = names.length
      ? `${names.length} limited region(s); the fullest now: ${names
          .map((name) => [name, share(rows.get(name))])
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([name, value]) => `${name} ${percent(value)}`)
          .join(", ")}.`
      : "No region has a limit.";
  }
  drawHeatmap();

  // The fleet's figures, when the service shares its counters through
  // Redis (the section stays hidden otherwise).
  async function loadFleet() {
    if (pause.paused) return;
    const reply = await api("GET", `${API}/fleet`);
    const section = document.getElementById("fleet");
    if (!reply.ok) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    document.querySelector("#fleet-table tbody").replaceChildren(
      ...reply.body.map((view) =>
        el(
          "tr",
          { "data-region": view.region },
          el("th", { scope: "row" }, view.region),
          el("td", { class: "num" }, count(view.hits)),
          el("td", { class: "num" }, count(view.misses)),
          el("td", { class: "num" }, percent(view.hit_rate)),
          el("td", { class: "num" }, count(view.loads_succeeded + view.loads_failed)),
          el("td", { class: "num" }, count(view.l2_errors)),
        ),
      ),
    );
  }
  loadFleet();
  const fleetTimer = setInterval(loadFleet, 10000);
  addEventListener("pagehide", () => clearInterval(fleetTimer));

  const abort = new AbortController();
  follow(
    (name, data) => {
      if (name === "alert") {
        onAlertEvent(data);
        return;
      }
      if (name !== "stats" || pause.paused) return;
      for (const tick of JSON.parse(data)) {
        const row = rows.get(tick.region);
        if (!row) continue;
        Object.assign(row, {
          hits: tick.hits,
          misses: tick.misses,
          coalesced: tick.coalesced,
          hit_rate: tick.hit_rate,
          entries: tick.entries,
          bytes: tick.bytes,
          evictions: tick.evictions,
          p99: tick.p99_ns,
        });
        // Evictions per minute, by cause, over the last minute seen.
        row.window = row.window || [];
        row.window.push({ at: Date.now(), evicted: tick.evicted });
        if (row.window.length > 61) row.window.shift();
        const first = row.window[0];
        const minutes = Math.max(1 / 60, (Date.now() - first.at) / 60000);
        const rate = (cause) => (tick.evicted[cause] - first.evicted[cause]) / minutes;
        row.per_minute = Math.round(rate("expired") + rate("idle") + rate("size"));
        row.evicted_text = `per minute: expired ${rate("expired").toFixed(0)}, idle ${rate("idle").toFixed(0)}, size ${rate("size").toFixed(0)}`;
        const value = share(row);
        if (value !== null) {
          const values = heat.get(tick.region) || [];
          values.push(Math.min(1, value));
          if (values.length > 60) values.shift();
          heat.set(tick.region, values);
        }
      }
      const started = performance.now();
      render();
      drawHeatmap();
      performance.measure("cache-admin:update", { start: started });
      liveStatus(`Live · updated ${new Date().toLocaleTimeString()}`);
    },
    abort.signal,
    liveStatus,
  );
  addEventListener("pagehide", () => abort.abort());
}

/** Draws `points` (one object per second) as one line per series. */
function drawLine(target, shown, chart) {
  if (!target) return;
  // One second is drawn as a flat segment rather than an invisible point.
  const points = shown.length === 1 ? [shown[0], shown[0]] : shown;
  const width = 600;
  const height = 160;
  const values = points.flatMap((p) => chart.series.map(([key]) => p[key] || 0));
  const top = chart.max || Math.max(1, ...values);
  const span = Math.max(1, points.length - 1);
  const x = (i) => 44 + (i / span) * (width - 48);
  const y = (v) => height - 16 - ((v || 0) / top) * (height - 28);
  const make = svg;
  const format = chart.format || count;
  const children = [
    make("text", { x: 2, y: 12 }, `${format(top)}${chart.unit}`),
    make("text", { x: 2, y: height - 4 }, "0"),
    make("line", { x1: 44, x2: width, y1: height - 16, y2: height - 16, class: "axis" }),
  ];
  chart.series.forEach(([key], index) => {
    const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
    children.push(make("polyline", { class: `series s${index}`, points: line }));
  });
  if (chart.threshold !== undefined && chart.threshold !== null) {
    const at = y(chart.threshold).toFixed(1);
    children.push(make("line", { x1: 44, x2: width, y1: at, y2: at, class: "threshold" }));
    children.push(make("text", { x: 48, y: Number(at) - 3, class: "threshold" }, chart.thresholdLabel || "alert"));
  }
  target.replaceChildren(...children);
}

// ---- one region ----------------------------------------------------------

async function regionPage() {
  const id = main.dataset.region;
  const path = `${API}/${encodeURIComponent(id)}`;
  const pause = pauseControl();
  const detail = await api("GET", `${API}/regions/${encodeURIComponent(id)}`);
  if (!detail.ok) {
    document.getElementById("summary").textContent = errorText(detail);
    return;
  }
  const region = detail.body;
  document.title = `${region.name} · cache-admin`;
  const summary = document.getElementById("summary");
  function showSummary() {
    summary.textContent =
      `${region.tier}${region.backend ? ` (${region.backend})` : ""} · ${count(region.entries)} entries · ` +
      `hit rate ${percent(region.hit_rate)} · declared at ${region.site}` +
      (region.sensitive ? " · sensitive: keys and values are never shown" : "");
  }
  showSummary();

  const settings = document.querySelector("#settings tbody");
  const current = {};
  settings.replaceChildren(
    ...region.fields.map((field) => {
      current[field.field] = field.value;
      return el("tr", {}, el("th", { scope: "row" }, field.field), el("td", {}, field.value), el("td", { class: "muted" }, field.source));
    }),
  );

  // Live charts from the stats ticks: gets per second, latency, entries
  // vs limit, evictions per second by cause, and which level answered.
  const limit = region.max_entries;
  const charts = {
    gets: { series: [["hits", "hits"], ["misses", "misses"]], unit: "/s" },
    rate: { series: [["rate", "hit rate"]], unit: " %", max: 100 },
    latency: { series: [["p50", "p50"], ["p95", "p95"], ["p99", "p99"]], unit: "", format: duration },
    entries: { series: limit ? [["entries", "entries"], ["limit", "limit"]] : [["entries", "entries"]], unit: "" },
    evictions: { series: [["expired", "expired"], ["idle", "idle"], ["size", "size"]], unit: "/s" },
  };
  const seconds = [];
  let last = null;
  function drawAll() {
    for (const [name, chart] of Object.entries(charts)) {
      const points = seconds.map((h) => h[name]);
      drawLine(document.getElementById(`chart-${name}`), points, chart);
      const now = points[points.length - 1];
      const text = document.getElementById(`chart-${name}-text`);
      if (now && text) {
        const format = chart.format || count;
        text.textContent =
          `Now: ${chart.series.map(([key, label]) => `${label} ${format(now[key])}${chart.unit}`).join(", ")} ` +
          `(${points.length} s shown).${text.dataset.threshold || ""}`;
      }
    }
    const tiers = document.getElementById("tiers");
    if (last && last.l1_hits !== undefined) {
      const total = last.l1_hits + last.l2_hits;
      tiers.textContent = total
        ? `Hits answered by memory: ${percent(last.l1_hits / total)} (${count(last.l1_hits)}); by the second level: ${percent(last.l2_hits / total)} (${count(last.l2_hits)}).`
        : "No hit yet.";
    } else if (last) {
      tiers.textContent = "One level: every hit is answered by it.";
    }
  }

  // This region's alerts, and the hit-rate rule's threshold on its chart.
  alerts.listeners.push((overview) => {
    const mine = [...overview.firing, ...overview.pending].filter((alert) => alert.labels.region === id);
    document.getElementById("region-alerts").replaceChildren(
      ...(mine.length
        ? mine.map((alert) =>
            el("li", {}, el("span", { class: `badge ${alert.state}` }, alert.state), " ", alertLine(alert),
              alert.silenced_by && alert.silenced_by.length ? " (silenced)" : ""),
          )
        : [el("li", { class: "muted" }, "None firing or pending.")]),
    );
  });
  loadAlerts();
  api("GET", `${API}/alerts/rules`).then((reply) => {
    if (!reply.ok) return;
    const rule = reply.body.rules.rules.find((r) => r.kind === "hit_rate_low" && r.enabled);
    if (!rule || (rule.regions && rule.regions.length && !rule.regions.includes(id))) return;
    const overrides = rule.overrides || {};
    const own = overrides[id] || {};
    const tier = overrides[`tier:${region.tier}`] || {};
    if (own.enabled === false || (own.enabled === undefined && tier.enabled === false)) return;
    const threshold = own.threshold ?? tier.threshold ?? rule.threshold;
    charts.rate.threshold = threshold * 100;
    charts.rate.thresholdLabel = `alert below ${(threshold * 100).toFixed(0)} % (${rule.id})`;
    const text = document.getElementById("chart-rate-text");
    text.dataset.threshold = ` The alert threshold is ${(threshold * 100).toFixed(0)} %.`;
    drawAll();
  });

  // History from the API (kept across restarts): hits and misses per point.
  const historyChart = { series: [["hits", "hits"], ["misses", "misses"]], unit: "" };
  const rangeSelect = document.getElementById("history-range");
  async function loadHistoryChart() {
    const reply = await api("GET", `${API}/statistics/${encodeURIComponent(id)}/history?range=${rangeSelect.value}`);
    const text = document.getElementById("chart-history-text");
    if (!reply.ok) {
      text.textContent = errorText(reply);
      return;
    }
    const points = reply.body.points;
    drawLine(document.getElementById("chart-history"), points, historyChart);
    const hits = points.reduce((sum, p) => sum + p.hits, 0);
    const misses = points.reduce((sum, p) => sum + p.misses, 0);
    text.textContent = points.length
      ? `${points.length} points of ${reply.body.step_seconds} s from ${new Date(points[0].at_ms).toLocaleString()}: ` +
        `${count(hits)} hits, ${count(misses)} misses (hit rate ${percent(hits + misses ? hits / (hits + misses) : null)}).`
      : "No history yet: points appear every 10 s while the region is used.";
    document.querySelector("#history-table tbody").replaceChildren(
      ...points.slice(-60).reverse().map((p) =>
        el(
          "tr",
          {},
          el("td", {}, new Date(p.at_ms).toLocaleTimeString()),
          el("td", { class: "num" }, count(p.hits)),
          el("td", { class: "num" }, count(p.misses)),
          el("td", { class: "num" }, count(p.evictions_expired + p.evictions_idle + p.evictions_size)),
          el("td", { class: "num" }, count(p.entries)),
          el("td", { class: "num" }, duration(p.p99_ns)),
        ),
      ),
    );
  }
  rangeSelect.addEventListener("change", loadHistoryChart);
  loadHistoryChart();
  const historyTimer = setInterval(() => {
    if (!pause.paused) loadHistoryChart();
  }, 30000);
  addEventListener("pagehide", () => clearInterval(historyTimer));

  const abort = new AbortController();
  follow(
    (name, data) => {
      if (name === "alert") {
        onAlertEvent(data);
        return;
      }
      if (name !== "stats") return;
      const tick = JSON.parse(data).find((t) => t.region === id);
      if (!tick) return;
      if (last) {
        const per = (now, before) => Math.max(0, now - before);
        seconds.push({
          gets: { hits: per(tick.hits, last.hits), misses: per(tick.misses, last.misses) },
          // Each second's own hit rate (gets that ran no loader), in percent.
          rate: (() => {
            const hits = per(tick.hits, last.hits) + per(tick.coalesced, last.coalesced);
            const gets = hits + per(tick.misses, last.misses);
            return { rate: gets ? Math.round((hits / gets) * 100) : 0 };
          })(),
          latency: { p50: tick.p50_ns, p95: tick.p95_ns, p99: tick.p99_ns },
          entries: { entries: tick.entries ?? 0, limit: limit ?? 0 },
          evictions: {
            expired: per(tick.evicted.expired, last.evicted.expired),
            idle: per(tick.evicted.idle, last.evicted.idle),
            size: per(tick.evicted.size, last.evicted.size),
          },
        });
        if (seconds.length > 120) seconds.shift();
      }
      last = tick;
      if (pause.paused) return;
      Object.assign(region, { entries: tick.entries, hit_rate: tick.hit_rate });
      showSummary();
      drawAll();
      liveStatus(`Live · updated ${new Date().toLocaleTimeString()}`);
    },
    abort.signal,
    liveStatus,
  );
  addEventListener("pagehide", () => abort.abort());

  // Clear, with the region's name typed to confirm.
  const clear = document.getElementById("clear");
  clear.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = clear.querySelector(".status");
    if (clear.elements.confirm.value !== id) {
      status.className = "status error";
      status.textContent = `Type “${id}” exactly to confirm.`;
      clear.elements.confirm.focus();
      return;
    }
    const pattern = clear.elements.pattern.value.trim();
    const scope = clear.elements.fleet.checked ? "fleet" : "instance";
    const reply = await api("POST", `${path}/clear?scope=${scope}`, {
      pattern: pattern || null,
      reason: "dashboard",
    });
    status.className = reply.ok ? "status ok" : "status error";
    status.textContent = reply.ok
      ? `Removed ${count(reply.body.removed)} entries${reply.body.fleet ? `; ${reply.body.fleet.answered} of ${reply.body.fleet.reached} other instances answered` : ""}.`
      : errorText(reply);
    clear.elements.confirm.value = "";
    loadAudit();
  });

  // Policy: a diff before applying, the API's errors inline.
  const policy = document.getElementById("policy");
  const diff = policy.querySelector(".diff");
  function changes() {
    const out = {};
    for (const field of ["ttl", "tti", "memory_ttl", "max_entries", "max_bytes", "eviction", "compression", "enabled", "fail_safe"]) {
      const value = policy.elements[field].value.trim();
      if (value && value !== current[field]) out[field] = value;
    }
    return out;
  }
  policy.addEventListener("input", () => {
    const change = changes();
    diff.textContent = Object.keys(change).length
      ? Object.entries(change).map(([k, v]) => `${k}: ${current[k] ?? "–"} → ${v}`).join("; ")
      : "";
  });
  policy.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = policy.querySelector(".status");
    const change = changes();
    if (!Object.keys(change).length) {
      status.className = "status muted";
      status.textContent = "Nothing to change.";
      return;
    }
    const reply = await api("PUT", `${path}/policy`, { ...change, reason: policy.elements.reason.value || "dashboard" });
    status.className = reply.ok ? "status ok" : "status error";
    status.textContent = reply.ok ? `Applied as configuration version ${reply.body.version}.` : errorText(reply);
    if (reply.ok) {
      for (const [k, v] of Object.entries(change)) current[k] = v;
      diff.textContent = "";
      loadHistory();
    }
    loadAudit();
  });

  // Entries, a page at a time.
  const browse = document.getElementById("browse");
  const entries = document.querySelector("#entries tbody");
  const more = document.getElementById("more");
  const entriesStatus = document.getElementById("entries-status");
  let cursor = null;
  async function loadEntries(reset) {
    if (reset) {
      cursor = null;
      entries.replaceChildren();
    }
    const match = browse.elements.match.value.trim();
    // Like SCAN, a page may come back empty with a cursor to go on from:
    // go on (a few times) rather than show an empty "more".
    let reply;
    for (let tries = 0; tries < 20; tries += 1) {
      const query = new URLSearchParams({ limit: "50" });
      if (match) query.set("match", match);
      if (cursor) query.set("cursor", cursor);
      reply = await api("GET", `${path}/entries?${query}`);
      if (!reply.ok || reply.body.entries.length || !reply.body.next) break;
      cursor = reply.body.next;
    }
    if (!reply.ok) {
      more.hidden = true;
      entriesStatus.className = "status error";
      entriesStatus.textContent =
        reply.body && reply.body.error && reply.body.error.code === "sensitive_region"
          ? "This region is sensitive: its keys and values are never shown."
          : errorText(reply);
      return;
    }
    entriesStatus.className = "status muted";
    for (const entry of reply.body.entries) {
      const value =
        entry.value === undefined || entry.value === null
          ? el("span", { class: "muted" }, "(shown to admin tokens)")
          : el("pre", { class: "value" }, JSON.stringify(entry.value, null, 2) + (entry.truncated ? "\n…" : ""));
      const remove = el("button", { type: "button", class: "secondary" }, "Delete");
      remove.setAttribute("aria-label", `Delete ${entry.key}`);
      const row = el(
        "tr",
        {},
        el("th", { scope: "row" }, entry.key),
        el("td", { class: "num" }, count(entry.size)),
        el("td", { class: "num" }, entry.ttl_left_ms === null || entry.ttl_left_ms === undefined ? "–" : `${(entry.ttl_left_ms / 1000).toFixed(0)} s`),
        el("td", {}, entry.tier),
        el("td", {}, value),
        el("td", {}, remove),
      );
      remove.addEventListener("click", async () => {
        const reply = await api("DELETE", `${path}/entries/${encodeURIComponent(entry.key)}`);
        entriesStatus.textContent = reply.ok ? `Deleted ${entry.key}.` : errorText(reply);
        if (reply.ok) row.remove();
      });
      entries.append(row);
    }
    cursor = reply.body.next || null;
    more.hidden = !cursor;
    entriesStatus.textContent = `${entries.children.length} entries shown${cursor ? "; more to load" : ""}.`;
  }
  browse.addEventListener("submit", (event) => {
    event.preventDefault();
    loadEntries(true);
  });
  more.addEventListener("click", () => loadEntries(false));
  loadEntries(true);

  // History (rollback) and this region's audit trail.
  const history = document.querySelector("#history tbody");
  async function loadHistory() {
    const reply = await api("GET", `${API}/history`);
    if (!reply.ok) return;
    history.replaceChildren(
      ...reply.body
        .slice()
        .reverse()
        .slice(0, 20)
        .map((record) => {
          const back = el("button", { type: "button", class: "secondary" }, `Roll back to ${record.version}`);
          back.addEventListener("click", async () => {
            const status = document.getElementById("history-status");
            const done = await api("POST", `${API}/rollback/${record.version}`, { reason: "dashboard" });
            status.className = done.ok ? "status ok" : "status error";
            status.textContent = done.ok ? `Rolled back to version ${record.version}.` : errorText(done);
            loadHistory();
            loadAudit();
          });
          const what = (record.changes || []).map((c) => `${c.region}.${c.field}: ${c.before} → ${c.after}`).join("; ");
          return el("tr", {}, el("td", {}, record.version), el("td", {}, record.actor), el("td", {}, what), el("td", {}, back));
        }),
    );
  }
  const audit = document.querySelector("#audit tbody");
  async function loadAudit() {
    const reply = await api("GET", `${API}/audit?region=${encodeURIComponent(id)}`);
    if (!reply.ok) return;
    audit.replaceChildren(
      ...reply.body
        .slice()
        .reverse()
        .slice(0, 50)
        .map((record) =>
          el(
            "tr",
            {},
            el("td", {}, new Date(record.at_unix_ms).toLocaleString()),
            el("td", {}, record.actor),
            el("td", {}, `${record.action}: ${record.detail}`),
            el("td", {}, record.result),
          ),
        ),
    );
  }
  loadHistory();
  loadAudit();
}


// ---- alerts page -----------------------------------------------------------

function since(ms) {
  return ms ? new Date(ms).toLocaleString() : "–";
}

async function alertsPage() {
  function drawOverview(overview) {
    const firing = overview.firing.length;
    const pending = overview.pending.length;
    document.getElementById("alerts-summary").textContent =
      `${firing} firing, ${pending} pending; rules version ${overview.version}` +
      (overview.fleet_member ? `; shared by the fleet (${overview.notifying ? "this instance notifies" : "another instance notifies"})` : "") +
      (overview.warnings.length ? `; problems: ${overview.warnings.join("; ")}` : "") +
      ".";
    const active = [...overview.firing, ...overview.pending];
    document.querySelector("#active tbody").replaceChildren(
      ...(active.length
        ? active.map((alert) =>
            el(
              "tr",
              { "data-fingerprint": alert.fingerprint },
              el("td", {}, el("span", { class: `badge ${alert.state}` }, alert.state)),
              el("th", { scope: "row" }, alert.labels.alertname, el("span", { class: "muted" }, ` (${alert.labels.severity})`)),
              el("td", {}, alert.labels.region
                ? el("a", { href: `/regions/${encodeURIComponent(alert.labels.region)}` }, subject(alert.labels))
                : subject(alert.labels)),
              el("td", { class: "num" }, alertValue(alert.value)),
              el("td", { class: "num" }, String(alert.threshold)),
              el("td", {}, since(alert.firing_since_ms || alert.active_since_ms)),
              el("td", {}, alert.silenced_by && alert.silenced_by.length
                ? `silenced (${alert.silenced_by.join(", ")})`
                : alert.inhibited_by ? `inhibited by ${alert.inhibited_by}` : "–"),
            ),
          )
        : [el("tr", {}, el("td", { colspan: 7, class: "muted" }, "Nothing firing or pending."))]),
    );
    document.querySelector("#silences tbody").replaceChildren(
      ...(overview.silences.length
        ? overview.silences.map((silence) => {
            const matchers = silence.matchers.map((m) => `${m.name}${m.negate ? "!=" : "="}${m.value}`).join(", ");
            const end = el("button", { type: "button", class: "secondary" }, "Expire");
            end.setAttribute("aria-label", `Expire the silence of ${matchers}`);
            end.disabled = silence.expired;
            end.addEventListener("click", async () => {
              const reply = await api("DELETE", `${API}/alerts/silences/${encodeURIComponent(silence.id)}`);
              const status = document.querySelector("#silence .status");
              status.className = reply.ok ? "status ok" : "status error";
              status.textContent = reply.ok ? `Silence of ${matchers} expired.` : errorText(reply);
              loadAlerts();
            });
            return el(
              "tr",
              { "data-silence": silence.id },
              el("td", {}, matchers),
              el("td", {}, since(silence.ends_at_ms)),
              el("td", {}, silence.created_by),
              el("td", {}, silence.comment),
              el("td", {}, silence.active ? "active" : silence.expired ? "expired" : "scheduled"),
              el("td", {}, end),
            );
          })
        : [el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No silence."))]),
    );
    document.querySelector("#channels tbody").replaceChildren(
      ...(overview.channels.length
        ? overview.channels.map((channel) => {
            const test = el("button", { type: "button", class: "secondary" }, "Send a test");
            test.setAttribute("aria-label", `Send a test notification to ${channel.id}`);
            test.addEventListener("click", async () => {
              const status = document.getElementById("channels-status");
              status.className = "status muted";
              status.textContent = `Sending a test to ${channel.id}…`;
              const reply = await api("POST", `${API}/alerts/channels/${encodeURIComponent(channel.id)}/test`);
              if (!reply.ok) {
                status.className = "status error";
                status.textContent = errorText(reply);
              } else {
                status.className = reply.body.delivered ? "status ok" : "status error";
                status.textContent = `${channel.id}: ${reply.body.delivered ? "delivered" : "not delivered"} (${reply.body.detail}).`;
              }
              loadAlerts();
            });
            return el(
              "tr",
              { "data-channel": channel.id },
              el("th", { scope: "row" }, channel.id),
              el("td", {}, channel.kind),
              el("td", { class: "num" }, count(channel.sent)),
              el("td", { class: "num" }, count(channel.failed)),
              el("td", {}, channel.last_error || "–"),
              el("td", {}, test),
            );
          })
        : [el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No channel: add one to the rules below."))]),
    );
    document.querySelector("#changes tbody").replaceChildren(
      ...overview.history.slice(0, 50).map((change) =>
        el("tr", {}, el("td", {}, since(change.at_ms)), el("td", {}, change.alert.state), el("td", {}, alertLine(change.alert))),
      ),
    );
  }
  alerts.listeners.push(drawOverview);
  await loadAlerts();

  // A silence from matchers typed as text.
  const silence = document.getElementById("silence");
  silence.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = silence.querySelector(".status");
    const matchers = [];
    for (const part of silence.elements.matchers.value.split(",").map((p) => p.trim()).filter(Boolean)) {
      const negate = part.includes("!=");
      const [name, value] = negate ? part.split("!=") : part.split("=");
      if (!name || value === undefined) {
        status.className = "status error";
        status.textContent = `“${part}” is not label=value or label!=value.`;
        silence.elements.matchers.focus();
        return;
      }
      matchers.push({ name: name.trim(), value: value.trim(), negate });
    }
    const reply = await api("POST", `${API}/alerts/silences`, {
      matchers,
      duration_secs: Number(silence.elements.duration.value),
      comment: silence.elements.comment.value,
    });
    status.className = reply.ok ? "status ok" : "status error";
    status.textContent = reply.ok ? `Silenced until ${since(reply.body.ends_at_ms)}.` : errorText(reply);
    if (reply.ok) silence.reset();
    loadAlerts();
  });

  // The rules document, changed as a whole against its version.
  const rules = document.getElementById("rules");
  let version = null;
  async function loadRules() {
    const reply = await api("GET", `${API}/alerts/rules`);
    if (!reply.ok) return;
    version = reply.body.version;
    rules.elements.document.value = JSON.stringify(reply.body.rules, null, 2);
  }
  rules.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = rules.querySelector(".status");
    const problems = rules.querySelector(".problems");
    problems.replaceChildren();
    let document_;
    try {
      document_ = JSON.parse(rules.elements.document.value);
    } catch (error) {
      status.className = "status error";
      status.textContent = `Not JSON: ${error.message}`;
      return;
    }
    const reply = await api("PUT", `${API}/alerts/rules`, document_, { "If-Match": `"${version}"` });
    status.className = reply.ok ? "status ok" : "status error";
    if (reply.ok) {
      version = reply.body.version;
      status.textContent = `Applied as version ${version}.`;
    } else {
      const error = reply.body && reply.body.error;
      status.textContent = error ? error.message : `HTTP ${reply.status}`;
      problems.replaceChildren(...((error && error.problems) || []).map((p) => el("li", {}, `${p.field}: ${p.message}`)));
    }
    loadAlerts();
  });
  loadRules();

  const abort = new AbortController();
  follow(
    (name, data) => {
      if (name === "alert") onAlertEvent(data);
    },
    abort.signal,
    liveStatus,
  );
  addEventListener("pagehide", () => abort.abort());
}

// ---- start ---------------------------------------------------------------

const signOut = document.getElementById("sign-out");
if (signOut) {
  signOut.addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN);
    location.assign("/login");
  });
}
if (page === "login") {
  loginPage();
} else if (!token()) {
  location.assign("/login");
} else if (page === "regions") {
  regionsPage();
} else if (page === "region") {
  regionPage();
} else if (page === "alerts") {
  alertsPage();
}
