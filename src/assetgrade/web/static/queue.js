/* assetgrade queue page: j/k move the selection, Enter opens the selected asset. */
(function () {
  "use strict";
  var sel = 0;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr[data-href]")); }
  function mark() {
    sel = Math.max(0, Math.min(sel, rows().length - 1));  /* the refresh may bring back fewer rows */
    rows().forEach(function (r, i) { r.classList.toggle("selected", i === sel); if (i === sel) { r.setAttribute("aria-selected", "true"); } else { r.removeAttribute("aria-selected"); } });
  }
  function hrefAt(i) { var r = rows()[i]; return r ? r.getAttribute("data-href") : null; }

  /* The 30 s refresh replaces the rows. The selection stays on its asset, wherever the refresh put it (others'
     reviews take rows out above it, new assets come in ahead of it); only when its asset left the page does it
     stay at its place, on the asset now there. The window keeps the rows it showed where they were: the selected
     row if it was in sight, else the first row in sight that is still there. */
  var before = null;
  function inSight(r) { var b = r.getBoundingClientRect(); return b.bottom > 0 && b.top < window.innerHeight; }
  function isRows(ev) { return ev.detail && ev.detail.target && ev.detail.target.id === "queue-rows"; }
  document.body.addEventListener("htmx:beforeSwap", function (ev) {
    if (!isRows(ev)) { return; }
    var rs = rows(), tops = {}, order = [];
    if (rs[sel] && inSight(rs[sel])) { order.push(rs[sel].getAttribute("data-href")); }
    rs.forEach(function (r) {
      var href = r.getAttribute("data-href");
      tops[href] = r.getBoundingClientRect().top;
      if (inSight(r)) { order.push(href); }
    });
    before = { selected: hrefAt(sel), tops: tops, order: order };
  });
  document.body.addEventListener("htmx:afterSwap", function (ev) {
    if (!isRows(ev) || !before) { mark(); return; }
    var rs = rows(), at = {}, was = before;
    before = null;
    rs.forEach(function (r, i) { at[r.getAttribute("data-href")] = i; });
    if (was.selected !== null && at.hasOwnProperty(was.selected)) { sel = at[was.selected]; }
    mark();
    var now = hrefAt(sel);
    if (now !== null && now !== was.selected) { remember(now); }  /* back from an asset selects this row */
    for (var k = 0; k < was.order.length; k++) {
      if (at.hasOwnProperty(was.order[k])) {
        var moved = rs[at[was.order[k]]].getBoundingClientRect().top - was.tops[was.order[k]];
        if (moved) { window.scrollBy(0, moved); }
        break;
      }
    }
  });
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
