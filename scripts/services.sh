#!/usr/bin/env bash
# Make sure the local services the tests use are installed and running: PostgreSQL.
# On a machine without them they are installed from Debian's packages (needs root).
set -euo pipefail

# GDAL's tools (tests read the GeoPackage and the OGC API with them), poppler (PDF to PNG),
# WeasyPrint's libraries and a font with Cyrillic, Armenian, Turkish and Azerbaijani letters,
# Debian's Chromium, which the browser tests drive through Playwright (never its download), and
# redis-server, taky's store: `bench ingest` and its test start one of their own for the CoT peer.
REPORT_PACKAGES="gdal-bin poppler-utils fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 chromium redis-server"
# shellcheck disable=SC2086
if ! dpkg -s $REPORT_PACKAGES >/dev/null 2>&1; then
  echo "services: installing $REPORT_PACKAGES from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq $REPORT_PACKAGES >/dev/null
fi

have_pg() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "services: installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

if ! have_pg; then
  echo "services: starting PostgreSQL"
  for version in $(ls /etc/postgresql 2>/dev/null); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 1 30); do have_pg && break; sleep 1; done
fi

if have_pg; then
  # Tests connect as postgres over TCP without a password (trust), as on this kind of machine.
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    echo "services: PostgreSQL runs but postgres@127.0.0.1 cannot log in; set CEASEFIRE_TEST_PG" >&2
  fi
  echo "services: PostgreSQL ready"
else
  echo "services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2
  [ "${CI:-}" = "true" ] && exit 1
fi

# NATS with JetStream: the nodes' transport (tests/node/test_jetstream.py).
have_nats() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }

if [ ! -x /usr/sbin/nats-server ]; then
  echo "services: installing nats-server from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nats-server >/dev/null
fi

if ! have_nats; then
  echo "services: starting NATS (JetStream)"
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server
  for _ in $(seq 1 20); do have_nats && break; sleep 0.5; done
fi

if have_nats; then
  echo "services: NATS ready"
else
  echo "services: NATS is not reachable on 127.0.0.1:4222" >&2
  [ "${CI:-}" = "true" ] && exit 1
fi

# The browser tests drive Debian's Chromium (never a browser downloaded by Playwright).
if [ ! -x /usr/bin/chromium ]; then
  echo "services: installing Chromium from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

# redis-server: `ceasefire bench ingest` starts one of its own for taky, the CoT peer, to store in.
if ! command -v redis-server >/dev/null 2>&1; then
  echo "services: installing redis-server from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
fi
