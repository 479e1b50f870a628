#!/usr/bin/env bash
# Clone many disks from one image in a single call (POST /v1/disks:batchCreate; at most 5,000).
# Usage: scripts/clone-many.sh IMAGE_ID [COUNT=2500] [PREFIX]
#   disks are named PREFIX-0001, PREFIX-0002, ...; PREFIX defaults to vm-<date>-<time>-<random>
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] && [ $# -le 3 ] || die "usage: $0 IMAGE_ID [COUNT=2500] [PREFIX]"
source_id="$1"
count="${2:-2500}"
prefix="${3:-vm-$(stamp)}"
case "$count" in '' | *[!0-9]*) die "error: COUNT must be a whole number, not '$count'" ;; esac
[ "$count" -ge 1 ] && [ "$count" -le 5000 ] || die "error: COUNT must be between 1 and 5000 (one batch), not $count"
require_key

echo "Cloning $count disks from $source_id, named $prefix-… ..."
api_json POST '/v1/disks:batchCreate' \
    "{\"sourceId\":$(json_escape "$source_id"),\"count\":$count,\"namePrefix\":$(json_escape "$prefix")}"
expect_success
if [ "$HTTP_STATUS" = 202 ]; then
    # the image is not cached: one operation imports it, then creates the disks
    op="$(json_field "$BODY" id)"
    echo "Image $source_id is not cached: operation $op imports it, then clones."
    await_operation "$op"
    if [ "$OP_STATE" != succeeded ]; then
        echo "Operation $op $OP_STATE after $OP_TOOK s: $(json_field "$BODY" error)" >&2
        exit 1
    fi
    echo "Created $count disks in $OP_TOOK s, the import included; list them with"
    echo "  GET /v1/disks?namePrefix=$prefix-"
    exit 0
fi
if [ -n "$SPRIG_JQ" ]; then
    created="$(jq '.disks | length' "$BODY")"
    first="$(jq -r '.disks[0] | "\(.name) (\(.externId), lc \(.lcId))"' "$BODY")"
    last="$(jq -r '.disks[-1] | "\(.name) (\(.externId), lc \(.lcId))"' "$BODY")"
else
    # One disk per line: split the array between objects.
    lines="$(sed 's/},{/}\n{/g' "$BODY")"
    created="$(grep -c '"externId"' <<<"$lines" || true)"
    describe() {
        local tmp
        tmp="$(mktemp)"
        printf '%s\n' "$1" >"$tmp"
        printf '%s (%s, lc %s)' "$(json_field "$tmp" name)" "$(json_field "$tmp" externId)" "$(json_field "$tmp" lcId)"
        rm -f "$tmp"
    }
    first="$(describe "$(grep -m1 '"externId"' <<<"$lines")")"
    last="$(describe "$(grep '"externId"' <<<"$lines" | tail -n 1)")"
fi
rate="$(awk -v n="$created" -v s="$HTTP_TIME" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }')"
echo "Created $created disks in $(secs "$HTTP_TIME") s ($rate disks/s)."
echo "  first: $first"
echo "  last:  $last"
