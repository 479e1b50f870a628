#!/usr/bin/env bash
# Launch a fleet of VMs from one image: one POST /v1/disks:batchCreate of COUNT clones, then one
# QEMU (-accel tcg; no KVM needed) per clone at once, each booting the kernel and initramfs of
# BOOT_DIR with its clone as the root disk, served by `sprig-agent serve --socket SOCKET`. Prints
# each VM as it comes up and the time from the batchCreate to the last one.
# Usage: scripts/vm-fleet.sh IMAGE_ID BOOT_DIR SOCKET [COUNT=4]
#   IMAGE_ID  an image imported from BOOT_DIR/base.raw (scripts/import-image.sh BOOT_DIR/base.raw)
#   BOOT_DIR  made by scripts/make-boot-image.sh: vmlinuz, initrd.img, base.raw
#   SOCKET    where `sprig-agent serve --socket SOCKET` listens (it needs SPRIG_API and SPRIG_API_KEY)
# Settings: SPRIG_VM_MEMORY (MiB, default 256), SPRIG_VM_TIMEOUT (seconds, default 300). Each VM's
# serial console is kept in ./vm-fleet-<time>/<disk name>.log; Ctrl-C stops the VMs still running.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 3 ] && [ $# -le 4 ] || die "usage: $0 IMAGE_ID BOOT_DIR SOCKET [COUNT=4]"
image_id="$1" boot="$2" socket="$3" count="${4:-4}"
memory="${SPRIG_VM_MEMORY:-256}" timeout="${SPRIG_VM_TIMEOUT:-300}"
case "$count" in '' | *[!0-9]*) die "error: COUNT must be a whole number, not '$count'" ;; esac
[ "$count" -ge 1 ] && [ "$count" -le 5000 ] || die "error: COUNT must be between 1 and 5000 (one batch), not $count"
command -v qemu-system-x86_64 >/dev/null 2>&1 || die "error: qemu-system-x86_64 is needed (apt-get install -y qemu-system-x86)"
for file in vmlinuz initrd.img; do
    [ -r "$boot/$file" ] || die "error: no $boot/$file; make the boot set with scripts/make-boot-image.sh $boot"
done
[ -S "$socket" ] || die "error: nothing listens on $socket; start the agent: java -jar client-agent/target/sprig-agent.jar serve --socket $socket"
require_key

prefix="fleet-$(stamp)"
consoles="vm-fleet-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$consoles"
started="$(date +%s.%N)"
echo "Cloning $count disks from $image_id, named $prefix-… ..."
api_json POST '/v1/disks:batchCreate' \
    "{\"sourceId\":$(json_escape "$image_id"),\"count\":$count,\"namePrefix\":$(json_escape "$prefix")}"
expect_success
if [ "$HTTP_STATUS" = 202 ]; then
    op="$(json_field "$BODY" id)"
    echo "Image $image_id is not cached: operation $op imports it, then clones."
    await_operation "$op"
    [ "$OP_STATE" = succeeded ] || die "Operation $op $OP_STATE: $(json_field "$BODY" error)"
    api GET "/v1/disks?namePrefix=$prefix-&pageSize=$count"
    expect_success
fi
# "name id" per disk, in name order
if [ -n "$SPRIG_JQ" ]; then
    disks="$(jq -r '(.disks // .items)[] | "\(.name) \(.externId)"' "$BODY" | sort)"
else
    disks="$(sed 's/},{/}\n{/g' "$BODY" | grep '"externId"' |
        sed -E 's/.*"externId":"([^"]*)".*"name":"([^"]*)".*/\2 \1/; s/.*"name":"([^"]*)".*"externId":"([^"]*)".*/\1 \2/' | sort)"
fi
[ "$(grep -c . <<<"$disks")" -eq "$count" ] || die "error: expected $count disks, got: $disks"
echo "Created $count disks in $(secs "$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')") s; starting $count VMs (consoles in $consoles/) ..."

declare -A pid_of=() start_of=() disk_of=()
all_pids=()
stop_vms() {
    local name
    for name in "${!pid_of[@]}"; do kill "${pid_of[$name]}" 2>/dev/null || true; done
}
trap 'stop_vms; rm -f "$BODY"' EXIT
trap 'echo; echo "Stopping the VMs still running."; exit 130' INT TERM
while read -r name disk; do
    disk_of[$name]="$disk"
    start_of[$name]="$(date +%s.%N)"
    qemu-system-x86_64 -accel tcg -m "$memory" -nodefaults -no-user-config -display none -no-reboot \
        -serial "file:$consoles/$name.log" -kernel "$boot/vmlinuz" -initrd "$boot/initrd.img" \
        -append "console=ttyS0 root=/dev/vda rw quiet sprig.vm=$name" \
        -drive "file=nbd+unix:///$disk?socket=$socket,format=raw,if=virtio,cache=none" \
        </dev/null >"$consoles/$name.qemu.log" 2>&1 &
    pid_of[$name]=$!
    all_pids+=($!)
done <<<"$disks"

booted=0 failed=0
deadline=$((SECONDS + timeout))
while [ "${#pid_of[@]}" -gt 0 ] && [ "$SECONDS" -lt "$deadline" ]; do
    for name in "${!pid_of[@]}"; do
        now="$(date +%s.%N)"
        if grep -qs "sprig: booted $name" "$consoles/$name.log"; then
            booted=$((booted + 1))
            printf '  %s (%s) booted in %s s [%d/%d]\n' "$name" "${disk_of[$name]}" \
                "$(secs "$(awk -v a="${start_of[$name]}" -v b="$now" 'BEGIN { print b - a }')")" "$booted" "$count"
            unset "pid_of[$name]" # it powers off by itself
        elif ! kill -0 "${pid_of[$name]}" 2>/dev/null; then
            failed=$((failed + 1))
            echo "  $name (${disk_of[$name]}) stopped without booting; the end of its console and of QEMU's output:" >&2
            tail -n 5 "$consoles/$name.log" "$consoles/$name.qemu.log" 2>/dev/null | sed 's/^/    /' >&2
            unset "pid_of[$name]"
        fi
    done
    sleep 0.2
done
for name in "${!pid_of[@]}"; do
    failed=$((failed + 1))
    echo "  $name (${disk_of[$name]}) did not boot within $timeout s; stopping it" >&2
done
took="$(secs "$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')")"
stop_vms
wait "${all_pids[@]}" 2>/dev/null || true # the booted ones power off by themselves, within a second
echo "$booted of $count VMs booted in $took s, from the batchCreate to the last one; consoles in $consoles/"
[ "$failed" -eq 0 ]
