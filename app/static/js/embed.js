/* AutoOffice order form embed.
 * <script src="https://HOST/embed.js" data-store="SLUG" data-form="FORM" async></script>
 * Puts the form in an iframe that resizes itself to its content (postMessage, origins checked on both
 * sides), passes the page's utm_* parameters on, and falls back to a plain link when the form cannot
 * be shown (for example, when this site is not among the form's allowed origins). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.dataset.store) { return; }
  var origin = new URL(script.src, location.href).origin;
  var store = encodeURIComponent(script.dataset.store);
  var form = encodeURIComponent(script.dataset.form || "order");
  var base = origin + "/f/" + store + "/" + form;
  var params = new URLSearchParams();
  var page = new URLSearchParams(location.search);
  page.forEach(function (value, key) { if (key.indexOf("utm_") === 0) { params.set(key, value); } });
  if (script.dataset.lang) { params.set("lang", script.dataset.lang); }
  var linkQuery = params.toString();
  params.set("embed", "1");
  params.set("parent", location.origin);

  var box = document.createElement("div");
  box.className = "autooffice-form";
  var frame = document.createElement("iframe");
  frame.src = base + "?" + params.toString();
  frame.title = script.dataset.title || "Order form";
  frame.setAttribute("loading", "lazy");
  frame.style.cssText = "display:block;width:100%;min-height:420px;border:0;overflow:hidden;";
  var link = document.createElement("a");
  link.href = base + (linkQuery ? "?" + linkQuery : "");
  link.target = "_blank";
  link.rel = "noopener";
  link.textContent = script.dataset.linkText || "Open the order form";
  link.style.display = "none";
  box.appendChild(frame);
  box.appendChild(link);
  script.parentNode.insertBefore(box, script.nextSibling);

  var alive = false;
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) { return; }
    var data = event.data || {};
    if (data.type === "autooffice:height" && typeof data.height === "number") {
      alive = true;
      frame.style.height = Math.max(200, Math.min(Math.ceil(data.height), 20000)) + "px";
    }
  });
  // No word from the form: it could not load here (blocked framing, network). Offer the link instead.
  setTimeout(function () {
    if (!alive) { frame.style.display = "none"; link.style.display = "inline-block"; }
  }, Number(script.dataset.timeout) || 10000);
})();
