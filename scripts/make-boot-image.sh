#!/usr/bin/env bash
# make-boot-image.sh: a small bootable Linux for Sprig's VM tests and bench/boot, from Debian
# packages only, for qemu-system-x86_64 -accel tcg (no KVM needed).
#   usage: scripts/make-boot-image.sh [-s SIZE] [-k KERNEL_VERSION] OUTDIR
# OUTDIR gets vmlinuz, initrd.img (busybox and the virtio modules), base.raw (an ext4 root file
# system, no partition table, with busybox, /sbin/init and /etc/sprig-image), sprig-image.sha256
# and kernel-version. The VM's init writes /marker and /markers/NAME (NAME from sprig.vm=NAME on
# the kernel command line), checks /etc/sprig-image against its sha256, prints "sprig: booted NAME"
# on the serial console, remounts / read-only and powers off. See docs/vms.md.
# Packages: qemu-system-x86 busybox-static e2fsprogs cpio kmod, and the kernel of
# linux-image-cloud-amd64: installed, or (no root needed) fetched with `apt-get download` and
# unpacked into ${SPRIG_KERNEL_CACHE:-~/.cache/sprig/kernel}. Checks for them, installs nothing.
set -euo pipefail

SIZE=256M    # apparent size of base.raw (sparse); mkfs/truncate syntax: 256M, 1G ...
KVER=""      # default: the newest installed /boot/vmlinuz-*-cloud-amd64, else linux-image-cloud-amd64's
KROOT=""     # where the kernel's /boot and /lib/modules are: "" (this machine), or an unpacked package
KCACHE="${SPRIG_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sprig/kernel}"
# virtio_pci: the PCI transport QEMU's if=virtio uses on the pc/q35 machines; virtio_blk: /dev/vda;
# ext4: the root fs. Anything built in (=y, listed as "(builtin)" by modinfo) is skipped.
MODULES="${SPRIG_MODULES:-virtio_pci virtio_blk ext4}"
# Fixed mtimes make initrd.img byte-identical across builds from the same packages. (base.raw is
# not: mke2fs 1.47.0 stamps inode ctimes and superblock times with the current time.)
EPOCH="${SOURCE_DATE_EPOCH:-0}"
BB=/bin/busybox

die() { echo "make-boot-image: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "missing $1; run: apt-get install -y --no-install-recommends $2"; }
while getopts s:k:h o; do
  case $o in s) SIZE=$OPTARG ;; k) KVER=$OPTARG ;; *) sed -n 4p "$0"; exit 2 ;; esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { sed -n 4p "$0"; exit 2; }
OUT=$1

# --- check tools; print the apt-get line rather than installing (the caller owns the machine) ---
missing=""
for t in mkfs.ext4:e2fsprogs cpio:cpio gzip:gzip modinfo:kmod sha256sum:coreutils truncate:coreutils; do
  command -v "${t%%:*}" >/dev/null 2>&1 || missing+=" ${t#*:}"
done
# Debian's "busybox" package is dynamically linked; we need busybox-static (no libc on the disk).
# ldd fails on a static binary (grepping for ld-linux doesn't work: the static one has the string).
if [ ! -x $BB ] || ldd $BB >/dev/null 2>&1; then missing+=" busybox-static"; fi
[ -n "$KVER" ] || KVER=$(find /boot -maxdepth 1 -name 'vmlinuz-*-cloud-amd64' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n1)
[ -z "$missing" ] || die "missing tools; run: apt-get install -y --no-install-recommends$missing"

# --- the kernel: installed, or linux-image-cloud-amd64's package unpacked into the cache (a second
# kernel on the host is not needed to boot guests with it) ---------------------------------------
if [ -z "$KVER" ] || [ ! -r "/boot/vmlinuz-$KVER" ] || [ ! -d "/lib/modules/$KVER" ]; then
  if [ -z "$KVER" ]; then
    pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n1)
    if [ -z "$pkg" ] && [ -r "/boot/vmlinuz-$(uname -r)" ] && [ -d "/lib/modules/$(uname -r)" ]; then
      # not Debian (an Ubuntu CI runner): the host's own kernel, if this user may read it
      KVER=$(uname -r); pkg=""
    fi
    [ -n "$pkg$KVER" ] || die "no kernel: apt-cache does not know linux-image-cloud-amd64 (run apt-get update, or install it), and /boot/vmlinuz-$(uname -r) is not readable"
    KVER=${KVER:-${pkg#linux-image-}}
  else
    pkg=linux-image-$KVER
  fi
  [ -n "$pkg" ] && KROOT=$KCACHE/$KVER
  if [ -n "$pkg" ] && [ ! -r "$KROOT/boot/vmlinuz-$KVER" ]; then
    echo "make-boot-image: fetching $pkg into $KROOT" >&2
    mkdir -p "$KCACHE"
    D=$(mktemp -d "$KCACHE/download.XXXXXX")
    # apt's sandbox user cannot write a private directory: its warning about that is expected
    (cd "$D" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || true
    deb=$(find "$D" -name '*.deb' | head -n1)
    [ -n "$deb" ] || { rm -rf "$D"; die "apt-get download $pkg failed"; }
    # the package leaves modules.dep to the installer's depmod, and modinfo finds modules with it
    dpkg-deb -x "$deb" "$D/root" && depmod -b "$D/root" "$KVER" && rm -rf "$KROOT" && mv "$D/root" "$KROOT"
    rm -rf "$D"
  fi
fi
[ -r "$KROOT/boot/vmlinuz-$KVER" ] && [ -d "$KROOT/lib/modules/$KVER" ] || die "no $KROOT/boot/vmlinuz-$KVER and $KROOT/lib/modules/$KVER"
mkdir -p "$OUT"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
# Every busybox applet as a symlink in /bin, made here so the guests need no `busybox --install`.
bb_tree() {
  mkdir -p "$1/bin" "$1/sbin" "$1/dev" "$1/proc" "$1/sys" "$1/tmp"
  cp $BB "$1/bin/busybox"
  for a in $($BB --list); do [ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"; done
}

# --- initramfs: busybox + the virtio/ext4 modules in dependency order ---------------------------
I=$W/initrd; bb_tree "$I"; mkdir -p "$I/newroot" "$I/lib/modules"
declare -A seen=()
add_mod() {   # depth-first over `modinfo -F depends`, so each module follows its dependencies
  local m=$1 f d
  [ -z "${seen[$m]:-}" ] || return 0; seen[$m]=1
  f=$(modinfo -b "${KROOT:-/}" -k "$KVER" -F filename "$m") || die "no module $m for $KVER"
  [ "$f" != "(builtin)" ] || return 0
  for d in $(modinfo -b "${KROOT:-/}" -k "$KVER" -F depends "$m" | tr , ' '); do add_mod "$d"; done
  # Decompress here so busybox insmod (init_module, no zstd in 1.35) gets a plain ELF .ko.
  case $f in
    *.ko)     cp "$f" "$I/lib/modules/$m.ko" ;;
    *.ko.xz)  need xz xz-utils; xz -dc "$f" > "$I/lib/modules/$m.ko" ;;
    *.ko.zst) need zstd zstd; zstd -qdc "$f" > "$I/lib/modules/$m.ko" ;;
    *.ko.gz)  gzip -dc "$f" > "$I/lib/modules/$m.ko" ;;
    *) die "unknown module file $f" ;;
  esac
  echo "$m" >> "$I/lib/modules/load-order"
}
: > "$I/lib/modules/load-order"
for m in $MODULES; do add_mod "$m"; done

cat > "$I/init" <<'EOF'
#!/bin/sh
# initramfs PID 1: load modules, mount the root disk read-write, switch_root to its /sbin/init.
export PATH=/bin; set -f   # no globbing of words split from /proc/cmdline
fail() { echo "sprig: FAILED in initramfs: $*"; sync; poweroff -f; }
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1   # stdio on devtmpfs' console, which moves with /dev
mount -t proc proc /proc; mount -t sysfs sys /sys
for m in $(cat /lib/modules/load-order); do insmod /lib/modules/$m.ko || echo "initrd: insmod $m failed"; done
root=/dev/vda; opts=rw
for a in $(cat /proc/cmdline); do
  case $a in root=*) root=${a#root=} ;; ro) opts=ro ;; rw) opts=rw ;; esac
done
i=0; while [ ! -b "$root" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done  # udev-less wait
mount -t ext4 -o "$opts" "$root" /newroot || fail "cannot mount $root"
[ -x /newroot/sbin/init ] || fail "no /sbin/init on $root"
mount --move /dev /newroot/dev; umount /proc /sys
exec switch_root /newroot /sbin/init
EOF
chmod 755 "$I/init"
# newc, owner root, sorted, fixed mtimes and inode numbers (--reproducible).
find "$I" -exec touch -h -d "@$EPOCH" {} +
(cd "$I" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) > "$W/initrd.cpio"
gzip -9n < "$W/initrd.cpio" > "$OUT/initrd.img"

# --- root disk: busybox + /sbin/init + a known file, as ext4 via mkfs.ext4 -d ----------------------
R=$W/root; bb_tree "$R"; mkdir -p "$R/etc" "$R/markers"
# Deterministic test content (~4.5 KiB); its sha256 is kept in OUTDIR and on the disk.
for i in $(seq 1 64); do printf 'sprig-image line %04d: 0123456789abcdefghijklmnopqrstuvwxyz\n' "$i"; done > "$R/etc/sprig-image"
(cd "$R" && sha256sum etc/sprig-image | sed 's| etc/| /etc/|') > "$R/etc/sprig-image.sha256"
cp "$R/etc/sprig-image.sha256" "$OUT/sprig-image.sha256"
cat > "$R/sbin/init" <<'EOF'
#!/bin/busybox sh
# On-disk PID 1: mark that this VM booted, prove the image content, power off (no services).
export PATH=/bin; set -f
mount -t proc proc /proc; mount -t sysfs sys /sys
[ -c /dev/console ] || mount -t devtmpfs dev /dev     # booted without our initramfs
name=unknown
for a in $(cat /proc/cmdline); do case $a in sprig.vm=*) name=${a#sprig.vm=} ;; esac; done
name=$(echo "$name" | tr -c 'A-Za-z0-9._\n-' _)     # it becomes a file name
case $name in .|..) name=_$name ;; esac
mount -o remount,rw / 2>/dev/null
echo "$name" > "/markers/$name" && echo "$name" > /marker || echo "sprig: FAILED writing marker"
sum=$(sha256sum /etc/sprig-image | cut -d' ' -f1)
ok=MISMATCH; [ "$sum" = "$(cut -d' ' -f1 /etc/sprig-image.sha256)" ] && ok=OK
echo "sprig: sha256 $sum /etc/sprig-image $ok"
echo "sprig: booted $name"
# Flush and make the fs clean (journal checkpointed) so the host can debugfs/e2fsck it unmounted.
sync; mount -o remount,ro / 2>/dev/null; sync
poweroff -f
EOF
chmod 755 "$R/sbin/init"
rm -f "$OUT/base.raw"
truncate -s "$SIZE" "$OUT/base.raw"
# -b 4096: mke2fs would pick 1 KiB blocks ("small" type) below 512 MiB. -d copies the tree in,
# so no loop mount and no root needed; root_owner makes / root-owned even when run as a user.
mkfs.ext4 -q -F -b 4096 -L sprig-root -E root_owner=0:0 -d "$R" "$OUT/base.raw"

cp "$KROOT/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
echo "$KVER" > "$OUT/kernel-version"
echo "built in $OUT: vmlinuz ($KVER), initrd.img (modules: $(tr '\n' ' ' < "$I/lib/modules/load-order")), base.raw ($SIZE)"
