/* The dashboard page: counts, success rate, charts, queues, workers, failures, tasks. */
"use strict";
TB.pages.overview = function (main) {
  const h = TB.h;
  const WINDOWS = [["15m", "15 min"], ["1h", "1 hour"], ["6h", "6 hours"], ["24h", "24 hours"]];
  let window_ = new URLSearchParams(location.search).get("window") || "1h";

  const picker = h("select", { "aria-label": "Window", onchange: (e) => {
    window_ = e.target.value;
    history.replaceState(null, "", TB.url("", { window: window_ }));
    loop.now();
  } }, WINDOWS.map(([v, t]) => h("option", { value: v, selected: v === window_, text: "Last " + t })));
  const cards = h("div.cards", { id: "counts" });
  const throughput = h("div.chart", { id: "throughput-chart" });
  const failures = h("div.chart", { id: "failures-chart" });
  const failTitle = h("span.muted");
  const doneTitle = h("span.muted");
  const queues = h("div", { id: "queues" });
  const workers = h("div", { id: "workers" });
  const failed = h("div", { id: "recent-failures" });
  const tasks = h("div", { id: "tasks" });
  const updated = h("span.muted", { id: "updated" });

  TB.replace(main,
    h("h1", {}, "Dashboard", picker, updated),
    cards,
    h("div.grid", {},
      h("section.panel", {}, h("div.chart-title", {}, h("h2", { text: "Executions per minute" }), doneTitle), throughput),
      h("section.panel", {}, h("div.chart-title", {}, h("h2", { text: "Failures per minute" }), failTitle), failures)),
    h("div.stack", {},
      h("section.panel", {}, h("h2", { text: "Recent failures" }), failed)),
    h("div.grid", {},
      h("section.panel", {}, h("h2", { text: "Queues" }), queues),
      h("section.panel", {}, h("h2", { text: "Workers" }), workers)),
    h("div.stack", {}, h("section.panel", {}, h("h2", { text: "Tasks" }), tasks)));

  function card(label, value, cls, href) {
    const inner = [h("div.label", { text: label }), h("div.value", { text: value })];
    return h("div.card" + (cls ? "." + cls : ""), { "data-count": label }, href ? h("a", { href }, inner) : inner);
  }

  async function refresh() {
    const [stats, recent, taskList] = await Promise.all([
      TB.api("GET", "statistics?window=" + encodeURIComponent(window_)),
      TB.api("GET", "executions?status=FAILED&limit=8"),
      TB.api("GET", "tasks"),
    ]);
    const w = stats.window_counts, t = stats.totals;
    const windowTotal = Object.values(w).reduce((a, b) => a + b, 0);
    const label = (WINDOWS.find(([v]) => v === window_) || [, window_])[1];
    TB.replace(cards,
      card("Executions, last " + label, TB.number(windowTotal), null),
      card("Succeeded", TB.number(w.SUCCEEDED), "succeeded", TB.url("executions", { status: "SUCCEEDED" })),
      card("Failed", TB.number(w.FAILED), "failed", TB.url("executions", { status: "FAILED" })),
      card("Success rate", TB.percent(stats.success_rate), stats.success_rate !== null && stats.success_rate < 0.95 ? "failed" : "succeeded"),
      card("Running now", TB.number(t.RUNNING), "running", TB.url("executions", { status: "RUNNING" })),
      card("Waiting", TB.number(t.PENDING + t.RETRYING), "pending", TB.url("executions", { status: "PENDING,RETRYING" })),
      card("Failed, all time", TB.number(t.FAILED), t.FAILED ? "failed" : null, TB.url("executions", { status: "FAILED" })));
    const sum = (s) => s.reduce((a, p) => a + p.count, 0);
    doneTitle.textContent = TB.number(sum(stats.throughput)) + " enqueued";
    failTitle.textContent = TB.number(sum(stats.failures)) + " failed";
    TB.replace(throughput, TB.chart(stats.throughput, "area", "executions", throughput.clientWidth));
    TB.replace(failures, TB.chart(stats.failures, "bars", "failures", failures.clientWidth));

    TB.replace(failed, TB.table([
      { label: "Failed", render: (e) => TB.when(e.finished_at || e.enqueued_at) },
      { label: "Task", render: (e) => h("span.mono", { text: e.task_name }) },
      { label: "Error", cls: "clip error-text", render: (e) => e.error ? e.error.type + ": " + e.error.message : "" },
      { label: "Execution", render: (e) => TB.link("executions/" + encodeURIComponent(e.id), TB.shortId(e.id)) },
      { label: "Retried", render: (e) => e.retried_as ? TB.link("executions/" + encodeURIComponent(e.retried_as), "retried → " + TB.shortId(e.retried_as)) : "" },
    ], recent.items, "No failures.", true));

    const queueRows = Object.entries(stats.queues).map(([name, depth]) => ({ name, depth }));
    TB.replace(queues, TB.table([
      { label: "Queue", render: (q) => TB.link("executions", q.name, { queue: q.name }) },
      { label: "Waiting", num: true, render: (q) => q.depth === null ? "unknown" : TB.number(q.depth) },
    ], queueRows, "No queues known."));

    TB.replace(workers, TB.table([
      { label: "Worker", render: (w) => h("span.mono", { text: (w.host || "?") + ":" + (w.pid || "?") }) },
      { label: "Engine", render: (w) => (w.engine || "") + (w.pool ? " · " + w.pool : "") },
      { label: "Slots", num: true, render: (w) => String(w.concurrency ?? "—") },
      { label: "Queues", render: (w) => w.queues.join(", ") },
      { label: "Running", render: (w) => w.current.length
          ? w.current.map((e) => h("div", {}, TB.link("executions/" + encodeURIComponent(e.id), e.task_name)))
          : h("span.muted", { text: "idle" }) },
      { label: "Up since", render: (w) => TB.when(w.started_at) },
    ], stats.workers, "No live workers: start one with `taskbridge worker`."));

    TB.replace(tasks, TB.table([
      { label: "Task", render: (k) => TB.link("executions", k.name, { task: k.name }) },
      { label: "Queue", render: (k) => k.queue },
      { label: "Succeeded", num: true, render: (k) => TB.number(k.counts.SUCCEEDED) },
      { label: "Failed", num: true, render: (k) => k.counts.FAILED ? h("span.error-text", { text: TB.number(k.counts.FAILED) }) : "0" },
      { label: "Waiting", num: true, render: (k) => TB.number(k.counts.PENDING + k.counts.RETRYING + k.counts.RUNNING) },
      { label: "Success", num: true, render: (k) => TB.percent(k.success_rate) },
      { label: "Last run", render: (k) => k.last_run ? h("span.kv", {}, TB.badge(k.last_run.status), TB.when(k.last_run.enqueued_at)) : "never" },
    ], taskList.items, "No tasks registered: start the dashboard with --imports your.tasks."));
    updated.textContent = "updated " + new Date().toLocaleTimeString();
  }

  const loop = TB.every(5, refresh);
};
