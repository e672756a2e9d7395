/* The executions page: filters in the URL, a live first page, older pages by cursor. */
"use strict";
TB.pages.executions = function (main) {
  const h = TB.h;
  const params = new URLSearchParams(location.search);
  const SINCE = [["", "any time"], ["900", "last 15 min"], ["3600", "last hour"],
                 ["86400", "last 24 h"], ["604800", "last 7 days"]];
  const filters = { status: params.get("status") || "", task: params.get("task") || "",
                    queue: params.get("queue") || "", within: params.get("within") || "",
                    id: params.get("id") || "" };
  let rows = [];
  let cursor = null;
  let extended = false;

  const statusSelect = h("select", { name: "status" },
    h("option", { value: "", text: "all" }),
    TB.STATUSES.map((s) => h("option", { value: s, text: s.toLowerCase() })),
    h("option", { value: "PENDING,RETRYING", text: "waiting" }));
  statusSelect.value = filters.status;
  if (statusSelect.value !== filters.status) {
    statusSelect.append(h("option", { value: filters.status, text: filters.status }));
    statusSelect.value = filters.status;
  }
  const taskInput = h("input", { name: "task", value: filters.task, list: "task-names", placeholder: "any task", size: 18 });
  const taskNames = h("datalist", { id: "task-names" });
  const queueInput = h("input", { name: "queue", value: filters.queue, placeholder: "any queue", size: 10 });
  const within = h("select", { name: "within" }, SINCE.map(([v, t]) => h("option", { value: v, text: t })));
  within.value = filters.within;
  const idInput = h("input", { name: "id", value: filters.id, placeholder: "id or start of one", size: 22, class: "mono" });
  const form = h("form.filters", { role: "search", onsubmit: (e) => { e.preventDefault(); apply(); } },
    h("label", {}, "Status", statusSelect), h("label", {}, "Task", taskInput, taskNames),
    h("label", {}, "Queue", queueInput), h("label", {}, "Enqueued", within),
    h("label", {}, "Search id", idInput),
    h("button.primary", { type: "submit", text: "Apply" }),
    h("button", { type: "button", text: "Clear", onclick: () => { form.reset(); for (const el of form.elements) if (el.name) el.value = ""; apply(); } }));
  statusSelect.addEventListener("change", apply);
  within.addEventListener("change", apply);

  const list = h("div", { id: "executions" });
  const more = h("div.more");
  const summary = h("span.muted", { id: "summary" });
  TB.replace(main, h("h1", {}, "Executions", summary), h("section.panel", {}, form),
             h("section.panel", {}, list, more));

  function apply() {
    for (const key of Object.keys(filters)) filters[key] = (form.elements[key].value || "").trim();
    history.replaceState(null, "", TB.url("executions", filters));
    rows = []; cursor = null; extended = false;
    loop.now();
  }

  function query(extra) {
    const q = { status: filters.status, task: filters.task, queue: filters.queue, id: filters.id, limit: 50 };
    if (filters.within) q.since = String(Date.now() / 1000 - Number(filters.within));
    return "executions?" + new URLSearchParams(Object.entries({ ...q, ...extra }).filter(([, v]) => v)).toString();
  }

  function render() {
    TB.replace(list, TB.table([
      { label: "Status", render: (e) => TB.badge(e.status) },
      { label: "Task", render: (e) => h("span.mono", { text: e.task_name }) },
      { label: "Id", render: (e) => h("a.mono", { href: TB.url("executions/" + encodeURIComponent(e.id)), text: TB.shortId(e.id), title: e.id }) },
      { label: "Queue", phone: false, render: (e) => e.queue },
      { label: "Enqueued", render: (e) => TB.when(e.enqueued_at) },
      { label: "Duration", num: true, render: (e) => TB.duration(e.duration) },
      { label: "Attempts", num: true, phone: false, render: (e) => e.attempts + "/" + e.max_attempts },
      { label: "Outcome", cls: "clip", render: (e) => e.error
          ? h("span.error-text", { text: e.error.type + ": " + e.error.message, title: e.error.message })
          : e.progress && e.status === "RUNNING" ? e.progress.percent + "% " + e.progress.message
          : e.retried_as ? "retried" : "" },
    ].map((c) => c), rows.map((e) => ({ data: e, attrs: { "data-id": e.id, "data-status": e.status } })),
    filters.id ? "No execution has an id starting with that." : "No executions match these filters.", true));
    summary.textContent = rows.length + (cursor ? "+" : "") + " shown";
    TB.replace(more, cursor ? h("button", { text: "Older executions", onclick: older }) : null);
  }

  async function older() {
    const page = await TB.api("GET", query({ cursor }));
    rows = rows.concat(page.items);
    cursor = page.next_cursor;
    extended = true;
    render();
  }

  async function refresh() {
    if (extended) {  // keep older pages as they are; refresh the rows already shown
      const fresh = await Promise.all(rows.slice(0, 50).map((e) =>
        TB.api("GET", "executions/" + encodeURIComponent(e.id)).catch(() => e)));
      rows = fresh.concat(rows.slice(50));
    } else {
      const page = await TB.api("GET", query({}));
      rows = page.items;
      cursor = page.next_cursor;
    }
    render();
  }

  TB.api("GET", "tasks").then((t) => TB.replace(taskNames, t.items.map((k) => h("option", { value: k.name })))).catch(() => {});
  const loop = TB.every(4, refresh);
};
