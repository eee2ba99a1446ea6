#!/usr/bin/env bash
# Makes the image the Dockerfile starts FROM (docker.io/library/debian:bookworm-slim) out of
# Debian packages, for machines where public container registries are unreachable (our CI):
# `debootstrap --variant=minbase bookworm`, then `podman import` under the Dockerfile's name.
# The root file system is cached as a tarball under ~/.cache/rapport/images, so only the first
# run downloads anything; an image already in podman's store is left alone.
set -euo pipefail

IMAGE=${BASE_IMAGE:-docker.io/library/debian:bookworm-slim}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${RAPPORT_CACHE:-$HOME/.cache/rapport}/images
TARBALL=$CACHE/debian-bookworm-minbase.tar

if podman image exists "$IMAGE"; then
  exit 0
fi
mkdir -p "$CACHE"
if [ ! -s "$TARBALL" ]; then
  rootfs=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  echo "debootstrap bookworm (minbase) into $rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  # Smaller and closer to the official slim image: no apt lists, no docs, no man pages.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
  tar -C "$rootfs" -cf "$TARBALL.partial" .
  mv "$TARBALL.partial" "$TARBALL"
fi
podman import --change 'CMD ["bash"]' "$TARBALL" "$IMAGE" >/dev/null
echo "imported $IMAGE from $TARBALL"
