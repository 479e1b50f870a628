#!/usr/bin/env bash
# Flatten a disk: copy what it still reads from its image and snapshots into its own lc, so that it
# depends on nothing. Starts the operation, then polls it until it has finished, showing progress.
# Usage: scripts/flatten-disk.sh DISK_ID
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 DISK_ID"
disk="$1"
require_key

api POST "/v1/disks/$disk:flatten"
expect_success
op="$(json_field "$BODY" id)"
echo "Flattening disk $disk: operation $op ($(json_field "$BODY" state))."

await_operation "$op"

if [ "$OP_STATE" = succeeded ]; then
    echo "Operation $op succeeded in $OP_TOOK s ($OP_PROGRESS)."
    api GET "/v1/disks/$disk/lineage"
    expect_success
    echo "Disk $disk now reads from no ancestor (lc $(json_field "$BODY" lcId)); see scripts/lineage.sh $disk."
else
    echo "Operation $op $OP_STATE after $OP_TOOK s: $(json_field "$BODY" error)" >&2
    echo "The disk is available again; run this script again to retry." >&2
    exit 1
fi
