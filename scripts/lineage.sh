#!/usr/bin/env bash
# Print a disk's lineage: its lc, then each ancestor lc up to the image, one line per lc.
# Usage: scripts/lineage.sh DISK_ID
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 DISK_ID"
disk="$1"
require_key

api GET "/v1/disks/$disk/lineage"
expect_success

# One tab-separated line per lc: lcId, frozen, kind, externId, name.
if [ -n "$SPRIG_JQ" ]; then
    rows="$(jq -r '.chain[] | [.lcId, .frozen, (.kind // "-"), (.externId // "-"), (.name // "-")] | @tsv' "$BODY")"
else
    rows=""
    tmp="$(mktemp)"
    # Keep the array after "chain": and split it into one object per line.
    while IFS= read -r entry || [ -n "$entry" ]; do
        [ -n "$entry" ] || continue
        printf '%s\n' "$entry" >"$tmp"
        row=""
        for field in lcId frozen kind externId name; do
            value="$(json_field "$tmp" "$field")"
            [ "$value" = null ] && value=-
            row="$row${row:+$'\t'}$value"
        done
        rows="$rows$row"$'\n'
    done < <(sed -e 's/.*"chain":\[//' -e 's/\]}$//' -e 's/},{/}\n{/g' "$BODY")
    rm -f "$tmp"
    rows="${rows%$'\n'}"
fi

depth="$(printf '%s\n' "$rows" | grep -c . || true)"
echo "Lineage of $disk: $depth lc(s), from the disk's own lc to the root."
{
    printf 'LC\tFROZEN\tKIND\tEXTERN_ID\tNAME\n'
    printf '%s\n' "$rows" | awk -F'\t' 'BEGIN { OFS = "\t" } $3 == "-" && $4 == "-" { $5 = "(implicit snapshot)" } { print }'
} | column -t -s $'\t' 2>/dev/null || {
    printf 'LC\tFROZEN\tKIND\tEXTERN_ID\tNAME\n'
    printf '%s\n' "$rows"
}
