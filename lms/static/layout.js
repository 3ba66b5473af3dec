// Small screens, on every page (base.html): the main navigation behind a Menu button, and data
// tables that become one block per row, each cell labelled with its column's heading.
// Without JavaScript the navigation stays open (wrapped) and tables scroll inside their card.
(function () {
  "use strict";

  var toggle = document.querySelector("[data-nav-toggle]");
  if (toggle) {
    var header = toggle.closest("header");
    var setOpen = function (open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      header.classList.toggle("nav-open", open);
    };
    header.classList.add("has-nav-toggle");
    toggle.hidden = false;
    setOpen(false);
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  // A box that scrolls sideways (a wide table on a tablet, a long sample line) must take the
  // keyboard focus when nothing inside it can, or keyboard users cannot scroll it.
  var makeScrollersReachable = function () {
    var boxes = document.querySelectorAll("pre, .table-wrap, .prose table");
    Array.prototype.forEach.call(boxes, function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      var madeFocusable = box.hasAttribute("data-scroll-focus");
      if (scrolls && !madeFocusable && !box.hasAttribute("tabindex")
          && !box.querySelector("a[href], button, input, select, textarea, [tabindex]")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("data-scroll-focus", "");
      } else if (!scrolls && madeFocusable) {
        box.removeAttribute("tabindex");
        box.removeAttribute("data-scroll-focus");
      }
    });
  };

  // A table qualifies when one header row names its columns; tables with a layout of their
  // own for small screens say so with data-narrow="own".
  var tables = document.querySelectorAll("table.data:not([data-narrow='own'])");
  Array.prototype.forEach.call(tables, function (table) {
    var head = table.tHead;
    if (!head || head.rows.length !== 1) { return; }
    var labels = [];
    Array.prototype.forEach.call(head.rows[0].cells, function (cell) {
      for (var span = 0; span < (cell.colSpan || 1); span++) {
        labels.push(cell.textContent.replace(/\s+/g, " ").trim());
      }
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          var span = cell.colSpan || 1;
          if (span === 1 && labels[column] && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", labels[column]);
          }
          column += span;
        });
      });
    });
    // Once rows are blocks, browsers stop exposing the table as a table; explicit roles keep
    // a screen reader's row and column navigation.
    table.setAttribute("role", "table");
    Array.prototype.forEach.call(table.querySelectorAll("thead, tbody, tfoot"), function (group) {
      group.setAttribute("role", "rowgroup");
    });
    Array.prototype.forEach.call(table.rows, function (row) {
      row.setAttribute("role", "row");
      Array.prototype.forEach.call(row.cells, function (cell) {
        var inHead = cell.parentNode.parentNode === head;
        if (cell.tagName === "TH") {
          cell.setAttribute("role", inHead || cell.scope === "col" ? "columnheader" : "rowheader");
        } else {
          cell.setAttribute("role", "cell");
        }
      });
    });
    table.classList.add("is-stackable");
  });

  makeScrollersReachable();
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(makeScrollersReachable, 200);
  });
})();
