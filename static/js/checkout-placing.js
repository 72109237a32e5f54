// The page a checkout form sent twice waits on while the first submission is still placing
// its order (templates/orders/checkout_placing.html, orders/views.py::checkout_placing).
// Loaded as a file, never inline (Content-Security-Policy). It asks the server every second
// without reloading the page: a page that reloads itself keeps restarting a screen reader.
// The answer 202 means "still placing"; anything else (a redirect to the invoice, or the
// page saying why there is no order) is where the buyer goes. Without JavaScript a
// <noscript> refresh does the asking.
(function () {
  "use strict";
  var placing = document.getElementById("placing");
  if (!placing || placing.getAttribute("data-placing") !== "1" || !window.fetch) return;
  var url = window.location.href;

  function look() {
    // "manual": the invoice is on Xendit's site, which a script may not read; the redirect
    // itself is the news.
    fetch(url, { redirect: "manual", cache: "no-store", credentials: "same-origin" }).then(
      function (response) {
        if (response.status === 202) {
          window.setTimeout(look, 1000);
        } else {
          window.location.replace(url); // replace: "back" skips this waiting page
        }
      },
      function () {
        window.setTimeout(look, 2000); // the network hiccupped: ask again a little later
      }
    );
  }

  window.setTimeout(look, 1000);
})();
