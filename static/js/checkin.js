/* The door page (templates/checkin/door.html): answers without reloading, the camera,
   sound and vibration. Without this file the page still works through plain form posts.
   No inline script anywhere: the site's Content-Security-Policy allows scripts from our
   own origin only. */
(function () {
  "use strict";

  var door = document.getElementById("door");
  if (!door) return;

  var eventSlug = door.dataset.event;
  // The page's own words for what the script says (data-text-* on #door, translated there).
  var words = door.dataset;
  var pageLanguage = document.documentElement.lang === "en" ? "en-GB" : "id-ID";
  var csrf = document.querySelector("#scan-form input[name=csrfmiddlewaretoken]").value;
  var scanForm = document.getElementById("scan-form");
  var codeInput = document.getElementById("code");
  var gateInput = document.getElementById("gate");
  var resultBox = document.getElementById("result");
  var undoButton = document.getElementById("undo");
  var busy = false;
  // A check-in answered by a plain form post (the code sent before this file had loaded, on
  // a slow phone) can be undone like one answered here.
  if (resultBox.dataset.checkin) undoButton.hidden = false;

  // --- the gate name is remembered on this phone ----------------------------------------
  var GATE_KEY = "tedxpay.door.gate";
  try {
    if (!gateInput.value) gateInput.value = window.localStorage.getItem(GATE_KEY) || "";
  } catch (e) { /* private mode: type it each time */ }
  gateInput.addEventListener("change", function () {
    try { window.localStorage.setItem(GATE_KEY, gateInput.value.trim()); } catch (e) { /* ignore */ }
  });

  Array.prototype.forEach.call(document.querySelectorAll(".js-autosubmit"), function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // --- talking to the server --------------------------------------------------------------
  function request(url, options) {
    options.credentials = "same-origin";
    options.headers = Object.assign({ "Accept": "application/json", "X-CSRFToken": csrf }, options.headers || {});
    return fetch(url, options).then(function (response) {
      // Signed out (the session ended): the answer is the sign-in page, not JSON.
      if (response.redirected || response.status === 403) throw new Error("signed_out");
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    });
  }

  function post(url, fields) {
    var body = new URLSearchParams(fields);
    body.set("event", eventSlug);
    return request(url, { method: "POST", body: body });
  }

  // --- what the volunteer sees, hears and feels ------------------------------------------
  function setText(id, text) { document.getElementById(id).textContent = text || ""; }

  function show(result) {
    resultBox.className = "result " + result.tone;
    void resultBox.offsetWidth; // restart the flash animation
    resultBox.classList.add("flash");
    setText("result-title", result.title);
    setText("result-name", result.name);
    setText("result-ticket", result.ticket_name);
    setText("result-detail", result.detail);
    resultBox.dataset.result = result.result;
    if (result.checkin_id) {
      resultBox.dataset.checkin = result.checkin_id;
      undoButton.hidden = false;
    } else {
      delete resultBox.dataset.checkin;
      undoButton.hidden = true;
    }
    if (result.count) showCount(result.count);
    feedback(result.tone);
  }

  function showCount(count) {
    setText("count-admitted", count.admitted.toLocaleString(pageLanguage));
    setText("count-expected", count.expected.toLocaleString(pageLanguage));
  }

  function offline(error) {
    var signedOut = error && error.message === "signed_out";
    show({
      tone: "amber",
      result: signedOut ? "signed_out" : "network_error",
      title: signedOut ? words.textSignedOut : words.textOffline,
      detail: signedOut ? words.textSignedOutDetail : words.textOfflineDetail,
    });
  }

  var audio = null;
  function unlockAudio() {
    // Browsers start sound only after a tap: make the context on the first one.
    if (audio || !(window.AudioContext || window.webkitAudioContext)) return;
    try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
  }
  document.addEventListener("pointerdown", unlockAudio);
  document.addEventListener("keydown", unlockAudio);

  function beep(frequency, seconds, delay) {
    if (!audio) return;
    var oscillator = audio.createOscillator();
    var gain = audio.createGain();
    oscillator.type = "square";
    oscillator.frequency.value = frequency;
    gain.gain.value = 0.12;
    oscillator.connect(gain);
    gain.connect(audio.destination);
    var start = audio.currentTime + (delay || 0);
    oscillator.start(start);
    oscillator.stop(start + seconds);
  }

  var SIGNALS = {
    green: { vibrate: [90], tones: [[988, 0.12, 0], [1319, 0.18, 0.12]] },
    red: { vibrate: [400, 120, 400], tones: [[196, 0.6, 0]] },
    amber: { vibrate: [150, 100, 150], tones: [[523, 0.12, 0], [523, 0.12, 0.22]] },
  };

  function feedback(tone) {
    var signal = SIGNALS[tone];
    if (!signal) return;
    if (navigator.vibrate) navigator.vibrate(signal.vibrate);
    signal.tones.forEach(function (t) { beep(t[0], t[1], t[2]); });
  }

  // --- checking a code -------------------------------------------------------------------
  var checkButton = document.getElementById("check");

  // While the server answers, the last result must not stay on screen: a green "Silakan
  // masuk" beside the next guest's code would let them in before their answer came.
  function checking(label) {
    resultBox.className = "result idle checking";
    setText("result-title", words.textChecking);
    setText("result-name", label);
    setText("result-ticket", "");
    setText("result-detail", "");
    delete resultBox.dataset.checkin;
    undoButton.hidden = true;
    checkButton.disabled = true;
  }

  function check(fields) {
    if (busy) return Promise.resolve();
    busy = true;
    fields.gate = gateInput.value.trim();
    var typed = codeInput.value;
    checking(fields.code || "");
    return post(door.dataset.scanUrl, fields)
      .then(function (answer) {
        show(answer.data);
        // A typo stays in the box to be corrected; anything decided clears it, unless the
        // next code was typed meanwhile (it waits there to be checked).
        if (answer.data.tone !== "amber" && codeInput.value === typed) codeInput.value = "";
      })
      .catch(offline)
      .then(function () { busy = false; checkButton.disabled = false; });
  }

  scanForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = codeInput.value.trim();
    if (!code) { codeInput.focus(); return; }
    check({ code: code }).then(function () { if (!scanning) codeInput.focus(); });
  });

  undoButton.addEventListener("click", function () {
    var reason = window.prompt(words.textUndoReason);
    if (!reason || !reason.trim()) return;
    post(door.dataset.undoUrl, { checkin: resultBox.dataset.checkin, reason: reason.trim() })
      .then(function (answer) {
        if (answer.status === 200) { show(answer.data); return; }
        // Not this volunteer's recent admission, already undone elsewhere, or a reason too
        // long: say so rather than nothing.
        var notAllowed = answer.data && answer.data.error === "undo_not_allowed";
        var detail = notAllowed ? words.textUndoNotAllowed : words.textUndoFailedDetail;
        show({ tone: "amber", result: "undo_failed", title: words.textUndoFailed, detail: detail });
      })
      .catch(offline);
  });

  // --- search by name or order code ------------------------------------------------------
  var searchForm = document.getElementById("search-form");
  var found = document.getElementById("found");

  function foundRow(row) {
    var item = document.createElement("li");
    item.className = "found-row " + row.state;
    [["found-name", row.name], ["found-ticket", row.ticket_name], ["found-state", row.status]].forEach(function (part) {
      var span = document.createElement("span");
      span.className = part[0];
      span.textContent = part[1];
      item.appendChild(span);
    });
    if (row.state === "not_in") {
      var admit = document.createElement("button");
      admit.type = "button";
      admit.className = "small-btn found-admit";
      admit.textContent = words.textAdmit;
      admit.addEventListener("click", function () {
        check({ ticket: String(row.ticket) }).then(runSearch);
        window.scrollTo({ top: 0, behavior: "smooth" });
      });
      item.appendChild(admit);
    }
    return item;
  }

  function runSearch() {
    var query = document.getElementById("q").value.trim();
    if (query.length < 2) { found.textContent = ""; return Promise.resolve(); }
    var url = door.dataset.searchUrl + "?" + new URLSearchParams({ event: eventSlug, q: query });
    return request(url, { method: "GET" })
      .then(function (answer) {
        found.textContent = "";
        if (!answer.data.results.length) {
          var none = document.createElement("li");
          none.className = "muted";
          none.textContent = words.textNobodyFound;
          found.appendChild(none);
        }
        answer.data.results.forEach(function (row) { found.appendChild(foundRow(row)); });
      })
      .catch(offline);
  }

  searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    runSearch();
  });

  // --- the live count, also when other doors admit people --------------------------------
  window.setInterval(function () {
    if (document.hidden) return;
    request(door.dataset.countUrl + "?" + new URLSearchParams({ event: eventSlug }), { method: "GET" })
      .then(function (answer) { if (answer.status === 200) showCount(answer.data); })
      .catch(function () { /* the next scan will say so */ });
  }, 15000);

  // --- the camera ------------------------------------------------------------------------
  var startButton = document.getElementById("camera-start");
  var stopButton = document.getElementById("camera-stop");
  var panel = document.getElementById("camera-panel");
  var video = document.getElementById("camera");
  var canvas = document.getElementById("frame");
  var cameraError = document.getElementById("camera-error");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;
  var scanning = false;
  var detector = null;
  var lastCode = "";
  var lastAt = 0;
  // The same QR held in front of the camera after its answer is not a second scan.
  var SAME_CODE_PAUSE_MS = 4000;
  var FRAME_INTERVAL_MS = 150;
  var MAX_FRAME_WIDTH = 800;

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) startButton.hidden = false;

  if ("BarcodeDetector" in window) {
    // Native decoding where the phone has it (Chrome on Android); jsQR everywhere else.
    window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") >= 0) detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    }).catch(function () { detector = null; });
  }

  function decodeWithJsQR() {
    var width = video.videoWidth;
    var height = video.videoHeight;
    if (!width || !height || !window.jsQR) return Promise.resolve(null);
    var scale = Math.min(1, MAX_FRAME_WIDTH / width);
    width = Math.round(width * scale);
    height = Math.round(height * scale);
    canvas.width = width;
    canvas.height = height;
    context.drawImage(video, 0, 0, width, height);
    var image = context.getImageData(0, 0, width, height);
    var found = window.jsQR(image.data, width, height, { inversionAttempts: "dontInvert" });
    return Promise.resolve(found ? found.data : null);
  }

  function decodeFrame() {
    if (detector) {
      return detector.detect(video).then(function (codes) {
        return codes.length ? codes[0].rawValue : null;
      }).catch(decodeWithJsQR);
    }
    return decodeWithJsQR();
  }

  function scanLoop() {
    if (!scanning) return;
    var next = function () { window.setTimeout(scanLoop, FRAME_INTERVAL_MS); };
    if (busy || video.readyState < 2) { next(); return; }
    decodeFrame().then(function (code) {
      var now = Date.now();
      if (code && !(code === lastCode && now - lastAt < SAME_CODE_PAUSE_MS)) {
        lastCode = code;
        lastAt = now;
        return check({ code: code }).then(function () { lastAt = Date.now(); });
      }
    }).catch(function () { /* a frame that cannot be read: the next one */ }).then(next);
  }

  startButton.addEventListener("click", function () {
    cameraError.hidden = true;
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        return video.play();
      })
      .then(function () {
        panel.hidden = false;
        startButton.hidden = true;
        scanning = true;
        scanLoop();
      })
      .catch(function (error) {
        cameraError.textContent = words.textCameraError + " (" + error.name + ")";
        cameraError.hidden = false;
      });
  });

  function stopCamera() {
    scanning = false;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    panel.hidden = true;
    startButton.hidden = false;
  }
  stopButton.addEventListener("click", stopCamera);
  window.addEventListener("pagehide", stopCamera);
})();
