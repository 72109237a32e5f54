// A second click would only wait for the first submission's answer (the server places one
// order per form); a disabled button says at once that it is on its way.
(function () {
  var form = document.getElementById("checkout"), button = document.getElementById("buy");
  if (!form || !button) return;
  var label = button.textContent;
  form.addEventListener("submit", function () { button.disabled = true; button.textContent = "Placing your order…"; });
  // Back from Xendit's page the browser may show this page from its cache, as it was left.
  window.addEventListener("pageshow", function () { button.disabled = false; button.textContent = label; });
})();
