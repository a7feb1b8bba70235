// Copy buttons ("Kulcs másolása", "Törlőkód másolása"). The text stays on
// the page, selectable, for browsers without JavaScript; this only shows the
// buttons and copies on a press. data-copy names the element whose text is
// copied; data-copy-compact drops the spaces kapu groups the key with. The
// result is said in the row's role="status" paragraph, for screen readers too.
(function () {
  "use strict";
  function say(button, text, failed) {
    var row = button.closest(".copy-row");
    var status = row && row.querySelector(".copy-status");
    if (status) {
      status.classList.toggle("failed", !!failed);
      status.textContent = "";
      status.textContent = text;
    }
  }
  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.textContent.trim();
    if (button.hasAttribute("data-copy-compact")) { text = text.replace(/\s+/g, ""); }
    var done = function () { say(button, button.getAttribute("data-copied")); };
    var failed = function () { selectText(source); say(button, button.getAttribute("data-copy-failed"), true); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  }
  var buttons = document.querySelectorAll("button[data-copy]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function (e) { copy(e.currentTarget); });
  }
}());
