"""The read-only status page: one HTML file, no build step, refreshing itself from /api/status.

It holds no data itself; its script fetches /api/status every two seconds, sending the
bearer token given after `#token=` in the page's address (a fragment never reaches a
server or its logs). Values are written with textContent, never parsed as HTML.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>arb status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330;
         background: #f6f7f9; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
  h2 { font-size: 1rem; margin: 1.4rem 0 .4rem; }
  .sub { color: #5b6475; }
  .cards { display: flex; gap: .8rem; flex-wrap: wrap; margin-top: 1rem; }
  .card { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: .6rem .9rem;
          min-width: 9rem; }
  .card b { display: block; font-size: 1.25rem; }
  table { border-collapse: collapse; background: #fff; width: 100%; }
  th, td { border-bottom: 1px solid #e5e8ee; padding: .3rem .6rem; text-align: left;
           white-space: nowrap; }
  th { background: #eef1f5; font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .ok { color: #13795b; } .bad { color: #b42318; } .empty { color: #8a93a3; font-style: italic; }
</style>
</head>
<body>
<h1>arb <span id="mode" class="sub"></span></h1>
<div class="sub">updated <span id="updated">never</span> &middot; <span id="error"></span></div>
<div class="cards">
  <div class="card">trading<b id="trading">-</b><span id="blocked" class="sub"></span></div>
  <div class="card">breaker<b id="breaker">-</b></div>
  <div class="card">P&amp;L this session<b id="pnl">-</b><span id="fees" class="sub"></span></div>
  <div class="card">P&amp;L today (UTC)<b id="pnl-today">-</b></div>
  <div class="card">trades<b id="trade-count">-</b></div>
  <div class="card">opportunities seen<b id="opp-count">-</b></div>
</div>
<h2>Venues</h2>
<table id="venues"><thead><tr><th>venue</th><th>state</th><th>books</th>
<th>oldest book (ms)</th><th>updates</th><th>resyncs</th><th>stale refused</th>
<th>last error</th></tr></thead><tbody></tbody></table>
<h2>Current opportunities</h2>
<table id="opportunities"><thead><tr><th>symbol</th><th>buy on</th><th>sell on</th>
<th>amount</th><th>net profit</th><th>net %</th></tr></thead><tbody></tbody></table>
<h2>Recent trades</h2>
<table id="trades"><thead><tr><th>time (UTC)</th><th>intent</th><th>symbol</th><th>buy on</th>
<th>sell on</th><th>amount</th><th>state</th><th>P&amp;L</th><th>fees</th><th>cycle (ms)</th>
</tr></thead><tbody></tbody></table>
<script>
"use strict";
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const NUM = new Set(["amount", "net_profit", "net_profit_pct", "pnl", "fees", "cycle_ms",
                     "updates", "resyncs", "stale_refused", "books", "oldest"]);
function text(id, value) { document.getElementById(id).textContent = value; }
function fill(id, rows, keys, none) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren();
  if (!rows.length) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = keys.length; cell.className = "empty"; cell.textContent = none;
    return;
  }
  for (const row of rows) {
    const tr = body.insertRow();
    for (const key of keys) {
      const cell = tr.insertCell();
      const value = row[key];
      cell.textContent = value === null || value === undefined ? "" : String(value);
      if (NUM.has(key)) cell.className = "num";
      if (key === "state") cell.className = ["connected", "settled"].includes(value) ? "ok" : "bad";
    }
  }
}
function render(s) {
  text("mode", s.mode);
  const t = s.trading;
  text("trading", t.enabled ? (t.allowed ? "allowed" : "blocked") : "off (scan)");
  document.getElementById("trading").className = t.allowed ? "ok" : "bad";
  text("blocked", t.blocked || "");
  text("breaker", t.breaker ? "TRIPPED: " + t.breaker : (t.enabled ? "closed" : "-"));
  document.getElementById("breaker").className = t.breaker ? "bad" : "ok";
  text("pnl", s.pnl.session_pnl);
  text("fees", "fees " + s.pnl.session_fees);
  text("pnl-today", s.pnl.today_pnl);
  text("trade-count", s.pnl.session_trades);
  text("opp-count", s.opportunities_seen);
  const venues = Object.entries(s.venues).map(([name, v]) => {
    const ages = Object.values(v.book_age_ms);
    return {venue: name, state: v.state, books: ages.length,
            oldest: ages.length ? Math.max(...ages).toFixed(0) : "", updates: v.updates,
            resyncs: v.resyncs, stale_refused: v.stale_refused, last_error: v.last_error};
  });
  fill("venues", venues, ["venue", "state", "books", "oldest", "updates", "resyncs",
                          "stale_refused", "last_error"], "no venue");
  fill("opportunities", s.opportunities, ["symbol", "buy", "sell", "amount", "net_profit",
                                          "net_profit_pct"], "none right now");
  const trades = s.trades.map(r => Object.assign({}, r, {
    time: new Date(r.at_ms).toISOString().replace("T", " ").slice(0, 19)}));
  fill("trades", trades, ["time", "intent_id", "symbol", "buy", "sell", "amount", "state",
                          "pnl", "fees", "cycle_ms"], "no trade yet");
}
async function refresh() {
  try {
    const headers = token ? {Authorization: "Bearer " + token} : {};
    const answer = await fetch("api/status", {headers, cache: "no-store"});
    if (!answer.ok) throw new Error("HTTP " + answer.status);
    render(await answer.json());
    text("updated", new Date().toISOString().replace("T", " ").slice(0, 19) + " UTC");
    text("error", "");
  } catch (err) {
    text("error", "cannot reach arb: " + err.message);
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"""
