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

{{/* The datamover image reference. */}}
{{- define "ferry.datamoverImage" -}}
{{- required "datamover.image is required: the datamover image your cluster pulls (packages/datamover/Dockerfile)" .Values.datamover.image -}}
{{- end }}
