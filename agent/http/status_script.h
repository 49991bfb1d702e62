// The status page's only script, inlined into the page (no external assets). It sorts the
// certificate table when a column header is clicked (again: reverse), filters certificate
// rows and finding groups by the text typed into #filter, and keeps both in the URL
// fragment (#sort=KEY[-desc]&filter=TEXT) so a sorted, filtered view can be bookmarked;
// opening such a URL replays the same clicks. Cells sort by their data-v attribute when
// present (timestamps, seconds left, severity rank), else by text. When done it sets
// <body data-ready="1"> (the headless-browser test waits for it).
#pragma once

#include <string_view>

namespace certwatch::agent {

inline constexpr std::string_view kStatusScript = R"js(
(function () {
  'use strict';
  var table = document.getElementById('certs');
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var filter = document.getElementById('filter');
  var shown = document.getElementById('shown');
  var state = { sort: 'expires', desc: false, filter: '' };

  function cellKey(cell, numeric) {
    var v = cell.getAttribute('data-v');
    if (v === null) v = cell.textContent;
    return numeric ? Number(v) : v.toLowerCase();
  }
  function remember() {
    var f = '#sort=' + state.sort + (state.desc ? '-desc' : '');
    if (state.filter) f += '&filter=' + encodeURIComponent(state.filter);
    history.replaceState(null, '', f);
  }
  function sortBy(th) {
    var col = heads.indexOf(th);
    var numeric = th.getAttribute('data-type') === 'num';
    var desc = th.getAttribute('aria-sort') === 'ascending';
    heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a.cells[col], numeric), y = cellKey(b.cells[col], numeric);
      var c = x < y ? -1 : x > y ? 1 : 0;
      return desc ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    state.sort = th.getAttribute('data-key');
    state.desc = desc;
    remember();
  }
  function applyFilter() {
    var q = filter.value.trim().toLowerCase();
    var n = 0;
    Array.prototype.forEach.call(body.rows, function (r) {
      r.hidden = q !== '' && r.textContent.toLowerCase().indexOf(q) < 0;
      if (!r.hidden) ++n;
    });
    Array.prototype.forEach.call(document.querySelectorAll('section.group'), function (g) {
      g.hidden = q !== '' && g.textContent.toLowerCase().indexOf(q) < 0;
    });
    shown.textContent = String(n);
    state.filter = filter.value.trim();
    remember();
  }
  heads.forEach(function (th) { th.addEventListener('click', function () { sortBy(th); }); });
  filter.addEventListener('input', applyFilter);

  // Read the whole fragment first: the clicks below rewrite it.
  var m = /sort=([a-z]+)(-desc)?/.exec(location.hash);
  var f = /filter=([^&]*)/.exec(location.hash);
  if (m) {
    var th = table.tHead.querySelector('th[data-key="' + m[1] + '"]');
    if (th) {
      // A header marked ascending reverses on click: clear it first, then click once or twice.
      heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.click();
      if (m[2]) th.click();
    }
  }
  if (f) {
    filter.value = decodeURIComponent(f[1]);
    applyFilter();
  }
  document.body.setAttribute('data-ready', '1');
})();
)js";

}  // namespace certwatch::agent
