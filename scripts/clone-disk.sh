#!/usr/bin/env bash
# Clone one disk from an image (or from a snapshot or another disk).
# Usage: scripts/clone-disk.sh IMAGE_ID [NAME]    (NAME defaults to vm-<date>-<time>-<random>)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 IMAGE_ID [NAME]"
source_id="$1"
name="${2:-vm-$(stamp)}"
require_key

api_json POST /v1/disks "{\"name\":$(json_escape "$name"),\"sourceId\":$(json_escape "$source_id")}"
expect_success
echo "Cloned disk $(json_field "$BODY" externId) (name '$name') from $source_id in $(ms "$HTTP_TIME") ms."
echo "  lc $(json_field "$BODY" lcId), $(json_field "$BODY" sizeBytes) bytes, state $(json_field "$BODY" state)"
