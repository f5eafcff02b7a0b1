// The incident's small map: the point with its uncertainty, on the zones of its own time.
(function () {
  "use strict";
  const box = document.getElementById("incident-map");
  if (!box || !window.L) return;
  const lat = Number(box.dataset.lat), lon = Number(box.dataset.lon), ce = Number(box.dataset.ce) || 100;
  const map = L.map(box, { preferCanvas: true, minZoom: 4, maxZoom: 16, attributionControl: false, scrollWheelZoom: false });
  map.setView([lat, lon], 11);
  const tiled = window.ceasefireTiles(map);
  fetch("/static/vendor/countries-50m.json").then((r) => r.json()).then((topo) => {
    L.geoJSON(topojson.feature(topo, topo.objects.countries), { interactive: false, style: { color: "#5b6672", weight: 1, fillColor: "#1f262d", fillOpacity: tiled ? 0 : 1 } }).addTo(map).bringToBack();
  });
  fetch(`/map/zones.json?at=${encodeURIComponent(box.dataset.at)}`).then((r) => r.json()).then((zones) => {
    L.geoJSON(zones, {
      style: (f) => (f.properties.kind === "line_of_contact" ? { color: "#ffd166", weight: 3 } : { color: "#7d8894", weight: 1, fillOpacity: 0.08 }),
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 3 }),
    }).addTo(map);
  });
  L.circle([lat, lon], { radius: ce, color: "#e69f00", weight: 1, fillOpacity: 0.15 }).addTo(map);
  L.circleMarker([lat, lon], { radius: 6, color: "#ffffff", weight: 2, fillColor: "#e69f00", fillOpacity: 1 }).addTo(map);
})();
