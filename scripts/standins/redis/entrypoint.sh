#!/bin/sh
# As the official image: `redis-server [args]` without a configuration file listens on every interface, protected
# mode off; anything else is run as given.
set -e
if [ "$1" = redis-server ] && [ "${2:-}" != --version ] && [ "${2:-}" != -v ]; then
  shift
  exec redis-server --bind '* -::*' --protected-mode no "$@"
fi
exec "$@"
