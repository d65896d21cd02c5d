// Keyboard review (press ? on a page for the list): j/k next/previous, Enter open,
// n/p next/previous page, V verify every matched attempt (after a confirmation),
// v verify, f flag (type a note, Enter), z screenshot 1:1, q queue.
// Served from this origin only (the CSP allows no inline script).
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable ||
      ["INPUT", "TEXTAREA", "SELECT"].indexOf(target.tagName) !== -1);
  }

  function go(id) {
    var link = document.getElementById(id);
    if (link) { window.location.assign(link.href); }
  }

  function toggleDialog(dialog) {
    if (!dialog) { return; }
    if (dialog.open) { dialog.close(); } else { dialog.showModal(); }
  }

  function queueKeys() {
    var rows = Array.prototype.slice.call(document.querySelectorAll("#queue tbody tr[data-href]"));
    var index = 0;
    var bulk = document.getElementById("verify-dialog");
    function select(next) {
      if (!rows.length) { return; }
      rows[index].classList.remove("selected");
      rows[index].removeAttribute("aria-selected");
      index = Math.max(0, Math.min(rows.length - 1, next));
      rows[index].classList.add("selected");
      rows[index].setAttribute("aria-selected", "true");
      rows[index].scrollIntoView({ block: "nearest" });
    }
    var start = rows.findIndex(function (row) { return row.hasAttribute("data-start"); });
    select(start === -1 ? 0 : start);
    var opener = document.getElementById("verify-matched");
    if (opener && bulk) {
      opener.addEventListener("click", function () { bulk.showModal(); });
      document.getElementById("verify-matched-cancel").addEventListener("click", function () {
        bulk.close();
      });
    }
    return function (event) {
      if (event.key === "j") { select(index + 1); }
      else if (event.key === "k") { select(index - 1); }
      else if (event.key === "n") { go("next-page"); }
      else if (event.key === "p") { go("prev-page"); }
      else if (event.key === "V" && bulk) { bulk.showModal(); }
      else if ((event.key === "Enter" || event.key === "o") && rows.length) {
        window.location.assign(rows[index].getAttribute("data-href"));
      } else { return false; }
      return true;
    };
  }

  function attemptKeys() {
    var shot = document.getElementById("screenshot");
    function zoom() { if (shot) { shot.classList.toggle("zoomed"); } }
    if (shot) { shot.addEventListener("click", zoom); }
    return function (event) {
      if (event.key === "j") { go("next"); }
      else if (event.key === "k") { go("prev"); }
      else if (event.key === "q") { go("back"); }
      else if (event.key === "z") { zoom(); }
      else if (event.key === "v") { document.getElementById("verify-form").requestSubmit(); }
      else if (event.key === "f") { document.getElementById("flag-note").focus(); }
      else { return false; }
      return true;
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var help = document.getElementById("keys-help");
    Array.prototype.forEach.call(document.querySelectorAll("[data-keys-help]"), function (b) {
      b.addEventListener("click", function () { toggleDialog(help); });
    });
    var close = document.getElementById("keys-close");
    if (close) { close.addEventListener("click", function () { help.close(); }); }
    var page = document.body.getAttribute("data-page");
    var handle = page === "queue" ? queueKeys() : page === "attempt" ? attemptKeys() : null;
    if (!handle) { return; }
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (typing(event.target)) {
        if (event.key === "Escape") { event.target.blur(); }
        return;
      }
      if (event.key === "?") { toggleDialog(help); event.preventDefault(); return; }
      if (document.querySelector("dialog[open]")) { return; }  // a dialog has the keys
      if (handle(event)) { event.preventDefault(); }
    });
    document.body.setAttribute("data-keys", "ready");
  });
})();
