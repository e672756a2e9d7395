/* Schedules: the list with next runs and last outcomes, and one form to create or edit. */
"use strict";
TB.pages.schedules = function (main) {
  const h = TB.h;
  const message = h("div", { id: "message" });
  const list = h("div", { id: "schedules" });
  const formPanel = h("section.panel", { id: "schedule-form-panel" });
  let editing = null;
  let taskNames = [];

  TB.replace(main,
    h("h1", {}, "Schedules", h("button.primary", { id: "new-schedule", text: "New schedule", onclick: () => openForm(null) })),
    message, formPanel, h("section.panel", {}, list));
  formPanel.hidden = true;

  function say(text, kind) { TB.replace(message, text ? TB.notice(text, kind) : null); }

  async function act(label, fn) {
    try { await fn(); say(label, "ok"); loop.now(); }
    catch (error) { say(error.message, "error"); }
  }

  function render(items) {
    TB.replace(list, TB.table([
      { label: "Name", render: (s) => h("strong", { text: s.name }) },
      { label: "Task", render: (s) => h("span.mono", { text: s.task }) },
      { label: "When", render: (s) => s.description },
      { label: "State", render: (s) => h("span.badge." + (s.enabled ? "ON" : "PAUSED"), { text: s.enabled ? "active" : "paused" }) },
      { label: "Next run", render: (s) => s.next_run ? h("span", { title: s.next_runs.map(TB.absolute).join("\n") }, TB.when(s.next_run)) : h("span.muted", { text: s.enabled ? "no more ticks" : "paused" }) },
      { label: "Last", render: (s) => s.last_executions.length
          ? h("span.kv", {}, TB.badge(s.last_executions[0].status), TB.link("executions/" + encodeURIComponent(s.last_executions[0].id), TB.ago(s.last_executions[0].enqueued_at)))
          : h("span.muted", { text: "never ran" }) },
      { label: "", render: (s) => h("div.actions", {},
          h("button.small", { text: "Run now", "data-action": "run", onclick: () => act("Enqueued " + s.name + " now.", () => TB.api("POST", "schedules/" + encodeURIComponent(s.name) + "/run")) }),
          h("button.small", { text: s.enabled ? "Pause" : "Resume", "data-action": s.enabled ? "pause" : "resume",
                              onclick: () => act((s.enabled ? "Paused " : "Resumed ") + s.name + ".", () => TB.api("PUT", "schedules/" + encodeURIComponent(s.name), { enabled: !s.enabled })) }),
          h("button.small", { text: "Edit", "data-action": "edit", onclick: () => openForm(s) }),
          h("button.small.danger", { text: "Delete", "data-action": "delete", onclick: () => {
            if (confirm("Delete schedule " + s.name + "?")) act("Deleted " + s.name + ".", () => TB.api("DELETE", "schedules/" + encodeURIComponent(s.name)));
          } })) },
    ], items.map((s) => ({ data: s, attrs: { "data-name": s.name } })),
    "No schedules yet. Create one, or declare one in code with @periodic."));
  }

  /* One labelled input with an error line under it; `field` is the API's error key. */
  function field(label, input, key, wide) {
    return h("label" + (wide ? ".wide" : ""), { "data-field": key }, label, input, h("span.field-error", { "data-error-for": key }));
  }

  function openForm(schedule) {
    editing = schedule;
    const s = schedule || { schedule: { type: "cron", expr: "*/5 * * * *", tz: "UTC" }, args: [], kwargs: {}, enabled: true };
    const kind = h("select", { name: "type" }, ["cron", "every", "at", "solar"].map((k) =>
      h("option", { value: k, text: { cron: "cron expression", every: "fixed interval", at: "one time", solar: "solar event" }[k] })));
    kind.value = s.schedule.type;
    const seconds = s.schedule.type === "every" ? s.schedule.seconds + 60 * s.schedule.minutes + 3600 * s.schedule.hours + 86400 * s.schedule.days : 300;
    const at = s.schedule.type === "at" ? s.schedule.when.slice(0, 16) : "";
    const inputs = {
      name: h("input", { name: "name", value: s.name || "", required: true, disabled: !!schedule, placeholder: "nightly-report" }),
      task: h("input", { name: "task", value: s.task || "", list: "schedule-tasks", required: true, placeholder: "module.task" }),
      expr: h("input.mono", { name: "expr", value: s.schedule.expr || "*/5 * * * *" }),
      tz: h("input", { name: "tz", value: s.schedule.tz || "UTC" }),
      every: h("input", { name: "every", type: "number", min: 1, value: seconds }),
      unit: h("select", { name: "unit" }, [["1", "seconds"], ["60", "minutes"], ["3600", "hours"], ["86400", "days"]].map(([v, t]) => h("option", { value: v, text: t }))),
      when: h("input", { name: "when", type: "datetime-local", value: at }),
      event: h("select", { name: "event" }, ["dawn", "sunrise", "noon", "sunset", "dusk"].map((e) => h("option", { value: e, text: e }))),
      latitude: h("input", { name: "latitude", type: "number", step: "any", value: s.schedule.latitude ?? "" }),
      longitude: h("input", { name: "longitude", type: "number", step: "any", value: s.schedule.longitude ?? "" }),
      args: h("textarea", { name: "args", rows: 2, value: TB.json(s.args) }),
      kwargs: h("textarea", { name: "kwargs", rows: 2, value: TB.json(s.kwargs) }),
      queue: h("input", { name: "queue", value: s.queue || "", placeholder: "the task's queue" }),
      priority: h("input", { name: "priority", type: "number", min: -100, max: 100, value: s.priority ?? "" }),
      enabled: h("input", { name: "enabled", type: "checkbox", checked: s.enabled }),
    };
    if (s.schedule.type === "solar") inputs.event.value = s.schedule.event;
    const groups = {
      cron: [field("Cron expression (min hour day month weekday)", inputs.expr, "schedule.expr"), field("Time zone", inputs.tz, "schedule.tz")],
      every: [field("Every", inputs.every, "schedule.interval"), field("Unit", inputs.unit, "schedule.unit")],
      at: [field("At (your local time)", inputs.when, "schedule.when")],
      solar: [field("Event", inputs.event, "schedule.event"), field("Latitude", inputs.latitude, "schedule.latitude"), field("Longitude", inputs.longitude, "schedule.longitude")],
    };
    const kindFields = h("div.form-grid.wide");
    const showKind = () => TB.replace(kindFields, groups[kind.value]);
    kind.addEventListener("change", showKind);
    showKind();
    const general = h("div");
    const form = h("form", { id: "schedule-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); submit(); } },
      h("div.form-grid", {},
        field("Name", inputs.name, "name"),
        field("Task", inputs.task, "task"),
        h("datalist", { id: "schedule-tasks" }, taskNames.map((n) => h("option", { value: n }))),
        field("Schedule type", kind, "schedule.type"),
        kindFields,
        field("Extra args (JSON array, after the tick timestamp)", inputs.args, "args"),
        field("kwargs (JSON object)", inputs.kwargs, "kwargs"),
        field("Queue", inputs.queue, "queue"),
        field("Priority (-100 to 100)", inputs.priority, "priority"),
        h("label", {}, h("span", {}, inputs.enabled, " enabled"))),
      general,
      h("div.actions", { style: "margin-top:.8rem" },
        h("button.primary", { type: "submit", text: schedule ? "Save changes" : "Create schedule" }),
        h("button", { type: "button", text: "Cancel", onclick: () => { formPanel.hidden = true; } })));

    function value() {
      const schedule_ = { type: kind.value };
      if (kind.value === "cron") Object.assign(schedule_, { expr: inputs.expr.value, tz: inputs.tz.value || "UTC" });
      if (kind.value === "every") schedule_.seconds = Number(inputs.every.value || 0) * Number(inputs.unit.value);
      if (kind.value === "at") {
        const local = inputs.when.value ? new Date(inputs.when.value) : null;
        schedule_.when = local && !isNaN(local) ? local.toISOString() : inputs.when.value;
      }
      if (kind.value === "solar") Object.assign(schedule_, { event: inputs.event.value,
        latitude: inputs.latitude.value === "" ? null : Number(inputs.latitude.value),
        longitude: inputs.longitude.value === "" ? null : Number(inputs.longitude.value) });
      const body = { task: inputs.task.value.trim(), schedule: schedule_, args: inputs.args.value,
                     kwargs: inputs.kwargs.value, queue: inputs.queue.value.trim() || null,
                     priority: inputs.priority.value === "" ? null : Number(inputs.priority.value),
                     enabled: inputs.enabled.checked };
      if (!editing) body.name = inputs.name.value.trim();
      return body;
    }

    async function submit() {
      for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
      for (const el of form.querySelectorAll(".invalid")) el.classList.remove("invalid");
      TB.replace(general);
      try {
        if (editing) await TB.api("PUT", "schedules/" + encodeURIComponent(editing.name), value());
        else await TB.api("POST", "schedules", value());
        formPanel.hidden = true;
        say((editing ? "Saved " : "Created ") + (editing ? editing.name : inputs.name.value) + ".", "ok");
        loop.now();
      } catch (error) {
        let placed = false;
        for (const [key, text] of Object.entries(error.errors || {})) {
          const slot = form.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
          if (slot) {
            slot.textContent = text;
            const input = slot.parentElement.querySelector("input, select, textarea");
            if (input) input.classList.add("invalid");
            placed = true;
          }
        }
        TB.replace(general, TB.notice(placed ? "Please fix the fields marked in red." : error.message, "error"));
      }
    }

    TB.replace(formPanel, h("h2", { text: schedule ? "Edit " + schedule.name : "New schedule" }), form);
    formPanel.hidden = false;
    inputs[schedule ? "task" : "name"].focus();
  }

  TB.api("GET", "tasks").then((t) => { taskNames = t.items.map((k) => k.name); }).catch(() => {});
  const loop = TB.every(10, async () => render((await TB.api("GET", "schedules")).items));
};
