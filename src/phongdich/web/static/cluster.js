// The transmission graph of a cluster, drawn as SVG from the JSON embedded in the page (the
// same data as GET /api/clusters/{code}/graph). No library: a layered layout with the cases on
// the top rows in the order they were opened, their F1 below, the F2 below those. Each node
// carries data-kind (case, F1, F2) and data-id (the person's id).
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = { case: "#c62828", F1: "#ef6c00", F2: "#fbc02d" };
  var LAYERS = ["case", "F1", "F2"];
  var PER_ROW = 10;
  var COLUMN = 110;
  var ROW = 110;
  var RADIUS = 14;
  var MARGIN = 60;
  var LEGEND = 40;
  // Above this many lines only the lines into cases keep a label; every line has a tooltip.
  var LABEL_ALL_UP_TO = 40;

  function el(name, attributes, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) {
      node.setAttribute(key, String(attributes[key]));
    });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function shorten(text, length) {
    text = String(text || "");
    return text.length > length ? text.slice(0, length - 1) + "…" : text;
  }

  function localTime(iso) {
    var moment = new Date(iso);
    if (isNaN(moment.getTime())) {
      return iso || "";
    }
    return moment.toLocaleString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour12: false });
  }

  // Rows of nodes: each layer ordered by the mean position of the nodes it was exposed to,
  // so edges cross as little as a simple rule allows; long layers wrap onto several rows.
  function layout(nodes, edges) {
    var position = {};
    var sourcesOf = {};
    edges.forEach(function (edge) {
      (sourcesOf[edge.to] = sourcesOf[edge.to] || []).push(edge.from);
    });
    var rows = [];
    LAYERS.forEach(function (kind) {
      var layer = nodes.filter(function (node) { return node.kind === kind; });
      if (kind === "case") {
        layer.sort(function (a, b) { return String(a.opened_at).localeCompare(String(b.opened_at)); });
      } else {
        var weight = function (node) {
          var known = (sourcesOf[node.id] || []).filter(function (id) { return id in position; });
          if (!known.length) {
            return Number.MAX_VALUE;
          }
          return known.reduce(function (sum, id) { return sum + position[id]; }, 0) / known.length;
        };
        layer.forEach(function (node) { node._weight = weight(node); });
        layer.sort(function (a, b) { return a._weight - b._weight || String(a.label).localeCompare(String(b.label)); });
      }
      for (var first = 0; first < layer.length; first += PER_ROW) {
        var row = layer.slice(first, first + PER_ROW);
        row.forEach(function (node, index) { position[node.id] = index; });
        rows.push(row);
      }
    });
    return rows;
  }

  function draw(container, data) {
    var labels = container.dataset;
    var nodes = data.nodes || [];
    var edges = data.edges || [];
    if (!nodes.length) {
      container.appendChild(el("p", {}, labels.labelEmpty));
      return;
    }
    var viaLabel = function (via) {
      return labels["via" + via.charAt(0).toUpperCase() + via.slice(1)] || via;
    };
    var rows = layout(nodes, edges);
    var widest = rows.reduce(function (most, row) { return Math.max(most, row.length); }, 1);
    var width = Math.max(widest, 4) * COLUMN + 2 * MARGIN;
    var height = rows.length * ROW + MARGIN + LEGEND;
    var at = {};
    rows.forEach(function (row, r) {
      var offset = (width - row.length * COLUMN) / 2 + COLUMN / 2;
      row.forEach(function (node, i) {
        at[node.id] = { x: offset + i * COLUMN, y: LEGEND + MARGIN / 2 + r * ROW + RADIUS };
      });
    });

    var svg = el("svg", {
      xmlns: SVG,
      viewBox: "0 0 " + width + " " + height,
      width: width,
      height: height,
      role: "img",
      "class": "cluster-svg",
      "aria-label": data.cluster
    });
    var defs = el("defs");
    var marker = el("marker", {
      id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse"
    });
    marker.appendChild(el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#555" }));
    defs.appendChild(marker);
    svg.appendChild(defs);

    // Legend: swatches carry data-legend, never data-kind, so nodes alone are counted.
    var legend = el("g", { "class": "legend" });
    [["case", labels.labelCase], ["F1", labels.labelF1], ["F2", labels.labelF2]].forEach(function (item, index) {
      var x = MARGIN / 2 + index * 170;
      legend.appendChild(el("circle", { cx: x, cy: 16, r: 8, fill: COLOURS[item[0]], stroke: "#333", "data-legend": item[0] }));
      legend.appendChild(el("text", { x: x + 14, y: 21, "class": "legend-text" }, item[1]));
    });
    svg.appendChild(legend);

    // One line per pair of people; its label names how and where (the first exposure).
    var pairs = {};
    var order = [];
    edges.forEach(function (edge) {
      var key = edge.from + ">" + edge.to;
      if (!(key in pairs)) {
        pairs[key] = [];
        order.push(key);
      }
      pairs[key].push(edge);
    });
    var kindOf = {};
    nodes.forEach(function (node) { kindOf[node.id] = node.kind; });
    var labelAll = order.length <= LABEL_ALL_UP_TO;
    var edgeLayer = el("g", { "class": "edges" });
    var labelLayer = el("g", { "class": "edge-labels" });
    order.forEach(function (key) {
      var list = pairs[key];
      var edge = list[0];
      var from = at[edge.from];
      var to = at[edge.to];
      if (!from || !to) {
        return;
      }
      var dx = to.x - from.x;
      var dy = to.y - from.y;
      var length = Math.sqrt(dx * dx + dy * dy) || 1;
      var via = viaLabel(edge.via);
      var place = edge.place || edge.venue_code || "";
      var line = el("line", {
        x1: from.x + (dx / length) * RADIUS,
        y1: from.y + (dy / length) * RADIUS,
        x2: to.x - (dx / length) * (RADIUS + 2),
        y2: to.y - (dy / length) * (RADIUS + 2),
        "class": "edge via-" + edge.via + " to-" + kindOf[edge.to] + (edge.converted ? " converted" : ""),
        "data-from": edge.from,
        "data-to": edge.to,
        "data-via": edge.via,
        "marker-end": "url(#arrow)"
      });
      line.appendChild(el("title", {}, list.map(function (e) {
        var where = e.place ? " · " + e.place + (e.venue_code ? " (" + e.venue_code + ")" : "") : "";
        var minutes = e.overlap_minutes !== null && e.overlap_minutes !== undefined ? " · " + e.overlap_minutes + " min" : "";
        return viaLabel(e.via) + where + " · " + localTime(e.start) + " – " + localTime(e.end) + minutes;
      }).join("\n")));
      edgeLayer.appendChild(line);
      if (!labelAll && kindOf[edge.to] !== "case") {
        return;
      }
      var text = via + (place ? ": " + shorten(place, 18) : "") + (list.length > 1 ? " ×" + list.length : "");
      labelLayer.appendChild(el("text", {
        x: (from.x + to.x) / 2,
        y: (from.y + to.y) / 2 - 3,
        "class": "edge-label"
      }, text));
    });
    svg.appendChild(edgeLayer);
    svg.appendChild(labelLayer);

    var nodeLayer = el("g", { "class": "nodes" });
    nodes.forEach(function (node) {
      var point = at[node.id];
      var group = el("g", {
        "class": "node kind-" + node.kind + (node.status === "converted" ? " converted" : ""),
        "data-kind": node.kind,
        "data-id": node.id,
        transform: "translate(" + point.x + "," + point.y + ")"
      });
      var circle = el("circle", { r: RADIUS, fill: COLOURS[node.kind] || "#9e9e9e", stroke: "#333" });
      group.appendChild(circle);
      var caption = node.kind === "case" ? node.case : node.kind;
      if (node.label && node.label !== node.kind && node.label !== node.case) {
        group.appendChild(el("text", { y: RADIUS + 14, "class": "node-label" }, shorten(node.label, 16)));
      } else if (node.kind === "case") {
        group.appendChild(el("text", { y: RADIUS + 14, "class": "node-label" }, node.case));
      }
      group.appendChild(el("text", { y: 4, "class": "node-kind" }, node.kind === "case" ? "F0" : node.kind));
      var details = [node.label, caption];
      if (node.opened_at) {
        details.push(localTime(node.opened_at));
      }
      if (node.status === "converted") {
        details.push(labels.labelConverted);
      }
      group.appendChild(el("title", {}, details.join(" · ")));
      if (node.kind === "case" && node.case) {
        var link = el("a", { href: "/cases/" + encodeURIComponent(node.case) });
        link.appendChild(group);
        nodeLayer.appendChild(link);
      } else {
        nodeLayer.appendChild(group);
      }
    });
    svg.appendChild(nodeLayer);
    container.appendChild(svg);
    container.setAttribute("data-drawn", String(nodes.length));
  }

  function start() {
    var container = document.getElementById("cluster-graph");
    var source = document.getElementById("cluster-data");
    if (!container || !source) {
      return;
    }
    draw(container, JSON.parse(source.textContent || "{}"));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
