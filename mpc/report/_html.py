"""HTML building blocks: a self-contained page (inline CSS and script), charts as data URIs.

Nothing here references anything outside the file: images are base64 data
URIs, the style sheet and the script are inline, fonts are the system's.
The inline script marks ``<body>`` once every image has loaded:
``data-rendered="ok"`` and ``data-images`` = the number of chart images with
a non-zero natural width (what the browser test reads).
"""

from __future__ import annotations

import base64
from html import escape

from mpc.report._figure import Chart, Note

__all__ = ["card", "chart_block", "esc", "page", "section"]

_CSS = """
:root { --ink:#1d2330; --muted:#5d6677; --line:#d9dee7; --good:#1e7b34; --warn:#a86400;
        --bad:#b3261e; --bg:#f6f7f9; --card:#ffffff; --best:#dff3e3; }
* { box-sizing: border-box; }
body { margin:0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans",
       "DejaVu Sans", Arial, sans-serif; color:var(--ink); background:var(--bg); line-height:1.4; }
main { max-width: 1080px; margin: 0 auto; padding: 20px 24px 40px; }
header h1 { font-size: 1.45rem; margin: 0 0 4px; }
header p { margin: 0; color: var(--muted); }
h2 { font-size: 1.1rem; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(245px, 1fr)); gap: 10px; }
.card { background: var(--card); border: 1px solid var(--line); border-left: 5px solid var(--muted);
        border-radius: 6px; padding: 10px 12px; }
.card.good { border-left-color: var(--good); } .card.warn { border-left-color: var(--warn); }
.card.bad { border-left-color: var(--bad); } .card.info { border-left-color: #3b6fb6; }
.card.wide { grid-column: span 2; }
.card .k { font-size: .78rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card .v { font-size: 1.6rem; font-weight: 650; margin: 2px 0; font-variant-numeric: tabular-nums; }
.card .v small { font-size: .85rem; font-weight: 500; color: var(--muted); }
.card .s { font-size: .83rem; color: var(--muted); }
figure { margin: 14px 0 22px; background: var(--card); border: 1px solid var(--line); border-radius: 6px;
         padding: 8px; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: .83rem; color: var(--muted); margin: 6px 4px 0; }
.note { background: #fff8e6; border: 1px solid #f0d9a0; border-radius: 6px; padding: 8px 12px;
        font-size: .88rem; margin: 10px 0; }
table { border-collapse: collapse; background: var(--card); font-size: .88rem; width: 100%; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { background: var(--best); font-weight: 700; }
tr.group th { background: #e3e8f0; text-align: left; }
.badge { display: inline-block; margin-left: 6px; padding: 0 6px; border-radius: 9px; font-size: .75rem;
         font-weight: 650; color: #fff; background: var(--muted); vertical-align: middle; }
.badge.bad { background: var(--bad); }
.verdict { border-radius: 6px; padding: 8px 12px; margin: 14px 0 4px; font-size: .95rem;
           border: 1px solid var(--line); border-left: 5px solid var(--muted); background: var(--card); }
.verdict.met { border-left-color: var(--good); } .verdict.missed { border-left-color: var(--bad); }
.verdict small { color: var(--muted); }
ul.verdicts { list-style: none; padding: 0; margin: 0; }
ul.verdicts .verdict { margin: 6px 0; }
.note.violations { background: #fdecea; border-color: #f1b6b0; }
code { font-size: .82rem; color: #44506a; }
footer { margin-top: 28px; font-size: .8rem; color: var(--muted); }
footer table { font-size: .8rem; }
a { color: #1f5fbf; }
"""

_SCRIPT = """
(function () {
  function mark() {
    var imgs = document.querySelectorAll("img.chart"), n = 0;
    for (var i = 0; i < imgs.length; i++) {
      if (imgs[i].complete && imgs[i].naturalWidth > 0) { n++; }
    }
    document.body.dataset.images = String(n);
    document.body.dataset.rendered = "ok";
  }
  if (document.readyState === "complete") { mark(); } else { window.addEventListener("load", mark); }
})();
"""


def esc(text: object) -> str:
    """HTML-escape any value's ``str``."""
    return escape(str(text), quote=True)


def chart_block(item: Chart | Note) -> str:
    """A chart as ``<figure>`` with an embedded PNG, or a skipped chart as a note."""
    if isinstance(item, Note):
        return f'<p class="note" data-chart="{esc(item.name)}"><b>{esc(item.title)}:</b> not shown — {esc(item.text)}</p>'
    data = base64.b64encode(item.png).decode("ascii")
    return (
        f'<figure data-chart="{esc(item.name)}"><img class="chart" alt="{esc(item.alt)}" '
        f'src="data:image/png;base64,{data}">'
        f"<figcaption>{esc(item.caption)}</figcaption></figure>"
    )


def card(key: str, label: str, value: str, unit: str, sub: str, status: str = "") -> str:
    """One headline card; ``status`` is ``good``, ``warn``, ``bad``, ``info`` or empty (``wide``: two columns)."""
    unit_html = f" <small>{esc(unit)}</small>" if unit else ""
    return (
        f'<div class="card {esc(status)}" data-key="{esc(key)}"><div class="k">{esc(label)}</div>'
        f'<div class="v">{esc(value)}{unit_html}</div><div class="s">{esc(sub)}</div></div>'
    )


def section(title: str, body: str, sid: str) -> str:
    """A titled section."""
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>{body}</section>'


def page(title: str, subtitle: str, body: str, footer: str) -> str:
    """The whole self-contained document."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n"
        f"<body><main><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>\n"
        f"{body}\n<footer>{footer}</footer></main>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
