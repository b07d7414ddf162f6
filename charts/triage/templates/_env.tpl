{{/*
Per-component environment (the shared part comes from the <fullname>-env ConfigMap).
Each template receives (dict "root" $ "name" <component> "traits" <traits>).
Secrets are handed out per component, least privilege: only approval gets the private key
that signs approval grants; tools (verifies a grant before a write) and the orchestrator
(verifies decisions) get the public keys from the <fullname>-grant-keys ConfigMap; the
edge gets the signing secret but not the bot token, the notifier the bot token but not
the signing secret; with OAuth only the edge gets the client secret, and only the edge and
the notifier the vault keys.
*/}}

{{/* Public keys only: whoever reads them can check a grant, never make one. */}}
{{- define "triage.env.grantPublicKeys" -}}
- name: GRANT_PUBLIC_KEYS
  valueFrom:
    configMapKeyRef:
      name: {{ include "triage.fullname" .root }}-grant-keys
      key: GRANT_PUBLIC_KEYS
{{- end -}}

{{/* The pod's own NATS identity (docs/security-nats.md): user = identity, password from
nats.credentialsSecret key `<identity>-password`; TLS files when nats.tls is set. The ingress
is `ingress` beside a separate notifier, `ingress-all` (edge and notifier) without one. */}}
{{- define "triage.natsIdentity" -}}
{{- if eq .name "ingress" -}}
{{- ternary "ingress" "ingress-all" .root.Values.notifier.enabled -}}
{{- else -}}
{{- .name -}}
{{- end -}}
{{- end -}}

{{- define "triage.env.nats" -}}
{{- $identity := include "triage.natsIdentity" . -}}
{{- $nats := .root.Values.nats -}}
- name: NATS_USER
  value: {{ $identity | quote }}
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $nats.credentialsSecret | quote }}
      key: {{ printf "%s-password" $identity | quote }}
{{- if $nats.tls.existingSecret }}
- name: NATS_TLS_CA_FILE
  value: /etc/triage/nats-tls/ca.crt
{{- if $nats.tls.clientCert }}
- name: NATS_TLS_CERT_FILE
  value: /etc/triage/nats-tls/tls.crt
- name: NATS_TLS_KEY_FILE
  value: /etc/triage/nats-tls/tls.key
{{- end }}
{{- end }}
{{- end -}}

{{/* The private key and its id come from one Secret, so they rotate together. */}}
{{- define "triage.env.grantSigningKey" -}}
{{- $ref := .root.Values.secrets.approval -}}
{{ include "triage.secretEnv" (dict "env" "GRANT_SIGNING_KEY" "ref" $ref "key" "grantSigningKeyKey" "path" "secrets.approval") }}
{{ include "triage.secretEnv" (dict "env" "GRANT_SIGNING_KEY_ID" "ref" $ref "key" "grantSigningKeyIdKey" "path" "secrets.approval") }}
{{ include "triage.secretEnv" (dict "env" "GRANT_TEAM_SIGNING_KEYS" "ref" $ref "key" "grantTeamSigningKeysKey" "path" "secrets.approval" "optional" true) }}
- name: GRANT_TTL_S
  value: {{ .root.Values.grants.ttlSeconds | toString | quote }}
{{- end -}}

{{- define "triage.env.slackSigningSecret" -}}
{{ include "triage.secretEnv" (dict "env" "SLACK_SIGNING_SECRET" "ref" .root.Values.secrets.slack "key" "signingSecretKey" "path" "secrets.slack") }}
{{- end -}}

{{/* With OAuth the default bot token is optional: installed teams bring their own. */}}
{{- define "triage.env.slackBotToken" -}}
{{ include "triage.secretEnv" (dict "env" "SLACK_BOT_TOKEN" "ref" .root.Values.secrets.slack "key" "botTokenKey" "path" "secrets.slack" "optional" (ne .root.Values.ingress.oauth.clientId "")) }}
{{- end -}}

{{/* OAuth (many workspaces): the edge saves installations, the notifier reads them; both
open the stores (PostgreSQL) and the vault that seals the tokens in them. Only the edge
exchanges codes, so only it gets the client secret. Nothing else gets the vault keys. */}}
{{- define "triage.env.installations" -}}
{{- $v := .root.Values -}}
{{- if $v.ingress.oauth.clientId }}
- name: SLACK_CLIENT_ID
  value: {{ $v.ingress.oauth.clientId | quote }}
{{ include "triage.secretEnv" (dict "env" "DATABASE_URL" "ref" $v.secrets.database "key" "ingressUrlKey" "path" "secrets.database") }}
{{ include "triage.secretEnv" (dict "env" "VAULT_MASTER_KEYS" "ref" $v.secrets.vault "key" "masterKeysKey" "path" "secrets.vault") }}
{{- end }}
{{- end -}}

{{- define "triage.env.installFlow" -}}
{{- $v := .root.Values -}}
{{- $oauth := $v.ingress.oauth -}}
{{- if $oauth.clientId }}
{{ include "triage.secretEnv" (dict "env" "SLACK_CLIENT_SECRET" "ref" $v.secrets.slack "key" "clientSecretKey" "path" "secrets.slack") }}
- name: SLACK_REDIRECT_URI
  value: {{ $oauth.redirectUri | default (printf "https://%s/slack/oauth_redirect" $v.httpIngress.slack.host) | quote }}
{{- with $oauth.scopes }}
- name: SLACK_SCOPES
  value: {{ . | quote }}
{{- end }}
{{- with $oauth.allowedTeams }}
- name: SLACK_INSTALL_TEAMS
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "triage.env.ingress" -}}
{{- $v := .root.Values -}}
{{- /* ROLE=all only where no notifier runs beside it: with the operator's per-workspace
notifiers (sharedWorkers.enabled=false), the edge must not drain notify work too. */}}
- name: ROLE
  value: {{ ternary "all" "edge" (and (not $v.notifier.enabled) $v.sharedWorkers.enabled) | quote }}
- name: SLACK_API_URL
  value: {{ $v.ingress.slackApiUrl | quote }}
- name: QUEUED_NOTICE_THRESHOLD
  value: {{ $v.ingress.queuedNoticeThreshold | int64 | toString | quote }}
{{ include "triage.env.slackSigningSecret" . }}
{{- if and (not $v.notifier.enabled) $v.sharedWorkers.enabled }}
{{ include "triage.env.slackBotToken" . }}
{{- end }}
{{- include "triage.env.installations" . }}
{{- include "triage.env.installFlow" . }}
{{- if $v.ingress.socketMode.enabled }}
{{ include "triage.secretEnv" (dict "env" "SLACK_APP_TOKEN" "ref" $v.secrets.slack "key" "appTokenKey" "path" "secrets.slack") }}
{{- end }}

{{- if $v.approval.enabled }}
{{- /* Slack approval buttons: the edge forwards the signed click to approval, vouched for
by the service token (the approval service trusts the Slack identity only from it). */}}
- name: APPROVAL_URL
  value: {{ printf "http://%s:8080" (include "triage.componentName" (dict "root" .root "name" "approval")) | quote }}
{{ include "triage.secretEnv" (dict "env" "SERVICE_TOKEN" "ref" $v.secrets.approval "key" "serviceTokenKey" "path" "secrets.approval") }}
{{- end }}
{{- end -}}

{{- define "triage.env.notifier" -}}
{{- $v := .root.Values -}}
- name: ROLE
  value: "notifier"
- name: SLACK_API_URL
  value: {{ $v.ingress.slackApiUrl | quote }}
{{ include "triage.env.slackBotToken" . }}
{{- include "triage.env.installations" . }}
{{- if and $v.ingress.oauth.clientId $v.ingress.oauth.tokenRotation }}
{{- /* Token rotation: the notifier refreshes expiring bot tokens with the app's secret. */}}
{{ include "triage.secretEnv" (dict "env" "SLACK_CLIENT_SECRET" "ref" $v.secrets.slack "key" "clientSecretKey" "path" "secrets.slack") }}
{{- end }}
{{- end -}}

{{- define "triage.env.orchestrator" -}}
{{- $v := .root.Values -}}
- name: WORKFLOW_FILE
  value: /etc/triage/workflow/workflow.yaml
- name: SKILLS_DIR
  value: /etc/triage/skills
- name: GITHUB_REPOS
  value: {{ join "," $v.config.githubRepos | quote }}
- name: APPROVAL_PUBLIC_URL
  value: {{ $v.orchestrator.approvalPublicUrl | default (include "triage.approvalPublicUrl" .root) | quote }}
{{- with $v.orchestrator.defaultRepo }}
- name: DEFAULT_REPO
  value: {{ . | quote }}
{{- end }}
{{- with $v.orchestrator.allowedChannels }}
- name: ALLOWED_CHANNELS
  value: {{ join "," . | quote }}
{{- end }}
- name: TEAM_MAX_ACTIVE_RUNS
  value: {{ $v.orchestrator.teamMaxActiveRuns | int64 | toString | quote }}
{{ include "triage.env.grantPublicKeys" . }}
{{- end -}}

{{- define "triage.env.tools" -}}
{{- $v := .root.Values -}}
- name: GITHUB_API_URL
  value: {{ $v.tools.githubApiUrl | quote }}
- name: GITHUB_REPOS
  value: {{ join "," $v.config.githubRepos | quote }}
- name: PROMETHEUS_URL
  value: {{ $v.tools.prometheusUrl | quote }}
- name: ALERTMANAGER_URL
  value: {{ $v.tools.alertmanagerUrl | quote }}
- name: SHARED_READ_TTL_S
  value: {{ $v.tools.sharedReadTtlSeconds | toString | quote }}
{{- if $v.tools.githubApp.id }}
- name: GITHUB_APP_ID
  value: {{ $v.tools.githubApp.id | int64 | toString | quote }}
{{- if not $v.tools.githubApp.installationId }}
{{- fail "tools.githubApp.installationId is required with tools.githubApp.id: the App's installation on your organisation" }}
{{- end }}
- name: GITHUB_APP_INSTALLATION_ID
  value: {{ $v.tools.githubApp.installationId | int64 | toString | quote }}
{{ include "triage.secretEnv" (dict "env" "GITHUB_APP_PRIVATE_KEY" "ref" $v.secrets.github "key" "appPrivateKeyKey" "path" "secrets.github" "optional" false) }}
{{- else if $v.secrets.github.existingSecret }}
{{ include "triage.secretEnv" (dict "env" "GITHUB_TOKEN" "ref" $v.secrets.github "key" "tokenKey" "path" "secrets.github" "optional" true) }}
{{- end }}
{{ include "triage.env.grantPublicKeys" . }}
{{- end -}}

{{- define "triage.env.router" -}}
{{- $v := .root.Values -}}
- name: ROUTES_FILE
  value: /etc/triage/routes/routes.yaml
- name: OPENAI_BASE_URL
  value: {{ $v.router.openaiBaseUrl | quote }}
- name: DAILY_BUDGET_USD
  value: {{ $v.router.dailyBudgetUsd | toString | quote }}
{{- if $v.secrets.openai.existingSecret }}
{{ include "triage.secretEnv" (dict "env" "OPENAI_API_KEY" "ref" $v.secrets.openai "key" "apiKeyKey" "path" "secrets.openai" "optional" true) }}
{{- end }}
{{- end -}}

{{- define "triage.env.audit" -}}
{{- $v := .root.Values -}}
{{ include "triage.secretEnv" (dict "env" "DATABASE_URL" "ref" $v.secrets.database "key" "auditUrlKey" "path" "secrets.database") }}
{{ include "triage.secretEnv" (dict "env" "AUDIT_API_TOKEN" "ref" $v.secrets.audit "key" "apiTokenKey" "path" "secrets.audit") }}
{{ include "triage.secretEnv" (dict "env" "AUDIT_CHECKPOINT_KEY" "ref" $v.secrets.audit "key" "checkpointKeyKey" "path" "secrets.audit") }}
- name: AUDIT_ANCHOR_SINKS
  value: {{ $v.audit.anchorSinks | quote }}
{{- end -}}

{{/* The approval service: who approves, how approvers authenticate (OIDC login and/or a
proxy's signed JWT; never a bare header), the session secret once a login is configured,
and /metrics on a port of its own. */}}
{{- define "triage.env.approval" -}}
{{- $v := .root.Values -}}
{{- $auth := $v.approval.auth -}}
- name: APPROVERS
  value: {{ join "," $v.approval.approvers | quote }}
- name: PUBLIC_URL
  value: {{ include "triage.approvalPublicUrl" .root | quote }}
- name: METRICS_PORT
  value: {{ $v.approval.metricsPort | toString | quote }}
{{- if $auth.oidc.issuer }}
- name: OIDC_ISSUER
  value: {{ $auth.oidc.issuer | quote }}
- name: OIDC_CLIENT_ID
  value: {{ required "approval.auth.oidc.clientId is required with approval.auth.oidc.issuer" $auth.oidc.clientId | quote }}
- name: OIDC_SCOPES
  value: {{ $auth.oidc.scopes | quote }}
- name: OIDC_TOKEN_AUTH_METHOD
  value: {{ $auth.oidc.tokenAuthMethod | quote }}
{{- with $auth.oidc.metadataUrl }}
- name: OIDC_METADATA_URL
  value: {{ . | quote }}
{{- end }}
{{ include "triage.secretEnv" (dict "env" "OIDC_CLIENT_SECRET" "ref" $v.secrets.approval "key" "oidcClientSecretKey" "path" "secrets.approval" "optional" true) }}
{{- end }}
{{- if $auth.proxyJwt.jwksUrl }}
- name: PROXY_JWKS_URL
  value: {{ $auth.proxyJwt.jwksUrl | quote }}
- name: PROXY_JWT_HEADER
  value: {{ $auth.proxyJwt.header | quote }}
- name: PROXY_JWT_ISSUER
  value: {{ required "approval.auth.proxyJwt.issuer is required with approval.auth.proxyJwt.jwksUrl" $auth.proxyJwt.issuer | quote }}
- name: PROXY_JWT_AUDIENCE
  value: {{ required "approval.auth.proxyJwt.audience is required with approval.auth.proxyJwt.jwksUrl" $auth.proxyJwt.audience | quote }}
- name: PROXY_JWT_ALGORITHMS
  value: {{ join "," $auth.proxyJwt.algorithms | quote }}
{{- end }}
{{- if or $auth.oidc.issuer $auth.proxyJwt.jwksUrl }}
- name: USER_ID_CLAIM
  value: {{ $auth.userIdClaim | quote }}
- name: TEAM_ID_CLAIM
  value: {{ $auth.teamIdClaim | quote }}
{{ include "triage.secretEnv" (dict "env" "SESSION_SECRET" "ref" $v.secrets.approval "key" "sessionSecretKey" "path" "secrets.approval") }}
{{- end }}
{{ include "triage.secretEnv" (dict "env" "DATABASE_URL" "ref" $v.secrets.database "key" "approvalUrlKey" "path" "secrets.database") }}
{{ include "triage.secretEnv" (dict "env" "SERVICE_TOKEN" "ref" $v.secrets.approval "key" "serviceTokenKey" "path" "secrets.approval") }}
{{ include "triage.env.grantSigningKey" . }}
{{- end -}}

{{/* The operator builds the per-workspace orchestrator/tools/router Deployments from these. */}}
{{- define "triage.env.operator" -}}
{{- $v := .root.Values -}}
- name: OPERATOR_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- /* More than one replica: each stands by until it holds the lease (triage-leases in
NATS), under its pod name. One replica needs no lease (and no NATS to act on Kubernetes). */}}
{{- if gt (int $v.operator.replicaCount) 1 }}
- name: LEADER_ELECTION
  value: "true"
- name: LEADER_IDENTITY
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- end }}
- name: WORKER_IMAGE
  value: {{ printf "%s/triage-{component}:%s" $v.image.repositoryPrefix ($v.image.tag | default .root.Chart.AppVersion) | quote }}
- name: WORKER_IMAGE_PULL_POLICY
  value: {{ $v.image.pullPolicy | quote }}
- name: WORKER_ENV_SECRET
  value: {{ required "operator.workerEnvSecret is required: a Secret whose keys are env var names (e.g. GITHUB_TOKEN) given to every workspace worker" $v.operator.workerEnvSecret | quote }}
- name: WORKER_GRANT_KEYS_CONFIG_MAP
  value: {{ include "triage.fullname" .root }}-grant-keys
- name: WORKER_NATS_SECRET
  value: {{ $v.nats.credentialsSecret | quote }}
{{- /* Parity with the shared orchestrator and tools: the same images, pull secrets, files
and endpoints (docs/kubernetes.md), and the release label the workspace NetworkPolicies
select on. */}}
- name: WORKER_RELEASE
  value: {{ .root.Release.Name | quote }}
- name: WORKER_IMAGE_ORCHESTRATOR
  value: {{ include "triage.image" (dict "root" .root "name" "orchestrator" "traits" (dict "image" "orchestrator")) | quote }}
- name: WORKER_IMAGE_TOOLS
  value: {{ include "triage.image" (dict "root" .root "name" "tools" "traits" (dict "image" "tools")) | quote }}
- name: WORKER_IMAGE_ROUTER
  value: {{ include "triage.image" (dict "root" .root "name" "router" "traits" (dict "image" "router")) | quote }}
- name: WORKER_IMAGE_NOTIFIER
  value: {{ include "triage.image" (dict "root" .root "name" "notifier" "traits" (dict "image" "ingress")) | quote }}
- name: WORKER_IMAGE_AUDIT
  value: {{ include "triage.image" (dict "root" .root "name" "audit" "traits" (dict "image" "audit")) | quote }}
{{- with $v.imagePullSecrets }}
{{- $names := list }}
{{- range . }}{{- $names = append $names .name }}{{- end }}
- name: WORKER_IMAGE_PULL_SECRETS
  value: {{ join "," $names | quote }}
{{- end }}
- name: WORKER_LOG_LEVEL
  value: {{ $v.config.logLevel | quote }}
- name: WORKER_APPROVAL_PUBLIC_URL
  value: {{ $v.orchestrator.approvalPublicUrl | default (include "triage.approvalPublicUrl" .root) | quote }}
- name: WORKER_WORKFLOW_CONFIG_MAP
  value: {{ include "triage.fullname" .root }}-workflow
- name: WORKER_SKILLS_CONFIG_MAP
  value: {{ include "triage.fullname" .root }}-skills
- name: WORKER_GITHUB_API_URL
  value: {{ $v.tools.githubApiUrl | quote }}
- name: WORKER_PROMETHEUS_URL
  value: {{ $v.tools.prometheusUrl | quote }}
- name: WORKER_ALERTMANAGER_URL
  value: {{ $v.tools.alertmanagerUrl | quote }}
- name: WORKER_SHARED_READ_TTL_S
  value: {{ $v.tools.sharedReadTtlSeconds | toString | quote }}
- name: WORKER_ROUTES_CONFIG_MAP
  value: {{ include "triage.fullname" .root }}-routes
- name: WORKER_OPENAI_BASE_URL
  value: {{ $v.router.openaiBaseUrl | quote }}
- name: WORKER_DAILY_BUDGET_USD
  value: {{ $v.router.dailyBudgetUsd | toString | quote }}
{{- /* The release's model key, by name only (the operator never reads it): the router of a
Workspace without secretRefs.openai gets it as a secretKeyRef, like the shared router. */}}
{{- with $v.secrets.openai.existingSecret }}
- name: WORKER_OPENAI_SECRET
  value: {{ . | quote }}
- name: WORKER_OPENAI_SECRET_KEY
  value: {{ required "secrets.openai.apiKeyKey is required: the key inside Secret secrets.openai.existingSecret" $v.secrets.openai.apiKeyKey | quote }}
{{- end }}
{{- /* The audit worker of a Workspace with its own database (secretRefs.database) signs
with the release's checkpoint key and anchors in the release's sinks (under
workspaces/<teamId>). */}}
- name: WORKER_AUDIT_SECRET
  value: {{ $v.secrets.audit.existingSecret | quote }}
- name: WORKER_AUDIT_CHECKPOINT_KEY_KEY
  value: {{ $v.secrets.audit.checkpointKeyKey | quote }}
- name: WORKER_AUDIT_ANCHOR_SINKS
  value: {{ $v.audit.anchorSinks | quote }}
{{- /* The notifier of a Workspace without secretRefs.slack reaches Slack as the shared
notifier does: the release's bot token, or with OAuth the team's installation (the install
store's DSN and the vault keys, by Secret name and key only). */}}
- name: WORKER_SLACK_API_URL
  value: {{ $v.ingress.slackApiUrl | quote }}
- name: WORKER_SLACK_SECRET
  value: {{ $v.secrets.slack.existingSecret | quote }}
- name: WORKER_SLACK_BOT_TOKEN_KEY
  value: {{ $v.secrets.slack.botTokenKey | quote }}
{{- if $v.ingress.oauth.clientId }}
- name: WORKER_SLACK_CLIENT_ID
  value: {{ $v.ingress.oauth.clientId | quote }}
- name: WORKER_SLACK_DATABASE_SECRET
  value: {{ $v.secrets.database.existingSecret | quote }}
- name: WORKER_SLACK_DATABASE_KEY
  value: {{ $v.secrets.database.ingressUrlKey | quote }}
- name: WORKER_VAULT_SECRET
  value: {{ $v.secrets.vault.existingSecret | quote }}
- name: WORKER_VAULT_KEY
  value: {{ $v.secrets.vault.masterKeysKey | quote }}
{{- if $v.ingress.oauth.tokenRotation }}
- name: WORKER_SLACK_CLIENT_SECRET_KEY
  value: {{ $v.secrets.slack.clientSecretKey | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The install controller creates Workspaces in the release namespace from the template. */}}
{{- define "triage.env.install-controller" -}}
- name: OPERATOR_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: WORKSPACE_TEMPLATE
  value: {{ .root.Values.operator.installController.template | toJson | quote }}
{{- end -}}
