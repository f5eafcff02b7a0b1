// Copies the front end's packages (from the npm registry, pinned by package-lock.json) into the
// Python package, so the center serves every script, style and map layer itself: no CDN.
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const out = join(here, "..", "src", "ceasefire", "web", "static", "vendor");

const files = {
  "leaflet/dist/leaflet.js": "leaflet.js",
  "leaflet/dist/leaflet.css": "leaflet.css",
  "leaflet/dist/images": "images",
  "leaflet.markercluster/dist/leaflet.markercluster.js": "leaflet.markercluster.js",
  "leaflet.markercluster/dist/MarkerCluster.css": "MarkerCluster.css",
  "leaflet.markercluster/dist/MarkerCluster.Default.css": "MarkerCluster.Default.css",
  "htmx.org/dist/htmx.min.js": "htmx.min.js",
  "topojson-client/dist/topojson-client.min.js": "topojson-client.min.js",
  // Natural Earth 1:50m countries (public domain), the base map's borders
  "world-atlas/countries-50m.json": "countries-50m.json",
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const [from, to] of Object.entries(files)) {
  cpSync(join(modules, from), join(out, to), { recursive: true });
}
writeFileSync(join(out, ".built"), "built by frontend/build.mjs from package-lock.json\n");
console.log(`front end: ${Object.keys(files).length} assets in ${out}`);
