// The sampling page: a tube's barcode, then each person's pass, CCCD QR or document number.
// Every step becomes an operation with an id made here, kept in localStorage and sent when the
// network allows; the server recognises a step it has seen, so a re-sent queue doubles nothing
// and a reload (or a flat battery) loses nothing.
(function () {
  "use strict";

  var root = document.getElementById("sampling");
  if (!root) { return; }
  var ENDPOINT = "/testing/sample/ops";
  var BATCH = 100;
  var TIMEOUT_MS = 15000;
  var RETRY_MIN_MS = 2000;
  var RETRY_MAX_MS = 30000;
  var BARCODE = /^[A-Z0-9][A-Z0-9-]{3,39}$/;
  var SAME_CODE_MS = 3000;

  var campaign = root.getAttribute("data-campaign");
  var site = root.getAttribute("data-site");
  var maxPool = parseInt(root.getAttribute("data-max-pool"), 10) || 1;
  // One queue per user on a shared phone: steps are sent with the signed-in user's session.
  var storageKey = "phongdich.sampling." + root.getAttribute("data-user");

  var el = function (id) { return document.getElementById(id); };
  var openForm = el("open-form");
  var barcodeInput = el("tube-barcode");
  var tubeBox = el("tube");
  var addForm = el("add-form");
  var personInput = el("person-text");
  var membersList = el("members");
  var closedList = el("closed-list");

  function label(name) { return root.getAttribute("data-" + name) || ""; }

  // Made on this device, so a re-sent request is recognised (see app.js).
  var newId = window.phongdich.newId;

  // The state: the queue of steps not yet answered, the tube at hand, the tubes closed here,
  // and the steps the server refused.
  function load() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(storageKey) || "null");
      if (saved && Array.isArray(saved.queue)) { return saved; }
    } catch (ignored) { /* a damaged entry starts afresh */ }
    return { queue: [], tube: null, closed: [], rejected: [] };
  }

  var state = load();
  var sending = false;
  var reachable = true;
  var signedOut = false;
  var oneByOne = false;
  var retryDelay = RETRY_MIN_MS;
  var retryTimer = null;

  function save() {
    window.localStorage.setItem(storageKey, JSON.stringify(state));
  }

  function queueOp(step, fields) {
    var op = {
      id: newId(),
      op: step,
      barcode: fields.barcode,
      campaign_code: fields.campaign_code || campaign,
      site_code: fields.site_code || site,
      kind: fields.kind || "pool",
      text: fields.text || null,
      sample_id: fields.sample_id || null,
      at: new Date().toISOString()
    };
    state.queue.push(op);
    save();
    render();
    flush();
    return op;
  }

  function queued(predicate) {
    return state.queue.some(predicate);
  }

  // What a member looks like before the server has said who it is: the end of what was typed.
  function typedHint(text) {
    var t = (text || "").trim();
    return "…" + t.slice(-4);
  }

  function capacity(tube) { return tube.kind === "single" ? 1 : maxPool; }

  function note(text) {
    var p = el("tube-note");
    p.textContent = text;
    p.hidden = !text;
  }

  // Drawing

  function memberItem(member) {
    var li = document.createElement("li");
    li.className = "sampling-member" + (member.pending ? " pending" : "");
    li.setAttribute("data-sample", member.id);
    if (member.colour) {
      var dot = document.createElement("span");
      dot.className = "colour-dot colour-" + member.colour;
      dot.setAttribute("aria-hidden", "true");
      li.appendChild(dot);
    }
    var who = document.createElement("span");
    who.className = "who";
    if (member.pending) {
      who.textContent = member.hint + " · " + label("waiting");
    } else {
      who.textContent = member.initials + (member.birth_year ? " · " + label("born") + " " + member.birth_year : "");
    }
    li.appendChild(who);
    var undo = document.createElement("button");
    undo.type = "button";
    undo.className = "secondary undo";
    undo.textContent = "✕";
    undo.title = label("remove");
    undo.setAttribute("aria-label", label("remove"));
    undo.addEventListener("click", function () { removeMember(member.id); });
    li.appendChild(undo);
    return li;
  }

  function render() {
    var count = state.queue.length;
    el("queue-count").textContent = String(count);
    var net = el("net-state");
    var online = navigator.onLine !== false;
    net.className = "net-state " + (signedOut || !online || !reachable ? "offline" : "online");
    net.textContent = signedOut ? label("signed-out") : !online ? label("offline") : !reachable ? label("unreachable") : label("online");

    var rejected = el("rejected");
    var list = el("rejected-list");
    list.textContent = "";
    state.rejected.forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = item.what + ": " + item.reason;
      list.appendChild(li);
    });
    rejected.hidden = state.rejected.length === 0;

    var tube = state.tube;
    tubeBox.hidden = !tube;
    openForm.hidden = !!tube;
    if (tube) {
      el("tube-code").textContent = tube.barcode;
      el("tube-kind").textContent = label(tube.kind);
      el("tube-fill").textContent = tube.members.length + " / " + capacity(tube);
      membersList.textContent = "";
      tube.members.forEach(function (member) { membersList.appendChild(memberItem(member)); });
      var full = tube.members.length >= capacity(tube);
      personInput.disabled = full;
      note(full ? label("full") : "");
    }

    closedList.textContent = "";
    state.closed.forEach(function (item) {
      var li = document.createElement("li");
      var code = document.createElement("code");
      code.textContent = item.barcode;
      li.appendChild(code);
      li.appendChild(document.createTextNode(" · " + label(item.kind) + " · " + item.members));
      closedList.appendChild(li);
    });
    el("closed-to-shipment").hidden = state.closed.length === 0;
  }

  function focusInput() {
    var target = state.tube ? personInput : barcodeInput;
    if (!target.disabled) { target.focus(); }
  }

  // The steps

  function openTube(code, kind) {
    code = (code || "").trim().toUpperCase();
    if (!BARCODE.test(code)) {
      reject(label("op-open") + " " + (code || "?"), label("bad-barcode"));
      return;
    }
    if (maxPool === 1) { kind = "single"; }
    queueOp("open", { barcode: code, kind: kind });
    state.tube = { barcode: code, kind: kind, campaign_code: campaign, site_code: site, members: [] };
    save();
    render();
  }

  function addPerson(text) {
    text = (text || "").trim();
    var tube = state.tube;
    if (!text || !tube) { return; }
    if (tube.members.length >= capacity(tube)) { note(label("full")); return; }
    var op = queueOp("add", { barcode: tube.barcode, kind: tube.kind, text: text });
    tube.members.push({ id: op.id, pending: true, hint: typedHint(text), initials: "", birth_year: null, colour: null });
    save();
    render();
  }

  function removeMember(id) {
    var tube = state.tube;
    if (!tube) { return; }
    tube.members = tube.members.filter(function (m) { return m.id !== id; });
    queueOp("remove", { barcode: tube.barcode, kind: tube.kind, sample_id: id });
    focusInput();
  }

  function closeTube() {
    var tube = state.tube;
    if (!tube) { return; }
    if (!tube.members.length) { note(label("empty-tube")); return; }
    queueOp("close", { barcode: tube.barcode, kind: tube.kind });
    state.closed.push({ barcode: tube.barcode, kind: tube.kind, members: tube.members.length });
    state.tube = null;
    save();
    render();
    focusInput();
  }

  function describe(op) {
    var what = label("op-" + op.op) + " " + op.barcode;
    if (op.op === "add" && op.text) { what += " · " + typedHint(op.text); }
    return what;
  }

  function reject(what, reason) {
    state.rejected.push({ what: what, reason: reason });
    save();
    render();
  }

  // The server's answers

  function applyTube(view) {
    var tube = state.tube;
    if (!tube || !view || view.barcode !== tube.barcode) { return; }
    var known = {};
    tube.members.forEach(function (m) { known[m.id] = m; });
    var shown = {};
    var members = [];
    view.members.forEach(function (m) {
      var removing = queued(function (op) { return op.op === "remove" && op.sample_id === m.sample_id; });
      if (removing) { return; }
      var before = known[m.sample_id] || {};
      shown[m.sample_id] = true;
      members.push({
        id: m.sample_id,
        pending: false,
        hint: before.hint || "",
        initials: m.initials,
        birth_year: m.birth_year,
        colour: m.colour || before.colour || null
      });
    });
    tube.members.forEach(function (m) {
      var waiting = queued(function (op) { return op.op === "add" && op.id === m.id; });
      if (!shown[m.id] && m.pending && waiting) { members.push(m); }
    });
    tube.members = members;
  }

  function answered(op, result) {
    if (result.status === "rejected") {
      reject(describe(op), result.reason || label("unreadable"));
      if (state.tube && state.tube.barcode === op.barcode) {
        if (op.op === "add") {
          state.tube.members = state.tube.members.filter(function (m) { return m.id !== op.id; });
        } else if (op.op === "open") {
          state.tube = null;
        }
      }
      if (op.op === "close") {
        state.closed = state.closed.filter(function (c) { return c.barcode !== op.barcode; });
      }
      if (op.op === "add" || op.op === "open") {
        // A tube closed here before the refusal came back: its count, or the tube, goes.
        state.closed = state.closed.map(function (c) {
          if (c.barcode === op.barcode) { c.members = op.op === "open" ? 0 : c.members - 1; }
          return c;
        }).filter(function (c) { return c.members > 0; });
      }
      return;
    }
    applyTube(result.tube);
  }

  function settle(batch, results) {
    var byId = {};
    results.forEach(function (r) { byId[r.id] = r; });
    var done = {};
    batch.forEach(function (op) {
      if (byId[op.id]) { done[op.id] = true; }
    });
    state.queue = state.queue.filter(function (op) { return !done[op.id]; });
    batch.forEach(function (op) {
      if (byId[op.id]) { answered(op, byId[op.id]); }
    });
    save();
  }

  function scheduleRetry() {
    if (retryTimer) { return; }
    retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
  }

  function flush() {
    if (sending || !state.queue.length) { return; }
    sending = true;
    var batch = state.queue.slice(0, oneByOne ? 1 : BATCH);
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = window.setTimeout(function () { if (controller) { controller.abort(); } }, TIMEOUT_MS);
    var retry = false;
    fetch(ENDPOINT, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ ops: batch }),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      var type = response.headers.get("content-type") || "";
      reachable = true;
      if (response.redirected || response.status === 401) {
        signedOut = true;
        retry = true;
        return null;
      }
      signedOut = false;
      if (response.ok && type.indexOf("application/json") === 0) {
        return response.json().then(function (body) {
          settle(batch, body.results || []);
          oneByOne = false;
          retryDelay = RETRY_MIN_MS;
        });
      }
      if (response.status === 422) {
        // A step the server cannot read spoils its batch: send one at a time to find it.
        if (batch.length > 1) { oneByOne = true; retry = true; return null; }
        settle(batch, [{ id: batch[0].id, status: "rejected", reason: label("unreadable") }]);
        return null;
      }
      retry = true;  // busy or failing server: the same steps again later
      return null;
    }).catch(function () {
      reachable = false;
      retry = true;
    }).then(function () {
      window.clearTimeout(timer);
      sending = false;
      render();
      if (retry) {
        scheduleRetry();
      } else if (state.queue.length) {
        flush();
      }
    });
  }

  // Wiring

  openForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var chosen = openForm.querySelector("input[name=kind]:checked");
    openTube(barcodeInput.value, chosen ? chosen.value : "pool");
    barcodeInput.value = "";
    focusInput();
  });

  addForm.addEventListener("submit", function (event) {
    event.preventDefault();
    addPerson(personInput.value);
    personInput.value = "";
    focusInput();
  });

  el("close-tube").addEventListener("click", closeTube);

  el("rejected-clear").addEventListener("click", function () {
    state.rejected = [];
    save();
    render();
    focusInput();
  });

  el("closed-to-shipment").addEventListener("click", function () {
    var box = document.getElementById("f-barcodes");
    if (!box) { return; }
    var have = box.value.split(/[\s,;]+/).filter(Boolean);
    state.closed.forEach(function (c) { if (have.indexOf(c.barcode) < 0) { have.push(c.barcode); } });
    box.value = have.join("\n");
    box.focus();
  });

  // A shipment sent from this page takes its tubes off the list of tubes closed here.
  var shipped = document.getElementById("shipment-done");
  if (shipped) {
    var sent = (shipped.getAttribute("data-sent") || "").split(" ");
    state.closed = state.closed.filter(function (c) { return sent.indexOf(c.barcode) < 0; });
    save();
  }

  window.addEventListener("online", function () { retryDelay = RETRY_MIN_MS; render(); flush(); });
  window.addEventListener("offline", render);
  // Another tab of the same phone changed the queue: show it, do not send it twice.
  window.addEventListener("storage", function (event) {
    if (event.key === storageKey) { state = load(); render(); }
  });
  window.setInterval(function () { if (state.queue.length && !retryTimer) { flush(); } }, 10000);

  // The camera, where the browser can read barcodes itself; otherwise the USB scanner types.
  var cameraButton = el("camera-toggle");
  var video = el("camera");
  var stream = null;
  var scanTimer = null;
  var lastCode = "";
  var lastAt = 0;

  function cameraNote(text) {
    var p = el("camera-note");
    p.textContent = text;
    p.hidden = !text;
  }

  function stopCamera() {
    if (scanTimer) { window.clearInterval(scanTimer); scanTimer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.hidden = true;
    video.srcObject = null;
    cameraButton.textContent = label("camera-start");
  }

  function scanned(text) {
    var now = Date.now();
    if (text === lastCode && now - lastAt < SAME_CODE_MS) { return; }
    lastCode = text;
    lastAt = now;
    if (state.tube) {
      addPerson(text);
    } else {
      var chosen = openForm.querySelector("input[name=kind]:checked");
      openTube(text, chosen ? chosen.value : "pool");
    }
  }

  if ("BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    var detector = new window.BarcodeDetector();
    cameraButton.hidden = false;
    cameraButton.addEventListener("click", function () {
      if (stream) { stopCamera(); return; }
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (media) {
          stream = media;
          video.srcObject = media;
          video.hidden = false;
          cameraButton.textContent = label("camera-stop");
          cameraNote("");
          return video.play();
        })
        .then(function () {
          scanTimer = window.setInterval(function () {
            if (!stream || video.readyState < 2) { return; }
            detector.detect(video).then(function (codes) {
              if (codes.length && codes[0].rawValue) { scanned(codes[0].rawValue); }
            }).catch(function () { /* a frame that cannot be read: the next one */ });
          }, 300);
        })
        .catch(function () { stopCamera(); cameraNote(label("camera-unavailable")); });
    });
  }

  render();
  focusInput();
  flush();
}());
