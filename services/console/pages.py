"""The console's HTML: server-rendered pages, inline CSS, one small inline script for the live
alert feed. Nothing is loaded from anywhere else, so it works offline."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from urllib.parse import quote, urlencode

from schemas.downstream import Alert, ScoreUpdate
from services.product.charts import PALETTE, Series, bar_chart, line_chart

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#111827;background:#f9fafb}
header{background:#111827;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}
main{display:grid;grid-template-columns:minmax(0,1fr) 340px;gap:20px;padding:20px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:14px;margin-bottom:16px}
h1{font-size:20px;margin:0 0 10px}h2{font-size:16px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;
border-bottom:1px solid #f3f4f6;vertical-align:top}th a{color:inherit}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.seg{padding:1px 6px;border-radius:9px;font-size:12px;background:#e5e7eb}
.seg-champion,.seg-loyal{background:#dcfce7}.seg-at_risk{background:#fef3c7}
.seg-detractor{background:#fee2e2}.muted{color:#6b7280}.up{color:#16a34a}.down{color:#dc2626}
#alerts li{list-style:none;border-left:3px solid #f59e0b;padding:4px 8px;margin:0 0 8px}
#alerts li.critical{border-color:#dc2626}#alerts li.resolved{border-color:#16a34a}
#alerts li.escalated{border-color:#9ca3af}
#alerts{padding:0;margin:0}form input,form select{padding:4px 6px}
td.nowrap{white-space:nowrap}
"""

FEED_SCRIPT = """
(function(){
  var list=document.getElementById('alerts'); if(!list) return;
  var last=parseInt(list.dataset.after||'0',10);
  function esc(s){var d=document.createElement('div');d.textContent=s;return d.innerHTML;}
  function poll(){
    fetch('/api/alerts?after='+last).then(function(r){return r.json();}).then(function(data){
      data.alerts.slice().reverse().forEach(function(a){
        var li=document.createElement('li');
        li.className='alert '+a.severity+(a.shown_state!=='raised'?' '+a.shown_state:'');
        li.dataset.seq=a.seq;
        li.innerHTML='<a href="/customers/'+encodeURIComponent(a.customer_id)+'">'+
          esc(a.customer_id)+'</a> <span class="muted">'+esc(a.kind)+' · '+esc(a.shown_state)+
          '</span><br>'+esc(a.message);
        list.insertBefore(li,list.firstChild);
        last=Math.max(last,a.seq);
      });
      var h=document.getElementById('health');
      if(h&&data.health){h.textContent=data.health;}
    }).catch(function(){}).then(function(){setTimeout(poll,2000);});
  }
  setTimeout(poll,2000);
})();
"""


def layout(title: str, body: str, feed: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)} · Rapport console</title><style>{STYLE}</style></head><body>"
        "<header><a href='/'>Rapport console</a><span class='muted'>read-only view of "
        "rapport.scores.latest, rapport.score-updates and rapport.alerts</span></header>"
        f"<main><div>{body}</div><aside>{feed}</aside></main>"
        f"<script>{FEED_SCRIPT}</script></body></html>"
    )


def segment_badge(segment: str) -> str:
    return f"<span class='seg seg-{escape(segment)}'>{escape(segment.replace('_', ' '))}</span>"


def delta(value: float) -> str:
    css = "up" if value > 0 else "down" if value < 0 else "muted"
    return f"<span class='{css}'>{value:+.1f}</span>"


def customer_link(customer_id: str) -> str:
    return f"<a href='/customers/{quote(customer_id, safe='')}'>{escape(customer_id)}</a>"


def feed_panel(alerts: Sequence[tuple[int, Alert]], health_line: str) -> str:
    after = max((seq for seq, _ in alerts), default=0)
    items = "".join(_alert_item(seq, alert) for seq, alert in alerts)
    return (
        "<section><h2>Pipeline</h2>"
        f"<div id='health' class='muted'>{escape(health_line)}</div></section>"
        f"<section><h2>Live alerts</h2><ul id='alerts' data-after='{after}'>{items}</ul>"
        "</section>"
    )


def _alert_item(seq: int, alert: Alert) -> str:
    shown = alert.shown_state
    css = f"alert {alert.severity.value}" + (f" {shown}" if shown != "raised" else "")
    return (
        f"<li class='{css}' data-seq='{seq}'>{customer_link(alert.customer_id)} "
        f"<span class='muted'>{escape(alert.kind.value)} · {escape(shown)}</span>"
        f"<br>{escape(alert.message)}</li>"
    )


COLUMNS = (
    ("customer", "customer"),
    ("trust", "trust"),
    ("loyalty", "loyalty"),
    ("churn_risk", "churn risk"),
    ("segment", "segment"),
)


def customer_list(
    rows: Sequence[ScoreUpdate],
    *,
    total: int,
    query: str,
    sort: str,
    descending: bool,
    segment: str | None,
    segments: dict[str, int],
) -> str:
    def sort_link(key: str, label: str) -> str:
        flip = not descending if key == sort else False
        params = {"sort": key, "desc": "1" if flip else "0", "q": query, "segment": segment or ""}
        arrow = (" ▼" if descending else " ▲") if key == sort else ""
        css = " class='num'" if key in ("trust", "loyalty", "churn_risk") else ""
        return f"<th{css}><a href='/?{urlencode(params)}'>{label}{arrow}</a></th>"

    options = "".join(
        f"<option value='{escape(s)}'{' selected' if s == segment else ''}>"
        f"{escape(s.replace('_', ' '))} ({n})</option>"
        for s, n in sorted(segments.items())
    )
    form = (
        "<form method='get' action='/'>"
        f"<input type='search' name='q' value='{escape(query)}' placeholder='customer id or "
        "summary' id='search'> "
        f"<select name='segment'><option value=''>all segments</option>{options}</select> "
        f"<input type='hidden' name='sort' value='{escape(sort)}'>"
        f"<input type='hidden' name='desc' value='{'1' if descending else '0'}'>"
        "<button type='submit'>Search</button></form>"
    )
    head = "".join(sort_link(key, label) for key, label in COLUMNS) + "<th>why</th>"
    body = "".join(
        "<tr class='customer-row'>"
        f"<td class='nowrap'>{customer_link(u.customer_id)}</td>"
        f"<td class='num'>{u.trust:.1f}</td><td class='num'>{u.loyalty:.1f}</td>"
        f"<td class='num'>{u.churn_risk:.2f}</td><td>{segment_badge(u.segment.value)}</td>"
        f"<td>{escape(u.summary)}</td></tr>"
        for u in rows
    )
    shown = f"{len(rows)} of {total} customers" if len(rows) < total else f"{total} customers"
    chart = bar_chart(
        [(s.replace("_", " "), float(n)) for s, n in sorted(segments.items())],
        "customers by segment",
        width=520,
        bar_height=14,
    )
    return (
        f"<section><h1>Customers</h1><p class='muted' id='count'>{shown}</p>{form}"
        f"<table id='customers'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f"</section><section><h2>Segments</h2>{chart}</section>"
    )


def customer_page(
    customer_id: str,
    latest: ScoreUpdate | None,
    history: Sequence[ScoreUpdate],
    alerts: Sequence[Alert],
) -> str:
    if latest is None:
        return (
            f"<section><h1>{escape(customer_id)}</h1><p>No scores for this customer (unknown, "
            "or erased).</p></section>"
        )
    # x: the update's number, in the order scoring published them. Events arrive out of
    # order, so the event time (as_of) of successive updates is often equal.
    chart = line_chart(
        [
            Series("trust", [(i, u.trust) for i, u in enumerate(history, 1)], PALETTE[0]),
            Series("loyalty", [(i, u.loyalty) for i, u in enumerate(history, 1)], PALETTE[1]),
        ],
        f"trust and loyalty of {customer_id}",
        width=760,
        x_labels=("first update", f"update {len(history)}"),
    )
    facts = (
        f"<p>trust <b>{latest.trust:.1f}</b> ± {latest.trust_uncertainty:.1f} · loyalty "
        f"<b>{latest.loyalty:.1f}</b> ± {latest.loyalty_uncertainty:.1f} · churn risk "
        f"<b>{latest.churn_risk:.2f}</b> · {segment_badge(latest.segment.value)} · "
        f"{latest.event_count} events · as of {latest.as_of:%Y-%m-%d %H:%M} UTC</p>"
        f"<p>{escape(latest.summary)}</p>"
    )
    points = "".join(
        f"<tr><td class='nowrap'>{u.as_of:%Y-%m-%d %H:%M}</td><td class='num'>{u.trust:.1f}</td>"
        f"<td class='num'>{delta(u.deltas.trust)}</td><td class='num'>{u.loyalty:.1f}</td>"
        f"<td class='num'>{delta(u.deltas.loyalty)}</td><td>{segment_badge(u.segment.value)}</td>"
        f"<td>{escape(u.summary)}<br><span class='muted'>"
        + ", ".join(
            f"{escape(d.event_type)} ({d.trust_effect:+.1f}/{d.loyalty_effect:+.1f})"
            for d in u.drivers
        )
        + "</span></td></tr>"
        for u in sorted(history, key=lambda u: (u.as_of, u.event_count), reverse=True)
    )
    alert_rows = "".join(
        f"<tr><td class='nowrap'>{a.raised_at:%Y-%m-%d %H:%M}</td><td>{escape(a.kind.value)}</td>"
        f"<td>{escape(a.severity.value)}</td><td>{escape(a.shown_state)}</td>"
        f"<td>{escape(a.message)}</td></tr>"
        for a in alerts
    )
    return (
        f"<section><h1>{escape(customer_id)}</h1>{facts}<div id='chart'>{chart}</div></section>"
        f"<section><h2>Alerts</h2><table id='customer-alerts'><tr><th>raised</th><th>kind</th>"
        f"<th>severity</th><th>state</th><th>message</th></tr>{alert_rows}</table></section>"
        "<section><h2>History (by event time, newest first; UTC)</h2>"
        "<table id='history'><tr><th>as of</th>"
        "<th class='num'>trust</th><th class='num'>Δ</th><th class='num'>loyalty</th>"
        f"<th class='num'>Δ</th><th>segment</th><th>why (drivers: trust/loyalty)</th></tr>"
        f"{points}</table></section>"
    )
