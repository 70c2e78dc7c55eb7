// htmx configuration and small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  function configure() {
    if (!window.htmx) { return; }
    // Swap 422 (form errors) and 429 (sign-in delay, said on the form) like 2xx; keep other errors out
    // of the page and show a toast instead.
    window.htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "429", swap: true },
      { code: "[45]..", swap: false, error: true },
    ];
  }

  function toast(message, kind) {
    var region = document.getElementById("toasts");
    if (!region || !message) { return; }
    var item = document.createElement("div");
    item.className = "toast" + (kind ? " toast-" + kind : "");
    item.textContent = message;
    region.appendChild(item);
    setTimeout(function () { item.classList.add("toast-hide"); }, 3500);
    setTimeout(function () { item.remove(); }, 4200);
  }

  document.addEventListener("DOMContentLoaded", function () {
    configure();
    document.body.addEventListener("toast", function (event) {
      toast(event.detail && event.detail.message, event.detail && event.detail.kind);
    });
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    // The translated text is rendered by the server into the page (no strings live in JS).
    toast((document.body.dataset.msgRequestFailed || "Error") + " (" + status + ")", "error");
  });

  // Close an open <details> menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) { summary.focus(); }
    });
  });

  // Sign-up: choosing a language moves the currency and country to that language's defaults, unless the
  // owner already picked others (the server renders the page language's defaults without this script).
  document.addEventListener("change", function (event) {
    var select = event.target;
    var box = select.closest && select.closest("[data-locale-defaults]");
    if (!box || select.name !== "locale") { return; }
    var defaults = JSON.parse(box.dataset.localeDefaults || "{}");
    var before = defaults[select.dataset.previous || box.dataset.initial || ""];
    var after = defaults[select.value];
    if (!after) { return; }
    ["currency", "country"].forEach(function (name, index) {
      var field = box.querySelector("select[name=" + name + "]");
      if (field && (!before || field.value === before[index])) { field.value = after[index]; }
    });
    select.dataset.previous = select.value;
  });
  document.addEventListener("focusin", function (event) {
    var select = event.target;
    if (select.name === "locale" && select.closest && select.closest("[data-locale-defaults]")) {
      select.dataset.previous = select.value;
    }
  });
})();
