/* Record a voice message in the page (MediaRecorder) and send it through the plain form on
   /m/write, which works without this script. Nothing is sent anywhere else. */
(function () {
  "use strict";
  var form = document.getElementById("voice-form");
  if (!form || !window.MediaRecorder || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  var box = form.querySelector(".recorder"), plain = form.querySelector(".plain-voice");
  var $ = function (c) { return box.querySelector(c); };
  var start = $(".start"), stop = $(".stop"), send = $(".send"), again = $(".again");
  var time = $(".time"), player = $("audio"), preview = $(".recording");
  var limit = parseInt(form.getAttribute("data-seconds"), 10) || 180;
  var recorder = null, chunks = [], blob = null, timer = null, began = 0;
  var show = function (el, on) { el.hidden = !on; };
  box.hidden = false;
  plain.hidden = true;

  function tick() {
    var s = Math.floor((Date.now() - began) / 1000);
    time.textContent = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
    if (s >= limit && recorder && recorder.state === "recording") recorder.stop();
  }

  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      chunks = [];
      recorder = new MediaRecorder(stream);
      recorder.ondataavailable = function (e) { if (e.data && e.data.size) chunks.push(e.data); };
      recorder.onstop = function () {
        clearInterval(timer);
        stream.getTracks().forEach(function (t) { t.stop(); });
        blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
        player.src = URL.createObjectURL(blob);
        show(stop, false); show(preview, true); show(send, true); show(again, true);
      };
      recorder.start(1000);
      began = Date.now(); tick(); timer = setInterval(tick, 250);
      show(start, false); show(stop, true); show(preview, false); show(send, false); show(again, false);
    }).catch(function () {
      show($(".denied"), true); box.querySelector(".start").hidden = true; plain.hidden = false;
    });
  });
  stop.addEventListener("click", function () { if (recorder && recorder.state === "recording") recorder.stop(); });
  again.addEventListener("click", function () {
    blob = null; time.textContent = "0:00";
    show(start, true); show(preview, false); show(send, false); show(again, false);
  });
  send.addEventListener("click", function () {
    if (!blob) return;
    var type = blob.type.split(";")[0], ext = type.indexOf("mp4") >= 0 ? "m4a" : type.indexOf("ogg") >= 0 ? "ogg" : "webm";
    var file = new File([blob], "voice." + ext, { type: type });
    send.disabled = true; show($(".sending"), true);
    try {
      var list = new DataTransfer();
      list.items.add(file);
      form.querySelector("input[type=file]").files = list.files;
      form.submit();  // the ordinary form post: the next page is the server's answer
    } catch (e) {
      var data = new FormData(form);
      data.set("voice", file);
      fetch(form.action, { method: "POST", body: data, credentials: "same-origin" }).then(function (r) {
        if (r.redirected) { location.href = r.url; return null; }
        return r.text();
      }).then(function (html) { if (html !== null) { document.open(); document.write(html); document.close(); } });
    }
  });
})();
