/*
 * The incident map's own Leaflet code (ours, not a copy of anyone's): base map, incident layers, popups,
 * legend. Data arrives as JSON built by incidents/render.py. Every string from a data file is placed with
 * textContent or as a DOM text node, never as HTML: Leaflet treats string popup/tooltip content as HTML, so
 * popups and tooltips are always given elements. Links are only made from http(s) URLs (checked on the
 * server by incidents.safety.safe_url and again here).
 */
(function (global) {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  // Popups keep clear of the zoom buttons (top left) and the legend (bottom right) when they pan the map.
  var POPUP_OPTIONS = { maxWidth: 420, autoPanPaddingTopLeft: [52, 12], autoPanPaddingBottomRight: [12, 12] };
  // Symbol outlines in a 24 x 24 box, one per category symbol name (see incidents/vocab.py).
  var SHAPES = {
    circle: "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z",
    triangle: "M12 2.5L22 20.5H2z",
    diamond: "M12 1.5L22.5 12L12 22.5L1.5 12z",
    square: "M3.5 3.5h17v17h-17z",
    hexagon: "M12 1.8L21.2 7v10L12 22.2L2.8 17V7z",
    star: "M12 1.5l3 7.2l7.8.6l-6 5.1l1.9 7.6L12 17.9l-6.7 4.1l1.9-7.6l-6-5.1l7.8-.6z",
    plus: "M8.5 2.5h7v6h6v7h-6v6h-7v-6h-6v-7h6z",
    cross: "M5.6 1.4L12 7.8l6.4-6.4l4.2 4.2L16.2 12l6.4 6.4l-4.2 4.2L12 16.2l-6.4 6.4l-4.2-4.2L7.8 12L1.4 5.6z",
    generic: "M12 4a8 8 0 1 0 0 16a8 8 0 1 0 0-16zm0 5a3 3 0 1 1 0 6a3 3 0 1 1 0-6z"
  };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeHref(url) {
    if (typeof url !== "string") return null;
    try {
      var parsed = new URL(url);
      if ((parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname) return parsed.href;
    } catch (error) {
      return null;
    }
    return null;
  }

  function symbol(shape, colour, status, size) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", String(size));
    svg.setAttribute("height", String(size));
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", SHAPES[shape] || SHAPES.generic);
    path.setAttribute("fill-rule", "evenodd");
    if (status === "debunked") {
      path.setAttribute("fill", "#ffffff");
      path.setAttribute("stroke", colour);
      path.setAttribute("stroke-dasharray", "3 2");
      path.setAttribute("stroke-width", "2");
    } else {
      path.setAttribute("fill", colour);
      path.setAttribute("stroke", "#1f1f1f");
      path.setAttribute("stroke-width", "1.2");
    }
    svg.appendChild(path);
    return svg;
  }

  function row(parent, label, value) {
    if (value === undefined || value === null || value === "") return;
    var line = el("div", "im-row");
    line.appendChild(el("span", "im-label", label));
    line.appendChild(typeof value === "string" ? document.createTextNode(value) : value);
    parent.appendChild(line);
  }

  function link(url, text) {
    var href = safeHref(url);
    if (!href) return el("span", null, text);
    var anchor = el("a", null, text);
    anchor.href = href;
    anchor.target = "_blank";
    anchor.rel = "noopener noreferrer";
    return anchor;
  }

  // The whole story of one incident, from the record model built by incidents/render.py.
  function recordElement(record, meta) {
    var root = el("div", "im-record");
    root.appendChild(el("div", "im-title", record.title));
    var status = meta.statuses[record.status] || { label: record.status, colour: "#777777" };
    var badge = el("span", "im-badge im-status-" + String(record.status).replace(/[^a-z_]/g, ""), status.label);
    badge.style.backgroundColor = status.colour;
    var head = el("div", "im-head");
    head.appendChild(badge);
    head.appendChild(el("span", "im-category", record.category_label));
    root.appendChild(head);
    row(root, "When", record.when);
    row(root, "Where", record.where);
    row(root, "Perpetrator", record.perpetrator);
    row(root, "Casualties", record.casualties);
    if (record.description) root.appendChild(el("p", "im-description", record.description));
    if (record.history && record.history.length) {
      root.appendChild(el("div", "im-section", "Status history"));
      var list = el("ol", "im-history");
      record.history.forEach(function (entry) {
        list.appendChild(el("li", null, entry));
      });
      root.appendChild(list);
    }
    if (record.claims && record.claims.length) {
      root.appendChild(el("div", "im-section", "Claims"));
      var claims = el("ul", "im-claims");
      record.claims.forEach(function (claim) {
        var item = el("li");
        item.appendChild(el("strong", null, claim.by));
        item.appendChild(document.createTextNode(" " + claim.stance + (claim.date ? " (" + claim.date + ")" : "")));
        if (claim.text) item.appendChild(el("q", null, claim.text));
        if (claim.source) item.appendChild(el("span", "im-cite", " — " + claim.source));
        claims.appendChild(item);
      });
      root.appendChild(claims);
    }
    if (record.sources && record.sources.length) {
      root.appendChild(el("div", "im-section", "Sources"));
      var sources = el("ol", "im-sources");
      record.sources.forEach(function (source) {
        var item = el("li");
        item.appendChild(link(source.url, source.title));
        if (source.details) item.appendChild(document.createTextNode(" — " + source.details));
        sources.appendChild(item);
      });
      root.appendChild(sources);
    }
    if (record.related && record.related.length) {
      root.appendChild(el("div", "im-section", "Related"));
      var related = el("ul", "im-related");
      record.related.forEach(function (entry) {
        related.appendChild(el("li", null, entry));
      });
      root.appendChild(related);
    }
    if (record.tags && record.tags.length) row(root, "Tags", record.tags.join(", "));
    root.appendChild(el("div", "im-id", record.id));
    return root;
  }

  function shortElement(title, statusLabel, extra) {
    var root = el("div", "im-record im-short");
    root.appendChild(el("div", "im-title", title));
    root.appendChild(el("div", null, statusLabel));
    if (extra) root.appendChild(el("div", "im-hint", extra));
    return root;
  }

  function addBasemap(map, url) {
    if (!map.getPane("basemap")) {
      map.createPane("basemap");
      map.getPane("basemap").style.zIndex = 250;
    }
    var container = map.getContainer();
    container.setAttribute("data-basemap", "loading");
    return fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        L.geoJSON(data, {
          pane: "basemap",
          // one canvas for every country outline: far cheaper to draw than thousands of SVG paths
          renderer: L.canvas({ pane: "basemap" }),
          interactive: false,
          style: { color: "#8a8a8a", weight: 0.7, fillColor: "#f4f1ea", fillOpacity: 1 }
        }).addTo(map);
        container.setAttribute("data-basemap", "loaded");
      })
      .catch(function (error) {
        container.setAttribute("data-basemap", "failed");
        if (global.console) global.console.warn("incident map: base map not loaded", error);
      });
  }

  function legend(map, meta, counts) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = el("div", "im-legend leaflet-bar");
      box.appendChild(el("div", "im-section", "Status"));
      Object.keys(meta.statuses).forEach(function (code) {
        var line = el("div", "im-legend-row");
        var swatch = el("span", "im-swatch");
        swatch.style.backgroundColor = meta.statuses[code].colour;
        line.appendChild(swatch);
        line.appendChild(document.createTextNode(meta.statuses[code].label + " (" + (counts.status[code] || 0) + ")"));
        box.appendChild(line);
      });
      var categories = Object.keys(counts.category);
      if (categories.length && meta.mode === "symbols") {
        box.appendChild(el("div", "im-section", "Category"));
        categories.forEach(function (code) {
          var info = meta.categories[code] || { label: code, symbol: "generic" };
          var line = el("div", "im-legend-row");
          line.appendChild(symbol(info.symbol, "#555555", "", 14));
          line.appendChild(document.createTextNode(" " + info.label + " (" + counts.category[code] + ")"));
          box.appendChild(line);
        });
      }
      L.DomEvent.disableClickPropagation(box);
      // The legend sits above the map's panes: step aside while a popup is open, so that it never hides one.
      map.on("popupopen", function () { box.classList.add("im-aside"); });
      map.on("popupclose", function () { box.classList.remove("im-aside"); });
      return box;
    };
    control.addTo(map);
    return control;
  }

  function addSymbols(map, payload, group) {
    var meta = payload.meta;
    var drawn = 0;
    // Incidents at the same spot are fanned out side by side so that each stays visible and clickable;
    // their coordinates stay exact.
    var sameSpot = {};
    payload.incidents.forEach(function (incident) {
      if (!incident.anchor) return;
      var key = incident.anchor.join(",");
      incident.slot = sameSpot[key] || 0;
      sameSpot[key] = incident.slot + 1;
    });
    payload.incidents.forEach(function (incident) {
      var status = meta.statuses[incident.status] || { colour: "#777777", label: incident.status };
      var category = meta.categories[incident.category] || { symbol: "generic", label: incident.category };
      if (incident.geometry && incident.geometry.type !== "Point") {
        L.geoJSON(incident.geometry, {
          style: {
            color: status.colour, weight: 2, fillColor: status.colour, fillOpacity: 0.15,
            dashArray: incident.status === "debunked" ? "4 4" : null
          },
          // The points of a MultiPoint: small dots in the status colour (not Leaflet's default pins).
          pointToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, {
              radius: 5, color: "#1f1f1f", weight: 1, fillColor: status.colour, fillOpacity: 0.9,
              className: "im-part"
            });
          },
          // Each part gets its own popup and tooltip (Leaflet 1.9 cannot bind a tooltip to a whole group).
          onEachFeature: function (feature, layer) {
            layer.bindPopup(function () { return recordElement(incident.record, meta); }, POPUP_OPTIONS);
            layer.bindTooltip(el("span", null, incident.record.title), { sticky: true });
          },
          interactive: true
        }).addTo(group);
      }
      if (incident.uncertainty_m && incident.anchor) {
        L.circle(incident.anchor, {
          radius: incident.uncertainty_m, color: status.colour, weight: 1, dashArray: "3 3",
          fillColor: status.colour, fillOpacity: 0.08, interactive: false, className: "im-uncertainty"
        }).addTo(group);
      }
      if (!incident.anchor) return;
      var shift = (incident.slot - (sameSpot[incident.anchor.join(",")] - 1) / 2) * 20;
      var icon = L.divIcon({
        className: "im-marker im-status-" + String(incident.status).replace(/[^a-z_]/g, ""),
        html: symbol(category.symbol, status.colour, incident.status, 22),
        iconSize: [22, 22],
        iconAnchor: [11 - shift, 11],
        popupAnchor: [0, -10]
      });
      var marker = L.marker(incident.anchor, { icon: icon, keyboard: true, riseOnHover: true });
      marker.bindTooltip(el("span", null, incident.record.title), { direction: "top", offset: [0, -10] });
      marker.bindPopup(function () { return recordElement(incident.record, meta); }, POPUP_OPTIONS);
      marker.addTo(group);
      // Named for screen readers (and tests); set as attributes through the DOM, never as markup.
      var element = marker.getElement();
      if (element) {
        element.setAttribute("aria-label", incident.record.title);
        element.setAttribute("data-incident-id", incident.record.id);
      }
      drawn += 1;
    });
    (payload.links || []).forEach(function (line) {
      L.polyline([line.from, line.to], {
        color: "#444444", weight: 1.5, dashArray: "6 4", opacity: 0.8, interactive: true, className: "im-link"
      }).bindTooltip(el("span", null, line.label), { sticky: true }).addTo(group);
    });
    return drawn;
  }

  // Packed arrays from the server (incidents/render.py `_packed`): base64 of little-endian numbers.
  function unpack(text, ArrayType) {
    var bytes = global.atob(text);
    var buffer = new Uint8Array(bytes.length);
    for (var i = 0; i < bytes.length; i++) buffer[i] = bytes.charCodeAt(i);
    return new ArrayType(buffer.buffer);
  }

  // Draws on one canvas above the map's overlay pane, redrawn after every move; subclasses draw and pick.
  var CanvasLayer = L.Layer.extend({
    onAdd: function (map) {
      this._map = map;
      this._canvas = L.DomUtil.create("canvas", "im-points leaflet-zoom-hide");
      map.getPanes().overlayPane.appendChild(this._canvas);
      map.on("moveend zoomend resize viewreset", this._redraw, this);
      map.on("click", this._onMapClick, this);
      this._redraw();
    },
    onRemove: function (map) {
      map.off("moveend zoomend resize viewreset", this._redraw, this);
      map.off("click", this._onMapClick, this);
      L.DomUtil.remove(this._canvas);
    },
    _redraw: function () {
      var map = this._map;
      var size = map.getSize();
      L.DomUtil.setPosition(this._canvas, map.containerPointToLayerPoint([0, 0]));
      var ratio = global.devicePixelRatio || 1;
      this._canvas.width = size.x * ratio;
      this._canvas.height = size.y * ratio;
      this._canvas.style.width = size.x + "px";
      this._canvas.style.height = size.y + "px";
      var context = this._canvas.getContext("2d");
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      this._draw(context, map, size);
    },
    // A click reported to the server: streamlit-folium sends the position of a layer's click event back.
    _report: function (latlng, content, event) {
      L.popup({ maxWidth: 360 }).setLatLng(latlng).setContent(content).openOn(this._map);
      this.fire("click", { latlng: latlng, originalEvent: event.originalEvent });
    }
  });

  function statusColours(meta, codes) {
    return codes.map(function (code) { return (meta.statuses[code] || { colour: "#777777" }).colour; });
  }

  // Many incidents: one canvas layer draws them all from packed arrays; a click finds the nearest point and
  // reports the incident's own coordinates, so the server can show its whole record beside the map.
  var PointsLayer = CanvasLayer.extend({
    initialize: function (payload) {
      var points = payload.points;
      this._payload = payload;
      this._count = points.count;
      var lat = unpack(points.lat, Int32Array), lng = unpack(points.lng, Int32Array);
      this._lat = new Float64Array(this._count);
      this._lng = new Float64Array(this._count);
      for (var i = 0; i < this._count; i++) {
        this._lat[i] = lat[i] * points.unit;
        this._lng[i] = lng[i] * points.unit;
      }
      this.status = unpack(points.status, Uint8Array);
      this.category = unpack(points.category, Uint16Array);
    },
    _draw: function (context, map, size) {
      var colours = statusColours(this._payload.meta, this._payload.points.status_codes);
      var radius = map.getZoom() >= 9 ? 5 : 3.5;
      var screenX = new Float32Array(this._count);
      var screenY = new Float32Array(this._count);
      context.lineWidth = 0.6;
      context.strokeStyle = "rgba(20,20,20,0.7)";
      for (var s = 0; s < colours.length; s++) {
        context.fillStyle = colours[s];
        context.beginPath();
        for (var i = 0; i < this._count; i++) {
          if (this.status[i] !== s) continue;
          var point = map.latLngToContainerPoint([this._lat[i], this._lng[i]]);
          screenX[i] = point.x;
          screenY[i] = point.y;
          if (point.x < -radius || point.y < -radius || point.x > size.x + radius || point.y > size.y + radius) continue;
          context.moveTo(point.x + radius, point.y);
          context.arc(point.x, point.y, radius, 0, Math.PI * 2);
        }
        context.fill();
        context.stroke();
      }
      this._screenX = screenX;
      this._screenY = screenY;
    },
    _onMapClick: function (event) {
      var x = event.containerPoint.x, y = event.containerPoint.y;
      var best = -1, bestDistance = 64;
      for (var i = 0; i < this._count; i++) {
        var dx = this._screenX[i] - x, dy = this._screenY[i] - y;
        var distance = dx * dx + dy * dy;
        if (distance < bestDistance) { best = i; bestDistance = distance; }
      }
      if (best < 0) return;
      var points = this._payload.points;
      var code = points.status_codes[this.status[best]];
      var label = (this._payload.meta.statuses[code] || { label: code }).label;
      var title = points.title ? points.title[best] : "Incident";
      this._report(L.latLng(this._lat[best], this._lng[best]),
        shortElement(title, label, "The full record is shown beside the map."), event);
    }
  });

  // Very many incidents: counts per grid cell (incidents/grid.py), each cell shaded by its count and coloured
  // by its most frequent status; a click reports the cell's centre, and the server lists the cell's incidents.
  var GridLayer = CanvasLayer.extend({
    initialize: function (payload) {
      this._payload = payload;
      this._grid = payload.grid;
      var most = 1;
      this._grid.cells.forEach(function (cell) { most = Math.max(most, cell[2]); });
      this._most = most;
    },
    _cellAt: function (latlng) {
      var step = this._grid.step;
      var row = Math.floor(latlng.lat / step), column = Math.floor(latlng.lng / step);
      for (var i = 0; i < this._grid.cells.length; i++) {
        if (this._grid.cells[i][0] === row && this._grid.cells[i][1] === column) return this._grid.cells[i];
      }
      return null;
    },
    _draw: function (context, map) {
      var step = this._grid.step, most = this._most;
      var colours = statusColours(this._payload.meta, this._grid.status_codes);
      context.lineWidth = 0.5;
      context.strokeStyle = "rgba(20,20,20,0.45)";
      this._grid.cells.forEach(function (cell) {
        var south = cell[0] * step, west = cell[1] * step;
        var a = map.latLngToContainerPoint([south + step, west]);
        var b = map.latLngToContainerPoint([south, west + step]);
        var top = 0;
        for (var s = 1; s < colours.length; s++) if (cell[3 + s] > cell[3 + top]) top = s;
        context.globalAlpha = 0.3 + 0.65 * Math.log(1 + cell[2]) / Math.log(1 + most);
        context.fillStyle = colours[top];
        context.fillRect(a.x, a.y, b.x - a.x, b.y - a.y);
        context.globalAlpha = 1;
        context.strokeRect(a.x, a.y, b.x - a.x, b.y - a.y);
      });
    },
    _onMapClick: function (event) {
      var cell = this._cellAt(event.latlng);
      if (!cell) return;
      var step = this._grid.step, meta = this._payload.meta, codes = this._grid.status_codes;
      var parts = codes.map(function (code, s) {
        return cell[3 + s] + " " + (meta.statuses[code] || { label: code }).label.toLowerCase();
      }).filter(function (text, s) { return cell[3 + s] > 0; });
      var centre = L.latLng((cell[0] + 0.5) * step, (cell[1] + 0.5) * step);
      this._report(centre, shortElement(cell[2] + " incidents in this cell", parts.join(", "),
        "They are listed beside the map, where you can narrow the filter to this cell."), event);
    }
  });

  function count(values, codes) {
    var result = {};
    for (var i = 0; i < values.length; i++) {
      var code = codes[values[i]];
      result[code] = (result[code] || 0) + 1;
    }
    return result;
  }

  function addIncidents(map, payload) {
    var container = map.getContainer();
    var meta = payload.meta;
    var drawn = 0;
    var counts;
    if (payload.tiles) {
      L.tileLayer(payload.tiles.url, { attribution: payload.tiles.attribution, maxZoom: 18 }).addTo(map);
    } else if (payload.basemap) {
      addBasemap(map, payload.basemap);
    }
    if (meta.mode === "symbols") {
      var group = L.featureGroup().addTo(map);
      drawn = addSymbols(map, payload, group);
      counts = { status: {}, category: {} };
      payload.incidents.forEach(function (incident) {
        counts.status[incident.status] = (counts.status[incident.status] || 0) + 1;
        counts.category[incident.category] = (counts.category[incident.category] || 0) + 1;
      });
    } else if (meta.mode === "points") {
      var layer = new PointsLayer(payload);
      layer.addTo(map);
      drawn = payload.points.count;
      counts = {
        status: count(layer.status, payload.points.status_codes),
        category: count(layer.category, payload.points.category_codes)
      };
    } else {
      new GridLayer(payload).addTo(map);
      drawn = payload.grid.count;
      counts = { status: {}, category: {} };
      payload.grid.cells.forEach(function (cell) {
        payload.grid.status_codes.forEach(function (code, s) {
          counts.status[code] = (counts.status[code] || 0) + cell[3 + s];
        });
      });
    }
    legend(map, meta, counts);
    if (payload.bounds) {
      map.fitBounds(payload.bounds, { padding: [24, 24], maxZoom: 11, animate: false });
    }
    container.setAttribute("data-incidents-drawn", String(drawn));
    container.setAttribute("data-incidents-mode", meta.mode);
    global.__incidentMap = { drawn: drawn, mode: meta.mode };
    return drawn;
  }

  global.IncidentMap = { addIncidents: addIncidents, recordElement: recordElement, safeHref: safeHref };
})(window);
