// imapmig console: refreshes the figures of the page every few seconds
// from the JSON its <main data-live> names. No framework, no inline code
// (the Content-Security-Policy allows this file only).
(function () {
  "use strict";
  var main = document.querySelector("main[data-live]");
  var badge = document.getElementById("livestate");
  if (!main) { return; }
  var url = main.getAttribute("data-live");
  var every = 3000;

  function each(attr, map, fn) {
    if (!map) { return; }
    var els = document.querySelectorAll("[" + attr + "]");
    for (var i = 0; i < els.length; i++) {
      var k = els[i].getAttribute(attr);
      if (Object.prototype.hasOwnProperty.call(map, k)) { fn(els[i], map[k]); }
    }
  }

  function apply(j) {
    each("data-k", j.t, function (el, v) { if (el.textContent !== v) { el.textContent = v; } });
    each("data-kc", j.c, function (el, v) { if (el.className !== v) { el.className = v; } });
    each("data-kv", j.v, function (el, v) { el.setAttribute("value", v); });
    each("data-kd", j.d, function (el, v) { el.setAttribute("d", v); });
  }

  function state(s, text) {
    if (!badge) { return; }
    badge.setAttribute("data-state", s);
    badge.textContent = text;
  }

  function tick() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { window.location.assign("/ui/login"); throw new Error("signed out"); }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (j) {
        apply(j);
        state("live", "updated " + j.updated);
        if (j.next >= 1000) { every = j.next; }
      })
      .catch(function () { state("stale", "not updating"); })
      .finally(function () { window.setTimeout(tick, every); });
  }
  window.setTimeout(tick, every);
})();
