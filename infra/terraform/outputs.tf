output "public_url" {
  description = "Public entry point (CloudFront). Use it as `tenfold run --target <public_url> --allow-remote`."
  value       = "https://${module.cdn.cloudfront_distribution_domain_name}"
}

output "api_gateway_url" {
  description = "API Gateway endpoint (bypasses CloudFront; useful to tell CDN from API problems apart)."
  value       = module.api_gateway.api_endpoint
}

output "cluster_name" {
  description = "EKS cluster name (`aws eks update-kubeconfig --name <cluster_name>`)."
  value       = module.eks.cluster_name
}

output "region" {
  description = "Region everything was created in."
  value       = var.region
}

output "redis_replication_group_id" {
  description = "ElastiCache replication group (experiments/aws fail it over)."
  value       = module.redis.replication_group_id
}

output "rds_instance_identifier" {
  description = "RDS instance (experiments/aws reboot it with failover)."
  value       = module.postgres.db_instance_identifier
}

output "rds_master_secret_arn" {
  description = "Secrets Manager secret holding the RDS master password."
  value       = module.postgres.db_instance_master_user_secret_arn
}

output "dynamodb_table_names" {
  description = "DynamoDB tables by logical name."
  value       = { for k, t in module.dynamodb : k => t.dynamodb_table_id }
}

output "events_bucket" {
  description = "S3 bucket for playback event batches."
  value       = module.buckets["events"].s3_bucket_id
}

output "results_s3_url" {
  description = "Where the distributed load generator uploads run folders: RESULTS_S3_URL = <this>/<run id> (infra/k8s/locust)."
  value       = "s3://${module.buckets["results"].s3_bucket_id}/runs"
}

output "target_group_arns" {
  description = "ALB target group per service."
  value       = { for svc, _ in local.services : svc => module.alb.target_groups[svc].arn }
}

output "target_group_bindings_yaml" {
  description = "TargetGroupBinding manifests: `terraform output -raw target_group_bindings_yaml | kubectl apply -f -`."
  value = templatefile("${path.module}/templates/targetgroupbindings.yaml.tftpl", {
    namespace     = local.k8s_namespace
    target_groups = { for svc, _ in local.services : svc => module.alb.target_groups[svc].arn }
  })
}

output "managed_prometheus_endpoint" {
  description = "Amazon Managed Prometheus query endpoint (null when disabled)."
  value       = var.enable_managed_prometheus ? module.managed_prometheus[0].workspace_prometheus_endpoint : null
}

output "cloudwatch_dashboard" {
  description = "CloudWatch dashboard name."
  value       = aws_cloudwatch_dashboard.main.dashboard_name
}
