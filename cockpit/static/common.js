// Shared by the pages: the signed-in caller, JSON fetches that send the session cookie, formatting.
export async function getJSON(url) {
  const r = await fetch(url, {credentials: "same-origin"});
  if (r.status === 401) { location.replace("/login?next=" + encodeURIComponent(location.pathname)); throw new Error("signed out"); }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}
export async function whoami() {
  const me = await getJSON("/api/session");
  document.getElementById("who").textContent = me.id ? `${me.role} ${me.id}` : me.role;
  document.getElementById("signout").onclick = async () => {
    await fetch("/api/session", {method: "DELETE"}); location.replace("/login");
  };
  return me;
}
export const yuan = fen => (fen / 100).toLocaleString("en", {minimumFractionDigits: 2, maximumFractionDigits: 2});
export function clock(ms) {
  if (!ms) return "–";
  return new Date(ms).toLocaleTimeString("en-GB", {hour: "2-digit", minute: "2-digit", second: "2-digit"});
}
export function minutesFrom(ms, now) {
  if (!ms) return "–";
  const m = (ms - now) / 60000;
  return (m >= 0 ? "in " : "") + Math.abs(m).toFixed(1) + " min" + (m < 0 ? " ago" : "");
}
export function esc(s) {
  return String(s).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}
