#!/usr/bin/env bash
# The image cache: its figures (GET /v1/cache), or warm it for an image before a launch
# (POST /v1/images/{id}:prefetch, following the import until it has finished).
# Usage: scripts/cache.sh                  the figures
#        scripts/cache.sh prefetch IMAGE_ID
set -euo pipefail
. "$(dirname "$0")/lib.sh"

require_key
case "${1:-}" in
    '')
        api GET /v1/cache
        expect_success
        used="$(json_field "$BODY" usedBytes)"
        capacity="$(json_field "$BODY" capacityBytes)"
        echo "Cache: $used of $capacity bytes used, $(json_field "$BODY" copies) copies ($(json_field "$BODY" pinnedCopies) pinned)."
        echo "  hits $(json_field "$BODY" hits), misses $(json_field "$BODY" misses), evictions $(json_field "$BODY" evictions)"
        echo "  imports $(json_field "$BODY" imports) ($(json_field "$BODY" bytesImported) bytes), $(json_field "$BODY" importsInFlight) running"
        echo "  copies over $(json_field "$BODY" maxClonesPerCopy) clones: $(json_field "$BODY" copiesOverCloneLimit)"
        ;;
    prefetch)
        [ $# -eq 2 ] || die "usage: $0 prefetch IMAGE_ID"
        image="$2"
        api POST "/v1/images/$image:prefetch"
        expect_success
        if [ "$HTTP_STATUS" = 200 ]; then
            echo "Image $image is cached already."
            exit 0
        fi
        op="$(json_field "$BODY" id)"
        echo "Importing image $image into the cache: operation $op."
        await_operation "$op"
        if [ "$OP_STATE" != succeeded ]; then
            echo "Operation $op $OP_STATE after $OP_TOOK s: $(json_field "$BODY" error) ($(json_field "$BODY" errorCode))" >&2
            exit 1
        fi
        echo "Image $image is cached ($OP_PROGRESS in $OP_TOOK s)."
        ;;
    *) die "usage: $0 [prefetch IMAGE_ID]" ;;
esac
