{{/* The proxy's arguments: first exactly those the upstream chart writes from `options`, then this chart's
(`rustProxy`), then `options.extraArgs` (so they can override either). */}}
{{- define "capsule-proxy.args" -}}
{{- $o := .Values.options -}}
- --listening-port={{ $o.listeningPort }}
- --capsule-configuration-name={{ $o.capsuleConfigurationName }}
{{- range $o.ignoredUserGroups }}
- --ignored-user-group={{ . }}
{{- end }}
{{- range $o.ignoredUsernames }}
- --ignored-username={{ . }}
{{- end }}
- --zap-log-level={{ $o.logLevel }}
- --enable-ssl={{ $o.enableSSL }}
- --oidc-username-claim={{ $o.oidcUsernameClaim }}
- --enable-reflector={{ $o.roleBindingReflector }}
- --rolebindings-resync-period={{ $o.rolebindingsResyncPeriod }}
- --disable-caching={{ $o.disableCaching }}
- --auth-preferred-types={{ $o.authPreferredTypes }}
{{- if $o.enableSSL }}
- --ssl-cert-path={{ $o.SSLDirectory }}/{{ $o.SSLCertFileName }}
- --ssl-key-path={{ $o.SSLDirectory }}/{{ $o.SSLKeyFileName }}
{{- end }}
- --client-connection-qps={{ $o.clientConnectionQPS }}
- --client-connection-burst={{ $o.clientConnectionBurst }}
- --enable-pprof={{ $o.pprof }}
- --enable-leader-election={{ $o.leaderElection }}
{{- range $o.trustedProxyCidrs }}
- --trusted-proxy-cidrs={{ . }}
{{- end }}
{{- range $o.ignoredImpersonationGroups }}
- --ignored-impersonation-group={{ . }}
{{- end }}
{{- with $o.impersonationGroupRegexp }}
- --impersonation-group-regexp={{ . }}
{{- end }}
{{- $r := .Values.rustProxy }}
{{- with (include "capsule-proxy.cores" .) }}
- --cores={{ . }}
{{- end }}
{{- with $r.ioDriver }}
- --io-driver={{ . }}
{{- end }}
{{- $flags := dict
  "max-header-bytes" $r.limits.maxHeaderBytes
  "max-header-count" $r.limits.maxHeaderCount
  "max-rewrite-bytes" $r.limits.maxRewriteBytes
  "upstream-pool-size" $r.limits.upstreamPoolSize
  "read-header-timeout" $r.timeouts.readHeader
  "client-idle-timeout" $r.timeouts.clientIdle
  "request-body-idle-timeout" $r.timeouts.requestBodyIdle
  "client-stall-timeout" $r.timeouts.clientStall
  "tls-handshake-timeout" $r.timeouts.tlsHandshake
  "upstream-connect-timeout" $r.timeouts.upstreamConnect
  "upstream-response-header-timeout" $r.timeouts.upstreamResponseHeader
  "upstream-idle-timeout" $r.timeouts.upstreamIdle
  "review-timeout" $r.timeouts.review
  "review-concurrency" $r.limits.reviewConcurrency
  "token-cache-ttl" $r.timeouts.tokenCacheTtl
  "token-cache-negative-ttl" $r.timeouts.tokenCacheNegativeTtl
  "readiness-stale-after" $r.timeouts.readinessStaleAfter
  "shutdown-grace-period" $r.timeouts.shutdownGracePeriod
  "client-ca-path" $r.clientCAPath
  "xfcc-header-name" $r.xfccHeaderName
  "all-namespaces-concurrency" $r.allNamespaces.concurrency
  "all-namespaces-page-size" $r.allNamespaces.pageSize
  "all-namespaces-timeout" $r.allNamespaces.timeout
  "all-namespaces-max-watches" $r.allNamespaces.maxWatches
}}
{{- range $flag := keys $flags | sortAlpha }}
{{- $value := get $flags $flag }}
{{- if kindIs "float64" $value }}
{{- $value = int64 $value }}
{{- end }}
{{- if not (or (kindIs "invalid" $value) (eq (toString $value) "")) }}
- --{{ $flag }}={{ $value }}
{{- end }}
{{- end }}
{{- with $o.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The proxy's pod template, for the Deployment and the DaemonSet. */}}
{{- define "capsule-proxy.pod" -}}
{{- $hostNetwork := or .Values.hostNetwork (and (eq .Values.kind "DaemonSet") .Values.daemonset.hostNetwork) -}}
metadata:
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  labels:
    {{- include "capsule-proxy.proxySelector" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- if $hostNetwork }}
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  {{- end }}
  {{- if not .Values.hostUsers }}
  hostUsers: false
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  serviceAccountName: {{ include "capsule-proxy.serviceAccountName" . }}
  {{- if or .Values.podSecurityContext.enabled .Values.rustProxy.ioUring.seccomp }}
  securityContext:
    {{- include "capsule-proxy.podSecurityContext" . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.rustProxy.terminationGracePeriodSeconds }}
  restartPolicy: {{ .Values.restartPolicy }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
  - name: capsule-proxy
    image: {{ include "capsule-proxy.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    {{- if .Values.securityContext.enabled }}
    securityContext:
      {{- omit .Values.securityContext "enabled" | toYaml | nindent 6 }}
    {{- end }}
    args:
      {{- include "capsule-proxy.args" . | nindent 6 }}
    env:
    - name: NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    {{- with .Values.env }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    ports:
    - name: proxy
      containerPort: {{ .Values.options.listeningPort }}
      protocol: TCP
      {{- if and (eq .Values.kind "DaemonSet") .Values.daemonset.hostPort }}
      hostPort: {{ .Values.options.listeningPort }}
      {{- end }}
    - name: metrics
      containerPort: 8080
      protocol: TCP
    - name: probe
      containerPort: 8081
      protocol: TCP
    {{- if .Values.livenessProbe.enabled }}
    livenessProbe:
      {{- omit .Values.livenessProbe "enabled" | toYaml | nindent 6 }}
    {{- end }}
    {{- if .Values.readinessProbe.enabled }}
    readinessProbe:
      {{- omit .Values.readinessProbe "enabled" | toYaml | nindent 6 }}
    {{- end }}
    {{- with .Values.resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- if or .Values.options.enableSSL .Values.volumeMounts }}
    volumeMounts:
    {{- if .Values.options.enableSSL }}
    - name: certs
      mountPath: {{ .Values.options.SSLDirectory }}
      readOnly: true
    {{- end }}
    {{- with .Values.volumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- end }}
  {{- if or .Values.options.enableSSL .Values.volumes }}
  volumes:
  {{- if .Values.options.enableSSL }}
  - name: certs
    secret:
      secretName: {{ include "capsule-proxy.certificateSecret" . }}
      defaultMode: 0444
  {{- end }}
  {{- with .Values.volumes }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- end }}
{{- end -}}
