// The merchant's dashboard: today's orders live (polled every 2 s) with the rider's ETA, today's sales, the
// settlement statement of a day with its CSV, and for a chain's head office each branch side by side.
import {getJSON, whoami, yuan, clock, minutesFrom, esc} from "/static/common.js";

const merchantId = decodeURIComponent(location.pathname.split("/").pop());
document.getElementById("merchant").textContent = merchantId;
const base = `/api/merchant/${encodeURIComponent(merchantId)}`;
let refreshes = 0;

async function refresh() {
  const s = await getJSON(`${base}/summary`);
  const now = Date.now();
  // A chain's head office sees its branches' totals at the top; a branch its own.
  const top = s.chain_total ? {...s, ...s.chain_total} : s;
  for (const el of document.querySelectorAll("[data-field]")) {
    const f = el.dataset.field;
    el.textContent = f === "sales" ? yuan(top.sales_fen) : top[f];
  }
  if (s.chain_total) document.getElementById("scope").textContent = " (all branches)";
  document.getElementById("orders").innerHTML = s.orders.map(o => `<tr data-order="${esc(o.order_id)}">
    <td>${esc(o.order_id)}</td><td>${esc(o.status)}</td><td>${esc(o.dispatch_status || "–")}</td><td>${esc(o.rider_id || "–")}</td>
    <td>${yuan(o.total_fen)}</td><td>${minutesFrom(o.eta_pickup_ms, now)}</td><td>${minutesFrom(o.eta_dropoff_ms, now)}</td>
    <td>${clock(o.created_ms)}</td></tr>`).join("");
  if (s.branches) {
    document.getElementById("branches-card").hidden = false;
    document.getElementById("branches").innerHTML = s.branches.map(b => `<tr data-branch="${esc(b.merchant_id)}">
      <td><a href="/merchant/${encodeURIComponent(b.merchant_id)}">${esc(b.merchant_id)}</a></td><td>${b.orders_today}</td>
      <td>${b.paid_orders}</td><td>${yuan(b.sales_fen)}</td>
      <td>${Object.entries(b.by_status).filter(([k]) => !["completed", "cancelled", "rejected", "refunded"].includes(k))
        .reduce((a, [, n]) => a + n, 0)}</td></tr>`).join("");
  }
  refreshes++;
  document.body.dataset.refreshes = refreshes;
  document.getElementById("status").textContent = `live · ${clock(now)}`;
}

async function statement() {
  const day = document.getElementById("day").value;
  const status = document.getElementById("stmt-status");
  document.getElementById("csv").href = `${base}/statement?day=${day}&format=csv`;
  try {
    const st = await getJSON(`${base}/statement?day=${day}`);
    const sm = st.summary;
    document.getElementById("stmt-summary").innerHTML = `<tr><th>receiver</th><th>entries</th><th>net (¥)</th>
      <th>carried in</th><th>payable (¥)</th><th>carried out</th></tr><tr><td>${esc(sm.receiver)}</td><td>${sm.entry_count}</td>
      <td>${yuan(sm.net_fen)}</td><td>${yuan(sm.carried_in_fen)}</td><td data-payable="${sm.payable_fen}">${yuan(sm.payable_fen)}</td>
      <td>${yuan(sm.carried_out_fen)}</td></tr>`;
    document.getElementById("entries").innerHTML = st.entries.map(e => `<tr><td>${esc(e.entry_id)}</td><td>${esc(e.order_id)}</td>
      <td>${esc(e.receiver)}</td><td>${yuan(e.amount_fen)}</td><td>${esc(e.cause)}</td></tr>`).join("");
    status.textContent = `${st.entries.length} entries`;
  } catch (e) {
    document.getElementById("stmt-summary").innerHTML = ""; document.getElementById("entries").innerHTML = "";
    status.textContent = e.message;
  }
}

async function main() {
  await whoami();
  const y = new Date(Date.now() + 8 * 3600e3 - 86400e3).toISOString().slice(0, 10);  // yesterday in CST
  document.getElementById("day").value = y;
  document.getElementById("load").onclick = statement;
  await refresh();
  statement();
  setInterval(() => refresh().catch(e => { document.getElementById("status").textContent = e.message; }), 2000);
}
main().catch(e => { document.getElementById("status").textContent = "error: " + e.message; });
