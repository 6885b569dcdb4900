{{/* The CRD hook: Helm installs `crds/` only on the first install and never updates it, so a pre-install and
pre-upgrade hook Job applies the CRDs (server-side) on every install and upgrade. Its objects are hooks,
deleted once the Job succeeds. */}}

{{- define "capsule-proxy.crds.name" -}}
{{- printf "%s-crds" (include "capsule-proxy.name" .) -}}
{{- end -}}

{{- define "capsule-proxy.crds.hookAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}

{{- define "capsule-proxy.crds.labels" -}}
app.kubernetes.io/component: crd-install-hook
{{ include "capsule-proxy.labels" . }}
{{- end -}}

{{/* The name of a CRD file's ConfigMap key and volume: `proxysettings` for
`crds/capsule.clastix.io_proxysettings.yaml`. */}}
{{- define "capsule-proxy.crds.shortName" -}}
{{- base . | trimSuffix ".yaml" | regexFind "[^_]+$" -}}
{{- end -}}

{{/* A CRD file with the chart's labels, `crds.labels`, `crds.annnotations`/`crds.annotations` and, with
`crds.keep`, `helm.sh/resource-policy: keep`. Called with (dict "ctx" $ "path" $path). */}}
{{- define "capsule-proxy.crds.document" -}}
{{- $ctx := .ctx -}}
{{- $crd := $ctx.Files.Get .path | fromYaml -}}
{{- if or (not $crd) $crd.Error -}}
{{- fail (printf "%s is not a YAML document: %v" .path $crd.Error) -}}
{{- end -}}
{{- $metadata := $crd.metadata -}}
{{- $labels := mergeOverwrite (default dict $metadata.labels) (default dict $ctx.Values.crds.labels) (include "capsule-proxy.labels" $ctx | fromYaml) -}}
{{- $annotations := mergeOverwrite (default dict $metadata.annotations) (default dict $ctx.Values.crds.annnotations) (default dict $ctx.Values.crds.annotations) -}}
{{- if $ctx.Values.crds.keep -}}
{{- $_ := set $annotations "helm.sh/resource-policy" "keep" -}}
{{- end -}}
{{- $_ := set $metadata "labels" $labels -}}
{{- if $annotations -}}
{{- $_ := set $metadata "annotations" $annotations -}}
{{- end -}}
{{- toYaml $crd -}}
{{- end -}}
