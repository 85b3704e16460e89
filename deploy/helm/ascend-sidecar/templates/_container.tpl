{{/*
The sidecar container, for a Deployment of its own (deployment.yaml) or beside Envoy in your
pods: a chart that depends on this one writes, under the pod's containers,
  {{ include "ascend-sidecar.container" . | nindent 8 }}
and under its volumes
  {{ include "ascend-sidecar.volumes" . | nindent 8 }}
Envoy then calls 127.0.0.1:9191 (ext_authz gRPC). envoy-example.yaml renders such a pod.
*/}}
{{- define "ascend-sidecar.container" -}}
- name: ascend-sidecar
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  workingDir: /app
  command: ["node", "dist/cli.js"]
  args: ["serve", "--config", "/etc/ascend/config.yaml"]
  env:
    {{- if .Values.maxOldSpaceSizeMb }}
    - name: NODE_OPTIONS
      value: "--max-old-space-size={{ .Values.maxOldSpaceSizeMb }}"
    {{- end }}
    {{- range .Values.secretEnv }}
    - name: {{ .name }}
      valueFrom:
        secretKeyRef: {name: {{ .secretName }}, key: {{ .key }}}
    {{- end }}
    {{- with .Values.env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - {name: grpc-authz, containerPort: {{ include "ascend-sidecar.grpcPort" . }}, protocol: TCP}
    - {name: http-ascend, containerPort: {{ include "ascend-sidecar.httpPort" . }}, protocol: TCP}
  startupProbe:
    httpGet: {path: /healthz, port: http-ascend, scheme: {{ include "ascend-sidecar.httpScheme" . }}}
    periodSeconds: 1
    failureThreshold: 30
  livenessProbe:
    httpGet: {path: /healthz, port: http-ascend, scheme: {{ include "ascend-sidecar.httpScheme" . }}}
    periodSeconds: 10
    timeoutSeconds: 2
    failureThreshold: 3
  readinessProbe:
    httpGet: {path: /readyz, port: http-ascend, scheme: {{ include "ascend-sidecar.httpScheme" . }}}
    periodSeconds: 5
    timeoutSeconds: 2
    failureThreshold: 2
  lifecycle:
    preStop:
      exec:
        command: ["node", "-e", "setTimeout(() => {}, {{ mul .Values.preStopSleepSeconds 1000 }})"]
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    - {name: ascend-config, mountPath: /etc/ascend, readOnly: true}
    - {name: tmp, mountPath: /tmp}
    {{- if .Values.tls.existingSecret }}
    - {name: ascend-tls, mountPath: /etc/ascend-tls, readOnly: true}
    {{- if .Values.tls.clientCaSecret }}
    - {name: ascend-tls-ca, mountPath: /etc/ascend-tls-ca, readOnly: true}
    {{- end }}
    {{- end }}
    {{- range $i, $f := .Values.secretFiles }}
    - {name: secret-file-{{ $i }}, mountPath: {{ $f.mountPath }}, readOnly: true}
    {{- end }}
{{- end }}

{{- define "ascend-sidecar.volumes" -}}
- name: ascend-config
  configMap: {name: {{ include "ascend-sidecar.fullname" . }}-config}
- name: tmp
  emptyDir: {sizeLimit: 64Mi}
{{- if .Values.tls.existingSecret }}
- name: ascend-tls
  secret: {secretName: {{ .Values.tls.existingSecret }}}
{{- if .Values.tls.clientCaSecret }}
- name: ascend-tls-ca
  secret: {secretName: {{ .Values.tls.clientCaSecret }}}
{{- end }}
{{- end }}
{{- range $i, $f := .Values.secretFiles }}
- name: secret-file-{{ $i }}
  secret: {secretName: {{ $f.secretName }}}
{{- end }}
{{- end }}
