// The hosted order form: tells the embedding page its height, and keeps a typed contact as a draft.
(function () {
  "use strict";
  function start() {
    var parentOrigin = document.body.dataset.parent;
    if (parentOrigin && window.parent !== window) {
      var last = 0;
      var send = function () {
        var height = document.documentElement.scrollHeight;
        if (height !== last) {
          last = height;
          window.parent.postMessage({ type: "autooffice:height", height: height }, parentOrigin);
        }
      };
      if (window.ResizeObserver) { new ResizeObserver(send).observe(document.body); }
      window.addEventListener("load", send);
      send();
    }
    if (!window.fetch) { return; }
    var timer = null;
    // Delegated: with htmx the form is replaced after a failed submit, the listener stays.
    var saveDraft = function () {
      var form = document.getElementById("order-form");
      if (!form || !form.dataset.draft) { return; }
      var data = new URLSearchParams();
      ["t", "name", "phone", "email"].concat(["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"])
        .forEach(function (name) {
          var field = form.elements[name];
          if (field && field.value) { data.set(name, field.value); }
        });
      if (!data.get("phone") && !data.get("email")) { return; }
      fetch(form.dataset.draft, { method: "POST", body: data, keepalive: true, credentials: "omit" });
    };
    document.addEventListener("change", function (event) {
      if (!event.target.form || event.target.form.id !== "order-form") { return; }
      if (["name", "phone", "email"].indexOf(event.target.name) < 0) { return; }
      clearTimeout(timer);
      timer = setTimeout(saveDraft, 400);
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
