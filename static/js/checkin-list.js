/* The printable attendee list: a print button (no inline script, see checkin.js). */
(function () {
  "use strict";
  var button = document.getElementById("print");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
