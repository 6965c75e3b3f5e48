{{/* The chart's name, or nameOverride. */}}
{{- define "lagwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object: the release name, prefixed with the chart's name
unless the release name already holds it (`helm install lagwatch` gives
"lagwatch", not "lagwatch-lagwatch").
*/}}
{{- define "lagwatch.fullname" -}}
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

{{- define "lagwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lagwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "lagwatch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "lagwatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* True (non-empty) when the clusters come from the config file. */}}
{{- define "lagwatch.configMode" -}}
{{- if .Values.config }}{{ if .Values.config.clusters }}true{{ end }}{{ end }}
{{- end }}

{{/*
lagwatch's flags as a YAML list: where to find Kafka, how to reach it, what
to export, sharding, then extraArgs. Built as a list and written by toYaml
so that any value (a regular expression, say) is quoted as YAML needs.
*/}}
{{- define "lagwatch.args" -}}
{{- $v := .Values }}
{{- $args := list (printf "--web.listen-address=:%v" $v.service.port) }}
{{- if $v.web.configSecret }}
{{- $args = append $args "--web.config.file=/etc/lagwatch/web/web.yml" }}
{{- $args = append $args (printf "--web.probe-address=:%v" $v.web.probePort) }}
{{- end }}
{{- if include "lagwatch.configMode" . }}
{{- $args = append $args "--config.file=/etc/lagwatch/config/config.yaml" }}
{{- else }}
{{- if not $v.kafka.servers }}
{{- fail "set kafka.servers (bootstrap brokers, host:port) or config.clusters" }}
{{- end }}
{{- range $v.kafka.servers }}
{{- $args = append $args (printf "--kafka.server=%s" .) }}
{{- end }}
{{- with $v.kafka.labels }}
{{- $pairs := list }}
{{- range $name, $value := . }}{{ $pairs = append $pairs (printf "%s=%v" $name $value) }}{{ end }}
{{- $args = append $args (printf "--kafka.labels=%s" (join "," $pairs)) }}
{{- end }}
{{- if $v.tls.enabled }}
{{- $args = append $args "--tls.enabled" }}
{{- if $v.tls.secretName }}
{{- with $v.tls.caKey }}{{ $args = append $args (printf "--tls.ca-file=/etc/lagwatch/tls/%s" .) }}{{ end }}
{{- with $v.tls.certKey }}{{ $args = append $args (printf "--tls.cert-file=/etc/lagwatch/tls/%s" .) }}{{ end }}
{{- with $v.tls.keyKey }}{{ $args = append $args (printf "--tls.key-file=/etc/lagwatch/tls/%s" .) }}{{ end }}
{{- end }}
{{- with $v.tls.serverName }}{{ $args = append $args (printf "--tls.server-name=%s" .) }}{{ end }}
{{- if $v.tls.insecureSkipVerify }}{{ $args = append $args "--tls.insecure-skip-tls-verify" }}{{ end }}
{{- end }}
{{- if $v.sasl.enabled }}
{{- $args = append $args "--sasl.enabled" }}
{{- $args = append $args (printf "--sasl.mechanism=%s" $v.sasl.mechanism) }}
{{- $args = append $args (printf "--sasl.username=%s" (required "set sasl.username" $v.sasl.username)) }}
{{- $_ := required "set sasl.passwordSecret.name: an existing Secret holding the SASL password" $v.sasl.passwordSecret.name }}
{{- $args = append $args "--sasl.password-file=/etc/lagwatch/sasl/password" }}
{{- end }}
{{- end }}
{{- with $v.kafka.pollInterval }}{{ $args = append $args (printf "--kafka.poll-interval=%s" .) }}{{ end }}
{{- with $v.log.level }}{{ $args = append $args (printf "--log.level=%s" .) }}{{ end }}
{{- with $v.log.format }}{{ $args = append $args (printf "--log.format=%s" .) }}{{ end }}
{{- with $v.lag.granularity }}{{ $args = append $args (printf "--lag.granularity=%s" .) }}{{ end }}
{{- with $v.metric.exclude }}{{ $args = append $args (printf "--metric.exclude=%s" .) }}{{ end }}
{{- if gt (int $v.shards) 1 }}{{ $args = append $args (printf "--shard.count=%d" (int $v.shards)) }}{{ end }}
{{- range $v.extraArgs }}{{ $args = append $args . }}{{ end }}
{{- toYaml $args }}
{{- end }}

{{/*
The pods' ServiceAccount: serviceAccount.name, or the release's full name
when the chart creates it, or the namespace's default.
*/}}
{{- define "lagwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "lagwatch.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}
