#!/usr/bin/env bash
# Installs the system packages kvmbench needs on a Debian/Ubuntu machine that has
# only Node.js and git, and skips whatever is already there.
#   bash scripts/setup-host.sh           run-time needs: QEMU, a C toolchain for the guests, busybox, fio, iperf3
#   bash scripts/setup-host.sh --tests   also what the test suite needs (Chromium for the HTML test)
set -euo pipefail

want=()
need() { # need COMMAND-OR-PATH PACKAGE
  if [[ $1 == /* ]]; then [[ -e $1 ]] || want+=("$2"); else command -v "$1" >/dev/null 2>&1 || want+=("$2"); fi
}
need qemu-system-x86_64 qemu-system-x86
need gcc gcc
need ld binutils
need /bin/busybox busybox-static
need /usr/share/qemu/qboot.rom qemu-system-data
need /usr/share/seabios/bios-256k.bin seabios
need cpio cpio
need dpkg-deb dpkg
need fio fio              # guest I/O jobs and their host baseline
need xz xz-utils          # compressed kernel modules in the Linux guest image
need iperf3 iperf3        # net suite: the host side of every job, and the guest image's copy
need ip iproute2          # net suite: kvmbench's network namespaces, tap and veth pair
if [[ ${1:-} == --tests ]]; then
  need chromium chromium
fi
# Deduplicate while keeping order.
mapfile -t want < <(printf '%s\n' "${want[@]}" | awk 'NF && !seen[$0]++')

if ((${#want[@]} == 0)); then
  echo "setup-host: all system packages present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "setup-host: need root to install: ${want[*]} (run as root or install them yourself)" >&2; exit 3; fi
else SUDO=; fi
echo "setup-host: installing ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${want[@]}"
