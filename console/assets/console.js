// streamscore console: polls /api/status and fills the page. No libraries.
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var num = function (v, d) {
    if (v === null || v === undefined) return "–";
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(2) + " M";
    if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + " k";
    return Number.isInteger(v) ? String(v) : v.toFixed(d === undefined ? 1 : d);
  };
  var int = function (v) { return v === null || v === undefined ? "–" : String(Math.round(v)); };
  var dur = function (s) {
    if (s === null || s === undefined) return "–";
    if (s < 1e-3) return (s * 1e6).toFixed(0) + " µs";
    if (s < 1) return (s * 1e3).toFixed(s < 0.01 ? 2 : 1) + " ms";
    return s.toFixed(2) + " s";
  };
  var pct = function (v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + " %"; };
  var set = function (id, text) { var e = $(id); if (e.textContent !== text) e.textContent = text; };
  var show = function (id, on) { $(id).classList.toggle("empty", !on); };

  function cell(text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }
  function rows(id, list) { // list: array of [cells, rowClass, extraNode]
    var tb = $(id).tBodies[0];
    tb.textContent = "";
    list.forEach(function (r) {
      var tr = document.createElement("tr");
      if (r[1]) tr.className = r[1];
      r[0].forEach(function (c) { tr.appendChild(typeof c === "string" ? cell(c) : c); });
      tb.appendChild(tr);
    });
  }
  var NS = "http://www.w3.org/2000/svg";
  function spark(series, opts) { // series: [[values, cls]]; opts: {w,h,line}
    var w = opts.w, h = opts.h, max = opts.line || 0, n = 0;
    series.forEach(function (s) { n = Math.max(n, s[0].length); s[0].forEach(function (v) { if (v !== null && v > max) max = v; }); });
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("role", "img");
    if (max <= 0) max = 1;
    var y = function (v) { return (h - 2 - (v / max) * (h - 4)).toFixed(1); };
    series.forEach(function (s) {
      var pts = [], vals = s[0];
      vals.forEach(function (v, i) { if (v !== null) pts.push(((n < 2 ? 0 : i * (w - 2) / (n - 1)) + 1).toFixed(1) + "," + y(v)); });
      var pl = document.createElementNS(NS, "polyline");
      pl.setAttribute("points", pts.join(" "));
      if (s[1]) pl.setAttribute("class", s[1]);
      svg.appendChild(pl);
    });
    if (opts.line) {
      var l = document.createElementNS(NS, "line");
      l.setAttribute("x1", 0); l.setAttribute("x2", w); l.setAttribute("y1", y(opts.line)); l.setAttribute("y2", y(opts.line));
      svg.appendChild(l);
    }
    return svg;
  }
  function sorted(obj) {
    return Object.keys(obj || {}).sort(function (a, b) { return obj[b] - obj[a] || (a < b ? -1 : 1); });
  }

  function render(s) {
    set("cmd", s.command + (s.version ? " " + s.version : ""));
    var r = $("ready");
    r.className = "pill " + (s.ready.ok ? "ok" : "bad");
    set("ready", s.ready.ok ? "ready" : "not ready: " + s.ready.reason);
    set("updated", "updated " + new Date(s.time).toLocaleTimeString());

    ["s-throughput", "s-latency", "s-batches", "s-dead"].forEach(function (id) { show(id, s.stream); });
    var t = s.throughput;
    set("in-rate", num(t.in_per_s)); set("out-rate", num(t.out_per_s));
    set("in-total", int(t.in_total)); set("out-total", int(t.out_total)); set("dead-total", int(t.dead_total));
    var tp = $("tp-spark"); tp.textContent = "";
    if (t.in_spark && t.in_spark.length > 1) tp.appendChild(spark([[t.in_spark, ""], [t.out_spark, "out"]], { w: 290, h: 40 }));

    var l = s.latency_seconds;
    set("lat-p50", dur(l.p50)); set("lat-p90", dur(l.p90)); set("lat-p99", dur(l.p99));
    rows("stages", Object.keys(s.stages || {}).sort().map(function (k) { return [[k, cell(dur(s.stages[k].p50_seconds), "n"), cell(dur(s.stages[k].p99_seconds), "n")]]; }));

    var b = s.batches;
    set("b-total", int(b.total)); set("b-mean", num(b.mean_rows)); set("b-p50", num(b.p50_rows, 0)); set("b-p99", num(b.p99_rows, 0));
    rows("close", sorted(b.close_reasons).map(function (k) { return [[k, cell(int(b.close_reasons[k]), "n")]]; }));
    $("close").style.display = b.close_reasons ? "" : "none";

    var topics = {};
    s.lag.forEach(function (p) { topics[p.topic] = true; });
    var one = Object.keys(topics).length === 1;
    set("lag-total", s.lag_total === null ? "" : int(s.lag_total) + " records" + (one ? " behind on " + s.lag[0].topic : ""));
    $("lag").classList.toggle("one-topic", one);
    rows("lag", s.lag.map(function (p) { return [[cell(p.topic, "topic"), cell(String(p.partition), "n"), cell(int(p.lag), "n"), cell(int(p.committed), "n")]]; }));
    show("s-lag", s.lag.length > 0);

    var reasons = sorted(s.dead_letters);
    rows("dead", reasons.length ? reasons.map(function (k) { return [[k, cell(int(s.dead_letters[k]), "n")]]; }) : [[["none", cell("0", "n")], "muted"]]);

    var m = s.models;
    show("s-models", !!m);
    if (m) {
      rows("models", m.active.map(function (v) { return [[v.role, (v.model ? v.model + " " : "") + "v" + v.version, cell(v.role === "canary" ? pct(v.share) : "", "n"), cell(int(v.rows), "n")]]; }));
      set("agreement", m.challenger_compared > 0 ? "challenger agreement " + pct(m.challenger_agreement) + " of " + int(m.challenger_compared) + " rows" : (m.canary_fallback_rows ? "canary fallbacks: " + int(m.canary_fallback_rows) : ""));
    }

    show("s-drift", s.drift.length > 0);
    rows("drift", s.drift.map(function (d) {
      var sp = document.createElement("td");
      sp.className = "spark";
      sp.appendChild(spark([[d.spark || [], ""]], { w: 120, h: 22, line: d.threshold }));
      return [[d.column, cell(d.model + " v" + d.version, "wide"), d.score, cell(num(d.value, 3), "n"), cell(num(d.threshold, 3), "n"),
        cell(d.drifting ? "drifting" : "ok", "state"), sp], d.drifting ? "drifting" : ""];
    }));

    var f = s.features;
    show("s-features", !!f);
    if (f) {
      set("f-hit", pct(f.hit_ratio)); set("f-redis", f.paused ? "paused" : (f.redis_ok ? "ok" : "failing"));
      $("f-redis").style.color = f.redis_ok ? "" : "var(--bad)";
      set("f-p99", dur(f.redis_p99_seconds)); set("f-err", int(f.errors));
    }
    var v = s.serve;
    show("s-serve", !!v);
    if (v) { set("sv-rate", num(v.requests_per_s)); set("sv-req", int(v.requests)); set("sv-batch", num(v.mean_batch_rows)); set("sv-p99", dur(v.p99_seconds)); set("sv-rej", int(v.rejected)); }
    document.body.dataset.time = String(s.time);
  }

  var refresh = 2000;
  function poll() {
    fetch("/api/status", { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (s) { refresh = s.refresh_ms || refresh; render(s); })
      .catch(function (e) { var r = $("ready"); r.className = "pill bad"; r.textContent = "no answer: " + e.message; })
      .then(function () { setTimeout(poll, refresh); });
  }
  poll();
})();
