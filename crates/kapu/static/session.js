// The session countdown ("Munkamenet lejár: mm:ss"). It counts down to the
// server's real idle expiry, which the page gives in data-seconds-left; two
// minutes before the end a dialog offers to stay logged in or to log out, and
// at zero the page goes to the login page (after asking the server, in case
// another tab kept the session alive). As in GOV.UK's timeout warning, the
// dialog shows the time left in words every second, and a live region says it
// to screen readers a second after the dialog opens and then every 15 seconds
// (every 5 in the last 20), not every second.
(function () {
  "use strict";
  var el = document.getElementById("session-countdown");
  if (!el) { return; }
  var dialog = document.getElementById("session-dialog");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var warning = parseInt(el.getAttribute("data-warning-seconds"), 10) || 120;
  var deadline = 0;
  var timer = null;
  var leftText = document.getElementById("session-dialog-left");
  var live = document.getElementById("session-dialog-live");
  var lastSaid = null;
  var openedAt = 0;

  function setLeft(seconds) {
    deadline = performance.now() + Math.max(0, seconds) * 1000;
  }
  function left() {
    return Math.max(0, Math.round((deadline - performance.now()) / 1000));
  }
  function show(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    el.textContent = (m < 10 ? "0" : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }
  function inWords(seconds) {
    var unit = function (n, one, many) { return n + " " + leftText.getAttribute(n === 1 ? one : many); };
    var m = Math.floor(seconds / 60), s = seconds % 60;
    var parts = [];
    if (m > 0) { parts.push(unit(m, "data-minute", "data-minutes")); }
    if (s > 0 || m === 0) { parts.push(unit(s, "data-second", "data-seconds")); }
    return leftText.getAttribute("data-text").replace("{time}", parts.join(" "));
  }
  function showLeft(seconds) {
    if (!leftText || !dialog || !dialog.open) { return; }
    var words = inWords(seconds);
    leftText.textContent = words;
    var every = seconds > 20 ? 15 : 5;
    // The first announcement waits a second after the dialog opened, so that
    // screen readers have read its title and moved into it.
    if (live && performance.now() - openedAt >= 1000 && (lastSaid === null || (lastSaid - seconds >= every))) {
      live.textContent = words;
      lastSaid = seconds;
    }
  }
  function expired() {
    window.location.assign("/login?msg=expired");
  }
  function checkServer() {
    fetch("/session/status", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (status) {
        if (status.active && status.seconds_left > 0) { setLeft(status.seconds_left); start(); } else { expired(); }
      })
      .catch(expired);
  }
  function openDialog() {
    if (dialog && !dialog.open && typeof dialog.showModal === "function") {
      dialog.showModal();
      openedAt = performance.now();
      var stay = document.getElementById("session-stay");
      if (stay) { stay.focus(); }
    }
  }
  function closeDialog() {
    if (dialog && dialog.open) { dialog.close(); }
    lastSaid = null;
    if (live) { live.textContent = ""; }
  }
  function tick() {
    var seconds = left();
    show(seconds);
    if (seconds <= 0) {
      clearInterval(timer);
      closeDialog();
      checkServer();
    } else if (seconds <= warning) {
      openDialog();
      showLeft(seconds);
    }
  }
  function start() {
    if (timer) { clearInterval(timer); }
    tick();
    timer = setInterval(tick, 1000);
  }
  function stayLoggedIn() {
    fetch("/session/keepalive", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (status) { setLeft(status.seconds_left); closeDialog(); start(); })
      .catch(expired);
  }
  function logOut() {
    var form = document.getElementById("logout-form");
    if (form) { form.submit(); } else { expired(); }
  }

  var stay = document.getElementById("session-stay");
  var out = document.getElementById("session-logout");
  if (stay) { stay.addEventListener("click", stayLoggedIn); }
  if (out) { out.addEventListener("click", logOut); }
  if (dialog) {
    // Escape closes a modal dialog; treat it as "stay logged in".
    dialog.addEventListener("cancel", function (e) { e.preventDefault(); stayLoggedIn(); });
  }
  setLeft(parseInt(el.getAttribute("data-seconds-left"), 10) || 0);
  start();
}());
