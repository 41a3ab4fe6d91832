// Renews this moderator's claim on the comment while its page stays open (moderation/claims.py),
// so that colleagues keep seeing "being reviewed by". Without it the claim simply expires.
(function () {
  "use strict";
  var form = document.querySelector("form.claim-renewal");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var every = parseInt(form.getAttribute("data-every"), 10) || 60000;
  function renew() {
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .catch(function () { /* the next renewal tries again; the claim is only a courtesy */ });
  }
  window.setInterval(renew, every);
})();
