// Offline search over the index in search-index.js: every word must start a word of an entry.
(function () {
  var index = window.PLEDGEPACK_INDEX;
  var form = document.getElementById("search");
  var input = document.getElementById("q");
  var list = document.getElementById("results");
  var count = document.getElementById("count");
  if (!index || !form) return;
  var root = "../";
  var prepared = index.entries.map(function (e) {
    return " " + (e[1] + " " + e[3]).toLowerCase().replace(/[^\p{L}\p{N}]+/gu, " ");
  });
  function run(query) {
    var words = query.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    list.textContent = "";
    if (!words.length) { count.textContent = ""; return; }
    var found = 0;
    index.entries.forEach(function (entry, i) {
      var hay = prepared[i];
      if (!words.every(function (w) { return hay.indexOf(" " + w) >= 0; })) return;
      found++;
      if (found > 200) return;
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = root + entry[0];
      link.textContent = entry[1];
      item.appendChild(link);
      item.appendChild(document.createTextNode(" (" + entry[2] + ")"));
      list.appendChild(item);
    });
    count.textContent = index.results.replace("{n}", found);
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    run(input.value);
    history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
  });
  var q = new URLSearchParams(location.search).get("q");
  if (q) { input.value = q; run(q); }
})();
