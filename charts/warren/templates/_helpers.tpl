{{/* vim: set filetype=mustache: */}}

{{/* The application services, in one place. Each is a top-level values entry of the same shape (values.yaml):
     every template ranges over them and takes what differs (ports, env, connections, scaling) from the entry. */}}
{{- define "warren.services" -}}
gateway users orders
{{- end }}

{{/* The number of a service's container port: (dict "root" $ "component" "users"). The entry's
     containerPort.valueKey names the key holding it (`port` of the gateway, `opsPort` of a worker). */}}
{{- define "warren.port" -}}
{{- $svc := index .root.Values .component }}
{{- index $svc $svc.containerPort.valueKey }}
{{- end }}

{{/* "true" when KEDA scales the service (keda.enabled and the service has a keda entry), else empty. */}}
{{- define "warren.scaledByKeda" -}}
{{- $svc := index .root.Values .component }}
{{- if and .root.Values.keda.enabled $svc.keda }}true{{ end }}
{{- end }}

{{/* The services connecting to a backing service: (dict "root" $ "service" "postgresql") → space-separated. */}}
{{- define "warren.clientsOf" -}}
{{- $clients := list }}
{{- range $component := splitList " " (include "warren.services" .root) }}
{{- if has $.service (index $.root.Values $component).connectsTo }}
{{- $clients = append $clients $component }}
{{- end }}
{{- end }}
{{- join " " $clients }}
{{- end }}

{{/* The services with a migration Job (a `migrations` entry), space-separated. */}}
{{- define "warren.migratedServices" -}}
{{- $migrated := list }}
{{- range $component := splitList " " (include "warren.services" .) }}
{{- if (index $.Values $component).migrations }}
{{- $migrated = append $migrated $component }}
{{- end }}
{{- end }}
{{- join " " $migrated }}
{{- end }}

{{- define "warren.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-warren, or the release name alone when it already contains the chart name. */}}
{{- define "warren.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "warren.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of a component's objects: (dict "root" $ "component" "gateway"). */}}
{{- define "warren.componentName" -}}
{{- printf "%s-%s" (include "warren.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object: (dict "root" $ "component" "gateway"). */}}
{{- define "warren.labels" -}}
helm.sh/chart: {{ include "warren.chart" .root }}
{{ include "warren.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: warren
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "warren.selectorLabels" -}}
app.kubernetes.io/name: {{ include "warren.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Standard metadata (name, namespace, labels): (dict "root" $ "component" "gateway" ["name" "..."]). */}}
{{- define "warren.metadata" -}}
name: {{ .name | default (include "warren.componentName" .) }}
namespace: {{ .root.Release.Namespace }}
labels:
  {{- include "warren.labels" . | nindent 2 }}
{{- end }}

{{- define "warren.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "warren.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Image of an application service: (dict "root" $ "component" "users"). */}}
{{- define "warren.image" -}}
{{- $svc := index .root.Values .component }}
{{- $repository := $svc.image.repository | default (printf "%s/%s/warren-%s" .root.Values.image.registry .root.Values.image.owner .component) }}
{{- $tag := $svc.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- if $svc.image.digest }}
{{- printf "%s:%s@%s" $repository $tag $svc.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}
{{- end }}

{{/* ------------------------------------------------------------------------------------------------------------
     Credentials: which Secret and key holds each password.
     ------------------------------------------------------------------------------------------------------------ */}}
{{- define "warren.credentialsSecretName" -}}
{{- printf "%s-credentials" (include "warren.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "warren.rabbitmq.secretName" -}}
{{- .Values.rabbitmq.auth.existingSecret | default (include "warren.credentialsSecretName" .) }}
{{- end }}

{{- define "warren.postgresql.secretName" -}}
{{- .Values.postgresql.auth.existingSecret | default (include "warren.credentialsSecretName" .) }}
{{- end }}

{{- define "warren.redis.secretName" -}}
{{- .Values.redis.auth.existingSecret | default (include "warren.credentialsSecretName" .) }}
{{- end }}

{{/* The broker user a service connects as, and the key of its password in the RabbitMQ Secret:
     (dict "root" $ "component" "users"). With rabbitmq.auth.perServiceUsers, <username>-<service>; else the one
     user of rabbitmq.auth. */}}
{{- define "warren.rabbitmq.username" -}}
{{- $auth := .root.Values.rabbitmq.auth }}
{{- if $auth.perServiceUsers }}{{ printf "%s-%s" $auth.username .component }}{{ else }}{{ $auth.username }}{{ end }}
{{- end }}

{{- define "warren.rabbitmq.passwordKey" -}}
{{- $auth := .root.Values.rabbitmq.auth }}
{{- if $auth.perServiceUsers }}{{ printf "%s%s" $auth.servicePasswordKeyPrefix .component }}{{ else }}{{ $auth.passwordKey }}{{ end }}
{{- end }}

{{/* What the in-chart RabbitMQ's definitions hold (files/rabbitmq/definitions.mjs turns it into them), as JSON: its
     vhost, the administrator (all permissions), with rabbitmq.auth.perServiceUsers each service's user with its
     <service>.brokerPermissions (each password in the variable passwordVariable names, the init container's env),
     and the route queue policy: routeQueuePolicy() of packages/rpc/src/queue-policy.ts, which test/deploy holds
     this to. */}}
{{- define "warren.rabbitmq.definitionsSpec" -}}
{{- $auth := .Values.rabbitmq.auth }}
{{- $all := dict "configure" ".*" "write" ".*" "read" ".*" }}
{{- $users := list (dict "name" $auth.username "passwordVariable" "RABBITMQ_ADMIN_PASSWORD" "tags" (list "administrator") "permissions" $all) }}
{{- if $auth.perServiceUsers }}
{{- range $component := splitList " " (include "warren.clientsOf" (dict "root" $ "service" "rabbitmq")) }}
{{- $ctx := dict "root" $ "component" $component }}
{{- $users = append $users (dict "name" (include "warren.rabbitmq.username" $ctx) "passwordVariable" (include "warren.rabbitmq.passwordVariable" $ctx) "permissions" (index $.Values $component).brokerPermissions) }}
{{- end }}
{{- end }}
{{- $policy := dict "name" "warren-route-queues" "pattern" "^(?!amq\\.)(?!.*\\.dead-letter$)" "apply-to" "queues" "priority" 0 "definition" (dict "delivery-limit" (int .Values.rabbitmq.queuePolicy.deliveryLimit) "dead-letter-exchange" "warren.dead-letter") }}
{{- dict "vhost" .Values.rabbitmq.vhost "users" $users "policies" (list $policy) | toJson }}
{{- end }}

{{/* The init container's variable holding a service user's password: (dict "root" $ "component" "users"). */}}
{{- define "warren.rabbitmq.passwordVariable" -}}
{{- printf "RABBITMQ_%s_PASSWORD" (upper .component) }}
{{- end }}

{{/* "true" when the chart's own credentials Secret has anything to hold. */}}
{{- define "warren.credentialsSecretNeeded" -}}
{{- if or (not .Values.rabbitmq.auth.existingSecret) (not .Values.postgresql.auth.existingSecret) (and .Values.redis.auth.enabled (not .Values.redis.auth.existingSecret)) }}true{{ end }}
{{- end }}

{{/* ------------------------------------------------------------------------------------------------------------
     Connection endpoints: in-chart service or external host.
     ------------------------------------------------------------------------------------------------------------ */}}
{{- define "warren.rabbitmq.host" -}}
{{- if .Values.rabbitmq.enabled }}
{{- include "warren.componentName" (dict "root" . "component" "rabbitmq") }}
{{- else }}
{{- required "rabbitmq.external.host is required when rabbitmq.enabled=false" .Values.rabbitmq.external.host }}
{{- end }}
{{- end }}

{{- define "warren.rabbitmq.port" -}}
{{- if .Values.rabbitmq.enabled }}5672{{ else }}{{ .Values.rabbitmq.external.port }}{{ end }}
{{- end }}

{{- define "warren.rabbitmq.scheme" -}}
{{- if and (not .Values.rabbitmq.enabled) .Values.rabbitmq.external.tls }}amqps{{ else }}amqp{{ end }}
{{- end }}

{{/* "" for the default vhost "/", else "/<vhost, percent-encoded>". */}}
{{- define "warren.rabbitmq.vhostPath" -}}
{{- if ne .Values.rabbitmq.vhost "/" }}/{{ .Values.rabbitmq.vhost | urlquery }}{{ end }}
{{- end }}

{{- define "warren.postgresql.host" -}}
{{- if .Values.postgresql.enabled }}
{{- include "warren.componentName" (dict "root" . "component" "postgresql") }}
{{- else }}
{{- required "postgresql.external.host is required when postgresql.enabled=false" .Values.postgresql.external.host }}
{{- end }}
{{- end }}

{{- define "warren.postgresql.port" -}}
{{- if .Values.postgresql.enabled }}5432{{ else }}{{ .Values.postgresql.external.port }}{{ end }}
{{- end }}

{{- define "warren.redis.host" -}}
{{- if .Values.redis.enabled }}
{{- include "warren.componentName" (dict "root" . "component" "redis") }}
{{- else }}
{{- required "redis.external.host is required when redis.enabled=false" .Values.redis.external.host }}
{{- end }}
{{- end }}

{{- define "warren.redis.port" -}}
{{- if .Values.redis.enabled }}6379{{ else }}{{ .Values.redis.external.port }}{{ end }}
{{- end }}

{{/* ------------------------------------------------------------------------------------------------------------
     Environment variables carrying credentials: each password from its Secret (secretKeyRef), then the URL built
     from it with $(VAR) expansion. Nothing secret is written into a ConfigMap or the pod spec. One helper per
     backing service, warren.env.<service>, included for each entry of a service's connectsTo:
     (dict "root" $ "component" "users").
     ------------------------------------------------------------------------------------------------------------ */}}
{{- define "warren.env.rabbitmq" -}}
{{- with .root }}
- name: AMQP_USERNAME
  value: {{ include "warren.rabbitmq.username" $ | quote }}
- name: AMQP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "warren.rabbitmq.secretName" . }}
      key: {{ include "warren.rabbitmq.passwordKey" $ }}
- name: AMQP_URL
  value: {{ printf "%s://$(AMQP_USERNAME):$(AMQP_PASSWORD)@%s:%s%s" (include "warren.rabbitmq.scheme" .) (include "warren.rabbitmq.host" .) (include "warren.rabbitmq.port" .) (include "warren.rabbitmq.vhostPath" .) | quote }}
{{- end }}
{{- end }}

{{/* DATABASE_URL of one worker: its database is postgresql.databases.<component>, its password under
     postgresql.auth.<component>PasswordKey. */}}
{{- define "warren.env.postgresql" -}}
{{- $db := index .root.Values.postgresql.databases .component }}
{{- $key := index .root.Values.postgresql.auth (printf "%sPasswordKey" .component) }}
{{- $params := "" }}
{{- if and (not .root.Values.postgresql.enabled) .root.Values.postgresql.external.params }}
{{- $params = printf "?%s" .root.Values.postgresql.external.params }}
{{- end }}
- name: DB_HOST
  value: {{ include "warren.postgresql.host" .root | quote }}
- name: DB_PORT
  value: {{ include "warren.postgresql.port" .root | quote }}
- name: DB_USER
  value: {{ $db.username | quote }}
- name: DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "warren.postgresql.secretName" .root }}
      key: {{ $key }}
- name: DATABASE_URL
  value: {{ printf "postgres://$(DB_USER):$(DB_PASSWORD)@$(DB_HOST):$(DB_PORT)/%s%s" $db.name $params | quote }}
{{- end }}

{{- define "warren.env.redis" -}}
{{- with .root }}
{{- $scheme := ternary "rediss" "redis" (and (not .Values.redis.enabled) .Values.redis.external.tls) }}
{{- $hostPort := printf "%s:%s/%v" (include "warren.redis.host" .) (include "warren.redis.port" .) .Values.redis.database }}
{{- if .Values.redis.auth.enabled }}
- name: REDIS_USERNAME
  value: {{ .Values.redis.auth.username | quote }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "warren.redis.secretName" . }}
      key: {{ .Values.redis.auth.passwordKey }}
- name: REDIS_URL
  value: {{ printf "%s://$(REDIS_USERNAME):$(REDIS_PASSWORD)@%s" $scheme $hostPort | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ printf "%s://%s" $scheme $hostPort | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Downward API and OTEL resource attributes: (dict "root" $ "component" "gateway"). */}}
{{- define "warren.env.otel" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
{{- $attributes := list "k8s.pod.name=$(POD_NAME)" "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.node.name=$(NODE_NAME)" (printf "k8s.deployment.name=%s" (include "warren.componentName" .)) (printf "deployment.environment=%s" .root.Values.environment) (printf "service.version=%s" .root.Chart.AppVersion) }}
{{- range $key, $value := .root.Values.otel.resourceAttributes }}
{{- $attributes = append $attributes (printf "%s=%s" $key $value) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attributes | quote }}
{{- end }}

{{/* ------------------------------------------------------------------------------------------------------------
     Pod pieces shared by the application services.
     ------------------------------------------------------------------------------------------------------------ */}}
{{- define "warren.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "warren.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext }}
{{- end }}

{{/* Default topology spread: zones, then nodes, best effort. (dict "root" $ "component" "gateway"). */}}
{{- define "warren.topologySpread" -}}
{{- $svc := index .root.Values .component }}
{{- if $svc.topologySpreadConstraints }}
{{- toYaml $svc.topologySpreadConstraints }}
{{- else }}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "warren.selectorLabels" . | nindent 6 }}
  matchLabelKeys: [pod-template-hash]
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "warren.selectorLabels" . | nindent 6 }}
  matchLabelKeys: [pod-template-hash]
{{- end }}
{{- end }}

{{/* Hook annotation of the migration Jobs (see values.yaml, migrations). */}}
{{- define "warren.migrations.hooks" -}}
{{- if .Values.migrations.hooks }}
{{- .Values.migrations.hooks }}
{{- else if and (not .Values.postgresql.enabled) .Values.postgresql.auth.existingSecret }}
{{- "pre-install,pre-upgrade" }}
{{- else }}
{{- "post-install,pre-upgrade" }}
{{- end }}
{{- end }}

{{/* Fails the render with a message when a pod could be killed before its drain ends. */}}
{{- define "warren.checkGracePeriod" -}}
{{- $svc := index .root.Values .component }}
{{- $needed := add $svc.preStopSleepSeconds (div .root.Values.shutdownTimeoutMs 1000) }}
{{- if le (int $svc.terminationGracePeriodSeconds) (int $needed) }}
{{- fail (printf "%s.terminationGracePeriodSeconds (%v) must exceed %s.preStopSleepSeconds + shutdownTimeoutMs/1000 (%v)" .component $svc.terminationGracePeriodSeconds .component $needed) }}
{{- end }}
{{- end }}

{{/* Fails the render when a worker would forget an Idempotency-Key (prune it from processed_commands) while the
     gateway still replays its response: a retry after that would be a new command. */}}
{{- define "warren.checkReplayWindow" -}}
{{- $svc := index .root.Values .component }}
{{- if hasKey $svc.config "commandReplayWindowSeconds" }}
{{- $gatewayTtl := .root.Values.gateway.config.idempotencyTtlSeconds }}
{{- if lt (int $svc.config.commandReplayWindowSeconds) (int $gatewayTtl) }}
{{- fail (printf "%s.config.commandReplayWindowSeconds (%v) must be at least gateway.config.idempotencyTtlSeconds (%v)" .component $svc.config.commandReplayWindowSeconds $gatewayTtl) }}
{{- end }}
{{- end }}
{{- end }}

{{/* Fails the render unless the gateway's authentication is a choice written down: an issuer, or authDisabled. */}}
{{- define "warren.checkAuthentication" -}}
{{- if eq .component "gateway" }}
{{- $config := .root.Values.gateway.config }}
{{- if and (not $config.authIssuer) (not $config.authDisabled) }}
{{- fail "gateway.config.authIssuer is required (the OpenID issuer of the API's bearer tokens); or set gateway.config.authDisabled=true to run the API without authentication" }}
{{- end }}
{{- if and $config.authIssuer $config.authDisabled }}
{{- fail "gateway.config.authDisabled is true, yet gateway.config.authIssuer is set: choose one" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A value from the live Secret (lookup), else the given value, else a new random one. Keeps generated passwords
     across upgrades. (dict "secret" $existingData "key" "..." "value" "..." ["required" "message"]) → base64.
     With "required" (an external server: a random password would open nothing) the value must be given. */}}
{{- define "warren.secretValue" -}}
{{- if .required }}
{{- required .required .value | b64enc }}
{{- else if .value }}
{{- .value | b64enc }}
{{- else if and .secret (hasKey .secret .key) }}
{{- index .secret .key }}
{{- else }}
{{- randAlphaNum 32 | b64enc }}
{{- end }}
{{- end }}

{{/* The data of a service's ConfigMap (also hashed into checksum/config): (dict "root" $ "component" "users").
     The shared settings, the container port's variable, then each <component>.config key as its variable
     (camelCase → UPPER_SNAKE_CASE: rpcTimeoutMs is RPC_TIMEOUT_MS), then OpenTelemetry's. */}}
{{- define "warren.configData" -}}
{{- $svc := index .root.Values .component -}}
LOG_LEVEL: {{ .root.Values.logLevel | quote }}
LOG_PRETTY: {{ .root.Values.logPretty | quote }}
HOST: {{ .root.Values.host | quote }}
SHUTDOWN_TIMEOUT_MS: {{ .root.Values.shutdownTimeoutMs | quote }}
{{ $svc.containerPort.env }}: {{ include "warren.port" . | quote }}
{{- range $key, $value := $svc.config }}
{{- if and (eq $key "trustProxy") (eq (toString $value) "") }}
{{- /* Express `trust proxy`, unset: one hop (the ingress controller) behind the chart's Ingress. */}}
{{- $value = ternary "1" "false" $.root.Values.ingress.enabled }}
{{- end }}
{{ snakecase $key | upper }}: {{ $value | quote }}
{{- end }}
OTEL_SERVICE_NAME: {{ .component | quote }}
{{- if .root.Values.otel.enabled }}
OTEL_SDK_DISABLED: "false"
OTEL_TRACES_EXPORTER: {{ .root.Values.otel.exporter | quote }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ .root.Values.otel.endpoint | quote }}
OTEL_EXPORTER_OTLP_PROTOCOL: {{ .root.Values.otel.protocol | quote }}
OTEL_TRACES_SAMPLER: {{ .root.Values.otel.tracesSampler | quote }}
OTEL_TRACES_SAMPLER_ARG: {{ .root.Values.otel.tracesSamplerArg | quote }}
{{- range $name, $value := .root.Values.otel.settings }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- else }}
OTEL_SDK_DISABLED: "true"
{{- end }}
{{- end }}

{{/* ------------------------------------------------------------------------------------------------------------
     NetworkPolicy pieces (networkpolicy.yaml).
     ------------------------------------------------------------------------------------------------------------ */}}
{{- define "warren.np.peer" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ include "warren.name" .root }}
      app.kubernetes.io/instance: {{ .root.Release.Name }}
      app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- define "warren.np.dns" -}}
- to:
    {{- toYaml .Values.networkPolicy.dnsTo | nindent 4 }}
  ports:
    - { port: 53, protocol: UDP }
    - { port: 53, protocol: TCP }
{{- end }}
{{- define "warren.np.otel" -}}
{{- if .Values.otel.enabled }}
- ports:
    {{- range .Values.networkPolicy.otelPorts }}
    - { port: {{ . }}, protocol: TCP }
    {{- end }}
  {{- with .Values.networkPolicy.otelTo }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
{{- /* Egress to a backing service: (dict "root" $ "service" "rabbitmq" "port" 5672) */}}
{{- define "warren.np.backing" -}}
{{- $values := index .root.Values .service }}
- ports:
    - { port: {{ .port }}, protocol: TCP }
  {{- if $values.enabled }}
  to:
    {{- include "warren.np.peer" (dict "root" .root "component" .service) | nindent 4 }}
  {{- else }}
  {{- with index .root.Values.networkPolicy.externalTo .service }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
{{- end }}
