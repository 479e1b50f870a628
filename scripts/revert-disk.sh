#!/usr/bin/env bash
# Revert a disk to one of its snapshots: the disk reads as the snapshot again, and what it wrote
# since is gone. Refused while a client holds the disk for writing (the answer names the holder).
# Usage: scripts/revert-disk.sh DISK_ID SNAPSHOT_ID
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 2 ] || die "usage: $0 DISK_ID SNAPSHOT_ID"
disk="$1"
snapshot="$2"
require_key

api GET "/v1/disks/$disk"
expect_success
before="$(json_field "$BODY" lcId)"

api_json POST "/v1/disks/$disk:revert" "{\"snapshotId\":$(json_escape "$snapshot")}"
expect_success
echo "Reverted disk $disk to snapshot $snapshot in $(ms "$HTTP_TIME") ms: it now writes to lc $(json_field "$BODY" lcId)" \
    "under the snapshot's; lc $before, with what it wrote since the snapshot, is deleted."
