{{- define "faultline.labels" -}}
app.kubernetes.io/name: faultline
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "faultline.selector" -}}
app.kubernetes.io/name: faultline
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "faultline.image" -}}
{{- $repo := required "operator.image.repository is required when operator.enabled is true" .Values.operator.image.repository -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.operator.image.tag) -}}
{{- end -}}

{{- define "faultline.injectorImage" -}}
{{- printf "%s:%s" .Values.operator.injector.image.repository (default .Chart.AppVersion .Values.operator.injector.image.tag) -}}
{{- end -}}

{{- define "faultline.agentSecret" -}}
{{- default "faultline-operator-agent" .Values.operator.agent.existingSecret -}}
{{- end -}}
