{{/*
The static traits of every component, in one place so that every template (deployments,
services, autoscalers, NetworkPolicies) loops over the same facts:
  image      - image name suffix (triage-<image>); the notifier runs the ingress image
  module     - the Python package the image runs (python -m <module>); where it is not the
               image's own entry point, the container's command says so
  beside     - deployed only while that component is enabled too
  role       - ingress ROLE (edge / notifier / all)
  public     - reachable from outside the release: "slack" or "approval"
  shared     - a shared (all-team) worker, off when sharedWorkers.enabled=false
  consumers  - durable JetStream consumers it drains (names from triage_contracts.streams;
               tests/k8s checks they match); KEDA scales on their lag
  egress     - the networkPolicy.egress classes it may reach (DNS is always allowed); the
               ingress and notifier reach PostgreSQL only with the OAuth install flow
  calls      - release components it calls over HTTP (the edge asks approval to record a
               Slack button click); the callee's NetworkPolicy admits it, on port 8080 only
  secrets    - which secret groups it receives
*/}}
{{- define "triage.componentTraits" -}}
{{- $oauth := ternary ", postgres" "" (ne .Values.ingress.oauth.clientId "") -}}
ingress:
  image: ingress
  module: triage_ingress
  public: slack
  egress: [nats, externalApis{{ $oauth }}]
  calls: [approval]
notifier:
  image: ingress
  module: triage_ingress
  role: notifier
  shared: true
  consumers:
    - {stream: WORK, consumer: notifier}
  egress: [nats, externalApis{{ $oauth }}]
orchestrator:
  image: orchestrator
  module: triage_orchestrator
  shared: true
  consumers:
    - {stream: EVENTS, consumer: orchestrator-events}
    - {stream: RESULTS, consumer: orchestrator-results}
    - {stream: APPROVALS, consumer: orchestrator-decisions}
  egress: [nats]
tools:
  image: tools
  module: triage_tools
  shared: true
  consumers:
    - {stream: WORK, consumer: tools}
  egress: [nats, externalApis, observability]
router:
  image: router
  module: triage_router
  shared: true
  consumers:
    - {stream: WORK, consumer: router}
  egress: [nats, externalApis]
audit:
  image: audit
  module: triage_audit
  consumers:
    - {stream: AUDIT, consumer: audit}
  egress: [nats, postgres, externalApis]  # externalApis: the S3 anchor sink
approval:
  image: approval
  module: triage_approval
  public: approval
  egress: [nats, postgres]
operator:
  image: operator
  module: triage_operator
  egress: [nats, kubernetesApi]
install-controller:
  image: operator
  module: triage_operator.install
  beside: operator
  egress: [nats, kubernetesApi]
{{- end -}}

{{/* The enabled components as a dict name -> traits (with the component's values merged in
under "values"). */}}
{{- define "triage.components" -}}
{{- $out := dict -}}
{{- range $name, $traits := fromYaml (include "triage.componentTraits" .) -}}
{{- $values := fromYaml (include "triage.componentValues" (dict "root" $ "name" $name)) -}}
{{- $on := $values.enabled -}}
{{- if and $traits.beside (not (index $.Values $traits.beside).enabled) -}}{{- $on = false -}}{{- end -}}
{{- if and $traits.shared (not $.Values.sharedWorkers.enabled) -}}{{- $on = false -}}{{- end -}}
{{- if $on -}}
{{- $_ := set $out $name $traits -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
