{{/*
Helpers shared by this chart's own templates and by the sidecar templates that an application chart
includes. Those run in the *application's* context, so nothing here may depend on .Chart or .Files:
values come from .Values.guardd when it exists (the app chart's dependency key), else from .Values.
*/}}

{{- define "guardd.fullname" -}}
{{- $v := ternary .Values.guardd .Values (hasKey .Values "guardd") -}}
{{- if $v.fullnameOverride -}}
{{- $v.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains "guardd" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-guardd" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of this chart's own resources (chart context). */}}
{{- define "guardd.labels" -}}
app.kubernetes.io/name: guardd
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* The label the PodMonitor selects: put it on the app's pod template with guardd.podLabels. */}}
{{- define "guardd.selectorLabels" -}}
guardd.dev/sidecar: {{ include "guardd.fullname" . }}
{{- end -}}

{{- define "guardd.image" -}}
{{- $image := .image -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository $image.tag -}}
{{- end -}}
{{- end -}}

{{- define "guardd.policyConfigMap" -}}
{{- $v := ternary .Values.guardd .Values (hasKey .Values "guardd") -}}
{{- $v.policy.existingConfigMap | default (printf "%s-policy" (include "guardd.fullname" .)) -}}
{{- end -}}

{{- define "guardd.redisSecret" -}}
{{- $v := ternary .Values.guardd .Values (hasKey .Values "guardd") -}}
{{- $v.redis.existingSecret | default (printf "%s-redis" (include "guardd.fullname" .)) -}}
{{- end -}}

{{/*
sha256 of the policy files (name, newline, text, newline; by name). The generated rules file records the
digest of the policy it was made from, and the PodMonitor/PrometheusRule templates compare it with this.
tests/helm/chart_sync.py computes the same digest in Python.
*/}}
{{- define "guardd.policyDigest" -}}
{{- $acc := "" -}}
{{- range $name, $text := . -}}
{{- $acc = printf "%s%s\n%s\n" $acc $name $text -}}
{{- end -}}
{{- sha256sum $acc -}}
{{- end -}}

{{/* The store section the chart adds to the policy directory when redis.enabled. */}}
{{- define "guardd.storeFile" -}}
# Written by the guardd chart (redis.enabled): the Redis URL comes from ${{ .redis.env }}, filled from a Secret.
store:
  url_env: {{ .redis.env }}
  prefix: {{ .redis.prefix | quote }}
{{- end -}}

{{/* true when the Prometheus Operator resource `key` (podMonitor / prometheusRule) should render. */}}
{{- define "guardd.monitoringOn" -}}
{{- $setting := toString (index .root.Values.monitoring .key).enabled -}}
{{- if eq $setting "true" -}}
true
{{- else if and (eq $setting "auto") (.root.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") -}}
true
{{- end -}}
{{- end -}}
