{{/* Labels every object of the chart carries. */}}
{{- define "ferry.labels" -}}
app.kubernetes.io/name: ferry
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ferry
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* Ferry's namespace: namespace.name, else the release's. */}}
{{- define "ferry.namespace" -}}
{{- .Values.namespace.name | default .Release.Namespace -}}
{{- end }}

{{/* The datamover image reference: repository@digest, else repository:tag. */}}
{{- define "ferry.datamoverImage" -}}
{{- $image := .Values.datamover.image -}}
{{- if $image.digest -}}
{{- printf "%s@%s" (required "datamover.image.repository is required" $image.repository) $image.digest -}}
{{- else -}}
{{- printf "%s:%s" (required "datamover.image.repository is required" $image.repository) (required "datamover.image.tag or digest is required" (toString $image.tag)) -}}
{{- end -}}
{{- end }}
