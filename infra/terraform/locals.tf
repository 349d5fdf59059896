data "aws_availability_zones" "available" {
  state = "available"
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

data "aws_caller_identity" "current" {}

locals {
  name = var.name
  azs  = slice(data.aws_availability_zones.available.names, 0, 3)

  # The four reference services; paths are what the ALB routes on (same routes as the local HAProxy).
  services = {
    users           = { path_patterns = ["/api/users", "/api/users/*", "/api/auth", "/api/auth/*"], priority = 10 }
    catalog         = { path_patterns = ["/api/titles", "/api/titles/*"], priority = 20 }
    recommendations = { path_patterns = ["/api/recommendations", "/api/recommendations/*"], priority = 30 }
    events          = { path_patterns = ["/api/events", "/api/events/*"], priority = 40 }
  }

  k8s_namespace = "tenfold"
  # The distributed load generator (infra/k8s/locust) runs apart from the services, in a namespace of its own.
  k8s_load_namespace = "tenfold-load"
  # The namespaces Terraform creates (kubernetes_namespace_v1.namespaces in kubernetes.tf), by key.
  k8s_namespaces = { tenfold = local.k8s_namespace, load = local.k8s_load_namespace }

  # Service accounts tenfold-<key> (kubernetes_service_account_v1.services) -> the key of their namespace: the four
  # services, and the distributed load generator's master (it uploads its run folder to the results bucket).
  service_accounts = {
    users           = "tenfold"
    catalog         = "tenfold"
    recommendations = "tenfold"
    events          = "tenfold"
    load-generator  = "load"
  }

  # IRSA roles (module.service_irsa in eks.tf) by service account -> the one policy (aws_iam_policy.services) each gets.
  service_roles = {
    catalog         = "catalog-reads"
    recommendations = "catalog-reads"
    events          = "events-writes"
    load-generator  = "results-uploads"
  }

  dynamodb_tables = {
    titles          = "id"
    recommendations = "user_id"
  }

  # S3 buckets (module.buckets in data.tf), named "<name>-<key>-<suffix>"; `lifecycle` is merged into the shared rule.
  buckets = {
    # Playback event batches: expired after var.events_retention_days.
    events = {
      lifecycle = { id = "events-retention", expiration = { days = var.events_retention_days } }
    }
    # Run folders of the distributed load generator (infra/k8s/locust), uploaded by its master at the end of a run:
    # kept, never expired (a run is evidence).
    results = {
      lifecycle = { id = "results-to-ia" }
    }
  }

  tags = merge(var.tags, {
    Project     = "tenfold"
    Environment = var.environment
    ManagedBy   = "terraform"
  })
}
