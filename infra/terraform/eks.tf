################################################################################
# EKS: managed node group across the 3 private subnets, scaled by the cluster autoscaler;
# pods scaled by the HPAs in infra/k8s/services (metrics-server + Prometheus Adapter).
################################################################################

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.24"

  cluster_name    = local.name
  cluster_version = var.cluster_version

  cluster_endpoint_public_access       = true
  cluster_endpoint_private_access      = true
  cluster_endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs

  enable_cluster_creator_admin_permissions = true
  enable_irsa                              = true

  # Secrets envelope-encrypted with a module-created KMS key; control-plane logs to CloudWatch.
  create_kms_key                         = true
  cluster_encryption_config              = { resources = ["secrets"] }
  cluster_enabled_log_types              = ["api", "audit", "authenticator"]
  cloudwatch_log_group_retention_in_days = 30

  cluster_addons = {
    coredns                = { most_recent = true }
    kube-proxy             = { most_recent = true }
    vpc-cni                = { most_recent = true }
    eks-pod-identity-agent = { most_recent = true }
  }

  vpc_id                   = module.vpc.vpc_id
  subnet_ids               = module.vpc.private_subnets
  control_plane_subnet_ids = module.vpc.private_subnets

  eks_managed_node_groups = {
    default = {
      instance_types = var.node_instance_types
      capacity_type  = "ON_DEMAND"
      min_size       = var.node_min_size
      max_size       = var.node_max_size
      desired_size   = var.node_min_size
      subnet_ids     = module.vpc.private_subnets

      # IMDSv2 only, one hop: pods use IRSA, not the node role.
      metadata_options = {
        http_endpoint               = "enabled"
        http_tokens                 = "required"
        http_put_response_hop_limit = 1
      }

      labels = { "tenfold.dev/pool" = "default" }

      # Discovery tags for the cluster autoscaler (auto-discovery mode).
      tags = {
        "k8s.io/cluster-autoscaler/enabled"       = "true"
        "k8s.io/cluster-autoscaler/${local.name}" = "owned"
      }
    }
  }

  # Let the ALB (in the VPC) reach pod IPs on the service port (target-type ip).
  node_security_group_additional_rules = {
    ingress_alb_to_pods = {
      description              = "ALB to reference service pods"
      protocol                 = "tcp"
      from_port                = 8080
      to_port                  = 8080
      type                     = "ingress"
      source_security_group_id = module.alb.security_group_id
    }
  }
}

################################################################################
# IRSA roles: controllers and the services each get only what they need.
################################################################################

module "lb_controller_irsa" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "~> 5.44"

  role_name                              = "${local.name}-aws-load-balancer-controller"
  attach_load_balancer_controller_policy = true

  oidc_providers = {
    main = {
      provider_arn               = module.eks.oidc_provider_arn
      namespace_service_accounts = ["kube-system:aws-load-balancer-controller"]
    }
  }
}

module "cluster_autoscaler_irsa" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "~> 5.44"

  role_name                        = "${local.name}-cluster-autoscaler"
  attach_cluster_autoscaler_policy = true
  cluster_autoscaler_cluster_names = [module.eks.cluster_name]

  oidc_providers = {
    main = {
      provider_arn               = module.eks.oidc_provider_arn
      namespace_service_accounts = ["kube-system:cluster-autoscaler"]
    }
  }
}

data "aws_iam_policy_document" "catalog_reads" {
  statement {
    sid       = "ReadTitlesAndRecommendations"
    actions   = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable"]
    resources = [for t in module.dynamodb : t.dynamodb_table_arn]
  }
}

data "aws_iam_policy_document" "events_writes" {
  statement {
    sid       = "PutEventBatches"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${module.buckets["events"].s3_bucket_arn}/*"]
  }
  statement {
    sid       = "ListEventBatches"
    actions   = ["s3:ListBucket"]
    resources = [module.buckets["events"].s3_bucket_arn]
  }
}

# The distributed load generator's master (infra/k8s/locust/master.yaml) uploads its run folder: it may write
# objects into the results bucket and nothing else (multipart uploads included; no read, list or delete).
data "aws_iam_policy_document" "results_uploads" {
  statement {
    sid       = "PutRunFolders"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${module.buckets["results"].s3_bucket_arn}/*"]
  }
}

# One managed policy per document above, named "<name>-<key>"; local.service_roles picks one per role.
resource "aws_iam_policy" "services" {
  for_each = {
    catalog-reads   = data.aws_iam_policy_document.catalog_reads.json
    events-writes   = data.aws_iam_policy_document.events_writes.json
    results-uploads = data.aws_iam_policy_document.results_uploads.json
  }

  name   = "${local.name}-${each.key}"
  policy = each.value
}

# A role per entry of local.service_roles, trusted by service account tenfold-<key> in its namespace only.
module "service_irsa" {
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "~> 5.44"

  for_each = local.service_roles

  role_name        = "${local.name}-${each.key}"
  role_policy_arns = { main = aws_iam_policy.services[each.value].arn }

  oidc_providers = {
    main = {
      provider_arn               = module.eks.oidc_provider_arn
      namespace_service_accounts = ["${local.k8s_namespaces[local.service_accounts[each.key]]}:tenfold-${each.key}"]
    }
  }
}

################################################################################
# Cluster add-ons installed with Helm (pinned chart versions).
################################################################################

resource "helm_release" "aws_load_balancer_controller" {
  name       = "aws-load-balancer-controller"
  repository = "https://aws.github.io/eks-charts"
  chart      = "aws-load-balancer-controller"
  version    = "1.8.4"
  namespace  = "kube-system"

  values = [yamlencode({
    clusterName = module.eks.cluster_name
    region      = var.region
    vpcId       = module.vpc.vpc_id
    serviceAccount = {
      name        = "aws-load-balancer-controller"
      annotations = { "eks.amazonaws.com/role-arn" = module.lb_controller_irsa.iam_role_arn }
    }
  })]
}

resource "helm_release" "cluster_autoscaler" {
  name       = "cluster-autoscaler"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
  version    = "9.43.0"
  namespace  = "kube-system"

  values = [yamlencode({
    awsRegion     = var.region
    autoDiscovery = { clusterName = module.eks.cluster_name }
    rbac = {
      serviceAccount = {
        name        = "cluster-autoscaler"
        annotations = { "eks.amazonaws.com/role-arn" = module.cluster_autoscaler_irsa.iam_role_arn }
      }
    }
    extraArgs = {
      balance-similar-node-groups   = true
      skip-nodes-with-local-storage = false
      scale-down-unneeded-time      = "5m"
      expander                      = "least-waste"
    }
  })]
}

resource "helm_release" "metrics_server" {
  name       = "metrics-server"
  repository = "https://kubernetes-sigs.github.io/metrics-server/"
  chart      = "metrics-server"
  version    = "3.12.2"
  namespace  = "kube-system"
}

# Prometheus Operator stack: scrapes the services (ServiceMonitor in infra/k8s/monitoring), loads the
# PrometheusRules from infra/prometheus/rules (mirrored as infra/k8s/monitoring/prometheus-rules.yaml),
# and remote-writes to Amazon Managed Prometheus when enabled.
resource "helm_release" "kube_prometheus_stack" {
  name             = "kube-prometheus-stack"
  repository       = "https://prometheus-community.github.io/helm-charts"
  chart            = "kube-prometheus-stack"
  version          = "65.5.0"
  namespace        = "monitoring"
  create_namespace = true

  values = [yamlencode({
    grafana = { enabled = true }
    prometheus = {
      serviceAccount = var.enable_managed_prometheus ? {
        annotations = { "eks.amazonaws.com/role-arn" = module.amp_irsa[0].iam_role_arn }
      } : {}
      prometheusSpec = merge({
        scrapeInterval                          = "15s"
        serviceMonitorSelectorNilUsesHelmValues = false
        ruleSelectorNilUsesHelmValues           = false
        }, var.enable_managed_prometheus ? {
        remoteWrite = [{
          url         = "${module.managed_prometheus[0].workspace_prometheus_endpoint}api/v1/remote_write"
          sigv4       = { region = var.region }
          queueConfig = { maxSamplesPerSend = 1000, maxShards = 200, capacity = 2500 }
        }]
      } : {})
    }
  })]
}

# Serves `http_requests_per_second` to the HPAs; its rules live in infra/k8s/prometheus-adapter.yaml
# (a ConfigMap applied with the manifests), which this release points at.
resource "helm_release" "prometheus_adapter" {
  name       = "prometheus-adapter"
  repository = "https://prometheus-community.github.io/helm-charts"
  chart      = "prometheus-adapter"
  version    = "4.11.0"
  namespace  = "monitoring"

  values = [yamlencode({
    prometheus = { url = "http://kube-prometheus-stack-prometheus.monitoring.svc", port = 9090 }
    rules      = { existing = "prometheus-adapter-rules" }
  })]

  depends_on = [helm_release.kube_prometheus_stack]
}
