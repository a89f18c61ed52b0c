{{/*
The library part of the chart: named templates an application chart drops into its pod template.

  metadata:
    labels:      {{- include "guardd.podLabels" . | nindent 8 }}
    annotations: {{- include "guardd.podAnnotations" . | nindent 8 }}
  spec:
    initContainers: {{- include "guardd.initContainers" . | nindent 8 }}   # native: guardd itself (+ model copier)
    containers:
      - name: app …
      {{- include "guardd.containers" . | nindent 6 }}                     # classic: guardd
    volumes: {{- include "guardd.volumes" . | nindent 8 }}

"guardd.sidecar" is the guardd container on its own (one list item): an initContainers entry with
restartPolicy Always in native mode, a plain containers entry in classic mode. Every template here takes the
root context (`.`) and reads .Values.guardd (an app chart's dependency key) or .Values.
*/}}

{{- define "guardd.sidecar" -}}
{{- $v := ternary .Values.guardd .Values (hasKey .Values "guardd") -}}
{{- $s := $v.sidecar -}}
{{- include "guardd.checkHealthPort" $v -}}
{{- /* The kubelet's gRPC probes speak plaintext only: with TLS they probe the health-only port. */ -}}
{{- $probePort := ternary $s.healthPort $s.grpcPort $v.tls.enabled -}}
- name: guardd
  image: {{ include "guardd.image" (dict "image" $v.image) | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  {{- if eq $s.mode "native" }}
  restartPolicy: Always
  {{- end }}
  args:
    - serve
    - --policy={{ $v.policy.mountPath }}
    {{- /* 0.0.0.0: the kubelet's gRPC probes and Prometheus connect to the pod IP, not to loopback. */}}
    - --host=0.0.0.0
    - --grpc-port={{ $s.grpcPort }}
    - --metrics-port={{ $s.metricsPort }}
    - --grace={{ $s.grace }}
    - --reload-interval={{ $s.reloadInterval }}
    - --max-message-bytes={{ int64 $s.maxMessageBytes }}
    {{- if $s.maxConcurrentRpcs }}
    - --max-concurrent-rpcs={{ $s.maxConcurrentRpcs }}
    {{- end }}
    - --log-level={{ $s.logLevel }}
    {{- if $v.tls.enabled }}
    - --tls-cert={{ $v.tls.mountPath }}/tls.crt
    - --tls-key={{ $v.tls.mountPath }}/tls.key
    {{- if $v.tls.clientAuth }}
    - --tls-client-ca={{ $v.tls.mountPath }}/ca.crt
    {{- end }}
    - --health-port={{ $s.healthPort }}
    {{- end }}
    {{- if $v.admin.tokenSecret.name }}
    - --admin-token-env
    {{- end }}
    {{- range $v.admin.identities }}
    - {{ printf "--admin-identity=%s" . | quote }}
    {{- end }}
    {{- range $s.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  ports:
    - name: guardd-grpc
      containerPort: {{ $s.grpcPort }}
      protocol: TCP
    - name: guardd-metrics
      containerPort: {{ $s.metricsPort }}
      protocol: TCP
    {{- if $v.tls.enabled }}
    - name: guardd-health
      containerPort: {{ $s.healthPort }}
      protocol: TCP
    {{- end }}
  env:
    - name: HOME
      value: /tmp
    {{- if $v.redis.enabled }}
    - name: {{ $v.redis.env }}
      valueFrom:
        secretKeyRef:
          name: {{ include "guardd.redisSecret" . }}
          key: {{ if $v.redis.existingSecret }}{{ $v.redis.existingSecretKey }}{{ else }}url{{ end }}
    {{- end }}
    {{- with $v.admin.tokenSecret.name }}
    - name: GUARDD_ADMIN_TOKEN
      valueFrom:
        secretKeyRef:
          name: {{ . }}
          key: {{ $v.admin.tokenSecret.key }}
    {{- end }}
    {{- with $s.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- range $kind := list "startup" "readiness" "liveness" }}
  {{- $p := index $s.probes $kind }}
  {{ $kind }}Probe:
    grpc:
      port: {{ $probePort }}
      service: {{ $p.service | quote }}
    periodSeconds: {{ $p.periodSeconds }}
    timeoutSeconds: {{ $p.timeoutSeconds }}
    failureThreshold: {{ $p.failureThreshold }}
  {{- end }}
  {{- if and (eq $s.mode "classic") $s.preStopSleepSeconds }}
  lifecycle:
    preStop:
      sleep:
        seconds: {{ $s.preStopSleepSeconds }}
  {{- end }}
  resources:
    {{- toYaml $s.resources | nindent 4 }}
  securityContext:
    {{- toYaml $s.securityContext | nindent 4 }}
  volumeMounts:
    - name: guardd-policy
      mountPath: {{ $v.policy.mountPath }}
      readOnly: true
    - name: guardd-tmp
      mountPath: /tmp
    {{- if ne $v.models.source "bundled" }}
    - name: guardd-models
      mountPath: {{ $v.models.mountPath }}
      readOnly: true
    {{- end }}
    {{- if $v.tls.enabled }}
    - name: guardd-tls
      mountPath: {{ $v.tls.mountPath }}
      readOnly: true
    {{- end }}
{{- end -}}

{{/*
Checks the schema cannot express (it compares no two values); fails the render with what to change.
*/}}
{{- define "guardd.checkHealthPort" -}}
{{- $s := .sidecar -}}
{{- if and .tls.enabled (has (int $s.healthPort) (list (int $s.grpcPort) (int $s.metricsPort))) -}}
{{- fail "sidecar.healthPort: with tls.enabled the plaintext health port needs a port of its own, not grpcPort's or metricsPort's" -}}
{{- end -}}
{{- end -}}

{{/* The init container that copies models out of an OCI image (models.source: ociImage). */}}
{{- define "guardd.modelsCopier" -}}
{{- $v := ternary .Values.guardd .Values (hasKey .Values "guardd") -}}
{{- $m := $v.models -}}
- name: guardd-models
  image: {{ include "guardd.image" (dict "image" $m.image) | quote }}
  imagePullPolicy: {{ $m.image.pullPolicy }}
  command:
    {{- if $m.image.command }}
    {{- toYaml $m.image.command | nindent 4 }}
    {{- else }}
    - cp
    - -R
    - {{ printf "%s/." ($m.image.path | trimSuffix "/") }}
    - /guardd-models/
    {{- end }}
  resources:
    {{- toYaml $m.image.resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.sidecar.securityContext | nindent 4 }}
  volumeMounts:
    - name: guardd-models
      mountPath: /guardd-models
{{- end -}}

{{/* initContainers entries: the model copier (ociImage), then guardd itself in native mode. */}}
{{- define "guardd.initContainers" -}}
{{- $v := ternary .Values.guardd .Values (hasKey .Values "guardd") -}}
{{- $out := list -}}
{{- if eq $v.models.source "ociImage" -}}
{{- $out = append $out (include "guardd.modelsCopier" .) -}}
{{- end -}}
{{- if eq $v.sidecar.mode "native" -}}
{{- $out = append $out (include "guardd.sidecar" .) -}}
{{- end -}}
{{- join "\n" $out -}}
{{- end -}}

{{/* containers entries: guardd in classic mode, nothing in native mode. */}}
{{- define "guardd.containers" -}}
{{- $v := ternary .Values.guardd .Values (hasKey .Values "guardd") -}}
{{- if eq $v.sidecar.mode "classic" -}}
{{- include "guardd.sidecar" . -}}
{{- end -}}
{{- end -}}

{{/*
Pod volumes. The policy is a projected volume (the policy ConfigMap, plus the chart's store file when
redis.enabled) mounted as a directory without subPath: the kubelet updates it by swapping the ..data
symlink, and guardd's reloader polls the directory, so policy changes apply without a restart.
*/}}
{{- define "guardd.volumes" -}}
{{- $v := ternary .Values.guardd .Values (hasKey .Values "guardd") -}}
- name: guardd-policy
  projected:
    sources:
      - configMap:
          name: {{ include "guardd.policyConfigMap" . }}
      {{- if $v.redis.enabled }}
      - configMap:
          name: {{ include "guardd.fullname" . }}-store
      {{- end }}
- name: guardd-tmp
  emptyDir:
    sizeLimit: {{ $v.sidecar.tmpSizeLimit }}
{{- if eq $v.models.source "pvc" }}
- name: guardd-models
  persistentVolumeClaim:
    claimName: {{ $v.models.pvc.claimName }}
    readOnly: true
{{- else if eq $v.models.source "ociImage" }}
- name: guardd-models
  emptyDir:
    sizeLimit: {{ $v.models.sizeLimit }}
{{- end }}
{{- if $v.tls.enabled }}
{{- /* Projected, without subPath: a renewed Secret swaps ..data, and guardd reloads the files on change. */}}
- name: guardd-tls
  projected:
    sources:
      - secret:
          name: {{ $v.tls.secretName }}
          items:
            - key: tls.crt
              path: tls.crt
            - key: tls.key
              path: tls.key
      {{- if $v.tls.clientAuth }}
      - secret:
          name: {{ $v.tls.clientCA.secretName | default $v.tls.secretName }}
          items:
            - key: {{ $v.tls.clientCA.key }}
              path: ca.crt
      {{- end }}
{{- end }}
{{- end -}}

{{/* Pod labels: the PodMonitor selects pods that carry them. */}}
{{- define "guardd.podLabels" -}}
{{ include "guardd.selectorLabels" . }}
{{- end -}}

{{/*
Pod annotations: a checksum of the inline policy when policy.checksumAnnotation (restart instead of hot
reload); empty otherwise, so use it as `{{- with include "guardd.podAnnotations" . }}annotations: …{{ end }}`.
*/}}
{{- define "guardd.podAnnotations" -}}
{{- $v := ternary .Values.guardd .Values (hasKey .Values "guardd") -}}
{{- if and $v.policy.checksumAnnotation (not $v.policy.existingConfigMap) -}}
{{- $files := $v.policy.files -}}
{{- if $v.redis.enabled -}}
{{- $files = merge (dict "zz-guardd-store.yaml" (include "guardd.storeFile" $v)) $v.policy.files -}}
{{- end -}}
checksum/guardd-policy: {{ include "guardd.policyDigest" $files | quote }}
{{- end -}}
{{- end -}}
