/* The dashboard's charts, drawn with Chart.js from the table beside each canvas
 * (templates/console/_dashboard.html): the table is the one source of the numbers,
 * so a chart cannot disagree with it, and without this file the tables remain. */
(function () {
  "use strict";

  if (typeof Chart === "undefined") {
    return;
  }
  var INK = "#1b1b1b";
  var BANDS = ["#97d4ea", "#28a0cb", "#1a4480", "#c05600", "#8b0a03"];
  var PAIR = ["#1a4480", "#c05600"];
  var COMPARED = { slower: "#c05600", faster: "#005ea2", similar: "#a9aeb1" };
  var ROW_HEIGHT = 24;
  var locale = document.documentElement.lang || "en";
  Chart.defaults.font.size = 13;
  Chart.defaults.color = INK;

  function text(cell) {
    return cell.textContent.replace(/\s+/g, " ").trim();
  }

  function number(cell) {
    var raw = cell ? cell.getAttribute("data-value") : "";
    return raw === "" || raw === null ? null : Number(raw);
  }

  /* The table's series columns (th[data-series]) and its body rows. */
  function read(table) {
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var series = [];
    heads.forEach(function (th, index) {
      if (th.hasAttribute("data-series")) {
        series.push({ key: th.getAttribute("data-series"), label: text(th), index: index });
      }
    });
    var rows = Array.prototype.slice.call(table.tBodies[0].rows).filter(function (row) {
      return row.cells[0].tagName === "TH";
    });
    return { series: series, rows: rows };
  }

  function column(rows, index) {
    return rows.map(function (row) { return number(row.cells[index]); });
  }

  function labels(rows) {
    return rows.map(function (row) { return text(row.cells[0]); });
  }

  function base(extra) {
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      locale: locale,
      plugins: { legend: { position: "bottom", labels: { color: INK } } },
      scales: {
        x: { ticks: { color: INK }, grid: { color: "#dfe1e2" } },
        y: { ticks: { color: INK }, grid: { color: "#dfe1e2" } }
      }
    };
    Object.keys(extra || {}).forEach(function (key) { options[key] = extra[key]; });
    return options;
  }

  /* Long names on a narrow screen: the axis shows their start; the table has them whole. */
  function shortLabels(scale) {
    scale.ticks.callback = function (value) {
      var label = String(this.getLabelForValue(value));
      var most = this.chart.width < 480 ? 16 : 40;
      return label.length > most ? label.slice(0, most - 1) + "…" : label;
    };
  }

  function fitHeight(canvas, count) {
    var box = canvas.parentNode;
    if (box.classList.contains("dashboard-chart--tall")) {
      box.style.height = Math.max(288, count * ROW_HEIGHT + 96) + "px";
    }
  }

  var DRAW = {
    /* Open requests: a bar per stage, stacked by age band. */
    stacked: function (canvas, table) {
      var found = read(table);
      var options = base({ plugins: { legend: { position: "bottom" } } });
      options.scales.x.stacked = true;
      options.scales.y.stacked = true;
      options.scales.y.beginAtZero = true;
      return {
        type: "bar",
        data: {
          labels: labels(found.rows),
          datasets: found.series.map(function (s, i) {
            return { label: s.label, data: column(found.rows, s.index), backgroundColor: BANDS[i % BANDS.length] };
          })
        },
        options: options
      };
    },
    /* Overdue: open and overdue side by side, a row per service. */
    pairs: function (canvas, table) {
      var found = read(table);
      fitHeight(canvas, found.rows.length * 1.5);
      var options = base({ indexAxis: "y" });
      options.scales.x.beginAtZero = true;
      shortLabels(options.scales.y);
      return {
        type: "bar",
        data: {
          labels: labels(found.rows),
          datasets: found.series.map(function (s, i) {
            return { label: s.label, data: column(found.rows, s.index), backgroundColor: PAIR[i % PAIR.length] };
          })
        },
        options: options
      };
    },
    /* Filed and closed per week: two lines, the second dashed (not told by colour alone). */
    lines: function (canvas, table) {
      var found = read(table);
      var options = base();
      options.scales.y.beginAtZero = true;
      return {
        type: "line",
        data: {
          labels: labels(found.rows),
          datasets: found.series.map(function (s, i) {
            return {
              label: s.label,
              data: column(found.rows, s.index),
              borderColor: PAIR[i % PAIR.length],
              backgroundColor: PAIR[i % PAIR.length],
              borderDash: i ? [6, 4] : [],
              pointStyle: i ? "rectRot" : "circle",
              pointRadius: 4
            };
          })
        },
        options: options
      };
    },
    /* Medians by area: each area's interval as a floating bar, its median as a tick,
     * the median of all areas as a dashed line across. Areas without a median are left out. */
    intervals: function (canvas, table) {
      var found = read(table);
      var at = {};
      found.series.forEach(function (s) { at[s.key] = s.index; });
      var rows = found.rows.filter(function (row) {
        return !row.classList.contains("dashboard-reference") && number(row.cells[at.low]) !== null;
      });
      fitHeight(canvas, rows.length);
      var medians = column(rows, at.median);
      var reference = table.getAttribute("data-reference");
      reference = reference === "" ? null : Number(reference);
      var options = base({ indexAxis: "y" });
      options.scales.x.beginAtZero = true;
      options.plugins.legend.display = false;
      options.scales.x.title = { display: true, text: found.series[0].label, color: INK };
      shortLabels(options.scales.y);
      options.plugins.tooltip = {
        callbacks: {
          label: function (context) {
            var span = context.raw;
            return found.series[0].label + ": " + medians[context.dataIndex].toLocaleString(locale, { maximumFractionDigits: 1 }) +
              " (" + span[0].toLocaleString(locale, { maximumFractionDigits: 1 }) + "–" +
              span[1].toLocaleString(locale, { maximumFractionDigits: 1 }) + ")";
          }
        }
      };
      return {
        type: "bar",
        data: {
          labels: labels(rows),
          datasets: [{
            label: found.series[0].label,
            data: rows.map(function (row) { return [number(row.cells[at.low]), number(row.cells[at.high])]; }),
            backgroundColor: rows.map(function (row) {
              return COMPARED[row.getAttribute("data-compared")] || COMPARED.similar;
            }),
            barPercentage: 0.7
          }]
        },
        options: options,
        plugins: [medianMarks(medians, reference)]
      };
    }
  };

  /* Our own small Chart.js plugin: a tick at each bar's median, a dashed line at the reference. */
  function medianMarks(medians, reference) {
    return {
      id: "medianMarks",
      afterDatasetsDraw: function (chart) {
        var context = chart.ctx;
        var x = chart.scales.x;
        context.save();
        context.strokeStyle = INK;
        context.lineWidth = 2;
        chart.getDatasetMeta(0).data.forEach(function (bar, index) {
          if (medians[index] === null) { return; }
          var left = x.getPixelForValue(medians[index]);
          context.beginPath();
          context.moveTo(left, bar.y - bar.height / 2);
          context.lineTo(left, bar.y + bar.height / 2);
          context.stroke();
        });
        if (reference !== null) {
          var at = x.getPixelForValue(reference);
          context.setLineDash([6, 4]);
          context.beginPath();
          context.moveTo(at, chart.chartArea.top);
          context.lineTo(at, chart.chartArea.bottom);
          context.stroke();
        }
        context.restore();
      }
    };
  }

  Array.prototype.forEach.call(document.querySelectorAll("canvas[data-dashboard-chart]"), function (canvas) {
    var table = document.getElementById(canvas.getAttribute("data-table"));
    var draw = DRAW[canvas.getAttribute("data-dashboard-chart")];
    if (!table || !draw) {
      return;
    }
    canvas.chart = new Chart(canvas, draw(canvas, table));
    canvas.setAttribute("data-drawn", "true");
  });
})();
