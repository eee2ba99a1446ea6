#!/usr/bin/env bash
# Installs the tools the ops tests drive (issue 14), when missing; idempotent and cached:
# - apt: podman, buildah, runc, debootstrap (the container image test), prometheus (server and
#   promtool: the rule tests and the real-Prometheus alert test);
# - helm, built from the Go module proxy once into ~/.cache/rapport/tools/helm-<version>;
# - the Compose Specification's JSON schema, from the docker-compose wheel on PyPI;
# - the container base image, from Debian packages (deploy/container/base-image.sh).
# hadolint, kubernetes-validate, yamllint and podman-compose come with the dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.16.4
CACHE=${RAPPORT_CACHE:-$HOME/.cache/rapport}
TOOLS=$CACHE/tools
PIP=${PIP:-.venv/bin/pip}

missing=()
for tool in podman buildah runc debootstrap prometheus promtool; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  packages=(podman buildah runc debootstrap uidmap fuse-overlayfs slirp4netns prometheus)
  echo "installing system packages for the ops tests: ${packages[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null
fi

helm_dir=$TOOLS/helm-$HELM_VERSION
if [ ! -x "$helm_dir/helm" ]; then
  go=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$go" ] || { echo "Go is needed once to build helm $HELM_VERSION" >&2; exit 1; }
  echo "building helm $HELM_VERSION (once, ~3 min)"
  mkdir -p "$helm_dir" "$CACHE/go"
  GOBIN=$helm_dir GOPATH=$CACHE/go GOFLAGS=-modcacherw "$go" install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi

if ! compgen -G "$TOOLS/compose-spec/docker_compose-*.whl" >/dev/null; then
  "$PIP" download --quiet --no-deps --dest "$TOOLS/compose-spec" docker-compose==1.29.2
fi

bash deploy/container/base-image.sh
