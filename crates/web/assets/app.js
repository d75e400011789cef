// Specline UI: the only script. Pages work without it; it adds live updates.
// No inline scripts anywhere (the Content-Security-Policy forbids them): each feature
// finds its elements by a data- attribute.
"use strict";
(function () {
  // Confirm destructive actions: <button data-confirm="...">.
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("[data-confirm]");
    if (b && !window.confirm(b.getAttribute("data-confirm"))) e.preventDefault();
  });
})();
