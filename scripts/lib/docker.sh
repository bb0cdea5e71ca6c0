# shellcheck shell=bash
# Sourced: WARREN_DOCKER, the docker CLI the project's scripts and tests use. Debian's docker.io client when it is
# installed (it builds with the BuildKit of its own engine; a newer client without the buildx plugin cannot), else
# the docker on PATH. DOCKER=<path> chooses another.
if [[ -n ${DOCKER:-} ]]; then
  WARREN_DOCKER=$DOCKER
elif [[ -x /usr/bin/docker ]]; then
  WARREN_DOCKER=/usr/bin/docker
else
  WARREN_DOCKER=docker
fi
export WARREN_DOCKER DOCKER_BUILDKIT=1
