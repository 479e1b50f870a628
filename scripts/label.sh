#!/usr/bin/env bash
# Set or remove labels of an image, disk or snapshot, or list the disks that carry labels.
# Usage: scripts/label.sh ID KEY=VALUE|KEY- ...      (KEY- removes KEY; a JSON merge patch)
#        scripts/label.sh list disks|images|snapshots KEY=VALUE ...   (every label must match)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 2 ] || die "usage: $0 ID KEY=VALUE|KEY- ...  or  $0 list disks|images|snapshots KEY=VALUE ..."
require_key

if [ "$1" = list ]; then
    kind="$2"
    shift 2
    case "$kind" in disks|images|snapshots) ;; *) die "list what? disks, images or snapshots, not '$kind'" ;; esac
    query="pageSize=1000"
    for label in "$@"; do
        query="$query&label=$(printf '%s' "$label" | sed 's/=/%3D/')"
    done
    found=0
    token=
    while :; do
        api GET "/v1/$kind?$query${token:+&pageToken=$token}"
        expect_success
        if [ -n "$SPRIG_JQ" ]; then
            jq -r '.items[] | "\(.externId)\t\(.name)\t\(.labels | to_entries | map("\(.key)=\(.value)") | join(","))"' "$BODY"
            found=$((found + $(jq '.items | length' "$BODY")))
        else
            ids="$(grep -oE '"externId":"[^"]*"' "$BODY" | sed 's/"externId":"//; s/"$//' || true)"
            [ -n "$ids" ] && printf '%s\n' "$ids" && found=$((found + $(printf '%s\n' "$ids" | wc -l)))
        fi
        token="$(json_field "$BODY" nextPageToken)"
        [ "$token" = null ] && break
        token="$(printf '%s' "$token" | sed 's/=/%3D/g')"
    done
    echo "$found $kind with ${*:-any labels}." >&2
    exit 0
fi

id="$1"
shift
case "$id" in
    img-*) path="/v1/images/$id" ;;
    disk-*) path="/v1/disks/$id" ;;
    snap-*) path="/v1/snapshots/$id" ;;
    *) die "error: '$id' is not an image (img-…), disk (disk-…) or snapshot (snap-…) id" ;;
esac
patch=
for label in "$@"; do
    case "$label" in
        *=*) entry="$(json_escape "${label%%=*}"):$(json_escape "${label#*=}")" ;;
        *-) entry="$(json_escape "${label%-}"):null" ;;
        *) die "error: '$label' is neither KEY=VALUE nor KEY-" ;;
    esac
    patch="${patch:+$patch,}$entry"
done
api "PATCH" "$path" -H 'Content-Type: application/merge-patch+json' --data-binary "{\"labels\":{$patch}}"
expect_success
if [ -n "$SPRIG_JQ" ]; then
    echo "$id now has labels: $(jq -r '.labels | to_entries | map("\(.key)=\(.value)") | join(", ")' "$BODY")"
else
    echo "$id now has labels: $(grep -oE '"labels":\{[^}]*\}' "$BODY" | sed 's/"labels"://')"
fi
