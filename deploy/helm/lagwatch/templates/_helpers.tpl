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
{{- if include "lagwatch.saslUser" . }}
{{- $args = append $args (printf "--sasl.username=%s" (required "set sasl.username" $v.sasl.username)) }}
{{- end }}
{{- if include "lagwatch.saslPassword" . }}
{{- $_ := required "set sasl.passwordSecret.name: an existing Secret holding the SASL password" $v.sasl.passwordSecret.name }}
{{- $args = append $args "--sasl.password-file=/etc/lagwatch/sasl/password" }}
{{- end }}
{{- if eq $v.sasl.mechanism "oauthbearer" }}
{{- with $v.sasl.oauthbearer }}
{{- if .tokenFile }}
{{- $args = append $args (printf "--sasl.oauthbearer-token-file=%s" .tokenFile) }}
{{- else }}
{{- $args = append $args (printf "--sasl.oauthbearer-token-url=%s" (required "set sasl.oauthbearer.tokenUrl (or tokenFile)" .tokenUrl)) }}
{{- range .scopes }}{{ $args = append $args (printf "--sasl.oauthbearer-scope=%s" .) }}{{ end }}
{{- range $name, $value := .extraParams }}{{ $args = append $args (printf "--sasl.oauthbearer-extra-param=%s=%s" $name $value) }}{{ end }}
{{- if .caSecret.name }}{{ $args = append $args "--sasl.oauthbearer-ca-file=/etc/lagwatch/oauthbearer/ca.crt" }}{{ end }}
{{- end }}
{{- end }}
{{- end }}
{{- if eq $v.sasl.mechanism "gssapi" }}
{{- with $v.sasl.gssapi }}
{{- with .serviceName }}{{ $args = append $args (printf "--sasl.service-name=%s" .) }}{{ end }}
{{- with .realm }}{{ $args = append $args (printf "--sasl.realm=%s" .) }}{{ end }}
{{- if .krb5ConfigMap.name }}{{ $args = append $args "--sasl.kerberos-config-path=/etc/lagwatch/krb5/krb5.conf" }}{{ end }}
{{- if .keytabSecret.name }}
{{- $args = append $args "--sasl.kerberos-auth-type=keytabAuth" }}
{{- $args = append $args "--sasl.keytab-path=/etc/lagwatch/keytab/keytab" }}
{{- end }}
{{- if .disablePAFXFast }}{{ $args = append $args "--sasl.disable-PA-FX-FAST" }}{{ end }}
{{- end }}
{{- end }}
{{- if eq $v.sasl.mechanism "awsiam" }}
{{- with $v.sasl.awsiam.region }}{{ $args = append $args (printf "--sasl.aws-region=%s" .) }}{{ end }}
{{- with $v.sasl.awsiam.roleArn }}{{ $args = append $args (printf "--sasl.aws-role-arn=%s" .) }}{{ end }}
{{- end }}
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


{{/*
Whether the SASL mechanism of flags mode takes --sasl.username: all but
awsiam (AWS credentials) and oauthbearer with a token file.
*/}}
{{- define "lagwatch.saslUser" -}}
{{- $s := .Values.sasl -}}
{{- if not (or (eq $s.mechanism "awsiam") (and (eq $s.mechanism "oauthbearer") $s.oauthbearer.tokenFile)) }}true{{ end -}}
{{- end }}

{{/*
Whether it takes a password (the OAuth client secret for oauthbearer): all
that take a user name but gssapi with a keytab.
*/}}
{{- define "lagwatch.saslPassword" -}}
{{- $s := .Values.sasl -}}
{{- if and (include "lagwatch.saslUser" .) (not (and (eq $s.mechanism "gssapi") $s.gssapi.keytabSecret.name)) }}true{{ end -}}
{{- end }}

{{/*
The files of the SASL mechanisms of flags mode, each from an existing Secret
or ConfigMap: the token endpoint's CA (oauthbearer), krb5.conf and the
keytab (gssapi). A YAML map {mounts: [...]}, for fromYaml.
*/}}
{{- define "lagwatch.saslMounts" -}}
{{- $s := .Values.sasl -}}
{{- $m := list -}}
{{- if and $s.enabled (not (include "lagwatch.configMode" .)) -}}
{{- if and (eq $s.mechanism "oauthbearer") $s.oauthbearer.caSecret.name -}}
{{- $m = append $m (dict "name" "oauthbearer-ca" "path" "/etc/lagwatch/oauthbearer" "kind" "secret" "source" $s.oauthbearer.caSecret.name "key" $s.oauthbearer.caSecret.key "file" "ca.crt") -}}
{{- end -}}
{{- if eq $s.mechanism "gssapi" -}}
{{- if $s.gssapi.krb5ConfigMap.name -}}
{{- $m = append $m (dict "name" "krb5-conf" "path" "/etc/lagwatch/krb5" "kind" "configMap" "source" $s.gssapi.krb5ConfigMap.name "key" $s.gssapi.krb5ConfigMap.key "file" "krb5.conf") -}}
{{- end -}}
{{- if $s.gssapi.keytabSecret.name -}}
{{- $m = append $m (dict "name" "keytab" "path" "/etc/lagwatch/keytab" "kind" "secret" "source" $s.gssapi.keytabSecret.name "key" $s.gssapi.keytabSecret.key "file" "keytab") -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "mounts" $m) -}}
{{- end }}
