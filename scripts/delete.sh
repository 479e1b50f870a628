#!/usr/bin/env bash
# Delete an image, disk or snapshot; the kind comes from the id's prefix (img-, disk-, snap-).
# Usage: scripts/delete.sh ID
#   When other disks or snapshots still read from it, api-server answers 409 HAS_DEPENDENTS and
#   this prints them (the first 20; SPRIG_SHOW_ALL=1 prints all).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 ID   (img-…, disk-… or snap-…)"
id="$1"
case "$id" in
    img-*) kind=image path=/v1/images ;;
    disk-*) kind=disk path=/v1/disks ;;
    snap-*) kind=snapshot path=/v1/snapshots ;;
    *) die "error: '$id' is not an image, disk or snapshot id (img-…, disk-…, snap-…)" ;;
esac
require_key

# Look first, to name what goes and to tell "deleted" from "was already gone" (both answer 204).
api GET "$path/$id"
if [ "$HTTP_STATUS" = 404 ]; then
    echo "There is no $kind $id (already deleted, or never existed); nothing to do."
    exit 0
fi
expect_success
name="$(json_field "$BODY" name)"

api DELETE "$path/$id"
if is_success; then
    echo "Deleted $kind $id ('$name') in $(ms "$HTTP_TIME") ms."
    exit 0
fi

print_problem
if [ "$HTTP_STATUS" = 409 ] && [ "$(json_field "$BODY" code)" = HAS_DEPENDENTS ]; then
    if [ -n "$SPRIG_JQ" ]; then
        dependents="$(jq -r '.dependents[]' "$BODY")"
    else
        dependents="$(grep -oE '"dependents":\[[^]]*\]' "$BODY" | sed -e 's/^"dependents":\[//' -e 's/\]$//' \
            | tr ',' '\n' | sed -e 's/^"//' -e 's/"$//')"
    fi
    total="$(printf '%s\n' "$dependents" | grep -c . || true)"
    echo "$kind $id still has $total dependent(s); delete these first:"
    if [ -n "${SPRIG_SHOW_ALL:-}" ] || [ "$total" -le 20 ]; then
        printf '%s\n' "$dependents" | sed 's/^/  /'
    else
        printf '%s\n' "$dependents" | sed -n '1,20s/^/  /p'
        echo "  … and $((total - 20)) more (SPRIG_SHOW_ALL=1 lists them all)"
    fi
fi
exit 1
