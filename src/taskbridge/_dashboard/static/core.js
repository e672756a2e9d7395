/* taskbridge dashboard core: API calls, safe DOM building, formatting, refresh loop.
   Untrusted text only ever goes through textContent (h() never sets innerHTML). */
"use strict";
const TB = (window.TB = {});

TB.root = document.querySelector('meta[name="taskbridge-root"]').content || "/";
TB.csrf = document.querySelector('meta[name="csrf-token"]').content || "";
TB.STATUSES = ["PENDING", "RUNNING", "RETRYING", "SUCCEEDED", "FAILED", "CANCELED"];

TB.url = function (path, params) {
  const url = new URL(TB.root + path.replace(/^\//, ""), window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  return url.pathname + url.search;
};

TB.ApiError = class extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || "HTTP " + status);
    this.status = status;
    this.errors = (body && body.errors) || {};
  }
};

TB.api = async function (method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (TB.csrf) headers["X-CSRFToken"] = TB.csrf;
    init.body = JSON.stringify(body === undefined ? {} : body);
    if (method === "DELETE") delete init.body;
  }
  const response = await fetch(TB.url("api/" + path.replace(/^\//, "")), init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!response.ok) throw new TB.ApiError(response.status, data);
  return data;
};

/* h("tag.class", {attr: value, onclick: fn}, children...) -> Element; strings become text. */
TB.h = function (spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value") el.value = value;
    else if (key === "style") el.style.cssText = value;  // CSSOM: allowed by the CSP
    else if (key === "checked") el.checked = !!value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  TB.append(el, children);
  return el;
};

TB.append = function (el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
};

TB.replace = function (el, ...children) {
  el.replaceChildren();
  return TB.append(el, children);
};

TB.badge = (status) => TB.h("span.badge." + status, { text: status, "data-status": status });

TB.link = (path, text, params) => TB.h("a", { href: TB.url(path, params), text });

TB.shortId = (id) => (id && id.length > 12 ? id.slice(0, 10) + "…" : id || "");

TB.json = function (value) {
  const flat = JSON.stringify(value);
  return flat === undefined ? "null" : flat.length <= 70 ? flat : JSON.stringify(value, null, 2);
};

TB.parseTime = (iso) => (iso ? new Date(iso) : null);

TB.ago = function (iso) {
  const t = TB.parseTime(iso);
  if (!t) return "—";
  let seconds = Math.round((Date.now() - t.getTime()) / 1000);
  const future = seconds < 0;
  seconds = Math.abs(seconds);
  let text;
  if (seconds < 60) text = seconds + "s";
  else if (seconds < 3600) text = Math.floor(seconds / 60) + "m";
  else if (seconds < 86400) text = Math.floor(seconds / 3600) + "h " + Math.floor((seconds % 3600) / 60) + "m";
  else text = Math.floor(seconds / 86400) + "d " + Math.floor((seconds % 86400) / 3600) + "h";
  return future ? "in " + text : text + " ago";
};

TB.when = function (iso) {
  if (!iso) return TB.h("span.muted", { text: "—" });
  const t = TB.parseTime(iso);
  return TB.h("time", { datetime: iso, title: t.toISOString().replace(".000Z", "Z"), text: TB.ago(iso) });
};

TB.absolute = (iso) => (iso ? TB.parseTime(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "—");

TB.duration = function (seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return Math.round(seconds * 1000) + " ms";
  if (seconds < 120) return seconds.toFixed(seconds < 10 ? 2 : 1) + " s";
  if (seconds < 7200) return Math.floor(seconds / 60) + "m " + Math.round(seconds % 60) + "s";
  return (seconds / 3600).toFixed(1) + " h";
};

TB.percent = (rate) => (rate === null || rate === undefined ? "—" : (rate * 100).toFixed(rate < 1 && rate > 0.99 ? 2 : 1) + "%");

TB.number = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"));

/* columns: [{label, render, num?, cls?, phone?: false}]; "compact" tables show each row as
   one wrapped line on a phone, leaving out columns marked phone: false. */
TB.table = function (columns, rows, empty, compact) {
  if (!rows.length) return TB.h("p.empty", { text: empty || "Nothing here." });
  const head = TB.h("tr", {}, columns.map((c) => TB.h("th", { class: c.num ? "num" : null, text: c.label })));
  const body = rows.map((row) =>
    TB.h("tr", row.attrs || {}, columns.map((c) => {
      const cell = c.render(row.data || row);
      const classes = [c.num ? "num" : c.cls, c.phone === false ? "no-phone" : null].filter(Boolean);
      return TB.h("td", { "data-label": c.label, class: classes.join(" ") || null }, cell);
    })));
  return TB.h("table.responsive" + (compact ? ".compact" : ""), {}, TB.h("thead", {}, head), TB.h("tbody", {}, body));
};

TB.notice = (text, kind) => TB.h("div.notice" + (kind ? "." + kind : ""), { role: "status", text });

TB.setLive = function (state, title) {
  const live = document.getElementById("live");
  if (!live) return;
  live.className = "live" + (state === "ok" ? "" : " " + state);
  live.textContent = state === "ok" ? "live" : state === "stale" ? "paused" : "unreachable";
  if (title) live.title = title;
};

/* Run fn now and every `seconds` while the tab is visible; errors mark the header, not the page. */
TB.every = function (seconds, fn) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    if (stopped) return;
    try {
      await fn();
      TB.setLive("ok", "Updated " + new Date().toLocaleTimeString());
    } catch (error) {
      TB.setLive("down", String(error.message || error));
    }
    if (!stopped) timer = setTimeout(run, seconds * 1000);
  };
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { clearTimeout(timer); TB.setLive("stale", "Paused while hidden"); }
    else { clearTimeout(timer); run(); }
  });
  run();
  return { stop() { stopped = true; clearTimeout(timer); }, now() { clearTimeout(timer); run(); } };
};

TB.route = function () {
  let path = window.location.pathname;
  const root = TB.root.endsWith("/") ? TB.root : TB.root + "/";
  if (path.startsWith(root)) path = path.slice(root.length);
  else if (path + "/" === root) path = "";
  return path.replace(/\/+$/, "").split("/").map(decodeURIComponent);
};

TB.pages = {};
