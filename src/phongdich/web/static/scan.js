// The venue's scanning page: a USB scanner types into the input and presses Enter, or the
// phone's camera sends a frame every ~400 ms to be decoded on the server. Each scan is posted
// with an id made here, so a retried request is recognised; the verdict is shown large.
(function () {
  "use strict";

  var root = document.getElementById("scanner");
  if (!root) { return; }
  var venue = root.getAttribute("data-venue");
  var base = "/venues/" + encodeURIComponent(venue) + "/scan";
  var form = document.getElementById("scan-form");
  var input = document.getElementById("scan-text");
  var verdict = document.getElementById("verdict");
  var cameraButton = document.getElementById("camera-toggle");
  var cameraNote = document.getElementById("camera-note");
  var video = document.getElementById("camera");
  var canvas = document.getElementById("camera-frame");
  var FRAME_EVERY_MS = 400;
  var FRAME_WIDTH = 800;
  // The same code held in front of the camera is one scan, not one per frame.
  var SAME_CODE_MS = 5000;

  function label(name) { return root.getAttribute("data-" + name) || ""; }

  // Made on this device, so a re-sent request is recognised (see app.js).
  var newId = window.phongdich.newId;

  function direction() {
    var chosen = form.querySelector("input[name=direction]:checked");
    return chosen ? chosen.value : "auto";
  }

  function line(className, text) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function showError(message) {
    verdict.className = "verdict verdict-error";
    verdict.textContent = "";
    verdict.appendChild(line("verdict-colour", message));
    verdict.hidden = false;
  }

  function showVerdict(result) {
    verdict.className = "verdict verdict-" + (result.colour || "unknown") + (result.refused ? " verdict-refused" : "");
    verdict.textContent = "";
    var headline = result.colour_label || "";
    if (result.refused) { headline += " · " + label("refused"); }
    verdict.appendChild(line("verdict-colour", headline));
    var who = result.initials || "";
    if (result.birth_year) { who += " · " + label("born") + " " + result.birth_year; }
    verdict.appendChild(line("verdict-who", who));
    if (result.recorded) {
      verdict.appendChild(line("verdict-what", result.direction_label + " · " + result.time));
    } else {
      verdict.appendChild(line("verdict-what", label("not-recorded")));
    }
    if (result.reasons && result.reasons.length) {
      var list = document.createElement("ul");
      list.className = "verdict-reasons";
      result.reasons.forEach(function (reason) {
        var item = document.createElement("li");
        item.textContent = reason;
        list.appendChild(item);
      });
      verdict.appendChild(list);
    }
    verdict.hidden = false;
  }

  function readJson(response) {
    var type = response.headers.get("content-type") || "";
    if (response.redirected || type.indexOf("application/json") !== 0) {
      return Promise.resolve({ ok: false, signedOut: response.redirected, body: null });
    }
    return response.json().then(function (body) { return { ok: response.ok, body: body }; });
  }

  function submitScan(text) {
    text = (text || "").trim();
    input.value = "";
    input.focus();
    if (!text) { return Promise.resolve(); }
    return fetch(base, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ text: text, direction: direction(), id: newId() })
    }).then(readJson).then(function (answer) {
      if (answer.ok) {
        showVerdict(answer.body);
      } else if (answer.signedOut) {
        showError(label("signed-out"));
      } else {
        showError((answer.body && answer.body.error) || label("failed"));
      }
    }).catch(function () {
      showError(label("failed"));
    }).then(function () {
      input.value = "";
      input.focus();
    });
  }

  // Choosing a direction must not leave the scanner typing into a radio button.
  form.addEventListener("change", function (event) {
    if (event.target.name === "direction") { input.focus(); }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitScan(input.value);
  });

  // The camera: frames go to the server, which finds the QR code in them.
  var stream = null;
  var timer = null;
  var sending = false;
  var lastText = "";
  var lastAt = 0;

  function note(text) {
    cameraNote.textContent = text;
    cameraNote.hidden = !text;
  }

  function sendFrame() {
    if (sending || !stream || video.readyState < 2 || !video.videoWidth) { return; }
    var scale = Math.min(1, FRAME_WIDTH / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    sending = true;
    canvas.toBlob(function (blob) {
      if (!blob) { sending = false; return; }
      fetch(base + "/frame", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "image/jpeg", "Accept": "application/json" },
        body: blob
      }).then(readJson).then(function (answer) {
        var text = answer.ok && answer.body ? answer.body.text : null;
        if (answer.signedOut) { stopCamera(); showError(label("signed-out")); return null; }
        var now = Date.now();
        if (text && (text !== lastText || now - lastAt > SAME_CODE_MS)) {
          lastText = text;
          lastAt = now;
          return submitScan(text);
        }
        if (text) { lastAt = now; }
        return null;
      }).catch(function () { return null; }).then(function () { sending = false; });
    }, "image/jpeg", 0.85);
  }

  function stopCamera() {
    if (timer) { window.clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
    video.hidden = true;
    video.srcObject = null;
    cameraButton.textContent = label("camera-start");
    input.focus();
  }

  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      note(label("camera-unavailable"));
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.hidden = false;
        return video.play();
      })
      .then(function () {
        note("");
        cameraButton.textContent = label("camera-stop");
        timer = window.setInterval(sendFrame, FRAME_EVERY_MS);
      })
      .catch(function () {
        stopCamera();
        note(label("camera-unavailable"));
      });
  }

  cameraButton.addEventListener("click", function () {
    if (stream) { stopCamera(); } else { startCamera(); }
  });

  input.focus();
}());
