/* assetgrade queue page: j/k move the selection, Enter opens the selected asset. */
(function () {
  "use strict";
  var sel = 0;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr[data-href]")); }
  function mark() {
    sel = Math.max(0, Math.min(sel, rows().length - 1));  /* the refresh may bring back fewer rows */
    rows().forEach(function (r, i) { r.classList.toggle("selected", i === sel); if (i === sel) { r.setAttribute("aria-selected", "true"); } else { r.removeAttribute("aria-selected"); } });
  }
  /* The selected row is kept in this page's history entry: back from an asset (the page is loaded again, it is
     never cached) selects the row it was opened from, not the first one, so j/k go on from there. */
  function remember(href) {
    try { window.history.replaceState({ selected: href }, ""); } catch (e) { /* no history: nothing kept */ }
  }
  function restore() {
    var want = window.history.state && window.history.state.selected;
    var hash = /^#select=(.+)$/.exec(window.location.hash);   /* the asset page's "Queue 7 of 30" link */
    if (!want && hash) { try { want = decodeURIComponent(hash[1]); } catch (e) { want = null; } }
    if (!want) { return; }
    rows().forEach(function (r, i) { if (r.getAttribute("data-href") === want) { sel = i; } });
  }
  document.addEventListener("click", function (ev) {
    var row = ev.target && ev.target.closest ? ev.target.closest("#queue-rows tr[data-href]") : null;
    if (row) { sel = rows().indexOf(row); remember(row.getAttribute("data-href")); }
  });
  function typing(el) { return el && (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA" || el.isContentEditable); }
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) { return; }
    var rs = rows();
    if (!rs.length) { return; }
    if (ev.key === "j" || ev.key === "k") {
      sel = ev.key === "j" ? Math.min(rs.length - 1, sel + 1) : Math.max(0, sel - 1);
      mark(); remember(rs[sel].getAttribute("data-href"));
      rs[sel].scrollIntoView({ block: "nearest" });  /* the selection stays in sight (not on the 30 s refresh) */
    }
    else if (ev.key === "Enter" && document.activeElement === document.body) { window.location = rs[sel].getAttribute("data-href"); }
  });
  document.body.addEventListener("htmx:afterSwap", mark);
  restore();
  mark();

  /* A page waiting for a label round reloads itself every few seconds (a meta refresh without
     scripts); once the admin starts filling in the round form it waits, so the input is not wiped. */
  var every = document.querySelector('meta[name="assetgrade-refresh"]');
  if (every) {
    var edited = false, form = document.getElementById("round-form");
    if (form) {
      form.addEventListener("input", function () { edited = true; });
      form.addEventListener("change", function () { edited = true; });
    }
    window.setTimeout(function () {
      if (!edited) { window.location.reload(); return; }
      var msg = document.getElementById("round-message");
      if (msg) {
        msg.appendChild(document.createTextNode(" Refreshing is paused while you fill in the form; " +
          "reload the page to see how the round is doing."));
      }
    }, 1000 * (parseFloat(every.getAttribute("content")) || 2));
  }
}());
