// The local tile source (the center's `tiles` setting), when there is one: raster tiles the
// center serves from its own MBTiles file at /tiles/{z}/{x}/{y}, drawn beneath everything.
// Returns whether there were tiles, so the Natural Earth land is drawn as outlines above them.
window.ceasefireTiles = function (map) {
  "use strict";
  const node = document.getElementById("tiles-config");
  const tiles = node ? JSON.parse(node.textContent) : null;
  if (!tiles) return false;
  const [w, s, e, n] = tiles.bounds || [-180, -85.05, 180, 85.05];
  L.tileLayer(tiles.url, {
    minNativeZoom: tiles.minzoom,
    maxNativeZoom: tiles.maxzoom,
    bounds: [[s, w], [n, e]],
    attribution: tiles.attribution,
    className: "local-tiles",
  }).addTo(map);
  return true;
};
