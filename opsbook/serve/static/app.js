// The staff page's drop zone: upload with progress, then show the results in place.
// Without JavaScript the form posts normally and the server answers with a results page.
"use strict";
(function () {
  var form = document.getElementById("send-form");
  if (!form) { return; }
  var drop = document.getElementById("drop");
  var input = document.getElementById("file");
  var results = document.getElementById("results");
  var progress = document.getElementById("progress");
  var bar = document.getElementById("bar");
  var text = document.getElementById("progress-text");

  function send(files) {
    if (!files || files.length === 0) { return; }
    var data = new FormData();
    for (var i = 0; i < files.length; i++) { data.append("file", files[i], files[i].name); }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/submit?fragment=1");
    progress.hidden = false;
    bar.value = 0;
    text.textContent = text.dataset.uploading;
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); }
    };
    xhr.upload.onload = function () {
      bar.removeAttribute("value");
      text.textContent = text.dataset.converting;
    };
    xhr.onload = function () {
      progress.hidden = true;
      // The server renders the results (autoescaped); only same-origin HTML is inserted.
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var fresh = doc.getElementById("results") || doc.body;
      var error = doc.querySelector(".error-line");
      results.replaceChildren();
      if (xhr.status >= 400 && error) {
        var p = document.createElement("p");
        p.className = "error-line";
        p.textContent = error.textContent;
        results.appendChild(p);
      } else {
        while (fresh.firstChild) { results.appendChild(fresh.firstChild); }
      }
      input.value = "";
    };
    xhr.onerror = function () {
      progress.hidden = true;
      text.textContent = text.dataset.failed;
      results.textContent = text.dataset.failed;
    };
    xhr.send(data);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    send(input.files);
  });
  input.addEventListener("change", function () { send(input.files); });
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function (e) { e.preventDefault(); drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) { send(e.dataTransfer.files); });
})();
