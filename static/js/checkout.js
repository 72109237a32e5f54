// The checkout page (templates/orders/checkout.html). Loaded as a file, never inline, so a
// Content-Security-Policy with script-src 'self' allows it. Without JavaScript the page
// still works: the server shows a review step with the total before payment.
(function () {
  "use strict";
  var form = document.getElementById("checkout");
  if (!form) return;

  // Errors: the summary at the top takes the focus, so a screen reader reads it first and
  // a phone scrolls to it.
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  var totalOutput = document.getElementById("total");
  var confirmed = document.getElementById("confirmed");
  var selects = form.querySelectorAll("select.quantity");

  function rupiah(amount) {
    // Indonesian grouping, as the server writes it: "Rp 1.250.000".
    return "Rp " + String(amount).replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }

  function updateTotal() {
    var total = 0;
    for (var i = 0; i < selects.length; i++) {
      total += parseInt(selects[i].value || "0", 10) * parseInt(selects[i].getAttribute("data-price"), 10);
    }
    totalOutput.textContent = rupiah(total);
  }

  if (totalOutput && confirmed) {
    // The total is live above the button: the server may skip its review step.
    confirmed.value = "1";
    for (var i = 0; i < selects.length; i++) selects[i].addEventListener("change", updateTotal);
    updateTotal();
  }

  // Enter in the voucher box applies the code, as its button does (without this script it
  // goes to the review step, which applies it too).
  var voucherBox = document.getElementById("id_voucher");
  var applyVoucher = document.getElementById("apply-voucher");
  if (voucherBox && applyVoucher) {
    voucherBox.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      applyVoucher.click();
    });
  }

  // A second click would only lead to the first submission's order (the server places one
  // order per form, orders/form_submissions.py); a disabled button says at once that it is
  // on its way.
  var button = document.getElementById("buy");
  if (button) {
    var label = button.textContent;
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      // The language switch, "Change" or "Apply"; Enter in a field submits through #default-submit.
      if (submitter && submitter !== button && submitter.id !== "default-submit") return;
      button.disabled = true;
      button.textContent = button.getAttribute("data-busy-label") || label;
    });
    // Back from Xendit's page the browser may show this page from its cache, as it was left.
    window.addEventListener("pageshow", function () {
      button.disabled = false;
      button.textContent = label;
    });
  }
})();
