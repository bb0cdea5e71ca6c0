#!/bin/sh
# RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS become the first user (with full permissions on /) on the first boot,
# as in the official image; RabbitMQ's own defaults do the rest (listeners on every interface, guest loopback-only).
set -e
{
  [ -z "$RABBITMQ_DEFAULT_USER" ] || echo "default_user = $RABBITMQ_DEFAULT_USER"
  [ -z "$RABBITMQ_DEFAULT_PASS" ] || echo "default_pass = $RABBITMQ_DEFAULT_PASS"
} >/etc/rabbitmq/conf.d/10-defaults.conf
exec "$@"
