// For an event that asks each attendee's name: show one name input per ticket chosen in
// the phase's quantity select, and require those (templates/orders/_attendee_names.html).
(function () {
  var rows = document.querySelectorAll("tr.attendee-row");
  Array.prototype.forEach.call(rows, function (row) {
    var select = document.getElementById(row.dataset.quantityField);
    if (!select) return;
    function update() {
      var quantity = parseInt(select.value, 10) || 0;
      row.hidden = quantity === 0;
      Array.prototype.forEach.call(row.querySelectorAll(".attendee-name"), function (box) {
        var wanted = parseInt(box.dataset.seat, 10) <= quantity;
        box.hidden = !wanted;
        box.querySelector("input").required = wanted;
      });
    }
    select.addEventListener("change", update);
    update();
  });
})();
