/* Picks the page from the path once every script is loaded. */
"use strict";
(function () {
  const [first, second] = TB.route();
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === (first || "") && link.closest("nav")) link.classList.add("current");
  }
  const main = document.getElementById("main");
  if (first === "executions" && second) TB.pages.detail(main, second);
  else if (first === "executions") TB.pages.executions(main);
  else if (first === "schedules") TB.pages.schedules(main);
  else if (first === "tasks" && second) window.location.replace(TB.url("executions", { task: second }));
  else TB.pages.overview(main);
})();
