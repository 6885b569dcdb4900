{{/* Names, labels and images shared by every template. */}}

{{/* The chart's name: `nameOverride` or `capsule-proxy`, at most 63 characters. */}}
{{- define "capsule-proxy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The objects' name: `fullnameOverride`, else the release name when it already contains the chart name,
else `<release>-<name>`; at most 63 characters. */}}
{{- define "capsule-proxy.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "capsule-proxy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels selecting this release's pods (stable across upgrades: never add to them). */}}
{{- define "capsule-proxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "capsule-proxy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "capsule-proxy.labels" -}}
helm.sh/chart: {{ include "capsule-proxy.chart" . }}
{{ include "capsule-proxy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of the proxy's objects. */}}
{{- define "capsule-proxy.proxyLabels" -}}
app.kubernetes.io/component: "proxy"
{{ include "capsule-proxy.labels" . }}
{{- end -}}

{{/* Selector of the proxy's pods. */}}
{{- define "capsule-proxy.proxySelector" -}}
app.kubernetes.io/component: "proxy"
{{ include "capsule-proxy.selectorLabels" . }}
{{- end -}}

{{- define "capsule-proxy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "capsule-proxy.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The proxy's image: `registry/repository:tag`, the tag defaulting to `v<appVersion>`. */}}
{{- define "capsule-proxy.image" -}}
{{- $tag := .Values.image.tag | default (printf "v%s" .Chart.AppVersion) -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository (toString $tag) -}}
{{- end -}}

{{/* Secret holding the serving certificate. */}}
{{- define "capsule-proxy.certificateSecret" -}}
{{- .Values.options.certificateVolumeName | default (include "capsule-proxy.fullname" .) -}}
{{- end -}}

{{/* Secret holding the cert-manager CA: the external one, or the self-signed one made here. */}}
{{- define "capsule-proxy.caSecretName" -}}
{{- if .Values.certManager.externalCA.enabled -}}
{{- required "certManager.externalCA.secretName is required with certManager.externalCA.enabled" .Values.certManager.externalCA.secretName -}}
{{- else -}}
{{- printf "%s-root-secret" (include "capsule-proxy.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The issuer of the serving certificate. */}}
{{- define "capsule-proxy.issuerName" -}}
{{- if eq .Values.certManager.issuer.kind "ClusterIssuer" -}}
{{- required "certManager.issuer.name is required with certManager.issuer.kind=ClusterIssuer" .Values.certManager.issuer.name -}}
{{- else -}}
{{- printf "%s-ca-issuer" (include "capsule-proxy.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The certificate Job's settings: `global.jobs.certs` with the deprecated `jobs` and `jobs.certs` on top. */}}
{{- define "capsule-proxy.certsJob" -}}
{{- $legacy := omit (deepCopy .Values.jobs) "certs" -}}
{{- $merged := mergeOverwrite (deepCopy .Values.global.jobs.certs) $legacy (omit (deepCopy (.Values.jobs.certs | default dict)) "registry" "repository" "tag" "pullPolicy") -}}
{{- toYaml $merged -}}
{{- end -}}

{{/* The certificate Job's image. */}}
{{- define "capsule-proxy.certsJobImage" -}}
{{- $image := .Values.global.jobs.certs.image -}}
{{- $legacy := .Values.jobs.certs | default dict -}}
{{- printf "%s/%s:%s" (default $image.registry $legacy.registry) (default $image.repository $legacy.repository) (toString (default $image.tag $legacy.tag)) -}}
{{- end -}}

{{/* The CRD Job's kubectl image; the tag defaults to the cluster's `v<major>.<minor>`. */}}
{{- define "capsule-proxy.kubectlImage" -}}
{{- $image := .Values.global.jobs.kubectl.image -}}
{{- $tag := $image.tag -}}
{{- if not $tag -}}
{{- $tag = printf "v%s.%s" .Capabilities.KubeVersion.Major (.Capabilities.KubeVersion.Minor | replace "+" "") -}}
{{- end -}}
{{- printf "%s/%s:%s" $image.registry $image.repository (toString $tag) -}}
{{- end -}}

{{/* `--cores`: `rustProxy.cores`, else the CPU limit's whole CPUs rounded up ("200m" -> 1, "1500m" -> 2,
"2" -> 2), else nothing (every core of the node). */}}
{{- define "capsule-proxy.cores" -}}
{{- if not (kindIs "invalid" .Values.rustProxy.cores) -}}
{{- int .Values.rustProxy.cores -}}
{{- else -}}
{{- $cpu := "" -}}
{{- with .Values.resources -}}{{- with .limits -}}{{- with .cpu -}}{{- $cpu = toString . -}}{{- end -}}{{- end -}}{{- end -}}
{{- if $cpu -}}
{{- if hasSuffix "m" $cpu -}}
{{- $milli := trimSuffix "m" $cpu | int -}}
{{- max 1 (div (add $milli 999) 1000) -}}
{{- else -}}
{{- max 1 (ceil (float64 $cpu) | int) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The pod's seccomp profile: the io_uring Localhost profile when asked for, else podSecurityContext's. */}}
{{- define "capsule-proxy.podSecurityContext" -}}
{{- $context := dict -}}
{{- if .Values.podSecurityContext.enabled -}}
{{- $context = omit .Values.podSecurityContext "enabled" -}}
{{- end -}}
{{- if .Values.rustProxy.ioUring.seccomp -}}
{{- $path := .Values.rustProxy.ioUring.localhostProfile -}}
{{- if .Values.rustProxy.ioUring.securityProfilesOperator -}}
{{- $path = printf "operator/%s/%s-io-uring.json" .Release.Namespace (include "capsule-proxy.fullname" .) -}}
{{- end -}}
{{- $_ := set $context "seccompProfile" (dict "type" "Localhost" "localhostProfile" $path) -}}
{{- end -}}
{{- toYaml $context -}}
{{- end -}}
