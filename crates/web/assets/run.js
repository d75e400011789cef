// Run page: follows the run's event stream and applies each event to the page.
//
// The page is rendered with the run as it was (data-last-seq: the newest event shown).
// The stream is opened after that seq; EventSource reconnects by itself and sends
// Last-Event-ID, so the server resumes after the last event received: the timeline has
// no gap and no repeat. On every (re)open the run's state is fetched again
// (GET /api/v1/runs/{id}) and applied unless an event newer than it was applied already,
// so the page never shows a state older than what it has seen. After the terminal event
// (`done` or `failed`) the stream is closed. The rules for step states and the percentage
// are those of the server's rendering (src/pages/run_steps.rs).
"use strict";
(function () {
  var root = document.getElementById("run");
  if (!root) return;
  var id = root.getAttribute("data-run-id");
  var api = "/api/v1/runs/" + id;
  var lastSeq = Number(root.getAttribute("data-last-seq")) || 0; // newest event in the timeline
  var stateSeq = lastSeq; // the shown state is as of this event
  var state = root.getAttribute("data-state");
  var stepEls = Array.prototype.slice.call(document.querySelectorAll("#run-steps .step"));
  var steps = stepEls.map(function (li) { return li.getAttribute("data-step"); });
  var timeline = document.getElementById("run-events");
  var es = null;
  var delay = 1000;
  var timer = null;
  var MAX_EVENTS = 1000;

  function $(sel) { return document.getElementById(sel); }
  function text(sel, value) { var el = $(sel); if (el) el.textContent = value; }
  function show(sel, visible) { var el = $(sel); if (el) el.hidden = !visible; }
  function title(kind) {
    var s = String(kind || "").replace(/_/g, " ");
    return s ? s.charAt(0).toUpperCase() + s.slice(1) : "Waiting";
  }
  function label(runState, code) {
    if (runState === "running") return "running";
    if (runState === "done") return "succeeded";
    if (runState === "failed") return code === "CANCELLED" ? "cancelled" : "failed";
    return "unknown";
  }
  function setLive(message) { text("run-live", message); }

  // The whole visible state from (run state, current step, progress in it, stage, error).
  function render(runState, step, progress, stage, error) {
    state = runState;
    root.setAttribute("data-state", runState);
    var code = error && error.code;
    var word = label(runState, code);
    var badge = $("run-state");
    if (badge) { badge.className = "badge " + word; badge.textContent = word; }
    var n = steps.length || 1;
    var pct = runState === "done" ? 100
      : Math.max(0, Math.min(100, Math.floor((Math.max(step, 0) * 100 + Math.max(0, Math.min(100, progress))) / n)));
    text("run-percent", pct + "%");
    var bar = $("run-progress");
    if (bar) { bar.value = pct; bar.textContent = pct + "%"; }
    text("run-stage", runState === "done" ? "Done" : title(stage));
    stepEls.forEach(function (li, i) {
      var s;
      if (runState === "done" || i < step) s = "completed";
      else if (i > step) s = "pending";
      else if (runState === "running") s = "running";
      else s = code === "CANCELLED" ? "cancelled" : "failed";
      li.className = "step " + s;
      var b = li.querySelector(".step-state");
      if (b) { b.className = "badge step-state " + s; b.textContent = s; }
    });
    show("run-failure", runState === "failed");
    if (runState === "failed") {
      text("run-failure-code", (error && error.code) || "FAILED");
      text("run-failure-message", (error && error.message) || "");
    }
    show("run-cancel", runState === "running");
    show("run-resume", runState === "failed");
    if (runState === "done") loadResult();
  }

  function loadResult() {
    fetch(api + "/result", { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (res) {
      if (!res) return;
      var a = $("run-analysis-link");
      if (a) a.href = "/analyses/" + res.analysis_id;
      var x = $("run-export-link");
      if (x) x.href = "/api/v1/documents/" + res.document_id + "/export?format=md";
      text("run-result-summary", "Behaviors: " + res.behaviors + "; document version " + res.version + " (" + res.language + ").");
      show("run-result", true);
    }).catch(function () { /* the links stay hidden; a reload shows them */ });
  }

  // The run as the API answers it now; applied unless an applied event is newer.
  function refresh() {
    return fetch(api, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (v) {
      if (!v || v.last_seq < stateSeq) return;
      stateSeq = v.last_seq;
      render(v.state, v.step, v.progress, v.stage, v.error);
      if (v.state !== "running" && lastSeq >= v.last_seq) finish();
    }).catch(function () { /* the stream's events still apply */ });
  }

  function addEvent(ev) {
    if (!timeline) return;
    var li = document.createElement("li");
    li.className = "event " + ev.status;
    li.setAttribute("data-seq", String(ev.seq));
    var t = document.createElement("time");
    t.setAttribute("datetime", ev.at);
    var at = new Date(ev.at);
    t.textContent = isNaN(at) ? "" : at.toISOString().slice(11, 19);
    var s = document.createElement("span");
    s.className = "event-status";
    s.textContent = ev.status;
    var g = document.createElement("span");
    g.className = "event-stage";
    g.textContent = ev.stage || "";
    li.appendChild(t); li.appendChild(document.createTextNode(" "));
    li.appendChild(s); li.appendChild(document.createTextNode(" "));
    li.appendChild(g);
    if (ev.status === "progress") {
      var p = document.createElement("span");
      p.className = "event-progress";
      p.textContent = ev.progress + "%";
      li.appendChild(document.createTextNode(" "));
      li.appendChild(p);
    }
    timeline.insertBefore(li, timeline.firstChild);
    // A long run's progress events: keep the newest, not an ever-growing page.
    while (timeline.children.length > MAX_EVENTS) timeline.removeChild(timeline.lastChild);
  }

  function apply(ev) {
    if (typeof ev.seq !== "number" || ev.seq <= lastSeq) return; // seen already
    lastSeq = ev.seq;
    addEvent(ev);
    if (ev.seq <= stateSeq) return; // the state shown is newer than this event
    stateSeq = ev.seq;
    var i = steps.indexOf(ev.stage);
    if (i < 0) i = 0;
    switch (ev.status) {
      case "queued":
      case "started":
      case "progress":
        render("running", i, ev.progress || 0, ev.stage, null); break;
      case "completed":
        render("running", i + 1, 0, steps[i + 1] || ev.stage, null); break;
      case "failed":
        render("failed", i, ev.progress || 0, ev.stage, ev.payload || null);
        finish(); refresh(); break;
      case "done":
        render("done", steps.length, 100, ev.stage, null);
        finish(); break;
    }
  }

  function finish() {
    if (es) { es.close(); es = null; }
    if (timer) { clearTimeout(timer); timer = null; }
    setLive("Finished.");
  }

  function open() {
    timer = null;
    if (state !== "running") return;
    es = new EventSource(api + "/events?after=" + lastSeq);
    es.addEventListener("open", function () {
      delay = 1000;
      setLive("Live.");
      refresh();
    });
    ["queued", "started", "progress", "completed", "failed", "done"].forEach(function (name) {
      es.addEventListener(name, function (e) {
        try { apply(JSON.parse(e.data)); } catch (err) { /* a malformed event is skipped */ }
      });
    });
    es.addEventListener("error", function () {
      if (!es) return;
      if (es.readyState === EventSource.CLOSED) {
        // Refused (a limit, a lost session) or not a stream: open again later, after the
        // last event received, waiting longer each time.
        es = null;
        setLive("Disconnected; retrying…");
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 30000);
      } else {
        setLive("Reconnecting…");
      }
    });
  }

  if (state === "running" && window.EventSource) open();
})();
