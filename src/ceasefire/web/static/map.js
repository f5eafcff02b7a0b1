// The common operational picture: zones and the line as they were at the chosen time, the
// incidents of the visible box and time window, observations and drone tracks. A wide view's
// incidents come as clusters made by the server (one per grid cell: count, statuses,
// categories, bounds); a click (or Enter) on one zooms into its bounds. Fewer incidents come one
// by one and Leaflet.markercluster groups those that overlap.
// Everything comes from the center itself: no tiles, no CDN (Natural Earth borders are shipped).
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const places = JSON.parse(document.getElementById("settlements").textContent);
  const text = config.text;
  const first = Date.parse(config.first), last = Date.parse(config.last);
  const slider = document.getElementById("at-slider");
  const atInput = document.getElementById("at-input");
  const atText = document.getElementById("at-text");
  const hours = document.getElementById("hours");
  const statusFilter = document.getElementById("status");
  const categoryFilter = document.getElementById("category");
  const counts = document.getElementById("counts");
  const layerNote = document.getElementById("layer-note");
  const showObs = document.getElementById("show-obs");
  const showNames = document.getElementById("show-names");
  const showCoverage = document.getElementById("show-coverage");
  const coverageText = document.getElementById("coverage-text");
  const colours = { open: "#e69f00", assessing: "#56b4e9", finding: "#009e73", disputed: "#cc79a7" };
  const shades = ["#5fd3c6", "#c3a6f0"];
  const zoneStyle = {
    controlled_area: (p) => ({ color: "#7d8894", weight: 1, fillColor: p.party === "AZ" ? "#cdbb80" : "#9fb0d8", fillOpacity: 0.16 }),
    peacekeeping_zone: () => ({ color: "#e8ebef", weight: 1.5, dashArray: "6 4", fill: false }),
    corridor: () => ({ color: "#f0b27a", weight: 1.5, dashArray: "2 4", fillOpacity: 0.08 }),
    handover_area: () => ({ color: "#ffffff", weight: 1, dashArray: "1 5", fill: false }),
    line_of_contact: () => ({ color: "#ffd166", weight: 3.5 }),
    road: () => ({ color: "#9aa4ae", weight: 1.5, dashArray: "4 3" }),
  };

  let at = Date.parse(config.at);
  // the mission's zone first, UTC beside, in the page's language
  const local = new Intl.DateTimeFormat(config.lang, { dateStyle: "medium", timeStyle: "short", timeZone: config.zone });
  const utc = new Intl.DateTimeFormat(config.lang, { timeStyle: "short", timeZone: "UTC" });
  const format = { format: (t) => `${local.format(t)} (${config.zone}) · ${utc.format(t)} UTC` };

  const map = L.map("map", { preferCanvas: true, minZoom: 4, maxZoom: 16, zoomSnap: 0.5, keyboard: true, attributionControl: true });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Natural Earth · GeoNames");
  const [w, s, e, n] = config.area;
  map.fitBounds([[s, w], [n, e]]);

  // base map: the local tiles if the center has them, and Natural Earth countries (filled
  // where there are no tiles, outlined above them where there are), below everything else
  const tiled = window.ceasefireTiles(map);
  map.createPane("base").style.zIndex = tiled ? 250 : 200;
  fetch("/static/vendor/countries-50m.json").then((r) => r.json()).then((topo) => {
    const land = topojson.feature(topo, topo.objects.countries);
    L.geoJSON(land, { pane: "base", interactive: false, style: { color: "#5b6672", weight: 1, fillColor: "#1f262d", fillOpacity: tiled ? 0 : 1 } }).addTo(map);
  });

  const zones = L.geoJSON(null, {
    style: (f) => (zoneStyle[f.properties.kind] || (() => ({ color: "#888", weight: 1 })))(f.properties),
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 5, color: "#fff", weight: 1, fillColor: "#8cc8ff", fillOpacity: 1 }),
    onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name, { sticky: true }),
  }).addTo(map);

  const names = L.layerGroup(places.map((p) => L.circleMarker([p.lat, p.lon], { radius: 2, color: "#e8ebef", weight: 1, interactive: false })
    .bindTooltip(p.name, { permanent: true, direction: "right", className: "place", offset: [4, 0] })));
  const placeNames = () => (showNames.checked && map.getZoom() >= 9 ? names.addTo(map) : names.remove());
  showNames.addEventListener("change", placeNames);
  map.on("zoomend", placeNames);

  const number = (n) => n.toLocaleString(config.lang);
  // a group's icon: its count inside a ring coloured by its incidents' statuses, the same for
  // the server's clusters and for those Leaflet.markercluster makes of overlapping markers
  const ring = (statuses, count) => {
    let from = 0;
    const stops = Object.keys(colours).filter((s) => statuses[s]).map((s) => {
      const to = from + (statuses[s] / count) * 360;
      const stop = `${colours[s]} ${from.toFixed(1)}deg ${to.toFixed(1)}deg`;
      from = to;
      return stop;
    });
    return stops.length ? `conic-gradient(${stops.join(", ")})` : "#999999";
  };
  const groupIcon = (count, statuses) => {
    const size = count < 100 ? 36 : count < 1000 ? 42 : 50;
    return L.divIcon({ html: `<div style="background: ${ring(statuses, count)}"><span>${number(count)}</span></div>`, className: "cf-cluster", iconSize: L.point(size, size) });
  };
  const clusters = L.markerClusterGroup({
    chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 45,
    iconCreateFunction: (group) => {
      const statuses = {};
      for (const m of group.getAllChildMarkers()) statuses[m.options.status] = (statuses[m.options.status] || 0) + 1;
      return groupIcon(group.getChildCount(), statuses);
    },
  });
  clusters.addTo(map);
  const cells = L.layerGroup().addTo(map); // the server's clusters
  const observed = L.layerGroup().addTo(map);

  // a cluster of the server: into its incidents' bounds, at least one zoom level deeper
  const zoomInto = ([w, s, e, n]) => {
    const bounds = L.latLngBounds([[s, w], [n, e]]);
    const zoom = Math.max(map.getBoundsZoom(bounds.pad(0.2)), Math.floor(map.getZoom()) + 1);
    map.setView(bounds.getCenter(), Math.min(zoom, map.getMaxZoom()));
  };
  const cell = (c) => {
    const title = text.cluster.replace("{n}", number(c.count));
    const m = L.marker([c.lat, c.lon], { icon: groupIcon(c.count, c.statuses), title, keyboard: true, riseOnHover: true });
    const statuses = Object.keys(colours).filter((s) => c.statuses[s]).map((s) => `${text.statuses[s] || s}: ${number(c.statuses[s])}`);
    const categories = Object.entries(c.categories).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${text.categories[k] || k}: ${number(n)}`);
    m.bindTooltip(`<strong>${title}</strong><br>${statuses.join(" · ")}<br>${categories.join("<br>")}<br>${text.both}: ${number(c.both)}`, { direction: "top" });
    m.on("click", () => zoomInto(c.bounds));
    m.on("keypress", (e) => { if (e.originalEvent.key === "Enter" || e.originalEvent.key === " ") zoomInto(c.bounds); });
    return m;
  };

  // one row per incident: id, lon, lat, status, corroboration, category, severity, t
  const marker = (row) => {
    const [id, lon, lat, status, corroboration, category, , t] = row;
    const both = corroboration === "both_contingents";
    const colour = colours[status] || "#999999";
    const m = L.circleMarker([lat, lon], { radius: 7, color: both ? "#ffffff" : colour, weight: both ? 2 : 3, fillColor: colour, fillOpacity: both ? 0.95 : 0.1, status });
    m.bindPopup(() => `<strong>${text.categories[category] || category}</strong><br>${text.statuses[status] || status}<br>${format.format(t * 1000)}<br><a href="/incidents/${encodeURIComponent(id)}">${text.open}</a>`);
    return m;
  };

  let request = 0;
  const bbox = () => map.getBounds().pad(0.1).toBBoxString();
  const query = () => `at=${new Date(at).toISOString()}&hours=${hours.value}`;
  // the map's filters, as the incident list applies them
  const filters = () => ["status", "category"].map((k) => document.getElementById(k)).filter((f) => f.value).map((f) => `&${f.id}=${encodeURIComponent(f.value)}`).join("");

  async function loadIncidents() {
    if (!config.incidents) return;
    const mine = ++request;
    const zoom = Math.floor(map.getZoom());
    const answer = await fetch(`/map/incidents.json?bbox=${bbox()}&zoom=${zoom}&${query()}${filters()}`, { credentials: "same-origin" });
    if (answer.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search) + "&expired=1"; return; }
    const data = await answer.json();
    if (mine !== request) return; // a newer view was asked for meanwhile
    clusters.clearLayers();
    cells.clearLayers();
    clusters.addLayers(data.rows.map(marker));
    data.clusters.forEach((c) => cells.addLayer(cell(c)));
    counts.textContent = `${number(data.count)} ${text.incidents}` + (data.truncated ? ` (${text.truncated})` : "") + (data.clusters.length ? ` · ${text.grouped}` : "");
    const shown = document.getElementById("map").dataset;
    shown.incidents = String(data.count);
    shown.clusters = String(data.clusters.length);
    window.dispatchEvent(new CustomEvent("cf:incidents", { detail: data.count }));
  }

  async function loadZones() {
    const data = await (await fetch(`/map/zones.json?at=${new Date(at).toISOString()}`)).json();
    zones.clearLayers();
    zones.addData(data);
    document.getElementById("map").dataset.zones = data.features.map((f) => f.id).join(" ");
  }

  async function loadObservations() {
    observed.clearLayers();
    layerNote.textContent = "";
    if (!showObs.checked || !config.observations) return;
    const data = await (await fetch(`/map/observations.json?bbox=${bbox()}&${query()}`)).json();
    const shade = (c) => shades[Math.max(0, config.neutral.indexOf(c))];
    L.geoJSON(data.tracks, { style: (f) => ({ color: shade(f.properties.contingent), weight: 1.5, opacity: 0.7, dashArray: config.neutral.indexOf(f.properties.contingent) ? "5 3" : null }) }).addTo(observed);
    L.geoJSON(data, { pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 3, color: shade(f.properties.contingent), weight: 1, fillOpacity: 0.8 }) }).addTo(observed);
    // a capped layer says so: only the newest observations or track points are drawn
    layerNote.textContent = data.truncated || data.tracks.truncated ? `${text.observations} (${text.truncated})` : "";
  }

  const gaps = L.layerGroup().addTo(map);
  async function loadCoverage() {
    gaps.clearLayers();
    coverageText.textContent = "";
    if (!showCoverage.checked || !config.observations) return;
    const data = await (await fetch(`/map/coverage.json?${query()}`)).json();
    const lines = [];
    config.neutral.forEach((c, n) => {
      const mine = data.contingents[c];
      if (!mine) return;
      L.geoJSON(mine.gaps, { style: { color: shades[n], weight: n ? 4 : 9, opacity: n ? 1 : 0.55, dashArray: n ? "6 6" : null } }).addTo(gaps);
      lines.push(text.watched.replace("{c}", c).replace("{share}", Math.round(mine.covered_share * 100) + "%").replace("{h}", data.gap_threshold_h));
    });
    coverageText.textContent = lines.join(" · ");
  }

  function showTime() {
    atText.textContent = format.format(at);
    atInput.value = new Date(at).toISOString().slice(0, 16);
    slider.value = String(Math.round(((at - first) / (last - first)) * 1000));
    const url = new URL(location.href);
    url.searchParams.set("at", new Date(at).toISOString());
    url.searchParams.set("hours", hours.value);
    for (const f of [statusFilter, categoryFilter]) {
      if (f.value) url.searchParams.set(f.id, f.value); else url.searchParams.delete(f.id);
    }
    history.replaceState(null, "", url);
  }

  let timer = 0;
  function timeChanged() {
    showTime();
    clearTimeout(timer);
    timer = setTimeout(() => { loadZones(); loadIncidents(); loadObservations(); loadCoverage(); }, 150);
  }
  slider.addEventListener("input", () => { at = first + (Number(slider.value) / 1000) * (last - first); timeChanged(); });
  atInput.addEventListener("change", () => { const t = Date.parse(atInput.value + ":00Z"); if (!isNaN(t)) { at = t; timeChanged(); } });
  hours.addEventListener("change", timeChanged);
  document.getElementById("timebar").addEventListener("submit", (event) => { event.preventDefault(); timeChanged(); });
  for (const f of [statusFilter, categoryFilter]) f.addEventListener("change", () => { showTime(); loadIncidents(); });
  showObs.addEventListener("change", loadObservations);
  showCoverage.addEventListener("change", loadCoverage);
  map.on("moveend", () => { loadIncidents(); loadObservations(); });

  // live: new incidents, observations and decisions come as server-sent events
  if (window.EventSource && config.incidents) {
    const events = new EventSource("/events");
    let pending = 0;
    events.addEventListener("change", () => { clearTimeout(pending); pending = setTimeout(loadIncidents, 500); });
  }

  window.ceasefireMap = { map, clusters, cells, setTime: (iso) => { at = Date.parse(iso); timeChanged(); } };
  showTime();
  loadZones();
  loadIncidents();
})();
