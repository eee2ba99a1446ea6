{{- define "rapport.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "rapport.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: rapport
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one service; call with (dict "root" $ "service" "ingest"). */}}
{{- define "rapport.selector" -}}
app.kubernetes.io/name: rapport
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "rapport.kafkaSecret" -}}
{{- .Values.kafka.security.existingSecret | default (printf "%s-kafka" (include "rapport.fullname" .)) -}}
{{- end -}}

{{- define "rapport.databaseSecret" -}}
{{- .Values.database.existingSecret | default (printf "%s-database" (include "rapport.fullname" .)) -}}
{{- end -}}

{{- define "rapport.privacySecret" -}}
{{- .Values.privacy.existingSecret | default (printf "%s-privacy" (include "rapport.fullname" .)) -}}
{{- end -}}

{{- define "rapport.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "rapport.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "rapport.usesKafkaSecret" -}}
{{- $s := .Values.kafka.security -}}
{{- if or (ne $s.protocol "PLAINTEXT") $s.existingSecret $s.saslPassword -}}true{{- end -}}
{{- end -}}
