/* The patterns page's map: community areas shaded by how their median days to close
 * compare with the city's, from the figure's JSON. The table beside it holds the same
 * numbers and works without this file. */
(function () {
  "use strict";

  var box = document.getElementById("patterns-map");
  if (!box || typeof L === "undefined" || !window.cityMap) {
    return;
  }
  var text = box.dataset;
  var words = JSON.parse(text.words || "{}");
  var shades = { slower: "#b50909", similar: "#e5a000", faster: "#2e8540", too_few: "#dfe1e2" };
  box.hidden = false;
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", text.label);
  var legend = document.getElementById("patterns-legend");
  if (legend) {
    legend.hidden = false;
  }
  var map = window.cityMap(box, { keyboard: true }, false, function (outlines) {
    map.fitBounds(outlines.getBounds(), { padding: [8, 8] });
    fetch(text.figure, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (figure) {
        var code = figure.columns.indexOf("community_area");
        var compared = figure.columns.indexOf("compared");
        var median = figure.columns.indexOf("median_days");
        var byArea = {};
        figure.rows.forEach(function (row) { byArea[row[code]] = row; });
        outlines.eachLayer(function (layer) {
          var properties = layer.feature.properties;
          if (properties.kind !== "community_area") {
            return;
          }
          var row = byArea[properties.code];
          var kind = row ? row[compared] : "too_few";
          layer.setStyle({ fill: true, fillColor: shades[kind] || shades.too_few, fillOpacity: 0.55 });
          var days = row && row[median] !== null ? " · " + row[median] : "";
          layer.bindTooltip(properties.name + days + " · " + (words[kind] || ""));
        });
      })
      .catch(function () { /* the table holds the same figures */ });
  });
})();
