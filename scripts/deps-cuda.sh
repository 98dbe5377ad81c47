#!/bin/sh
# Installs what the `cuda` build tag needs on Debian 12: cuda.h, nvrtc.h,
# libcuda.so and libnvrtc.so from Debian's nvidia-cuda-dev, which lives in the
# contrib and non-free components. Idempotent: components already enabled and
# packages already installed are left alone.
#
# Usage: ./scripts/deps-cuda.sh   (as root, or with sudo available)
set -eu

# libgl1 and libglx-mesa0 come with FFmpeg's libavdevice anyway; installed
# here, with nvidia-cuda-dev, Mesa's GL is registered as a glx alternative
# in time for mesa_gl below.
PKGS="nvidia-cuda-dev gcc libc6-dev libgl1 libglx-mesa0"
COMPONENTS="contrib non-free non-free-firmware"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# mesa_gl points the glx alternative back at Mesa. nvidia-cuda-dev pulls in
# libcuda1, whose glx-diversions move Mesa's libGL.so.1 aside and point the
# alternative at NVIDIA's GL libraries, which are not installed (they come
# with the host's driver): FFmpeg's libavdevice, which needs libGL.so.1,
# then fails to link. A manual choice also holds for packages installed later.
mesa_gl() {
	if update-alternatives --list glx 2>/dev/null | grep -qx /usr/lib/mesa-diverted &&
		[ "$(readlink /etc/alternatives/glx || true)" != /usr/lib/mesa-diverted ]; then
		echo "deps-cuda: glx alternative set to Mesa (/usr/lib/mesa-diverted) so that libavdevice links"
		$SUDO update-alternatives --set glx /usr/lib/mesa-diverted
	fi
}

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	mesa_gl
	exit 0
fi

# add_deb822 adds the missing components to every "Components:" line of a
# deb822 sources file (/etc/apt/sources.list.d/debian.sources).
add_deb822() {
	file=$1
	tmp=$(mktemp)
	awk -v want="$COMPONENTS" '
		/^Components:/ {
			n = split(want, w, " ")
			line = $0
			for (i = 1; i <= n; i++) {
				if ((" " line " ") !~ (" " w[i] " ")) line = line " " w[i]
			}
			print line
			next
		}
		{ print }
	' "$file" >"$tmp"
	if ! cmp -s "$tmp" "$file"; then
		echo "deps-cuda: enabling $COMPONENTS in $file"
		$SUDO cp "$tmp" "$file"
	fi
	rm -f "$tmp"
}

# add_list adds the missing components to every Debian "deb" line of a
# one-line-style sources file (/etc/apt/sources.list).
add_list() {
	file=$1
	tmp=$(mktemp)
	awk -v want="$COMPONENTS" '
		/^[[:space:]]*deb(-src)?[[:space:]]/ && /debian/ {
			n = split(want, w, " ")
			line = $0
			sub(/[[:space:]]+$/, "", line)
			for (i = 1; i <= n; i++) {
				if ((" " line " ") !~ (" " w[i] " ")) line = line " " w[i]
			}
			print line
			next
		}
		{ print }
	' "$file" >"$tmp"
	if ! cmp -s "$tmp" "$file"; then
		echo "deps-cuda: enabling $COMPONENTS in $file"
		$SUDO cp "$tmp" "$file"
	fi
	rm -f "$tmp"
}

for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && grep -q '^Components:' "$f" && grep -q 'debian' "$f" && add_deb822 "$f"
done
if [ -f /etc/apt/sources.list ]; then
	add_list /etc/apt/sources.list
fi

echo "deps-cuda: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
mesa_gl
