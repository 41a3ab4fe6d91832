// The queue's keyboard flow and in-place decisions (moderation/bulk.py, decisions.py, undo.py).
// j/k move between rows, a/r/s decide, x selects, shift+a approves the selection, u undoes,
// / searches, ? shows the keys. Decisions are posted with fetch() asking for JSON; the decided
// row becomes a stub of the same height, so nothing below it moves. Without this script every
// button is a plain form and the bulk bar asks for confirmation on its own page.
(function () {
  "use strict";

  var list = document.querySelector("ol.queue");
  if (!list || !window.fetch || !window.FormData) {
    return;
  }
  var bulkForm = document.getElementById("bulk-form");
  var stubTemplate = document.getElementById("desk-stub");
  var reasonDialog = document.getElementById("desk-reason");
  var confirmDialog = document.getElementById("desk-confirm");
  var helpDialog = document.getElementById("desk-help");
  var dialogs = typeof HTMLDialogElement === "function";
  var done = []; // decisions made on this page, newest last, for `u`
  var lastRow = null;

  function rows() {
    return Array.prototype.slice.call(list.querySelectorAll("article.row"));
  }

  function current() {
    var active = document.activeElement;
    var row = active && active.closest ? active.closest("article.row") : null;
    if (row && list.contains(row)) {
      return row;
    }
    return lastRow && list.contains(lastRow) ? lastRow : null;
  }

  function focusRow(row) {
    if (!row) {
      return;
    }
    lastRow = row;
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) {
      return;
    }
    var index = all.indexOf(current());
    if (index < 0) {
      focusRow(all[0]);
      return;
    }
    focusRow(all[Math.min(all.length - 1, Math.max(0, index + step))]);
  }

  // The row after `element` in the list (skipping decided ones), else the one before.
  function nextAfter(element) {
    var items = Array.prototype.slice.call(list.querySelectorAll("article.row, .row-stub"));
    var index = items.indexOf(element);
    for (var i = index + 1; i < items.length; i++) {
      if (items[i].matches("article.row")) {
        return items[i];
      }
    }
    for (var j = index - 1; j >= 0; j--) {
      if (items[j].matches("article.row")) {
        return items[j];
      }
    }
    return null;
  }

  function typing(target) {
    if (!target || !target.tagName) {
      return false;
    }
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") {
      return true;
    }
    if (target.tagName !== "INPUT") {
      return false;
    }
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset", "hidden"].indexOf(type) < 0;
  }

  function openDialog() {
    return document.querySelector("dialog[open]");
  }

  function post(url, data) {
    // "manual": an ended session answers with a redirect to the login page, not JSON.
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      redirect: "manual",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!json) {
        throw new Error("not json");
      }
      return response.json().then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  function refreshCounts() {
    // counts.js refreshes the tabs' counts when the window gains focus.
    window.dispatchEvent(new Event("focus"));
  }

  function showProblem(row, message) {
    var note = row.querySelector(".row-conflict");
    if (!note) {
      note = document.createElement("p");
      note.className = "notice notice-error row-conflict";
      note.setAttribute("role", "alert");
      row.insertBefore(note, row.firstChild);
    }
    note.textContent = message;
  }

  function refuse(row, answer) {
    showProblem(row, answer.body.error || "");
    if (answer.status === 409) {
      // Decided by someone else: this row's buttons would act on a version that is gone.
      var controls = row.querySelectorAll("form.row-decision button, input[name=selected]");
      for (var i = 0; i < controls.length; i++) {
        controls[i].disabled = true;
      }
      var box = row.querySelector("input[name=selected]");
      if (box) {
        box.checked = false;
      }
    }
  }

  function decide(row, to, reason) {
    var form = row.querySelector("form.row-decision");
    var button = form ? form.querySelector('[data-decision="' + to + '"]') : null;
    if (!button || button.disabled || row.getAttribute("aria-busy") === "true") {
      return;
    }
    var data = new FormData(form);
    data.set("to", to);
    data.set("reason", reason || "");
    row.setAttribute("aria-busy", "true");
    post(form.action, data)
      .then(function (answer) {
        row.removeAttribute("aria-busy");
        if (answer.body.ok) {
          decided(row, answer.body);
        } else {
          refuse(row, answer);
        }
      })
      .catch(function () {
        // The session ended or the network failed: let the plain form do it.
        row.removeAttribute("aria-busy");
        form.setAttribute("data-plain", "");
        form.requestSubmit(button);
      });
  }

  function decided(row, body) {
    var stub = stubTemplate.content.firstElementChild.cloneNode(true);
    stub.style.minHeight = row.getBoundingClientRect().height + "px"; // keep the rows below where they were
    stub.setAttribute("data-submission-id", row.getAttribute("data-submission-id"));
    var entry = {
      row: row,
      stub: stub,
      url: body.undo_url,
      event: body.undo_event,
      version: body.version,
      token: csrfToken(row),
    };
    stub.querySelector("[data-undo]").addEventListener("click", function () {
      undo(entry);
    });
    var follow = nextAfter(row);
    var wasCurrent = current() === row;
    row.parentNode.replaceChild(stub, row);
    // Set once in the page, so that screen readers announce it (the text is a status).
    stub.querySelector(".stub-text").textContent = body.message;
    done.push(entry);
    if (follow && (wasCurrent || !document.activeElement || document.activeElement === document.body)) {
      focusRow(follow);
    } else if (!follow) {
      stub.focus();
    }
    refreshCounts();
  }

  function csrfToken(scope) {
    var input =
      (scope && scope.querySelector("input[name=csrf_token]")) ||
      document.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function undo(entry) {
    if (!entry || !entry.stub.parentNode) {
      return;
    }
    var data = new FormData();
    data.set("csrf_token", entry.token);
    data.set("event", String(entry.event));
    data.set("version", String(entry.version));
    post(entry.url, data)
      .then(function (answer) {
        if (!answer.body.ok) {
          entry.stub.querySelector(".stub-text").textContent = answer.body.error || "";
          forget(entry); // the next `u` goes on to the decision before it
          return;
        }
        restore(entry, answer.body.version);
      })
      .catch(function () {
        entry.stub.querySelector(".stub-text").textContent = "";
      });
  }

  function restore(entry, version) {
    var row = entry.row;
    row.setAttribute("data-version", String(version));
    var hidden = row.querySelector("form.row-decision input[name=version]");
    if (hidden) {
      hidden.value = String(version);
    }
    var box = row.querySelector("input[name=selected]");
    if (box) {
      box.value = row.getAttribute("data-submission-id") + ":" + version;
      box.checked = false;
    }
    entry.stub.parentNode.replaceChild(row, entry.stub);
    forget(entry);
    focusRow(row);
    refreshCounts();
  }

  function forget(entry) {
    var index = done.indexOf(entry);
    if (index >= 0) {
      done.splice(index, 1);
    }
  }

  function askReason(row) {
    if (!dialogs || !reasonDialog) {
      decide(row, "rejected", "");
      return;
    }
    var text = document.getElementById("desk-reason-text");
    var radios = reasonDialog.querySelectorAll("input[type=radio]");
    for (var i = 0; i < radios.length; i++) {
      radios[i].checked = false;
    }
    text.value = "";
    reasonDialog.returnValue = "";
    reasonDialog.onclose = function () {
      reasonDialog.onclose = null;
      if (reasonDialog.returnValue !== "ok") {
        focusRow(row);
        return;
      }
      var chosen = reasonDialog.querySelector("input[type=radio]:checked");
      var parts = [];
      if (chosen) {
        parts.push(chosen.value);
      }
      if (text.value.trim()) {
        parts.push(text.value.trim());
      }
      focusRow(row);
      decide(row, "rejected", parts.join(": "));
    };
    reasonDialog.showModal();
    if (radios.length) {
      radios[0].focus();
    }
  }

  function selected() {
    return list.querySelectorAll("input[name=selected]:checked");
  }

  function bulkButton(action) {
    return bulkForm ? bulkForm.querySelector('button[name=action][value="' + action + '"]') : null;
  }

  function confirmBulk(button) {
    var count = selected().length;
    var message = bulkForm.querySelector(".bulk-message");
    if (!count) {
      message.textContent = bulkForm.getAttribute("data-none");
      return;
    }
    message.textContent = "";
    if (!dialogs || !confirmDialog) {
      submitBulk(button);
      return;
    }
    confirmDialog.querySelector("h2").textContent = button.getAttribute("data-confirm");
    confirmDialog.querySelector(".desk-confirm-count").textContent = bulkForm
      .getAttribute("data-count-text")
      .replace("{n}", String(count));
    confirmDialog.returnValue = "";
    confirmDialog.onclose = function () {
      confirmDialog.onclose = null;
      if (confirmDialog.returnValue === "ok") {
        submitBulk(button);
      } else {
        focusRow(current() || rows()[0]);
      }
    };
    confirmDialog.showModal();
  }

  function submitBulk(button) {
    // The confirmed POST (confirm=1) of moderation/bulk.py; the page reloads with its summary.
    addHidden("action", button.value);
    addHidden("confirm", "1");
    bulkForm.submit();
  }

  function addHidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    bulkForm.appendChild(input);
  }

  function toggleHelp() {
    if (!dialogs || !helpDialog) {
      return;
    }
    if (helpDialog.open) {
      helpDialog.close();
    } else {
      helpDialog.showModal();
    }
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var open = openDialog();
    if (open) {
      if (open === helpDialog && event.key === "?") {
        event.preventDefault();
        helpDialog.close();
      }
      return; // dialogs keep their own keys; Escape closes them
    }
    if (typing(event.target)) {
      return;
    }
    var row = current();
    switch (event.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "a":
        if (row) decide(row, "published", "");
        break;
      case "s":
        if (row) decide(row, "spam", "");
        break;
      case "r":
        if (row) askReason(row);
        break;
      case "x":
        if (row) {
          var box = row.querySelector("input[name=selected]");
          if (box && !box.disabled) box.checked = !box.checked;
        }
        break;
      case "A":
        if (!event.shiftKey) return;
        if (bulkButton("approve")) confirmBulk(bulkButton("approve"));
        break;
      case "u":
        undo(done[done.length - 1]);
        break;
      case "/":
        var search = document.getElementById("search");
        if (!search) return;
        search.focus();
        break;
      case "?":
        toggleHelp();
        break;
      default:
        return;
    }
    event.preventDefault();
  }

  document.addEventListener("keydown", onKey);

  // The mouse gets the same in-place decisions as the keyboard.
  list.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    if (!form.matches("form.row-decision") || form.hasAttribute("data-plain")) {
      return;
    }
    if (!button || !button.getAttribute("data-decision")) {
      return;
    }
    event.preventDefault();
    decide(form.closest("article.row"), button.getAttribute("data-decision"), "");
  });

  list.addEventListener("focusin", function (event) {
    var row = event.target.closest ? event.target.closest("article.row") : null;
    if (row) {
      lastRow = row;
    }
  });

  if (bulkForm) {
    bulkForm.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || button.name !== "action") {
        return;
      }
      event.preventDefault();
      confirmBulk(button);
    });
    var hint = bulkForm.querySelector("[data-desk-hint]");
    if (hint && dialogs) {
      hint.hidden = false;
    }
    var all = bulkForm.querySelector("[data-select-all]");
    if (all) {
      all.closest("label").hidden = false;
      all.addEventListener("change", function () {
        var boxes = list.querySelectorAll("input[name=selected]:not(:disabled)");
        for (var i = 0; i < boxes.length; i++) {
          boxes[i].checked = all.checked;
        }
      });
    }
  }

  var cancels = document.querySelectorAll("dialog [data-cancel]");
  for (var i = 0; i < cancels.length; i++) {
    cancels[i].addEventListener("click", function (event) {
      event.target.closest("dialog").close("");
    });
  }
})();
