#!/bin/bash
# Installs what the kernel test tier (test/kernel/) needs to boot Debian's kernel, which has IPVS,
# under QEMU (as root, Debian 12), then prints the kernel version the tier will boot: the newest
# /boot/vmlinuz-* that has ip_vs modules under /lib/modules (test/kernel/vm.ts chooses the same).
# Idempotent: apt runs only when a package is missing.
#   qemu-system-x86  the emulator (software TCG; KVM does not work on these machines)
#   linux-image-amd64  Debian's kernel: IPVS and every scheduler it builds are modules
#   busybox-static   the initramfs's only binary (insmod, mount, chroot, poweroff)
#   ipvsadm          used inside the VM (through the chroot into the host's root)
#   xz-utils         extracts the uncompressed vmlinux from the bzImage (PVH boot, ~3 s faster)
#   kmod, util-linux modprobe --show-depends (module order), setpriv --pdeathsig (QEMU dies with us)
set -euo pipefail

packages=(qemu-system-x86 linux-image-amd64 busybox-static ipvsadm xz-utils kmod util-linux)
missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

kernel=""
for v in $(ls /boot | sed -n 's/^vmlinuz-//p' | sort -V); do
  if ls "/lib/modules/$v/kernel/net/netfilter/ipvs/" 2>/dev/null | grep -Eq '^ip_vs\.ko(\.(xz|zst|gz))?$'; then
    kernel="$v"
  fi
done
if [ -z "$kernel" ]; then
  echo "vm-deps: no /boot/vmlinuz-* with ip_vs modules under /lib/modules" >&2
  exit 1
fi
echo "$kernel"
