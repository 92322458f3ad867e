// The operations dashboard: polls the staff APIs and redraws charts, tiles and alerts.
// Every text from the server goes in with textContent, never innerHTML.
(function () {
  "use strict";
  const refreshSeconds = JSON.parse(document.getElementById("ops-refresh").textContent) || 10;
  const csrfToken = document.querySelector("#ops-alerts input[name=csrfmiddlewaretoken]").value;
  let range = "1h";
  const charts = {};
  const colors = ["#3451b2", "#c2410c", "#15803d", "#7e22ce"];

  function dataset(label, color, extra) {
    return Object.assign({
      label, data: [], borderColor: color, backgroundColor: color,
      borderWidth: 1.5, pointRadius: 0, spanGaps: false, tension: 0.2,
    }, extra);
  }

  function lineChart(id, datasets, yTitle, suggestedMax) {
    const canvas = document.getElementById(id);
    if (!canvas || typeof Chart === "undefined") return null;
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: [],
        datasets: datasets.map((label, i) => dataset(label, colors[i])),
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { type: "category", ticks: { maxTicksLimit: 8, autoSkip: true } },
          y: { type: "linear", beginAtZero: true, suggestedMax, title: { display: true, text: yTitle } },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  charts.system = lineChart("chart-system", ["CPU %", "Memory %", "Redis memory %"], "%", 100);
  charts.requests = lineChart("chart-requests", ["requests/s"], "req/s");
  charts.latency = lineChart("chart-latency", ["p50", "p95", "p99"], "ms");
  charts.errors = lineChart("chart-errors", ["5xx %"], "%", 5);
  charts.redis = lineChart("chart-redis", ["ops/s", "clients"], "count");

  function setChart(chart, labels, series) {
    if (!chart) return;
    chart.data.labels = labels;
    series.forEach((values, i) => { chart.data.datasets[i].data = values; });
    chart.update();
  }

  // One host: the system chart is that host. Several: a line per host for CPU (solid)
  // and memory (dashed) in a chart of their own.
  function setHosts(labels, hosts) {
    const names = Object.keys(hosts);
    const several = names.length > 1;
    document.getElementById("ops-hosts").hidden = !several;
    if (!several) return;
    if (!charts.hosts) charts.hosts = lineChart("chart-hosts", [], "%", 100);
    if (!charts.hosts) return;
    charts.hosts.data.labels = labels;
    charts.hosts.data.datasets = names.flatMap((host, i) => [
      dataset("CPU % " + host, colors[i % colors.length], { data: hosts[host].cpu_usage }),
      dataset("memory % " + host, colors[i % colors.length], { data: hosts[host].memory_usage, borderDash: [4, 3] }),
    ]);
    charts.hosts.update();
  }

  async function getJSON(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) {
      let reason = response.status + "";
      try { reason += ": " + (await response.json()).error; } catch (e) { /* not JSON */ }
      const error = new Error(reason);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  function showOutage(message) {
    const box = document.getElementById("ops-outage");
    box.hidden = !message;
    document.getElementById("ops-outage-detail").textContent = message || "";
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text == null ? "–" : String(text);
    row.appendChild(td);
    return td;
  }

  function pill(td, text, kind) {
    td.textContent = "";
    const span = document.createElement("span");
    span.className = "pill " + kind;
    span.textContent = text;
    td.appendChild(span);
  }

  function renderActive(active) {
    const body = document.querySelector("#active-alerts tbody");
    body.textContent = "";
    if (!active.length) {
      const row = body.insertRow();
      const td = cell(row, "No active alerts.", "muted");
      td.colSpan = 6;
      return;
    }
    for (const alert of active) {
      const row = body.insertRow();
      pill(cell(row, ""), alert.severity, alert.severity);
      cell(row, alert.type);
      cell(row, alert.message);
      cell(row, alert.timestamp, "small");
      const state = cell(row, "");
      if (alert.acknowledged_by) {
        pill(state, "acknowledged", "acknowledged");
        const who = document.createElement("span");
        who.className = "small muted";
        who.textContent = " by " + alert.acknowledged_by + " at " + alert.acknowledged_at;
        state.appendChild(who);
      } else {
        pill(state, "active", "active");
      }
      const action = cell(row, "");
      action.textContent = "";
      if (!alert.acknowledged_by) {
        const form = document.createElement("form");
        form.method = "post";
        form.className = "inline";
        form.action = "/operations/alerts/" + encodeURIComponent(alert.id) + "/acknowledge";
        const token = document.createElement("input");
        token.type = "hidden"; token.name = "csrfmiddlewaretoken"; token.value = csrfToken;
        const button = document.createElement("button");
        button.type = "submit"; button.className = "button small"; button.textContent = "Acknowledge";
        form.append(token, button);
        action.appendChild(form);
      }
    }
  }

  function renderHistory(history) {
    const body = document.querySelector("#alert-history tbody");
    body.textContent = "";
    if (!history.length) {
      const td = cell(body.insertRow(), "No alerts yet.", "muted");
      td.colSpan = 6;
      return;
    }
    for (const alert of history) {
      const row = body.insertRow();
      const when = alert.state === "resolved" ? alert.resolved_at
        : alert.state === "acknowledged" ? alert.acknowledged_at : alert.timestamp;
      cell(row, when, "small");
      pill(cell(row, ""), alert.state, alert.state);
      cell(row, alert.severity);
      cell(row, alert.type);
      cell(row, (alert.value == null ? "–" : alert.value) + " / " + alert.threshold);
      cell(row, alert.message);
    }
  }

  // The tiles and the Redis table's ops/s and clients: one sample each, from one response.
  function renderTiles(latest) {
    document.querySelectorAll("[data-latest], [data-latest-of]").forEach((el) => {
      const value = latest[el.dataset.latest || el.dataset.latestOf];
      el.textContent = value == null ? "–" : (Math.round(value * 10) / 10) + (el.dataset.unit ? " " + el.dataset.unit : "");
    });
  }

  function renderRedis(info) {
    const set = (name, text) => {
      const el = document.querySelector('[data-info="' + name + '"]');
      if (el) el.textContent = text;
    };
    const m = info.memory;
    set("version", info.version + " (" + info.mode + ")");
    set("modules", info.modules.join(", "));
    set("memory", m.used_human + " of " + (m.maxmemory_bytes ? m.maxmemory_human + " (" + m.used_percent + " %)" : "no maxmemory"));
    set("policy", m.policy);
    set("keys", Object.entries(info.keys_per_store).map(([s, n]) => s + ": " + (n == null ? "?" : n)).join(", "));
    const p = info.persistence;
    const saved = p.rdb_last_save_time ? new Date(p.rdb_last_save_time * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "never";
    set("persistence", "AOF " + (p.aof_enabled ? "on" : "off") + " (last write " + p.aof_last_write_status +
      "); last save " + saved + "; last bgsave " + p.rdb_last_bgsave_status);
  }

  async function refresh() {
    const q = "?range=" + encodeURIComponent(range);
    try {
      const [system, perf, alerts, info] = await Promise.all([
        getJSON("/api/operations/system-metrics" + q),
        getJSON("/api/operations/performance-metrics" + q),
        getJSON("/api/operations/alerts?limit=30"),
        getJSON("/api/operations/redis-info"),
      ]);
      const s = system.series;
      setChart(charts.system, system.labels, [s.cpu_usage, s.memory_usage, s.redis_memory]);
      setChart(charts.redis, system.labels, [s.redis_ops_per_sec, s.redis_clients]);
      setHosts(system.labels, system.hosts);
      setChart(charts.requests, perf.labels, [perf.requests_per_second]);
      setChart(charts.latency, perf.labels, [perf.latency_ms.p50, perf.latency_ms.p95, perf.latency_ms.p99]);
      setChart(charts.errors, perf.labels, [perf.error_rate]);
      renderTiles(system.latest);
      renderActive(alerts.active);
      renderHistory(alerts.history);
      renderRedis(info);
      showOutage(null);
      document.getElementById("ops-updated").textContent =
        "Updated " + new Date().toLocaleTimeString() + " · refreshes every " + refreshSeconds + " s";
    } catch (error) {
      if (error.status === 401 || error.status === 403) { window.location.reload(); return; }
      showOutage(error.message);
    }
  }

  document.querySelectorAll(".ranges button").forEach((button) => {
    button.addEventListener("click", () => {
      range = button.dataset.range;
      document.querySelectorAll(".ranges button").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      refresh();
    });
  });

  refresh();
  setInterval(refresh, refreshSeconds * 1000);
})();
