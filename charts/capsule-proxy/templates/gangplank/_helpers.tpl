{{/* Gangplank: OIDC kubeconfigs for the proxy's users. */}}

{{- define "gangplank.fullname" -}}
{{- printf "%s-gangplank" (include "capsule-proxy.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "gangplank.selectorLabels" -}}
{{ include "capsule-proxy.selectorLabels" . }}
app.kubernetes.io/component: "gangplank"
{{- end -}}

{{- define "gangplank.labels" -}}
helm.sh/chart: {{ include "capsule-proxy.chart" . }}
{{ include "gangplank.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "gangplank.serviceAccountName" -}}
{{- if .Values.gangplank.serviceAccount.create -}}
{{- default (include "gangplank.fullname" .) .Values.gangplank.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.gangplank.serviceAccount.name -}}
{{- end -}}
{{- end -}}
