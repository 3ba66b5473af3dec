// Exam page helpers: a countdown that mirrors the server's deadline, and autosave.
// The server decides everything; this script only shows its clock and saves early.
(function () {
  "use strict";
  var live = document.getElementById("live");
  function announce(text) { if (live) { live.textContent = text; } }

  var timer = document.querySelector(".timer[data-deadline]");
  if (timer) {
    var deadline = Date.parse(timer.dataset.deadline);
    // Trust the server's clock, not the device's: keep the offset between them.
    var offset = Date.parse(timer.dataset.serverNow) - Date.now();
    var value = timer.querySelector(".timer-value");
    var warned = {};
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - (Date.now() + offset)) / 1000));
      var minutes = Math.floor(left / 60), seconds = left % 60;
      value.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      timer.classList.toggle("is-low", left <= 300);
      [[300, "5 minutes left."], [60, "1 minute left."]].forEach(function (w) {
        if (left <= w[0] && left > 0 && !warned[w[0]]) { warned[w[0]] = true; announce(w[1]); }
      });
      if (left === 0) {
        announce("Time is up. Your answers are being submitted.");
        clearInterval(handle);
        // The server finalises on the next touch; reloading shows the result.
        setTimeout(function () { window.location.reload(); }, 6000);
      }
    };
    var handle = setInterval(tick, 1000);
    tick();
  }

  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch) { return; }
  var status = form.querySelector("[data-save-status]");
  var saving = null;
  function save() {
    var data = new FormData(form);
    status.textContent = "Saving…";
    saving = fetch(window.location.pathname, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (result.ok) {
        status.textContent = "Saved";
        var link = document.querySelector('.nav-item[data-position="' + form.dataset.position + '"]');
        if (link) {
          link.classList.add("is-answered");
          // The state is in the link's name too, for screen readers: say it there as well.
          var state = link.querySelector(".visually-hidden");
          if (state) { state.textContent = ", answered"; }
        }
        var count = document.querySelector("[data-answered-count]");
        if (count) { count.textContent = result.body.answered.length; }
      } else if (result.body.result) {
        window.location = result.body.result;
      } else {
        // Incomplete answers (an ordering half done) are fine to leave unsaved for now.
        status.textContent = result.body.field ? "Not saved yet: " + result.body.message : "Not saved";
      }
    }).catch(function () { status.textContent = "Offline: your answer will be saved when you continue."; });
  }
  form.addEventListener("change", save);
})();
