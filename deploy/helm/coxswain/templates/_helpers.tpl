{{- define "coxswain.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "coxswain.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "coxswain.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "coxswain.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ .Values.serviceAccount.name | default (include "coxswain.fullname" .) }}{{- else -}}{{ .Values.serviceAccount.name | default "default" }}{{- end -}}
{{- end -}}

{{/* Every namespace the configuration's environments and releases name, one per line. */}}
{{- define "coxswain.modelNamespaces" -}}
{{- $namespaces := dict -}}
{{- range $name, $environment := .Values.config.environments -}}{{- $_ := set $namespaces (required (printf "config.environments.%s.namespace is required" $name) $environment.namespace) true -}}{{- end -}}
{{- range $name, $release := .Values.config.releases -}}{{- if $release.namespace -}}{{- $_ := set $namespaces $release.namespace true -}}{{- end -}}{{- end -}}
{{- range $namespace, $_ := $namespaces }}
{{ $namespace }}
{{- end -}}
{{- end -}}

{{/* The configuration Coxswain reads: the user's, with the chart's listeners and paths. */}}
{{- define "coxswain.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $_ := set $config "server" (dict "host" "0.0.0.0" "port" 8080 "operator_host" "0.0.0.0" "operator_port" (int .Values.operatorService.port)) -}}
{{- $_ := set $config "database" (default "/var/lib/coxswain/coxswain.sqlite" .Values.database.url) -}}
{{- $_ := set $config "commands" (ternary "/etc/coxswain/commands" "/usr/share/coxswain/commands" (gt (len .Values.runbooks) 0)) -}}
{{- $worker := default dict $config.worker -}}
{{- $_ := set $worker "shutdown_grace" (printf "%ds" (add (int .Values.longestRunbookTimeoutSeconds) 60)) -}}
{{- $_ := set $config "worker" $worker -}}
{{- toYaml $config -}}
{{- end -}}

{{/* PostgreSQL when database.url is set; more than one replica needs it. */}}
{{- define "coxswain.postgres" -}}
{{- if .Values.database.url -}}
{{- if not (hasPrefix "postgres://" .Values.database.url) -}}
{{- fail (printf "database.url must be a postgres://USER@HOST:PORT/DB URL (or empty for SQLite), not %q" .Values.database.url) -}}
{{- end -}}
{{- if not .Values.database.passwordSecret.name -}}
{{- fail "database.url is set: name the Secret with its password in database.passwordSecret.name (kubectl create secret generic coxswain-db --from-literal=password=…)" -}}
{{- end -}}
true
{{- else if gt (int .Values.replicas) 1 -}}
{{- fail (printf "replicas: %d needs PostgreSQL (database.url: postgres://USER@HOST:PORT/DB): SQLite lives on one volume of one pod" (int .Values.replicas)) -}}
{{- end -}}
{{- end -}}
