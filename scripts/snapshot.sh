#!/usr/bin/env bash
# Snapshot a disk: its current lc is frozen for the snapshot and the disk continues on a new lc.
# Usage: scripts/snapshot.sh DISK_ID [NAME]    (NAME defaults to <DISK_ID>-snap-<date>-<time>-<random>)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 DISK_ID [NAME]"
disk="$1"
name="${2:-$disk-snap-$(stamp)}"
require_key

api_json POST "/v1/disks/$disk/snapshots" "{\"name\":$(json_escape "$name")}"
expect_success
snap="$(json_field "$BODY" externId)"
frozen_lc="$(json_field "$BODY" lcId)"
took="$(ms "$HTTP_TIME")"
echo "Created snapshot $snap (name '$name') of disk $disk in $took ms; it holds frozen lc $frozen_lc."

api GET "/v1/disks/$disk"
expect_success
echo "Disk $disk now writes to lc $(json_field "$BODY" lcId) (state $(json_field "$BODY" state))."
