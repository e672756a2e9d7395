/* One execution: what was asked, what happened, and the buttons to act on it. */
"use strict";
TB.pages.detail = function (main, id) {
  const h = TB.h;
  const FINAL = ["SUCCEEDED", "FAILED", "CANCELED"];
  let loop = null;
  const message = h("div", { id: "message" });

  async function act(action, button) {
    button.disabled = true;
    try {
      const answer = await TB.api("POST", "executions/" + encodeURIComponent(id) + "/" + action);
      if (action === "retry") {
        window.location.href = TB.url("executions/" + encodeURIComponent(answer.id), { from: id });
        return;
      }
      TB.replace(message, TB.notice("Cancel requested.", "ok"));
      loop.now();
    } catch (error) {
      TB.replace(message, TB.notice(error.message, "error"));
      button.disabled = false;
    }
  }

  function section(title, ...content) {
    return h("section.panel", {}, h("h2", { text: title }), content);
  }

  function render(e) {
    const actions = h("div.actions", {});
    if ((e.status === "FAILED" || e.status === "CANCELED") && !e.retried_as) {
      const retry = h("button.primary", { id: "retry", text: "Retry" });
      retry.addEventListener("click", () => act("retry", retry));
      actions.append(retry);
    }
    if (!FINAL.includes(e.status) && !e.cancel_requested) {
      const cancel = h("button.danger", { id: "cancel", text: e.status === "RUNNING" ? "Ask to stop" : "Cancel" });
      cancel.addEventListener("click", () => act("cancel", cancel));
      actions.append(cancel);
    }
    const from = new URLSearchParams(location.search).get("from");
    const fields = [
      ["Id", h("span.mono", { text: e.id })],
      ["Queue", TB.link("executions", e.queue, { queue: e.queue })],
      ["Attempts", e.attempts + " of " + e.max_attempts],
      ["Worker", e.worker ? h("span.mono", { text: e.worker }) : "—"],
      ["Enqueued", TB.absolute(e.enqueued_at)],
      ["Run at", e.run_at ? TB.absolute(e.run_at) : "—"],
      ["Started", TB.absolute(e.started_at)],
      ["Finished", TB.absolute(e.finished_at)],
      ["Duration", TB.duration(e.duration)],
      ["Priority", String(e.priority)],
      ["Idempotency key", e.idempotency_key ? h("span.mono", { text: e.idempotency_key }) : "—"],
    ];
    if (e.retried_as) fields.push(["Retried as", TB.link("executions/" + encodeURIComponent(e.retried_as), e.retried_as)]);
    if (e.discarded_at) fields.push(["Discarded", TB.absolute(e.discarded_at)]);
    if (from) fields.push(["Retry of", TB.link("executions/" + encodeURIComponent(from), from)]);
    if (e.cancel_requested) fields.push(["Cancel", "requested; the task stops when it next checks"]);

    const parts = [
      h("h1", {}, h("span.mono", { text: e.task_name }), TB.badge(e.status), actions),
      message,
      h("div.grid", {},
        section("Execution", h("dl.fields", {}, fields.map(([k, v]) => [h("dt", { text: k }), h("dd", {}, v)]))),
        section("Arguments",
          h("h2", { text: "args" }), h("pre", { id: "args", text: TB.json(e.args) }),
          h("h2", { text: "kwargs", style: "margin-top:.7rem" }), h("pre", { id: "kwargs", text: TB.json(e.kwargs) }))),
    ];
    if (e.error) {
      parts.push(section("Error",
        h("p.error-text", {}, h("strong", { text: e.error.type }), ": ", e.error.message),
        e.error.traceback ? h("pre.traceback", { id: "traceback", text: e.error.traceback }) : null));
    }
    if (e.status === "SUCCEEDED") parts.push(section("Value", h("pre", { id: "value", text: TB.json(e.value) })));
    if (e.progress || e.progress_log.length) {
      const pct = e.progress ? Math.max(0, Math.min(100, e.progress.percent)) : 0;
      parts.push(section("Progress",
        h("div.progress", { role: "progressbar", "aria-valuenow": pct, "aria-valuemin": 0, "aria-valuemax": 100 },
          h("div", { style: "width:" + pct + "%" })),
        h("p", { text: pct + "% " + (e.progress ? e.progress.message : "") }),
        TB.table([
          { label: "At", render: (p) => TB.absolute(p.at) },
          { label: "%", num: true, render: (p) => String(p.percent) },
          { label: "Message", render: (p) => p.message },
        ], e.progress_log.slice().reverse(), "")));
    }
    parts.push(section("Attempts", e.attempt_history.length
      ? TB.table([
          { label: "#", num: true, render: (a) => String(a.attempt ?? "") },
          { label: "Outcome", render: (a) => a.outcome ? TB.badge(a.outcome) : "" },
          { label: "Worker", render: (a) => h("span.mono", { text: a.worker || "" }) },
          { label: "Started", render: (a) => TB.absolute(a.started_at) },
          { label: "Finished", render: (a) => TB.absolute(a.finished_at) },
          { label: "CPU", num: true, render: (a) => TB.duration(a.cpu_time) },
          { label: "Peak memory", num: true, render: (a) => a.peak_memory ? TB.number(Math.round(a.peak_memory / 1024)) + " KiB" : "—" },
          { label: "Error", cls: "error-text", render: (a) => a.error ? (a.error.type || "") + ": " + (a.error.message || "") : "" },
        ], e.attempt_history)
      : h("p.muted", { text: e.attempts + " of " + e.max_attempts + " attempt(s) started. No per-attempt history (written by an older taskbridge)" + (e.error ? "; the error shown is the last attempt's." : ".") })));
    TB.replace(main, parts);
    if (FINAL.includes(e.status) && loop) loop.stop();
  }

  loop = TB.every(2, async () => {
    try {
      render(await TB.api("GET", "executions/" + encodeURIComponent(id)));
    } catch (error) {
      if (error.status === 404) {
        TB.replace(main, h("h1", { text: "Execution not found" }),
          TB.notice("No execution has id " + id + ". It may have been purged after its result TTL.", "error"),
          TB.link("executions", "All executions"));
        loop.stop();
        return;
      }
      throw error;
    }
  });
};
