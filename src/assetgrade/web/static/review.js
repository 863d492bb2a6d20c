/* assetgrade review page: defect boxes (draw, move, resize), heat-map toggle, keyboard shortcuts. No dependencies. */
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var state = { defects: [], selected: -1 };

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  /* A text from the page's data (an image id, a defect id, who found a box) written into the page as the server
     writes every text: control characters and bidi controls as their pictures or code points ('⟨U+202E⟩'), so an
     override in an image id does not draw the rest of the message backwards. The table is the server's own
     (grading/visible.py's CONTROL_PICTURES, in #control-pictures); what is sent back stays exact. */
  var PICTURES = null;
  function shown(text) {
    if (PICTURES === null) {
      var t = document.getElementById("control-pictures");
      try { PICTURES = t ? JSON.parse(t.textContent) : {}; } catch (e) { PICTURES = {}; }
    }
    var s = String(text), out = "";
    for (var i = 0; i < s.length; i++) {
      var c = s.charAt(i);
      out += Object.prototype.hasOwnProperty.call(PICTURES, c) ? PICTURES[c] : c;
    }
    return out;
  }

  function save() {
    var input = $("#defects-json");
    if (input) { input.value = JSON.stringify(state.defects); }
  }

  function defaultDefect() {
    for (var i = 0; i < state.defects.length; i++) { if (state.defects[i].source !== "reviewer") { return state.defects[i].id; } }
    var t = $("#defect-options");
    var o = t && t.content ? t.content.querySelector("option") : null;
    return o ? o.value : "defect";
  }

  function optionsHtml() {
    var t = $("#defect-options");
    return t ? t.innerHTML : "";
  }

  function renderList() {
    var list = $("#defect-list");
    if (!list) { return; }
    list.innerHTML = "";
    state.defects.forEach(function (d, i) {
      var li = document.createElement("li");
      li.className = "defect" + (i === state.selected ? " selected" : "");
      var sel = document.createElement("select");
      sel.setAttribute("aria-label", "defect type " + (i + 1));
      sel.innerHTML = optionsHtml();
      if (!Array.prototype.some.call(sel.options, function (o) { return o.value === d.id; })) {
        /* the model named a defect the ontology no longer has: say so, the review would be refused */
        var o = document.createElement("option"); o.value = d.id;
        o.textContent = shown(d.id) + " (not in the ontology: pick another or remove it)";
        sel.appendChild(o); li.className += " unknown";
      }
      sel.value = d.id;
      sel.addEventListener("change", function () { d.id = sel.value; save(); drawAll(); });
      li.appendChild(sel);
      var info = document.createElement("span");
      info.className = "boxinfo";
      info.textContent = d.box ? " box " + d.box.map(function (v) { return Math.round(v); }).join(", ") +
        (d.evidence_id ? " on " + shown(d.evidence_id) : "") : " (no box)";
      if (d.source) { info.textContent += " · from " + shown(d.source); }
      li.appendChild(info);
      var rm = document.createElement("button");
      rm.type = "button"; rm.className = "small"; rm.textContent = "Remove";
      rm.setAttribute("aria-label", "remove defect " + (i + 1) + " " + shown(d.id));
      rm.addEventListener("click", function () { state.defects.splice(i, 1); state.selected = -1; save(); renderList(); drawAll(); });
      li.appendChild(rm);
      li.addEventListener("click", function (ev) { if (ev.target === li || ev.target === info) { state.selected = i; renderList(); drawAll(); } });
      list.appendChild(li);
    });
  }

  function scaleOf(fig) {
    var img = $("img.photo", fig);
    var w = img.naturalWidth || img.width || 1, h = img.naturalHeight || img.height || 1;
    return { sx: w / (img.clientWidth || w), sy: h / (img.clientHeight || h), w: w, h: h };
  }

  function drawAll() {
    $all("figure.imgbox").forEach(function (fig) {
      var svg = $("svg.boxes", fig), img = $("img.photo", fig);
      if (!svg || !img) { return; }
      var s = scaleOf(fig);
      svg.setAttribute("viewBox", "0 0 " + s.w + " " + s.h);
      svg.innerHTML = "";
      var evid = fig.getAttribute("data-evidence");
      state.defects.forEach(function (d, i) {
        if (!d.box || d.evidence_id !== evid) { return; }
        var b = d.box;
        var r = document.createElementNS(SVGNS, "rect");
        r.setAttribute("x", b[0]); r.setAttribute("y", b[1]);
        r.setAttribute("width", Math.max(1, b[2] - b[0])); r.setAttribute("height", Math.max(1, b[3] - b[1]));
        r.setAttribute("class", "dbox" + (i === state.selected ? " selected" : ""));
        r.setAttribute("data-index", i);
        svg.appendChild(r);
        var t = document.createElementNS(SVGNS, "text");
        t.setAttribute("x", b[0] + 3); t.setAttribute("y", Math.max(12 * s.sy, b[1] - 4));
        t.setAttribute("class", "dlabel"); t.setAttribute("font-size", 12 * s.sy);
        t.textContent = (i + 1) + " " + shown(d.id);
        svg.appendChild(t);
        var hd = document.createElementNS(SVGNS, "rect");
        var hs = 8 * s.sx;
        hd.setAttribute("x", b[2] - hs / 2); hd.setAttribute("y", b[3] - hs / 2);
        hd.setAttribute("width", hs); hd.setAttribute("height", hs);
        hd.setAttribute("class", "handle"); hd.setAttribute("data-index", i); hd.setAttribute("data-handle", "1");
        svg.appendChild(hd);
      });
    });
  }

  /* An image whose file the browser cannot decode (corrupt, or not an image): say so instead of a
     broken-image icon with boxes drawn over nothing. */
  function brokenImage(fig) {
    if (fig.getAttribute("data-broken")) { return; }
    fig.setAttribute("data-broken", "1");
    var stage = $(".stage", fig);
    if (stage) { stage.style.display = "none"; }
    var p = document.createElement("p");
    p.className = "msg error"; p.setAttribute("role", "alert");
    p.textContent = "Image " + shown(fig.getAttribute("data-evidence")) + " cannot be shown: its file does not decode " +
      "as an image (corrupt, or another kind of file). No boxes can be drawn on it.";
    fig.insertBefore(p, fig.firstChild);
  }

  function attachBoxTool(fig) {
    var svg = $("svg.boxes", fig);
    if (!svg || svg.getAttribute("data-ready")) { return; }
    svg.setAttribute("data-ready", "1");
    var photo = $("img.photo", fig), heat = $("img.heat", fig);
    if (photo) {
      photo.addEventListener("error", function () { brokenImage(fig); });
      if (photo.complete && photo.naturalWidth === 0 && photo.getAttribute("src")) { brokenImage(fig); }
    }
    if (heat) {
      heat.addEventListener("error", function () { heat.remove(); });
      if (heat.complete && heat.naturalWidth === 0) { heat.remove(); }
    }
    var drag = null;
    function pt(ev) {
      var rect = svg.getBoundingClientRect(), s = scaleOf(fig);
      var x = (ev.clientX - rect.left) * s.sx, y = (ev.clientY - rect.top) * s.sy;
      return [Math.max(0, Math.min(s.w, x)), Math.max(0, Math.min(s.h, y))];
    }
    svg.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
      kbEnd(true);   /* a box being adjusted with the keys is kept as it stands */
      svg.setPointerCapture(ev.pointerId);
      var p = pt(ev), idx = ev.target.getAttribute("data-index");
      if (idx !== null) {
        var i = parseInt(idx, 10);
        state.selected = i;
        drag = { mode: ev.target.getAttribute("data-handle") ? "resize" : "move", i: i, start: p, orig: state.defects[i].box.slice() };
      } else {
        state.defects.push({ id: defaultDefect(), evidence_id: fig.getAttribute("data-evidence"), box: [p[0], p[1], p[0], p[1]], source: "reviewer" });
        state.selected = state.defects.length - 1;
        drag = { mode: "draw", i: state.selected, start: p };
      }
      renderList(); drawAll();
    });
    svg.addEventListener("pointermove", function (ev) {
      if (!drag) { return; }
      var p = pt(ev), d = state.defects[drag.i];
      if (drag.mode === "draw") {
        d.box = [Math.min(drag.start[0], p[0]), Math.min(drag.start[1], p[1]), Math.max(drag.start[0], p[0]), Math.max(drag.start[1], p[1])];
      } else if (drag.mode === "move") {
        var dx = p[0] - drag.start[0], dy = p[1] - drag.start[1], o = drag.orig, s = scaleOf(fig);
        /* a moved box stays on the image (the server refuses one that does not lie within it) */
        dx = Math.max(-Math.min(o[0], o[2]), Math.min(s.w - Math.max(o[0], o[2]), dx));
        dy = Math.max(-Math.min(o[1], o[3]), Math.min(s.h - Math.max(o[1], o[3]), dy));
        d.box = [o[0] + dx, o[1] + dy, o[2] + dx, o[3] + dy];
      } else {
        d.box = [d.box[0], d.box[1], Math.max(d.box[0] + 1, p[0]), Math.max(d.box[1] + 1, p[1])];
      }
      drawAll();
    });
    function end() {
      if (!drag) { return; }
      var d = state.defects[drag.i];
      if (drag.mode === "draw" && (d.box[2] - d.box[0] < 3 || d.box[3] - d.box[1] < 3)) {
        state.defects.splice(drag.i, 1); state.selected = -1;   /* a click, not a box */
      } else {
        d.box = d.box.map(function (v) { return Math.round(v * 10) / 10; });
      }
      drag = null; save(); renderList(); drawAll();
    }
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    var img = $("img.photo", fig);
    if (img && !img.complete) { img.addEventListener("load", drawAll); }
    var stage = $(".stage", fig);
    if (stage) {
      stage.addEventListener("keydown", function (ev) { boxKey(fig, ev); });
      stage.addEventListener("blur", function () { kbEnd(true); });
    }
  }

  /* The box tool without a pointer (WCAG 2.1.1): on a focused image Enter places a box (the middle quarter of the
     image), Space selects the next box on it, arrows move the selected box and Shift+arrows resize it (its
     bottom-right corner, as the mouse's handle) in steps of 5 % of the image, 1 % with Alt; Enter keeps the box,
     Escape puts it back (a new one is removed), leaving the image keeps it. The box is written to the same field
     as a drawn one, rounded the same way, and the status line under the image (aria-live) says where it is. */
  var kb = null;   /* the box being adjusted: {fig, i, orig (its box before, null for a new one)} */
  var STEP = 0.05, FINE = 0.01;

  function num(v) { return String(Math.round(v * 10) / 10); }

  function boxText(i) {
    var d = state.defects[i], b = d.box;
    return "box " + (i + 1) + " " + shown(d.id) + (d.source && d.source !== "reviewer" ? " (from " + shown(d.source) + ")" : "") +
      ": x " + num(b[0]) + " to " + num(b[2]) + ", y " + num(b[1]) + " to " + num(b[3]);
  }

  function say(fig, text) {
    var st = $(".boxstatus", fig);
    if (st) { st.textContent = text; }
  }

  function onImage(fig, i) {
    var d = state.defects[i];
    return !!(d && d.box && d.evidence_id === fig.getAttribute("data-evidence"));
  }

  function markSelected() {
    $all("#defect-list li").forEach(function (li, j) { li.classList.toggle("selected", j === state.selected); });
  }

  function kbEnd(keep) {
    if (!kb) { return; }
    var k = kb, d = state.defects[k.i];
    kb = null;
    if (!d) { return; }
    if (keep) {
      d.box = d.box.map(function (v) { return Math.round(v * 10) / 10; });
      say(k.fig, "Kept " + boxText(k.i) + ".");
    } else if (k.orig) {
      d.box = k.orig;
      say(k.fig, "Put back " + boxText(k.i) + ".");
    } else {
      state.defects.splice(k.i, 1); state.selected = -1;
      say(k.fig, "New box removed.");
    }
    save(); renderList(); drawAll();
  }

  function boxKey(fig, ev) {
    if (ev.ctrlKey || ev.metaKey) { return; }
    var k = ev.key, s = scaleOf(fig), evid = fig.getAttribute("data-evidence");
    var arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (ev.altKey && !arrows[k]) { return; }
    if (k === "Enter") {
      ev.preventDefault(); ev.stopPropagation();   /* never submits the review from here */
      if (kb) { kbEnd(true); return; }
      state.defects.push({ id: defaultDefect(), evidence_id: evid, box: [s.w / 4, s.h / 4, s.w * 3 / 4, s.h * 3 / 4], source: "reviewer" });
      state.selected = state.defects.length - 1;
      kb = { fig: fig, i: state.selected, orig: null };
      renderList(); drawAll();
      say(fig, "New " + boxText(kb.i) + ", on an image of " + num(s.w) + " by " + num(s.h) +
        " pixels. Arrows move it, Shift+arrows resize it; Enter keeps it, Escape removes it.");
    } else if (k === "Escape") {
      if (kb) { ev.preventDefault(); ev.stopPropagation(); kbEnd(false); }
    } else if (k === " ") {
      ev.preventDefault(); ev.stopPropagation();
      kbEnd(true);
      var n = state.defects.length;
      for (var step = 1; step <= n; step++) {
        var j = ((state.selected < 0 ? -1 : state.selected) + step) % n;
        if (onImage(fig, j)) {
          state.selected = j; markSelected(); drawAll();
          say(fig, "Selected " + boxText(j) + ". Arrows move it, Shift+arrows resize it, Delete removes it.");
          return;
        }
      }
      say(fig, "No box on this image yet: Enter places one.");
    } else if (arrows[k]) {
      ev.preventDefault(); ev.stopPropagation();
      if (!onImage(fig, state.selected)) { say(fig, "No box selected on this image: Enter places one, Space selects one."); return; }
      var d = state.defects[state.selected];
      if (!kb) { kb = { fig: fig, i: state.selected, orig: d.box.slice() }; }
      var f = ev.altKey ? FINE : STEP, dx = arrows[k][0] * f * s.w, dy = arrows[k][1] * f * s.h, b = d.box;
      var x0 = Math.min(b[0], b[2]), y0 = Math.min(b[1], b[3]), x1 = Math.max(b[0], b[2]), y1 = Math.max(b[1], b[3]);
      if (ev.shiftKey) {   /* the bottom-right corner; a box keeps at least 3 pixels (a smaller drag adds nothing) */
        x1 = Math.max(Math.min(x0 + 3, s.w), Math.min(s.w, x1 + dx));
        y1 = Math.max(Math.min(y0 + 3, s.h), Math.min(s.h, y1 + dy));
      } else {             /* a moved box stays on the image, as a dragged one */
        dx = Math.max(-x0, Math.min(s.w - x1, dx)); dy = Math.max(-y0, Math.min(s.h - y1, dy));
        x0 += dx; x1 += dx; y0 += dy; y1 += dy;
      }
      d.box = [x0, y0, x1, y1];
      drawAll();
      var t = boxText(state.selected);
      say(fig, t.charAt(0).toUpperCase() + t.slice(1) + ".");
    }
  }

  function initForm() {
    var input = $("#defects-json");
    try { state.defects = input && input.value ? JSON.parse(input.value) : []; } catch (e) { state.defects = []; }
    if (!Array.isArray(state.defects)) { state.defects = []; }
    state.selected = -1; kb = null;
    var add = $("#add-defect");
    if (add) {
      add.addEventListener("click", function () {
        state.defects.push({ id: defaultDefect(), source: "reviewer" });
        save(); renderList();
      });
    }
    var form = $("#review-form");
    if (form) { form.addEventListener("submit", function () { save(); submitting = true; }); }
    $all("figure.imgbox").forEach(attachBoxTool);
    save(); renderList(); drawAll();
    /* a panel that came back with a conflict or an error holds input that is not saved yet */
    pristine = $("#review-message") ? null : snapshot();
    submitting = false;
    /* a refused review: the keyboard goes to the field the reason is written beside */
    var bad = $("#review-form [aria-invalid=true]") || $("#review-form fieldset.invalid select");
    var msg = $("#review-message");
    if (bad) { bad.focus(); }
    else if (msg) {
      /* a conflict: the panel was swapped with the button that had the focus; the keyboard goes on from the
         message (read it, Tab into the form, Enter submits again) instead of from the top of the page */
      msg.setAttribute("tabindex", "-1"); msg.focus();
    }
  }

  /* Unsaved work (a grade picked, a note, boxes) is not lost to a stray j/k, a link or a closed tab
     without the browser asking first. */
  var pristine = null, submitting = false;
  function snapshot() {
    var g = $("#review-form input[name=grade]:checked"), n = $("#note"), d = $("#defects-json");
    return JSON.stringify([g ? g.value : "", n ? n.value : "", d ? d.value : ""]);
  }
  window.addEventListener("beforeunload", function (ev) {
    if (submitting || !$("#review-form")) { return; }
    save();
    if (snapshot() !== pristine) { ev.preventDefault(); ev.returnValue = ""; }
  });

  function toggleHeat() {
    var btn = $("#toggle-heat");
    if (!btn) { return; }
    var on = btn.getAttribute("aria-pressed") !== "true";
    btn.setAttribute("aria-pressed", on ? "true" : "false");
    btn.firstChild.nodeValue = on ? "Heat map on " : "Heat map off ";
    $all("img.heat").forEach(function (h) { h.hidden = !on; });
  }

  function typing(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable ||
                  (el.tagName === "INPUT" && el.type !== "radio"));
  }

  /* A focused link or button (reached with Tab) acts on Enter itself: following the link or
     pressing the button must never submit the review instead. */
  function activates(el) {
    return el && (el.tagName === "A" || el.tagName === "BUTTON" || el.tagName === "SUMMARY" ||
                  (el.tagName === "INPUT" && el.type !== "radio") || el.getAttribute("role") === "button");
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(document.activeElement)) { return; }
    if ($("dialog[open]")) { return; }   /* the keyboard help is open: its Close button has the keys */
    if (ev.key === "Enter" && activates(document.activeElement)) { return; }
    var radios = $all("#review-form input[name=grade]");
    var k = ev.key, idx = -1;
    if (/^[1-9]$/.test(k)) { idx = parseInt(k, 10) - 1; }
    else if (/^[a-d]$/.test(k) && k !== "h") { idx = k.charCodeAt(0) - 97; }
    if (idx >= 0 && idx < radios.length) { radios[idx].checked = true; radios[idx].focus(); ev.preventDefault(); return; }
    var head = $("#asset-head");
    if (k === "j" && head && head.getAttribute("data-next")) { window.location = head.getAttribute("data-next"); }
    else if (k === "k" && head && head.getAttribute("data-prev")) { window.location = head.getAttribute("data-prev"); }
    else if (k === "h") { toggleHeat(); }
    else if (k === "?") { var d = $("#help"); if (d && d.showModal) { d.showModal(); } }
    else if ((k === "Delete" || k === "Backspace") && state.selected >= 0) {
      kb = null;
      state.defects.splice(state.selected, 1); state.selected = -1; save(); renderList(); drawAll(); ev.preventDefault();
    } else if (k === "Enter") {
      var form = $("#review-form");
      if (form) { ev.preventDefault(); save(); if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); } }
    }
  });

  /* A review post that failed outside the form's own answers (409/422 come back as the panel):
     say why above the form and keep the input, instead of doing nothing. */
  function notSaved(text, login) {
    var panel = $("#review-panel"), form = $("#review-form");
    if (!panel || !form) { return; }
    var box = $("#review-message");
    if (!box) {
      box = document.createElement("div"); box.id = "review-message"; box.setAttribute("role", "alert");
      panel.insertBefore(box, form);
    }
    box.className = "msg error"; box.textContent = "";
    var strong = document.createElement("strong"); strong.textContent = "Not saved:";
    box.appendChild(strong); box.appendChild(document.createTextNode(" " + text + " "));
    if (login) {
      var a = document.createElement("a");
      a.href = "/ui/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
      a.target = "_blank"; a.rel = "noopener"; a.id = "login-again"; a.textContent = "Log in again in a new tab";
      box.appendChild(a);
      box.appendChild(document.createTextNode(", then submit again here: your input is kept."));
    } else {
      box.appendChild(document.createTextNode("Your input is kept."));
    }
  }

  /* A log entry's "show all" that failed is said beside it: it is no review that was not saved. */
  function textNotShown(ev, why) {
    var elt = ev.detail && ev.detail.elt, more = elt && elt.closest ? elt.closest(".more-text") : null;
    if (!more) { return false; }
    var said = more.querySelector(".text-error");
    if (!said) { said = document.createElement("span"); said.className = "text-error warn"; said.setAttribute("role", "alert"); more.appendChild(said); }
    said.textContent = " The rest could not be loaded: " + why + " Try again.";
    return true;
  }

  document.body.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail && ev.detail.xhr, why = "";
    if (textNotShown(ev, "the server answered " + (xhr ? xhr.status : "an error") + ".")) { return; }
    submitting = false; pristine = null;
    if (!xhr) { return; }
    try {
      var el = new DOMParser().parseFromString(xhr.responseText || "", "text/html").querySelector("[role=alert]");
      why = el ? shown(el.textContent.trim()) : "";   /* our pages show it so already; another's may not */
    } catch (e) { why = ""; }
    if (xhr.status === 401) { notSaved("your session has ended (it expired, or its token was revoked, or you logged out).", true); }
    else { notSaved("the server answered " + xhr.status + (why ? ": " + why : "") + ".", false); }
  });
  document.body.addEventListener("htmx:sendError", function (ev) {
    if (textNotShown(ev, "the server could not be reached.")) { return; }
    submitting = false; pristine = null;
    notSaved("the server could not be reached; submit again when it is back.", false);
  });

  var heatBtn = document.getElementById("toggle-heat");
  if (heatBtn) { heatBtn.addEventListener("click", toggleHeat); }
  window.addEventListener("resize", drawAll);
  document.body.addEventListener("htmx:afterSwap", function (ev) {
    if (ev.target && ev.target.querySelector && (ev.target.id === "review-panel" || ev.target.querySelector("#review-form"))) { initForm(); }
  });
  document.body.addEventListener("htmx:afterSettle", function () { if ($("#review-form") && !$("#defect-list li") && state.defects.length) { initForm(); } });
  initForm();
}());
