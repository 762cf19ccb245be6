// The collector dashboard: polls /v1/dashboard and renders it. Plain DOM, no framework, no
// third-party code. Every value from the server is set with textContent (store and agent ids
// come from the field and are never interpreted as HTML).
'use strict';

const REFRESH_MS = 3000;
const SVG_NS = 'http://www.w3.org/2000/svg';

function readKey() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const fromUrl = fragment.get('key');
  if (fromUrl) sessionStorage.setItem('aisle-key', fromUrl);
  return fromUrl || sessionStorage.getItem('aisle-key') || '';
}

let key = readKey();

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function fmt(n, digits = 0) {
  if (n === undefined || n === null || Number.isNaN(n)) return '–';
  return Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function fmtMs(ms) {
  if (ms === undefined || ms === null) return '–';
  return ms >= 1000 ? fmt(ms / 1000, 2) + ' s' : fmt(ms, 1) + ' ms';
}

function fmtAgo(seconds) {
  if (seconds === undefined || seconds < 0) return 'never';
  if (seconds < 90) return fmt(seconds, 0) + ' s ago';
  if (seconds < 5400) return fmt(seconds / 60, 0) + ' min ago';
  return fmt(seconds / 3600, 1) + ' h ago';
}

function setText(testid, text) {
  const node = document.querySelector(`[data-testid="${testid}"]`);
  if (node) node.textContent = text;
}

// A line chart of one series into `container` (replacing what was there).
function chart(container, points, { width = 600, height = 120, labels = true } = {}) {
  container.replaceChildren();
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const max = Math.max(1, ...points);
  const step = points.length > 1 ? width / (points.length - 1) : width;
  const y = (v) => height - 4 - (v / max) * (height - 14);
  const coords = points.map((v, i) => `${(i * step).toFixed(1)},${y(v).toFixed(1)}`);
  const axis = document.createElementNS(SVG_NS, 'line');
  axis.setAttribute('class', 'axis');
  axis.setAttribute('x1', 0); axis.setAttribute('x2', width);
  axis.setAttribute('y1', height - 4); axis.setAttribute('y2', height - 4);
  svg.appendChild(axis);
  if (coords.length) {
    const area = document.createElementNS(SVG_NS, 'polygon');
    area.setAttribute('class', 'area');
    area.setAttribute('points', `0,${height - 4} ${coords.join(' ')} ${width},${height - 4}`);
    svg.appendChild(area);
    const line = document.createElementNS(SVG_NS, 'polyline');
    line.setAttribute('class', 'line');
    line.setAttribute('points', coords.join(' '));
    svg.appendChild(line);
  }
  if (labels) {
    const top = document.createElementNS(SVG_NS, 'text');
    top.setAttribute('x', 2); top.setAttribute('y', 10);
    top.textContent = fmt(max);
    svg.appendChild(top);
  }
  container.appendChild(svg);
}

function sparkline(points) {
  const holder = el('div', null, 'chart small');
  holder.style.height = '20px';
  holder.style.width = '120px';
  chart(holder, points, { width: 120, height: 20, labels: false });
  return holder;
}

function fillRows(tbodyId, rows, columns, emptyText) {
  const tbody = document.getElementById(tbodyId);
  tbody.replaceChildren();
  if (!rows.length) {
    const tr = el('tr', null, 'empty');
    const td = el('td', emptyText);
    td.colSpan = columns;
    tr.appendChild(td);
    tbody.appendChild(tr);
    return;
  }
  for (const cells of rows) {
    const tr = el('tr');
    for (const cell of cells) {
      if (cell instanceof Node) {
        const td = el('td');
        td.appendChild(cell);
        tr.appendChild(td);
      } else {
        const td = el('td', cell.text, cell.className);
        if (cell.testid) td.dataset.testid = cell.testid;
        tr.appendChild(td);
      }
    }
    tbody.appendChild(tr);
  }
}

const num = (text, testid, bad) => ({ text, className: bad ? 'num bad' : 'num', testid });
const txt = (text) => ({ text });

function renderIngest(d) {
  const ingest = d.ingest || { series: [], points: [], total: 0 };
  const perSecond = ingest.series.reduce((sum, s) => sum + s.per_second, 0);
  setText('events-total', fmt(ingest.total));
  setText('events-rate', fmt(perSecond, 1));
  document.getElementById('window').textContent =
    `(last ${fmt((d.steps * d.step_seconds) / 60)} min, ${fmt(d.step_seconds)} s steps)`;
  chart(document.getElementById('ingest-chart'), ingest.points.map((v) => v / d.step_seconds));
  const series = [...ingest.series].sort((a, b) => b.per_second - a.per_second || b.total - a.total);
  fillRows('ingest-rows', series.map((s) => [
    txt(s.store), txt(s.source), num(fmt(s.per_second, 1)), num(fmt(s.total), `ingest-${s.store}-${s.source}`),
    sparkline(s.points),
  ]), 5, 'no events stored since the collector started');
}

function renderQuarantine(d) {
  const reasons = (d.quarantine && d.quarantine.reasons) || [];
  setText('quarantine-minute', fmt(reasons.reduce((sum, r) => sum + r.last_minute, 0)));
  const sorted = [...reasons].sort((a, b) => b.last_minute - a.last_minute || b.total - a.total);
  fillRows('quarantine-rows', sorted.map((r) => [
    txt(r.reason), num(fmt(r.last_minute), undefined, r.last_minute > 0), num(fmt(r.total)), sparkline(r.points),
  ]), 4, 'nothing quarantined');
}

function renderLatency(d) {
  const latency = d.latency || {};
  const rows = [];
  for (const from of ['received', 'occurred']) {
    const q = latency[from];
    if (!q) continue;
    rows.push([txt(from), num(q.count ? fmtMs(q.p50_ms) : '–'), num(q.count ? fmtMs(q.p90_ms) : '–'),
      num(q.count ? fmtMs(q.p99_ms) : '–', `latency-${from}-p99`), num(fmt(q.count))]);
  }
  fillRows('latency-rows', rows, 5, 'no agent batches yet');
  const received = latency.received;
  setText('latency-p99', received && received.count ? fmtMs(received.p99_ms) : '–');
  const p99 = (latency.received_p99_points || []).map((p) => p.p99_ms);
  chart(document.getElementById('latency-chart'), p99, { width: 600, height: 60 });
}

function renderAgents(d) {
  const agents = d.agents || [];
  const online = agents.filter((a) => a.last_seen_seconds_ago >= 0 && a.last_seen_seconds_ago < 120).length;
  setText('agents-online', `${online} / ${agents.length}`);
  fillRows('agent-rows', agents.map((a) => [
    txt(a.store_id), txt(a.agent_id),
    num(fmtAgo(a.last_seen_seconds_ago), undefined, a.last_seen_seconds_ago < 0 || a.last_seen_seconds_ago > 120),
    num(fmt(a.backlog), `backlog-${a.store_id}-${a.agent_id}`, a.backlog > 10000),
    num(fmtMs(a.clock_skew_ms), undefined, Math.abs(a.clock_skew_ms) > 5000),
    num(fmtMs(a.lag_ms)), num(fmt(a.events)), num(fmt(a.gaps), undefined, a.gaps > 0),
  ]), 8, 'no agent has sent a batch yet');
}

function renderSegments(d) {
  const panel = document.querySelector('[data-panel="segments"]');
  panel.hidden = !d.segments;
  if (!d.segments) return;
  fillRows('segment-rows', d.segments.series.map((s) => [
    txt(s.segment_id), num(fmt(s.size), `segment-${s.segment_id}`), sparkline(s.points),
  ]), 3, 'no segments defined');
}

// The recommendation service's stats: rows of placement x strategy wherever they are found.
function recommendationRows(stats) {
  const rows = [];
  const visit = (node, placement) => {
    if (Array.isArray(node)) { node.forEach((n) => visit(n, placement)); return; }
    if (!node || typeof node !== 'object') return;
    if ('impressions' in node || 'clicks' in node) {
      rows.push({ placement: node.placement || placement || '–', strategy: node.strategy || node.arm || '–', ...node });
      return;
    }
    for (const [k, v] of Object.entries(node)) visit(v, node.placement || (typeof v === 'object' && !Array.isArray(v) && placement === undefined ? k : placement));
  };
  visit(stats, undefined);
  return rows;
}

function renderRecommendations(d) {
  const panel = document.querySelector('[data-panel="recommendations"]');
  panel.hidden = !d.recommendations;
  if (!d.recommendations) return;
  const rows = recommendationRows(d.recommendations);
  fillRows('rec-rows', rows.map((r) => {
    const ctr = r.ctr !== undefined ? r.ctr : (r.impressions ? r.clicks / r.impressions : undefined);
    return [txt(r.placement), txt(r.strategy), num(fmt(r.impressions)), num(fmt(r.clicks)),
      num(ctr === undefined ? '–' : fmt(ctr * 100, 1) + ' %', `ctr-${r.placement}-${r.strategy}`),
      num(fmt(r.conversions))];
  }), 6, 'no recommendations served yet');
}

function renderErasures(d) {
  const panel = document.querySelector('[data-panel="erasures"]');
  panel.hidden = !d.erasures;
  if (!d.erasures) return;
  const list = Array.isArray(d.erasures) ? d.erasures : (d.erasures.erasures || []);
  fillRows('erasure-rows', list.map((e) => {
    const agents = e.agents || [];
    const confirmed = agents.filter((a) => a.confirmed_at).length;
    return [txt((e.erasure_id || '').slice(0, 8)), txt((e.profile_id || '').slice(0, 13)),
      { text: e.state, className: e.state === 'complete' ? '' : 'bad' }, txt(e.requested_at || ''),
      num(fmt(e.events_deleted)), num(`${confirmed} / ${agents.length}`)];
  }), 6, 'no erasures');
}

function render(d) {
  renderIngest(d);
  renderQuarantine(d);
  renderLatency(d);
  renderAgents(d);
  renderSegments(d);
  renderRecommendations(d);
  renderErasures(d);
  const profiles = d.profiles || {};
  setText('profiles', `${fmt(profiles.profiles)} (${fmt(profiles.merges)} merges)`);
  setText('updated', `updated ${d.now}`);
}

function setStatus(text, ok) {
  const status = document.getElementById('status');
  status.textContent = text;
  status.className = 'status ' + (ok ? 'ok' : 'error');
}

async function refresh() {
  try {
    const headers = key ? { Authorization: `Bearer ${key}` } : {};
    const response = await fetch('/v1/dashboard', { headers, cache: 'no-store' });
    if (response.status === 401) {
      setStatus('admin key needed', false);
      document.getElementById('key-form').hidden = false;
      return;
    }
    if (!response.ok) {
      setStatus(`collector answered ${response.status}`, false);
      return;
    }
    render(await response.json());
    setStatus('live', true);
  } catch (error) {
    setStatus(`collector unreachable (${error.message})`, false);
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

document.getElementById('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  key = document.getElementById('key-input').value.trim();
  sessionStorage.setItem('aisle-key', key);
  document.getElementById('key-form').hidden = true;
});

refresh();
