#!/usr/bin/env bash
# Create an image and upload a raw file into it.
# Usage: scripts/import-image.sh FILE [NAME]     (NAME defaults to the file's base name)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 FILE [NAME]"
file="$1"
[ -f "$file" ] && [ -r "$file" ] || die "error: $file is not a readable regular file"
name="${2:-$(basename "$file")}"
require_key

size="$(wc -c <"$file" | tr -d ' ')"
[ "$size" -gt 0 ] || die "error: $file is empty; an image needs at least one byte"

api_json POST /v1/images "{\"name\":$(json_escape "$name"),\"sizeBytes\":$size}"
expect_success
id="$(json_field "$BODY" externId)"
echo "Created image $id (name '$name', $size bytes), state $(json_field "$BODY" state)."

echo "Uploading $file ..."
# On a terminal, show curl's progress bar (api() passes -sS; --no-silent given later undoes -s).
progress=()
[ -t 2 ] && progress=(--no-silent --progress-bar)
api PUT "/v1/images/$id/file" -H 'Content-Type: application/octet-stream' -T "$file" "${progress[@]}"
if ! is_success; then
    print_problem
    echo "Image $id was created but not uploaded; run the upload again or delete it: scripts/delete.sh $id" >&2
    exit 1
fi
state="$(json_field "$BODY" state)"
received="$(json_field "$BODY" bytesReceived)"
rate="$(awk -v b="$size" -v s="$HTTP_TIME" 'BEGIN { if (s > 0) printf "%.1f", b / 1048576 / s; else print "-" }')"
echo "Uploaded $received of $size bytes in $(secs "$HTTP_TIME") s ($rate MiB/s)."
if [ "$state" = available ]; then
    echo "Image $id is $state (lc $(json_field "$BODY" lcId))."
else
    echo "Image $id is $state: $(json_field "$BODY" error)" >&2
    exit 1
fi
