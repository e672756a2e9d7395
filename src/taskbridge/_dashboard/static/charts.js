/* Inline SVG charts for per-minute series: an area for throughput, bars for failures. */
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const H = 150, LEFT = 34, BOTTOM = 18, TOP = 8, RIGHT = 8;

  function svg(tag, attrs, text) {
    const el = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function niceMax(value) {
    if (value <= 4) return 4;
    const magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (step * magnitude >= value) return step * magnitude;
    }
    return value;
  }

  function clock(iso) {
    const t = new Date(iso);
    return String(t.getHours()).padStart(2, "0") + ":" + String(t.getMinutes()).padStart(2, "0");
  }

  /* series: [{t, count}]; kind: "area" | "bars"; label: what one unit is; drawn at the
     container's pixel width so text stays crisp at any size. */
  TB.chart = function (series, kind, label, width) {
    const W = Math.max(240, Math.round(width || 600));
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
    const n = Math.max(series.length, 1);
    const max = niceMax(Math.max(0, ...series.map((p) => p.count)));
    const plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
    const x = (i) => LEFT + (i / n) * plotW;
    const y = (v) => TOP + plotH - (v / max) * plotH;
    for (const v of [0, max / 2, max]) {
      root.append(svg("line", { class: "axis", x1: LEFT, x2: W - RIGHT, y1: y(v), y2: y(v) }));
      root.append(svg("text", { x: LEFT - 4, y: y(v) + 3, "text-anchor": "end" }, String(Math.round(v * 10) / 10)));
    }
    const ticks = Math.min(W < 400 ? 4 : 6, n);
    for (let k = 0; k < ticks && series.length; k++) {
      const i = Math.floor((k * (n - 1)) / Math.max(1, ticks - 1));
      const anchor = k === 0 ? "start" : k === ticks - 1 ? "end" : "middle";
      const at = k === 0 ? x(i) : k === ticks - 1 ? x(i + 1) : x(i + 0.5);
      root.append(svg("text", { x: at, y: H - 4, "text-anchor": anchor }, clock(series[i].t)));
    }
    if (kind === "bars") {
      series.forEach((p, i) => {
        if (!p.count) return;
        root.append(svg("rect", { class: "bar", x: x(i) + 0.5, width: Math.max(1, plotW / n - 1),
                                  y: y(p.count), height: y(0) - y(p.count) }));
      });
    } else if (series.length) {
      const points = series.map((p, i) => `${x(i + 0.5).toFixed(1)},${y(p.count).toFixed(1)}`);
      root.append(svg("path", { class: "area", d: `M${x(0.5)},${y(0)} L${points.join(" L")} L${x(n - 0.5)},${y(0)} Z` }));
      root.append(svg("path", { class: "line", d: "M" + points.join(" L") }));
    }
    series.forEach((p, i) => {
      const hit = svg("rect", { x: x(i), width: plotW / n, y: TOP, height: plotH, fill: "transparent" });
      hit.append(svg("title", {}, `${clock(p.t)}  ${p.count} ${label}`));
      root.append(hit);
    });
    return root;
  };
})();
