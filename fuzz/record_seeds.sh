#!/usr/bin/env bash
# Records the seed corpus of the wire_frame and command fuzzers (fuzz/seeds/wire) from
# real driver traffic: the client scripts of odm-server's tests (pymongo, the Node.js
# driver, mongosh), run through record_seeds.py's recording proxy against the
# odm-server binary. Usage: bash fuzz/record_seeds.sh [SCRATCH_DIR]
# SCRATCH_DIR may hold a venv with pymongo and node_modules with mongodb and mongosh
# (as .ci/run makes them); what is missing is installed there.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${1:-$(mktemp -d)}"
out="fuzz/seeds/wire"
mkdir -p "$out" "$scratch"

[ -x "$scratch/venv/bin/python" ] || python3 -m venv "$scratch/venv"
"$scratch/venv/bin/python" -c "import pymongo" 2>/dev/null ||
  "$scratch/venv/bin/pip" install --quiet --disable-pip-version-check pymongo
[ -d "$scratch/node_modules/mongodb" ] && [ -d "$scratch/node_modules/mongosh" ] ||
  (cd "$scratch" && { [ -f package.json ] || npm init -y >/dev/null; } &&
    npm install --silent --no-audit --no-fund mongodb@7 mongosh@2)
cp odm-server/tests/clients/{crud_round,txn_watch}.mjs "$scratch/"

cargo build --quiet -p odm-server --bin odm-server
data="$(mktemp -d)"
./target/debug/odm-server --dbpath "$data" --port 0 --enable-test-commands >"$data/server.out" 2>/dev/null &
server=$!
until grep -q listening "$data/server.out"; do sleep 0.1; done
upstream="$(sed -n 's/^odm-server listening on //p' "$data/server.out")"
coproc PROXY { "$scratch/venv/bin/python" fuzz/record_seeds.py "$upstream" "$out"; }
read -r line <&"${PROXY[0]}"
# A direct connection: discovery would lead the drivers past the proxy to the server.
base="mongodb://127.0.0.1:${line#recording on }"
uri="$base/?directConnection=true"
echo "recording driver traffic through $base"

"$scratch/venv/bin/python" odm-server/tests/clients/crud_round.py "$uri" >/dev/null
"$scratch/venv/bin/python" odm-server/tests/clients/txn_watch.py "$uri" >/dev/null
(cd "$scratch" && node crud_round.mjs "$uri" >/dev/null && node txn_watch.mjs "$uri" >/dev/null)
"$scratch/node_modules/.bin/mongosh" "$base/clients_mongosh?directConnection=true" --quiet \
  --file odm-server/tests/clients/mongosh_smoke.js >/dev/null

exec {PROXY[1]}>&-
wait "$PROXY_PID" 2>/dev/null || true
kill "$server"
rm -rf "$data"
echo "$(ls "$out" | wc -l) seeds in $out"
