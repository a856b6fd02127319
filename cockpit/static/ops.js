// The ops view: a canvas map of the city (its own road graph as the base map), riders by state, open orders,
// lines from riders to their next stop, an H3 heat layer with a time slider, and live KPIs. One snapshot, then
// a delta per second over server-sent events; drawing happens at most once per animation frame, and only
// when something changed.
import {getJSON, whoami, clock} from "/static/common.js";

const COLORS = {free: "#3fb950", offered: "#d29922", to_counter: "#58a6ff", riding: "#db61a2"};
const ROAD_STYLE = {motorway: [2.2, "#4b5a67"], trunk: [2.0, "#4b5a67"], primary: [1.7, "#43515d"],
  secondary: [1.4, "#3c4955"], tertiary: [1.2, "#36424d"]};
const canvas = document.getElementById("map");
const ctx = canvas.getContext("2d");
const state = {
  riders: new Map(),   // id -> [lat, lng, state, stopLat, stopLng]
  orders: new Map(),   // id -> [status, rider, pLat, pLng, dLat, dLng, placed, etaP, etaD]
  kpis: {}, version: -1, updates: 0,
  view: null,          // {lat0, lng0, k (px per degree lat), kx, cx, cy}
  roads: null, roadsCanvas: null, heat: null, dirty: true, roadsDirty: true,
};
window.__cockpit = state;  // for the browser tests and the curious

// Projection: equirectangular around the city centre (exact enough for a city), then pan and zoom.
function fit(bounds) {
  const [[s, w], [n, e]] = bounds;
  const lat0 = (s + n) / 2, lng0 = (w + e) / 2, cos = Math.cos(lat0 * Math.PI / 180);
  const W = canvas.clientWidth, H = canvas.clientHeight;
  const k = Math.min(H / Math.max(n - s, 1e-6), W / Math.max((e - w) * cos, 1e-6)) * 0.95;
  state.view = {lat0, lng0, cos, k, cx: W / 2, cy: H / 2};
  state.roadsDirty = state.dirty = true;
}
const px = (lat, lng) => {
  const v = state.view;
  return [v.cx + (lng - v.lng0) * v.cos * v.k, v.cy - (lat - v.lat0) * v.k];
};

function resize() {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = canvas.clientWidth * dpr; canvas.height = canvas.clientHeight * dpr;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  state.roadsDirty = state.dirty = true;
}

function drawRoads() {
  const dpr = window.devicePixelRatio || 1;
  if (!state.roadsCanvas) state.roadsCanvas = document.createElement("canvas");
  const rc = state.roadsCanvas;
  rc.width = canvas.width; rc.height = canvas.height;
  const r = rc.getContext("2d");
  r.setTransform(dpr, 0, 0, dpr, 0, 0);
  r.fillStyle = "#0b0f13"; r.fillRect(0, 0, rc.width, rc.height);
  const roads = state.roads;
  if (roads) {
    const [lat0, lng0] = roads.origin, s = roads.scale, seg = roads.segments, cls = roads.classes;
    // Minor roads first, in one path, then the main classes on top.
    const groups = new Map();
    for (let i = 0; i < seg.length; i += 5) {
      const name = cls[seg[i]];
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push(i);
    }
    const order = [...groups.keys()].sort((a, b) => (ROAD_STYLE[a] ? 1 : 0) - (ROAD_STYLE[b] ? 1 : 0));
    for (const name of order) {
      const [w, color] = ROAD_STYLE[name] || [0.7, "#273139"];
      r.beginPath(); r.lineWidth = w; r.strokeStyle = color;
      for (const i of groups.get(name)) {
        const [x1, y1] = px(lat0 + seg[i + 1] / s, lng0 + seg[i + 2] / s);
        const [x2, y2] = px(lat0 + seg[i + 3] / s, lng0 + seg[i + 4] / s);
        r.moveTo(x1, y1); r.lineTo(x2, y2);
      }
      r.stroke();
    }
  }
  state.roadsDirty = false;
}

function drawHeat() {
  const heat = state.heat;
  if (!heat || !heat.cells.length) return;
  const top = Math.max(...heat.cells.map(c => c.n));
  const rgb = {late: "248,81,73", delivered: "88,166,255", coupons: "163,113,247", points: "63,185,80"}[heat.layer]
    || "255,166,0";
  for (const c of heat.cells) {
    ctx.beginPath();
    c.boundary.forEach(([lat, lng], i) => { const [x, y] = px(lat, lng); i ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
    ctx.closePath();
    ctx.fillStyle = `rgba(${rgb},${(0.12 + 0.6 * c.n / top).toFixed(3)})`;
    ctx.fill();
  }
}

function draw() {
  if (!state.view) return;
  if (state.roadsDirty) drawRoads();
  const W = canvas.clientWidth, H = canvas.clientHeight;
  ctx.drawImage(state.roadsCanvas, 0, 0, W, H);
  drawHeat();
  // Lines from riders to their next stop.
  ctx.lineWidth = 0.8; ctx.strokeStyle = "rgba(200,210,220,0.35)"; ctx.beginPath();
  for (const r of state.riders.values()) {
    if (r[3] == null) continue;
    const [x1, y1] = px(r[0], r[1]), [x2, y2] = px(r[3], r[4]);
    ctx.moveTo(x1, y1); ctx.lineTo(x2, y2);
  }
  ctx.stroke();
  // Open orders at their counters.
  ctx.fillStyle = "#f0f6fc";
  let ordersDrawn = 0;
  for (const o of state.orders.values()) {
    const [x, y] = px(o[2], o[3]);
    if (x < -5 || y < -5 || x > W + 5 || y > H + 5) continue;
    ctx.fillRect(x - 2, y - 2, 4, 4); ordersDrawn++;
  }
  // Riders by state, one fill style at a time.
  let ridersDrawn = 0;
  for (const [name, color] of Object.entries(COLORS)) {
    ctx.fillStyle = color; ctx.beginPath();
    for (const r of state.riders.values()) {
      if (r[2] !== name) continue;
      const [x, y] = px(r[0], r[1]);
      if (x < -5 || y < -5 || x > W + 5 || y > H + 5) continue;
      ctx.moveTo(x + 2.6, y); ctx.arc(x, y, 2.6, 0, 2 * Math.PI); ridersDrawn++;
    }
    ctx.fill();
  }
  document.body.dataset.ridersDrawn = ridersDrawn;
  document.body.dataset.ordersDrawn = ordersDrawn;
  state.dirty = false;
}
function frame() { if (state.dirty || state.roadsDirty) draw(); requestAnimationFrame(frame); }

function applyRiders(rows) {
  for (const [id, lat, lng, st, sLat, sLng] of rows) state.riders.set(id, [lat, lng, st, sLat, sLng]);
}
function applyOrders(rows) {
  for (const [id, st, rider, pLat, pLng, dLat, dLng, placed, etaP, etaD] of rows)
    state.orders.set(id, [st, rider, pLat, pLng, dLat, dLng, placed, etaP, etaD]);
}
function showKpis(k) {
  state.kpis = k;
  for (const el of document.querySelectorAll("[data-kpi]")) {
    const v = k[el.dataset.kpi];
    el.textContent = v == null ? "–" : String(v);
  }
  for (const el of document.querySelectorAll("[data-state]")) el.textContent = (k.riders_by_state || {})[el.dataset.state] ?? 0;
  document.getElementById("zones").innerHTML = (k.zones || []).map(z =>
    `<tr><td>${z.zone}</td><td>${z.backlog}</td><td>${z.tick_ms}</td></tr>`).join("");
}

function onSnapshot(s) {
  state.riders.clear(); state.orders.clear();
  applyRiders(s.riders); applyOrders(s.orders); showKpis(s.kpis);
  state.version = s.version; state.dirty = true;
}
function onDelta(d) {
  applyRiders(d.riders); for (const id of d.riders_gone) state.riders.delete(id);
  applyOrders(d.orders); for (const id of d.orders_gone) state.orders.delete(id);
  showKpis(d.kpis); state.version = d.version; state.updates++; state.dirty = true;
  document.body.dataset.updates = state.updates;
  document.getElementById("status").textContent = `live · ${clock(d.kpis.at_ms)} · ${state.riders.size} riders`;
}

function connect() {
  const es = new EventSource("/api/ops/stream");
  es.addEventListener("snapshot", e => { onSnapshot(JSON.parse(e.data)); document.body.dataset.live = "1"; });
  es.addEventListener("delta", e => onDelta(JSON.parse(e.data)));
  es.onerror = () => { document.getElementById("status").textContent = "reconnecting…"; };
}

// Heat: the window ends at the slider's bucket (the last one: now); refreshed every 15 s while at "now".
let heatRange = null;
async function loadHeat() {
  const layer = document.getElementById("layer").value;
  if (!layer) { state.heat = null; state.dirty = true; return; }
  const res = document.getElementById("res").value, span = +document.getElementById("span").value;
  const slider = document.getElementById("slider");
  let to = "";
  if (heatRange && +slider.value < +slider.max) to = heatRange.from + (+slider.value + 1) * heatRange.bucket;
  const q = new URLSearchParams({layer, res});
  if (to) { q.set("to_ms", to); q.set("from_ms", to - span); }
  else q.set("from_ms", Date.now() - span);
  const h = await getJSON("/api/ops/heat?" + q);
  heatRange = {from: h.held_from_ms, bucket: h.bucket_s * 1000};
  const buckets = Math.max(0, Math.round((h.held_to_ms - h.held_from_ms) / heatRange.bucket) - 1);
  const atEnd = +slider.value >= +slider.max;
  slider.max = buckets; if (atEnd) slider.value = buckets;
  document.getElementById("ending").textContent = atEnd ? "now" : clock(h.to_ms);
  document.getElementById("heatinfo").textContent = `${h.cells.length} cells, ${h.cells.reduce((a, c) => a + c.n, 0)} events`;
  document.body.dataset.heatCells = h.cells.length;
  state.heat = h; state.dirty = true;
}
for (const id of ["layer", "res", "span", "slider"]) document.getElementById(id).addEventListener("change", loadHeat);
setInterval(() => { const s = document.getElementById("slider"); if (+s.value >= +s.max) loadHeat(); }, 15000);

// Pan and zoom.
let drag = null;
canvas.addEventListener("mousedown", e => { drag = [e.clientX, e.clientY]; canvas.style.cursor = "grabbing"; });
window.addEventListener("mouseup", () => { drag = null; canvas.style.cursor = "grab"; });
window.addEventListener("mousemove", e => {
  if (!drag || !state.view) return;
  state.view.cx += e.clientX - drag[0]; state.view.cy += e.clientY - drag[1];
  drag = [e.clientX, e.clientY]; state.roadsDirty = state.dirty = true;
});
canvas.addEventListener("wheel", e => {
  e.preventDefault();
  const v = state.view; if (!v) return;
  const f = Math.exp(-e.deltaY * 0.0015), rect = canvas.getBoundingClientRect();
  const mx = e.clientX - rect.left, my = e.clientY - rect.top;
  v.cx = mx - (mx - v.cx) * f; v.cy = my - (my - v.cy) * f; v.k *= f;
  state.roadsDirty = state.dirty = true;
}, {passive: false});
window.addEventListener("resize", () => { resize(); });

async function main() {
  await whoami();
  resize();
  const city = await getJSON("/api/city");
  document.getElementById("city").textContent = city.name;
  document.getElementById("attribution").textContent = city.attribution;
  const r = city.radius_m / 111320, c = Math.cos(city.center[0] * Math.PI / 180);
  fit([[city.center[0] - r, city.center[1] - r / c], [city.center[0] + r, city.center[1] + r / c]]);
  requestAnimationFrame(frame);
  connect();
  loadHeat();
  state.roads = await getJSON("/api/city/roads");
  state.roadsDirty = true;
  document.body.dataset.roads = state.roads.segments.length / 5;
}
main().catch(e => { document.getElementById("status").textContent = "error: " + e.message; });
