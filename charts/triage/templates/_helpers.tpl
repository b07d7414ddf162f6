{{/* Names, labels and small building blocks shared by every template. */}}

{{- define "triage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "triage.fullname" -}}
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

{{/* Name of a component's objects: (dict "root" $ "name" "tools") */}}
{{- define "triage.componentName" -}}
{{- printf "%s-%s" (include "triage.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "triage.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "triage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: triage
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "name" "tools") */}}
{{- define "triage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "triage.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Labels of every pod of the release (NetworkPolicies select on these). */}}
{{- define "triage.releaseSelector" -}}
app.kubernetes.io/name: {{ include "triage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "triage.componentLabels" -}}
{{ include "triage.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* The values of a component: (dict "root" $ "name" "tools"). The install controller's
live under operator.installController (it runs the operator's image, beside it). */}}
{{- define "triage.componentValues" -}}
{{- if eq .name "install-controller" -}}
{{- toYaml .root.Values.operator.installController -}}
{{- else -}}
{{- toYaml (index .root.Values .name) -}}
{{- end -}}
{{- end -}}

{{/* Image of a component: (dict "root" $ "name" "notifier" "traits" $traits). A digest
pins the exact image (repo@sha256:...): what runs is what was scanned, whatever a tag now
points at. */}}
{{- define "triage.image" -}}
{{- $values := fromYaml (include "triage.componentValues" .) -}}
{{- $repo := $values.image.repository | default (printf "%s/triage-%s" .root.Values.image.repositoryPrefix .traits.image) -}}
{{- with $values.image.digest -}}
{{- printf "%s@%s" $repo . -}}
{{- else -}}
{{- $tag := $values.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* Pull policy of a component: its own, else image.pullPolicy. */}}
{{- define "triage.pullPolicy" -}}
{{- $values := fromYaml (include "triage.componentValues" .) -}}
{{- $values.image.pullPolicy | default .root.Values.image.pullPolicy -}}
{{- end -}}

{{/* An env var from a required Secret: (dict "env" "X" "ref" .Values.secrets.slack "field" "existingSecret" "key" "botTokenKey" "path" "secrets.slack") */}}
{{- define "triage.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "%s.existingSecret is required: the name of an existing Secret holding key %q for %s (the chart never creates secrets)" .path (index .ref .key) .env) .ref.existingSecret | quote }}
      key: {{ required (printf "%s.%s is required: the key inside Secret %q" .path .key .ref.existingSecret) (index .ref .key) | quote }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* Checksum of every rendered ConfigMap, so that a config change rolls the pods. */}}
{{- define "triage.configChecksum" -}}
{{- include (print .Template.BasePath "/configmaps.yaml") . | sha256sum -}}
{{- end -}}

{{- define "triage.approvalPublicUrl" -}}
{{- .Values.approval.publicUrl | default (printf "https://%s" .Values.httpIngress.approval.host) -}}
{{- end -}}
