// Filters and sorting of a document's pledge list. Without JavaScript the full list shows.
(function () {
  var form = document.getElementById("filters");
  var table = document.getElementById("pledges");
  if (!form || !table) return;
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var shown = document.getElementById("shown");
  form.hidden = false;
  function value(name) { return form.elements[name].value; }
  function keep(row) {
    var d = row.dataset;
    if (value("status") && d.status !== value("status")) return false;
    if (value("reviewed") && d.reviewed !== value("reviewed")) return false;
    if (value("category") && JSON.parse(d.categories).indexOf(value("category")) < 0) return false;
    if (value("responsible") && d.responsible !== value("responsible")) return false;
    if (form.elements.overdue.checked && d.overdue !== "true") return false;
    return true;
  }
  function key(row) {
    var d = row.dataset, by = value("sort");
    if (by === "status") return [Number(d.score), Number(d.pos)];
    if (by === "review") return [d.review || "9999", Number(d.pos)];
    if (by === "deadline") return [d.deadline || "9999", Number(d.pos)];
    if (by === "summary") return [row.cells[0].textContent.toLowerCase(), Number(d.pos)];
    return [Number(d.pos), 0];
  }
  function compare(a, b) {
    var x = key(a), y = key(b);
    for (var i = 0; i < x.length; i++) {
      if (x[i] < y[i]) return -1;
      if (x[i] > y[i]) return 1;
    }
    return 0;
  }
  function update() {
    var count = 0;
    rows.slice().sort(compare).forEach(function (row) {
      row.hidden = !keep(row);
      if (!row.hidden) count++;
      body.appendChild(row);
    });
    shown.textContent = shown.dataset.template
      .replace("{shown}", count).replace("{total}", rows.length);
  }
  form.addEventListener("change", update);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
})();
