// gpu-dev dashboard: reads /api/v1 with the session cookie every 5 s and fills the page. Text from the API is only ever
// set with textContent (never as markup). Requests that change something send X-GpuDev-UI: 1, which the server requires
// of cookie-authenticated POST/PATCH/DELETE (a cross-site form cannot send it).
(function () {
  'use strict';
  var POLL_MS = 5000;
  var api = '/api/v1';
  var last = {};
  var timeline = null, tlItems = null, tlGroups = null, userMoved = false;
  var statusEl = document.getElementById('status');

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (attrs[k] === null || attrs[k] === undefined || attrs[k] === false) return;
        if (k === 'text') e.textContent = attrs[k];
        else if (k === 'className') e.className = attrs[k];
        else e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
      });
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }

  var timeFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });
  function fmt(t) { return t ? timeFmt.format(new Date(t)) : '—'; }
  function rel(t) {
    if (!t) return '';
    var m = Math.round((new Date(t).getTime() - Date.now()) / 60000);
    if (Math.abs(m) < 1) return 'now';
    var s = Math.abs(m) < 60 ? Math.abs(m) + ' min' : (Math.abs(m) / 60).toFixed(1) + ' h';
    return m > 0 ? 'in ' + s : s + ' ago';
  }
  function when(t) { return t ? fmt(t) + ' (' + rel(t) + ')' : '—'; }
  function bytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + u[i];
  }

  function request(method, path, body) {
    var init = { method: method, credentials: 'same-origin', headers: { 'Accept': 'application/json' } };
    if (method !== 'GET') init.headers['X-GpuDev-UI'] = '1';
    if (body !== undefined) { init.headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(api + path, init).then(function (r) {
      if (r.status === 401) { window.location.assign('/ui/signin'); throw new Error('Signed out.'); }
      return r.text().then(function (t) {
        var data = t ? JSON.parse(t) : null;
        if (!r.ok) throw new Error((data && (data.detail || data.title)) || ('HTTP ' + r.status));
        return data;
      });
    });
  }

  // An action's outcome stays on screen for a while; the refresh note does not overwrite it.
  var keepUntil = 0;
  function say(text, isError, sticky) {
    if (!sticky && Date.now() < keepUntil) return;
    if (sticky) keepUntil = Date.now() + 8000;
    statusEl.textContent = text;
    statusEl.classList.toggle('error', !!isError);
  }

  // Re-render a table body only when its data changed, keeping keyboard focus on the same control.
  function replaceRows(tbody, key, data, rows) {
    var json = JSON.stringify(data);
    if (last[key] === json) return;
    last[key] = json;
    var focused = document.activeElement && tbody.contains(document.activeElement) ? document.activeElement.getAttribute('data-focus') : null;
    tbody.replaceChildren.apply(tbody, rows);
    if (focused) {
      var again = tbody.querySelector('[data-focus="' + CSS.escape(focused) + '"]');
      if (again) again.focus();
    }
  }

  function cell(label, content) {
    var td = el('td', { 'data-label': label });
    if (typeof content === 'string') td.textContent = content; else if (content) td.appendChild(content);
    return td;
  }

  function renderAvailability(a) {
    var rows = a.types.map(function (t) {
      var next = t.free > 0 ? 'now' : (t.nextFreeAt ? when(t.nextFreeAt) + (t.likelyNextFreeAt && t.likelyNextFreeAt < t.nextFreeAt ? ', likely ' + fmt(t.likelyNextFreeAt) : '') : '—');
      return el('tr', null, [
        el('th', { scope: 'row', 'data-label': 'GPU type', text: t.gpuType + (t.simulated ? ' (simulated)' : '') }),
        cell('Free / total', t.free + ' / ' + t.total),
        cell('Largest block', t.largestFreeBlock + (t.largestFreeBlockNode ? ' on ' + t.largestFreeBlockNode : '')),
        cell('Next free', next),
        cell('Queued', t.queued ? t.queued + ' (' + t.queuedGpus + ' GPUs)' : '0'),
      ]);
    });
    replaceRows(document.querySelector('#availability tbody'), 'availability', a.types, rows);
  }

  var likelyEnds = {};
  function renderMine(list) {
    var rows = list.map(function (r) {
      var id8 = r.id.substring(0, 8);
      var waiting = r.status === 'queued' || r.status === 'pending';
      var whenText = waiting
        ? 'starts by ' + fmt(r.estimatedStartAt) + (r.likelyStartAt && r.likelyStartAt !== r.estimatedStartAt ? ' (likely ' + fmt(r.likelyStartAt) + ')' : '')
        : (r.expiresAt ? 'ends by ' + fmt(r.expiresAt) + (likelyEnds[r.id] ? ' (likely ' + fmt(likelyEnds[r.id]) + ')' : '') : (r.statusReason || '—'));
      // The scheduler's reason gives times as UTC ISO 8601; shown here in the reader's time like the rest of the page.
      if (waiting && r.waitReason) whenText += ' — ' + r.waitReason.replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z\b/g, fmt);
      var connect = r.status === 'active' ? el('code', { text: 'gpu-dev connect ' + id8 }) : '—';
      var jupyter = r.jupyterUrl && /^https?:\/\//i.test(r.jupyterUrl)
        ? el('a', { href: r.jupyterUrl, target: '_blank', rel: 'noopener noreferrer', text: 'Open Jupyter' }) : '—';
      var actions = el('div', { className: 'actions' }, [
        el('button', { type: 'button', 'data-action': 'cancel', 'data-id': r.id, 'data-focus': 'cancel-' + r.id, disabled: !r.canEdit, title: r.canEdit ? null : 'Only its owner or an admin can cancel it', text: 'Cancel' }),
        r.status === 'active' ? el('button', { type: 'button', 'data-action': 'extend', 'data-id': r.id, 'data-focus': 'extend-' + r.id, disabled: !r.canEdit || r.extendedHours > 0, text: 'Extend' }) : null,
      ]);
      return el('tr', { 'data-reservation-row': r.id }, [
        el('th', { scope: 'row', 'data-label': 'ID' }, [el('code', { text: id8, title: r.id })]),
        cell('Name', (r.name || '—') + (r.user && r.user !== document.body.dataset.user ? ' (' + r.user + ')' : '')),
        cell('GPUs', r.gpuCount + ' × ' + r.gpuType + (r.nodeCount > 1 ? ' on ' + r.nodeCount + ' nodes' : '')),
        cell('Status', r.status + (r.queuePosition ? ' #' + r.queuePosition : '')),
        cell('When', whenText),
        cell('Connect', connect),
        cell('Jupyter', jupyter),
        cell('Actions', actions),
      ]);
    });
    replaceRows(document.querySelector('#mine tbody'), 'mine', [list, likelyEnds], rows);
    document.getElementById('mine-empty').hidden = list.length > 0;
  }

  function renderDisks(list) {
    var rows = list.map(function (d) {
      return el('tr', null, [
        el('th', { scope: 'row', 'data-label': 'Disk', text: d.name }),
        cell('Status', d.status),
        cell('Size', bytes(d.sizeBytes) + ' of ' + bytes(d.quotaBytes)),
        cell('In use by', d.attachedTo ? d.attachedTo.substring(0, 8) : '—'),
        cell('Snapshots', d.snapshotCount > 0 ? snapshotList(d) : '0'),
        cell('Latest snapshot', d.latestSnapshotAt ? when(d.latestSnapshotAt) : '—'),
      ]);
    });
    replaceRows(document.querySelector('#disks tbody'), 'disks', list, rows);
    document.getElementById('disks-empty').hidden = list.length > 0;
  }

  // A disk's snapshots, listed when its disclosure is opened (and again after a refresh while it stays open).
  var openDisks = {};
  function snapshotList(d) {
    var list = el('ul', { className: 'snapshots' });
    var details = el('details', { 'data-disk': d.name, 'data-focus': 'disk-' + d.name }, [
      el('summary', { text: d.snapshotCount + ' snapshot' + (d.snapshotCount === 1 ? '' : 's') }), list]);
    function load() {
      request('GET', '/disks/' + encodeURIComponent(d.name) + '/snapshots').then(function (snaps) {
        list.replaceChildren.apply(list, snaps.map(function (s) {
          return el('li', { text: fmt(s.createdAt) + ' · ' + bytes(s.sizeBytes) + ' · ' + s.fileCount + ' files' + (s.reservation ? ' · from ' + s.reservation.substring(0, 8) : '') });
        }));
      }).catch(function (e) { list.replaceChildren(el('li', { text: 'Could not list snapshots: ' + e.message })); });
    }
    details.addEventListener('toggle', function () {
      openDisks[d.name] = details.open;
      if (details.open) load();
    });
    if (openDisks[d.name]) { details.open = true; }
    return details;
  }

  function describe(i, node) {
    var parts = [(i.mine ? 'Mine' : (i.user || 'someone')) + (i.name ? ' — ' + i.name : ''), i.status === 'ending' ? 'ended, releasing its GPUs' : i.status, i.gpus + ' GPU' + (i.gpus === 1 ? '' : 's') + ' on ' + node];
    parts.push((i.status === 'queued' ? 'starts by ' : 'from ') + fmt(i.start) + (i.likelyStart ? ' (likely ' + fmt(i.likelyStart) + ')' : ''));
    parts.push('until ' + fmt(i.end) + (i.likelyEnd ? ' (likely ' + fmt(i.likelyEnd) + ')' : ''));
    if (i.reason) parts.push('reason: ' + i.reason);
    return parts.join('; ');
  }

  function renderTimeline(t) {
    var container = document.getElementById('timeline');
    if (typeof vis === 'undefined') { container.textContent = 'The timeline needs JavaScript (vis-timeline failed to load).'; return; }
    var groups = [], items = [], types = {};
    likelyEnds = {};
    t.nodes.forEach(function (n) {
      if (!types[n.gpuType]) { types[n.gpuType] = { id: 'type:' + n.gpuType, content: n.gpuType, nestedGroups: [], showNested: true, treeLevel: 1 }; groups.push(types[n.gpuType]); }
      types[n.gpuType].nestedGroups.push('node:' + n.name);
      groups.push({ id: 'node:' + n.name, treeLevel: 2, content: el('span', { className: 'tl-node', 'data-node': n.name, 'data-gpus': n.gpus, 'data-gpu-type': n.gpuType }, [
        n.name + ' ', el('span', { className: 'tl-node-gpus', text: n.gpus + ' GPUs' })]) });
      n.items.forEach(function (i) {
        if (i.mine && i.likelyEnd) likelyEnds[i.reservationId] = i.likelyEnd;
        var queued = i.status === 'queued';
        items.push({
          id: i.reservationId + '@' + n.name, group: 'node:' + n.name, start: i.start, end: i.end, type: 'range',
          className: (i.mine ? 'mine ' : 'theirs ') + (queued ? 'queued' : i.status === 'ending' ? 'ending' : 'running'),
          tl: i, node: n.name,
        });
        if (queued && i.likelyStart) {
          items.push({ id: 'likely:' + i.reservationId + '@' + n.name, group: 'node:' + n.name, start: i.likelyStart, type: 'point', className: 'likely' + (i.mine ? ' mine' : ''), likelyOf: i, node: n.name });
        }
      });
    });
    var json = JSON.stringify(t.nodes);
    if (timeline && last.timeline === json) return;
    last.timeline = json;
    var start = new Date(new Date(t.at).getTime() - 30 * 60000), end = new Date(Math.max(new Date(t.until).getTime(), new Date(t.at).getTime() + 3600000) + 30 * 60000);
    if (!timeline) {
      tlItems = new vis.DataSet(items);
      tlGroups = new vis.DataSet(groups);
      timeline = new vis.Timeline(container, tlItems, tlGroups, {
        start: start, end: end, stack: true, orientation: 'top', zoomKey: 'ctrlKey', horizontalScroll: false,
        selectable: true, showCurrentTime: true, groupOrder: function () { return 0; }, margin: { item: 4 },
        template: function (item) {
          if (item.likelyOf) {
            return el('span', { className: 'likely-mark', title: 'likely start: ' + fmt(item.likelyOf.start === item.start ? item.start : item.likelyOf.likelyStart), 'aria-hidden': 'true', text: '◆' });
          }
          var label = describe(item.tl, item.node);
          var shown = (item.tl.mine ? '★ ' : '') + (item.tl.status === 'ending' ? 'releasing' : item.tl.name || item.tl.user || '') + ' · ' + item.tl.gpus;
          // data-node/-gpus/-start/-end: the item's place and times as the API gave them, for tests and scripts. The
          // accessible name starts with the text shown (WCAG 2.5.3, label in name), then the details the tooltip gives.
          return el('span', {
            className: 'tl-item', tabindex: '0', role: 'button', 'data-reservation-id': item.tl.reservationId,
            'data-status': item.tl.status, 'data-node': item.node, 'data-gpus': item.tl.gpus, 'data-start': item.tl.start,
            'data-end': item.tl.end, title: label, 'aria-label': shown + (item.tl.status === 'queued' ? ' · queued' : '') + ': ' + label,
          }, [shown, item.tl.status === 'queued' ? el('span', { className: 'tl-state', text: ' · queued' }) : null]);
        },
      });
      // vis-timeline shows itself only at a redraw after its first range change, which can come a second or two later
      // (or at the next data change): redraw at once so the nodes and their lanes appear with the first data.
      timeline.on('rangechanged', function (props) {
        if (props.byUser) userMoved = true;
        if (!timeline.initialDrawDone) timeline.redraw();
      });
      timeline.on('select', function (props) {
        var item = props.items.length ? tlItems.get(props.items[0]) : null;
        document.getElementById('timeline-details').textContent = item && item.tl ? describe(item.tl, item.node) : '';
      });
      container.addEventListener('keydown', function (e) {
        var span = e.target.closest && e.target.closest('.tl-item');
        if (!span || (e.key !== 'Enter' && e.key !== ' ')) return;
        e.preventDefault();
        document.getElementById('timeline-details').textContent = span.getAttribute('title');
      });
      container.addEventListener('focusin', function (e) {
        var span = e.target.closest && e.target.closest('.tl-item');
        if (span) document.getElementById('timeline-details').textContent = span.getAttribute('title');
      });
    } else {
      tlGroups.update(groups);
      tlGroups.remove(tlGroups.getIds().filter(function (id) { return !groups.some(function (g) { return g.id === id; }); }));
      tlItems.update(items);
      tlItems.remove(tlItems.getIds().filter(function (id) { return !items.some(function (x) { return x.id === id; }); }));
      // Until the user pans or zooms, the window keeps showing everything booked, from just before now.
      if (!userMoved) timeline.setWindow(start, end, { animation: false });
    }
  }

  // One refresh at a time; one asked for while another runs (say, right after a cancel) runs as soon as it ends, so
  // what the user just did shows at once rather than at the next poll.
  var busy = null, again = false;
  function refresh() {
    if (busy) { again = true; return busy; }
    busy = Promise.all([request('GET', '/availability'), request('GET', '/timeline'), request('GET', '/reservations/'), request('GET', '/disks/')])
      .then(function (r) {
        renderAvailability(r[0]);
        renderTimeline(r[1]);
        renderMine(r[2]);
        renderDisks(r[3]);
        say('Updated ' + new Date().toLocaleTimeString() + '; refreshes every 5 s.');
      })
      .catch(function (e) { say('Could not refresh: ' + e.message, true); })
      .finally(function () {
        busy = null;
        if (again) { again = false; refresh(); }
      });
    return busy;
  }

  // Cancel and extend, each behind a confirmation dialog.
  var pending = null;
  var cancelDialog = document.getElementById('confirm-cancel');
  var extendDialog = document.getElementById('confirm-extend');
  document.querySelector('#mine tbody').addEventListener('click', function (e) {
    var b = e.target.closest('button[data-action]');
    if (!b || b.disabled) return;
    pending = b.getAttribute('data-id');
    var row = b.closest('tr');
    var what = row ? row.cells[1].textContent + ' (' + pending.substring(0, 8) + ')' : pending;
    if (b.getAttribute('data-action') === 'cancel') {
      document.getElementById('cancel-text').textContent = 'Cancel ' + what + '? Its GPUs are released and its container stopped; files outside its disk are lost.';
      cancelDialog.returnValue = '';
      cancelDialog.showModal();
    } else {
      document.getElementById('extend-text').textContent = 'Extend ' + what + '.';
      extendDialog.returnValue = '';
      extendDialog.showModal();
    }
  });
  cancelDialog.addEventListener('close', function () {
    if (cancelDialog.returnValue !== 'confirm' || !pending) return;
    var id = pending;
    say('Cancelling ' + id.substring(0, 8) + '…');
    request('DELETE', '/reservations/' + encodeURIComponent(id))
      .then(function () { say('Cancelled ' + id.substring(0, 8) + '.', false, true); return refresh(); })
      .catch(function (e) { say('Could not cancel: ' + e.message, true, true); });
  });
  extendDialog.addEventListener('close', function () {
    if (extendDialog.returnValue !== 'confirm' || !pending) return;
    var id = pending, hours = parseFloat(document.getElementById('extend-hours').value);
    say('Extending ' + id.substring(0, 8) + ' by ' + hours + ' h…');
    request('PATCH', '/reservations/' + encodeURIComponent(id), { extendHours: hours })
      .then(function () { say('Extended ' + id.substring(0, 8) + ' by ' + hours + ' h.', false, true); return refresh(); })
      .catch(function (e) { say('Could not extend: ' + e.message, true, true); });
  });

  refresh();
  setInterval(function () { if (!document.hidden) refresh(); }, POLL_MS);
  document.addEventListener('visibilitychange', function () { if (!document.hidden) refresh(); });
})();
