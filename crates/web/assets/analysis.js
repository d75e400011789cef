// Analysis page (/analyses/{id}): every control is a link or a GET form and works without
// this script; it only submits a form when one of its selectors changes.
"use strict";
(function () {
  document.addEventListener("change", function (e) {
    var s = e.target;
    if (s && s.matches && s.matches("select[data-autosubmit]") && s.form) s.form.submit();
  });
})();
