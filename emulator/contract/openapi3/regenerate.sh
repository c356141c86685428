#!/usr/bin/env bash
# Regenerates the OpenAPI 3.0 documents of this folder from the Swagger 2.0 contracts beside
# it (emulator/contract/*.openapi.json), which stay the single source: Swagger UI
# (emulator/api/swagger/) serves these, cut down and addressed to the emulator at run time.
#
# Run it at development time, after changing a Swagger 2.0 contract, from anywhere:
#
#     emulator/contract/openapi3/regenerate.sh
#
# It needs node (20), npx with the npm registry, and jq; nothing here runs in CI or in the
# emulator. Two steps for each contract:
#
# 1. swagger2openapi 7.0.8 (https://github.com/Mermade/oas-kit), as it is:
#        npx --yes swagger2openapi@7.0.8 SOURCE -o OUTPUT
#    It drops the x-ms-examples that refer to ./examples/*.json (Swagger UI takes those from
#    the Swagger 2.0 contracts and emulator/contract/examples/ instead).
# 2. jq: every request body sent as anything but JSON or a form (application/octet-stream,
#    application/pdf, image/*, ...) is the document's bytes, so its schema becomes
#    {"type": "string", "format": "binary"}, which Swagger UI shows as a file input.
#    swagger2openapi keeps Microsoft's AutoRest {"type": "object", "format": "file"}
#    (ReadInStream) and, where one body parameter takes several media types (Form Recognizer
#    2023-07-31's analyze), the JSON request's schema for the bytes too.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
contract="$(dirname "$here")"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

binary='
def bytes_body:
  if has("content") then
    .content |= with_entries(
      if .key | test("json|^multipart/|^application/x-www-form-urlencoded$") then .
      else .value.schema = {"type": "string", "format": "binary"} end)
  else . end;
(.paths, ."x-ms-paths" | select(. != null) | .[][] | objects | select(has("requestBody"))
  | .requestBody) |= bytes_body
| if .components.requestBodies then .components.requestBodies[] |= bytes_body else . end
'

for name in read-v3.2 document-intelligence-2024-11-30 form-recognizer-2023-07-31 \
    image-analysis-4.0 emulator; do
    npx --yes swagger2openapi@7.0.8 "$contract/$name.openapi.json" \
        -o "$scratch/$name.json"
    jq --indent 2 "$binary" "$scratch/$name.json" >"$here/$name.json"
done
