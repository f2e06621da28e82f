// Live updates, a progressive enhancement: without JavaScript (or without
// EventSource) the pages work exactly as they do without this file.
//
// An element with `data-live-events` names the page's event stream
// (Server-Sent Events from the storefront, fed by a backend subscription):
// - an order's page gets `status` events: the status badge
//   (`data-live-status`) changes in place, the cancel form
//   (`data-live-cancel`) goes once the order can no longer be cancelled;
// - the staff order list gets `order` events (a newly paid order): a row
//   is added where the list ends on this page (`data-live-rows`), else the
//   page says how many new orders a reload would show.
// Changes are announced in the page's `aria-live="polite"` note
// (`data-live-note`). A stream that ends is reopened by the browser after
// the server's `retry:`; one refused (not found, forbidden, busy) stays
// closed and the page stays as it is.
(function () {
  'use strict';
  var root = document.querySelector('[data-live-events]');
  if (!root || !window.EventSource || !window.JSON) return;
  var note = document.querySelector('[data-live-note]');
  var source = new EventSource(root.getAttribute('data-live-events'));

  // The stream's state, on the element that names it (`open` once the
  // server answered: the page hears of changes from then on).
  source.addEventListener('open', function () {
    root.setAttribute('data-live-state', 'open');
  });
  source.addEventListener('error', function () {
    root.setAttribute('data-live-state',
      source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  });

  function announce(text) {
    if (note) note.textContent = text;
  }

  function parse(event) {
    try {
      return JSON.parse(event.data);
    } catch (error) {
      return null;
    }
  }

  source.addEventListener('status', function (event) {
    var order = parse(event);
    var badge = document.querySelector('[data-live-status]');
    if (!order || !badge) return;
    if (badge.getAttribute('data-live-status') !== order.status) {
      badge.setAttribute('data-live-status', order.status);
      badge.textContent = order.label;
      announce('Order ' + order.number + ' is now ' + order.label.toLowerCase() +
        '. Reload the page for its details.');
    }
    if (!order.canCancel) {
      var cancel = document.querySelector('[data-live-cancel]');
      if (cancel) cancel.parentNode.removeChild(cancel);
    }
  });

  var unseen = 0;
  source.addEventListener('order', function (event) {
    var order = parse(event);
    if (!order) return;
    var numbers = document.querySelectorAll('[data-order-number]');
    for (var i = 0; i < numbers.length; i++) {
      if (numbers[i].getAttribute('data-order-number') === order.number) return;
    }
    var rows = document.querySelector('[data-live-rows]');
    if (!rows) {
      unseen += 1;
      announce(unseen + ' new paid order' + (unseen === 1 ? '' : 's') +
        ' since this page was loaded: reload to see ' + (unseen === 1 ? 'it' : 'them') + '.');
      return;
    }
    var row = document.createElement('tr');
    row.setAttribute('data-order-number', order.number);
    var link = document.createElement('a');
    link.href = '/staff/orders/' + encodeURIComponent(order.number);
    link.textContent = order.number;
    var cells = [link, order.placed, order.email, order.total, null];
    cells.forEach(function (content) {
      var cell = document.createElement('td');
      if (content === null) {
        var badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = order.status;
        cell.appendChild(badge);
      } else if (typeof content === 'string') {
        cell.textContent = content;
      } else {
        cell.appendChild(content);
      }
      row.appendChild(cell);
    });
    rows.appendChild(row);
    var table = document.querySelector('[data-live-table]');
    if (table) table.hidden = false;
    var empty = document.querySelector('[data-live-empty]');
    if (empty) empty.parentNode.removeChild(empty);
    var count = document.querySelector('[data-live-count]');
    if (count) {
      var total = Number(count.getAttribute('data-live-count')) + 1;
      count.setAttribute('data-live-count', String(total));
      count.textContent = total + ' order' + (total === 1 ? '' : 's') + ', oldest first.';
    }
    announce('New paid order ' + order.number + ' (' + order.total + ') added at the end of the list.');
  });
})();
