// Enhancements only: the report reads without them. No network, no library.
(function () {
  "use strict";
  var doc = document;

  // The timeline: a readout for the bar under the pointer or the keyboard cursor.
  function chart() {
    var svg = doc.getElementById("tl-chart");
    var readout = doc.getElementById("tl-readout");
    if (!svg || !readout) return;
    var bars = Array.prototype.slice.call(svg.querySelectorAll("g.b"));
    var cursor = svg.querySelector(".cursor");
    var at = -1;
    function show(i) {
      if (!bars.length) return;
      at = Math.max(0, Math.min(bars.length - 1, i));
      var bar = bars[at];
      var rect = bar.querySelector("rect");
      var title = bar.querySelector("title");
      readout.textContent = title ? title.textContent : "";
      bars.forEach(function (b) { b.classList.toggle("on", b === bar); });
      if (cursor && rect) {
        cursor.setAttribute("x", rect.getAttribute("x"));
        cursor.setAttribute("width", Math.max(2, parseFloat(rect.getAttribute("width"))));
      }
    }
    function firstFailing() {
      for (var i = 0; i !== bars.length; i++) if (bars[i].querySelector(".f")) return i;
      return 0;
    }
    var keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1, PageDown: 10, PageUp: -10 };
    svg.addEventListener("keydown", function (e) {
      var next = null;
      if (e.key in keys) next = (at === -1 ? 0 : at) + keys[e.key];
      else if (e.key === "Home") next = 0;
      else if (e.key === "End") next = bars.length - 1;
      else if (e.key === "f") {  // the next interval with failures
        for (var i = at + 1; i !== bars.length; i++) if (bars[i].querySelector(".f")) { next = i; break; }
      }
      if (next !== null) { show(next); e.preventDefault(); }
    });
    svg.addEventListener("focus", function () { if (at === -1) show(firstFailing()); });
    svg.addEventListener("mouseover", function (e) {
      var bar = e.target.closest ? e.target.closest("g.b") : null;
      if (bar) show(bars.indexOf(bar));
    });
    svg.setAttribute("data-drawn", String(bars.length));
  }

  // The heat table: arrow keys move between the cells that have a link.
  function heatKeys() {
    var table = doc.getElementById("heat-table");
    if (!table) return;
    var moves = { ArrowRight: [0, 1], ArrowLeft: [0, -1], ArrowDown: [1, 0], ArrowUp: [-1, 0] };
    table.addEventListener("keydown", function (e) {
      var move = moves[e.key];
      var cell = e.target.closest("td, th");
      if (!move || !cell) return;
      var r = cell.parentNode.rowIndex, c = cell.cellIndex;
      for (;;) {
        r += move[0]; c += move[1];
        var row = table.rows[r];
        if (!row || c === -1 || c === row.cells.length) return;
        var link = row.cells[c].querySelector("a");
        if (link) { link.focus(); e.preventDefault(); return; }
      }
    });
  }

  // Sortable columns and a name filter for the per-event table.
  function sortable(table) {
    var body = table.tBodies[0];
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      var kind = th.getAttribute("data-sort");
      if (!kind) return;
      var button = doc.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var down = th.getAttribute("aria-sort") !== "descending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].textContent, y = b.cells[col].textContent;
          var d = kind === "num" ? parseFloat(x.replace(/,/g, "")) - parseFloat(y.replace(/,/g, ""))
            : x.localeCompare(y);
          return down ? -d : d;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function filter(table) {
    var label = doc.createElement("label");
    label.className = "filter";
    label.textContent = "Filter events by name: ";
    var input = doc.createElement("input");
    input.type = "search";
    label.appendChild(input);
    table.parentNode.insertBefore(label, table);
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        row.classList.toggle("hidden", row.cells[0].textContent.toLowerCase().indexOf(needle) === -1);
      });
    });
  }

  // Printing shows what the <details> hide on screen.
  function printing() {
    var opened = [];
    window.addEventListener("beforeprint", function () {
      opened = Array.prototype.filter.call(doc.querySelectorAll("details:not([open])"),
        function (d) { d.open = true; return true; });
    });
    window.addEventListener("afterprint", function () {
      opened.forEach(function (d) { d.open = false; });
    });
  }

  chart();
  heatKeys();
  Array.prototype.forEach.call(doc.querySelectorAll("table.sortable"), sortable);
  var events = doc.getElementById("events-table");
  if (events) filter(events);
  printing();
  doc.documentElement.setAttribute("data-report", "ready");
})();
