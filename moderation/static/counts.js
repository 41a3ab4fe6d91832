// Keeps the queue tabs' counts current without a reload: polls /counts.json every few
// seconds and when the window regains focus. The counts are not announced to screen readers
// (no aria-live): a change every few seconds would interrupt whatever is being read.
// Everything works without this script; it only saves a reload.
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !window.fetch) {
    return;
  }
  var url = script.getAttribute("data-url");
  var interval = parseInt(script.getAttribute("data-interval"), 10);
  if (!url || !(interval > 0)) {
    return;
  }
  var timer = null;
  var busy = false;
  var stopped = false;

  function stop() {
    stopped = true;
    if (timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
  }

  function show(counts) {
    var tabs = document.querySelectorAll("[data-count]");
    for (var i = 0; i < tabs.length; i++) {
      var name = tabs[i].getAttribute("data-count").split("-");
      var kind = counts[name[0]];
      var n = kind ? kind[name.slice(1).join("-")] : undefined;
      var element = tabs[i].classList.contains("count") ? tabs[i] : tabs[i].querySelector(".count");
      if (element && typeof n === "number" && n >= 0 && element.textContent !== String(n)) {
        element.textContent = String(n);
      }
    }
  }

  function refresh() {
    if (stopped || busy || document.hidden) {
      return;
    }
    busy = true;
    // "manual": a logged-out session is answered with a redirect to the login page, which
    // must not be followed (nor its HTML parsed as counts).
    fetch(url, { credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
          stop(); // the session ended: the next page load goes to the login form
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (counts) {
        if (counts) {
          show(counts);
        }
      })
      .catch(function () {
        // Offline or the server restarting: keep the counts shown and try again later.
      })
      .then(function () {
        busy = false;
      });
  }

  timer = window.setInterval(refresh, interval);
  window.addEventListener("focus", refresh);
})();
