{{/* Names and labels. */}}
{{- define "ascend-sidecar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ascend-sidecar.fullname" -}}
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

{{- define "ascend-sidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ascend-sidecar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ascend-sidecar.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ascend-sidecar.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "ascend-sidecar.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ascend-sidecar.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The sidecar config: .Values.config, with server.tls added when tls.existingSecret is set
(the files of the mounted Secret).
*/}}
{{- define "ascend-sidecar.config" -}}
{{- $config := deepCopy .Values.config }}
{{- if .Values.tls.existingSecret }}
{{- $tls := dict "cert_file" "/etc/ascend-tls/tls.crt" "key_file" "/etc/ascend-tls/tls.key" }}
{{- if .Values.tls.clientCaSecret }}
{{- $_ := set $tls "client_ca_file" "/etc/ascend-tls-ca/ca.crt" }}
{{- $_ := set $tls "require_client_cert" .Values.tls.requireClientCert }}
{{- end }}
{{- $server := default (dict) $config.server }}
{{- $_ := set $server "tls" $tls }}
{{- $_ := set $config "server" $server }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{- define "ascend-sidecar.grpcPort" -}}
{{- (.Values.config.server | default dict).grpc_port | default 9191 }}
{{- end }}

{{- define "ascend-sidecar.httpPort" -}}
{{- (.Values.config.server | default dict).http_port | default 8181 }}
{{- end }}

{{- define "ascend-sidecar.httpScheme" -}}
{{- if .Values.tls.existingSecret }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}
