// Analysis page (/analyses/{id}): every control is a link or a GET form and works without
// this script; it only submits a form when one of its selectors changes.
"use strict";
(function () {
  document.addEventListener("change", function (e) {
    var s = e.target;
    if (s && s.matches && s.matches("select[data-autosubmit]") && s.form) s.form.submit();
  });
})();

// A file of the tree whose tests did not fit in the page (`data-open-url`): when it is
// opened, fetch the page that shows them (`?open=<path>`, the same server rendering) and
// move its list in. Without this script the "Show its N tests" link does the same.
(function () {
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (!d || d.tagName !== "DETAILS" || !d.open) return;
    var url = d.getAttribute("data-open-url");
    if (!url || d.getAttribute("data-loading")) return;
    var item = d.closest("li.file");
    if (!item || !item.id) return;
    d.setAttribute("data-loading", "1");
    d.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var tests = page.querySelector("#" + item.id + " details > ul");
        var more = d.querySelector("p.more");
        if (tests && more) {
          d.replaceChild(document.importNode(tests, true), more);
          d.removeAttribute("data-open-url");
        }
      })
      .catch(function () { d.removeAttribute("data-loading"); })
      .then(function () { d.removeAttribute("aria-busy"); });
  }, true);
})();
