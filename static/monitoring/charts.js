/* Resource graphs drawn with uPlot (from npm) from the round-robin store's JSON. */
(function () {
  "use strict";
  const MiB = 1024 * 1024;

  function chart(target, title, data, series, width) {
    return new uPlot({
      title: title,
      width: width,
      height: 170,
      scales: { x: { time: true } },
      series: [{}].concat(series.map(function (s) {
        return { label: s.label, stroke: s.stroke, width: 1.5, spanGaps: false };
      })),
      axes: [{}, { size: 60 }],
    }, data, target);
  }

  function graphs(box) {
    let range = box.dataset.range || "6h";
    let plots = [];
    const note = box.querySelector(".graph-note");

    async function load() {
      const response = await fetch(box.dataset.metricsUrl + "?range=" + range, { credentials: "same-origin" });
      const d = await response.json();
      plots.forEach(function (plot) { plot.destroy(); });
      const width = Math.max(280, box.clientWidth - 16);
      const x = d.times;
      const target = function (name) { const el = box.querySelector("[data-chart=" + name + "]"); el.innerHTML = ""; return el; };
      plots = [
        chart(target("cpu"), "CPU (% of one core)", [x, d.cpu], [{ label: "CPU", stroke: "#2f6f4f" }], width),
        chart(target("memory"), "Memory (MiB" + (d.memory_limit ? ", limit " + Math.round(d.memory_limit / MiB) : "") + ")",
          [x, d.memory.map(function (v) { return v / MiB; })], [{ label: "Memory", stroke: "#7a4fa1" }], width),
        chart(target("network"), "Network (KiB/s)",
          [x, d.rx.map(function (v) { return v === null ? null : v / 1024; }), d.tx.map(function (v) { return v === null ? null : v / 1024; })],
          [{ label: "in", stroke: "#1f6fb2" }, { label: "out", stroke: "#c2571a" }], width),
        chart(target("disk"), "Disk (MiB)", [x, d.disk.map(function (v) { return v / MiB; })], [{ label: "Disk", stroke: "#5d6b63" }], width),
      ];
      if (note) note.textContent = x.length ? x.length + " samples, one per " + d.step + " s" : "No samples yet: the first arrive within a minute.";
      box.dataset.loaded = "true";
    }
    box.querySelectorAll("[data-range]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        range = link.dataset.range;
        box.querySelectorAll("[data-range]").forEach(function (other) {
          other.setAttribute("aria-current", String(other === link));
        });
        load();
      });
    });
    load();
    setInterval(load, 60000);
  }

  function start() { document.querySelectorAll("[data-metrics-url]").forEach(graphs); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
