#!/usr/bin/env bash
# Refresh ui/vendor/ from npm at the versions pinned in ui/vendor/package.json.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp package.json "$tmp/"
(cd "$tmp" && npm install --no-audit --no-fund --ignore-scripts --save-exact >/dev/null)
nm=$tmp/node_modules
cp "$nm/uplot/dist/uPlot.esm.js" "$nm/uplot/dist/uPlot.min.css" "$nm/uplot/LICENSE" uplot/
cp "$nm/cytoscape/dist/cytoscape.esm.min.mjs" "$nm/cytoscape/LICENSE" cytoscape/
